"""Edge and white-line energies of every pixel, and their calibration to valence.

Bulk XAS practice (e.g. Larch/Athena): E0 as the energy at half the edge jump of the normalized
spectrum, or at the maximum of dμ/dE; the white line as the maximum of normalized μ. Positions are
refined below the energy step by linear interpolation (half jump) or by a parabola through the
three points around the maximum (derivative, white line).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from redoxmap.errors import FitError


def _parabolic_peak(values: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """Energy of the maximum along the last axis, refined by a parabola through 3 points
    (assumes locally uniform steps)."""
    i = np.argmax(values, axis=-1)
    i = np.clip(i, 1, values.shape[-1] - 2)
    take = lambda k: np.take_along_axis(values, (i + k)[..., None], axis=-1)[..., 0]  # noqa: E731
    y0, y1, y2 = take(-1), take(0), take(1)
    denom = y0 - 2 * y1 + y2
    offset = np.where(np.abs(denom) > 1e-300, 0.5 * (y0 - y2) / np.where(denom == 0, 1, denom), 0.0)
    step = energy[i + 1] - energy[i]
    return energy[i] + np.clip(offset, -1, 1) * step


def _half_jump(values: np.ndarray, energy: np.ndarray, level: float) -> np.ndarray:
    """First energy where ``values`` reaches ``level`` (linear interpolation between steps)."""
    above = values >= level
    i = np.argmax(above, axis=-1)
    i = np.clip(i, 1, values.shape[-1] - 1)
    lo = np.take_along_axis(values, (i - 1)[..., None], axis=-1)[..., 0]
    hi = np.take_along_axis(values, i[..., None], axis=-1)[..., 0]
    frac = np.where(hi != lo, (level - lo) / np.where(hi == lo, 1, hi - lo), 0.0)
    return energy[i - 1] + np.clip(frac, 0, 1) * (energy[i] - energy[i - 1])


def _energy_map(normalized: xr.DataArray, func, name: str, **kwargs) -> xr.DataArray:
    energy = normalized["energy"].values.astype(float)
    out = xr.apply_ufunc(func, normalized, kwargs={"energy": energy, **kwargs},
                         input_core_dims=[["energy"]], dask="parallelized", output_dtypes=[float])
    out.attrs.update(units="eV", long_name=name)
    return out


def edge_energy_map(normalized: xr.DataArray, method: str = "half_jump") -> xr.DataArray:
    """Edge energy (eV) of every pixel of a normalized stack, as bulk XAS practice locates E0 (Ravel &
    Newville 2005).

    ``method="half_jump"``: the first energy where normalized μ reaches 0.5, interpolated linearly
    between energies; ``"derivative"``: the maximum of dμ/dE (central differences) refined by a
    parabola through the three points around it.

    Parameters
    ----------
    normalized : xarray.DataArray
        Normalized spectra with an ``energy`` dimension (eV) and any others, e.g. the ``normalized``
        output of :func:`redoxmap.preprocess.normalize_stack`.
    method : {"half_jump", "derivative"}
        How the edge is located.

    Returns
    -------
    xarray.DataArray
        Edge energy (eV) with the other dimensions of ``normalized``.

    Raises
    ------
    FitError
        If ``method`` is not one of the two.

    Examples
    --------
    >>> e = np.arange(6530.0, 6580.0, 0.5)
    >>> mu = xr.DataArray(1 / (1 + np.exp(-(e - 6552.0) / 1.5)), dims="energy", coords={"energy": e})
    >>> round(float(edge_energy_map(mu)), 3), round(float(edge_energy_map(mu, "derivative")), 3)
    (6552.0, 6552.0)
    """
    if method == "half_jump":
        return _energy_map(normalized, _half_jump, "edge energy at half jump", level=0.5)
    if method == "derivative":
        def derivative_peak(values: np.ndarray, energy: np.ndarray) -> np.ndarray:
            return _parabolic_peak(np.gradient(values, energy, axis=-1), energy)

        return _energy_map(normalized, derivative_peak, "edge energy at max dμ/dE")
    raise FitError(f"method {method!r} is not one of half_jump, derivative")


def white_line_map(normalized: xr.DataArray) -> xr.DataArray:
    """White-line energy (eV) of every pixel: the maximum of normalized μ, refined by a parabola through
    the three points around it.

    Parameters
    ----------
    normalized : xarray.DataArray
        Normalized spectra with an ``energy`` dimension (eV) and any others.

    Returns
    -------
    xarray.DataArray
        White-line energy (eV) with the other dimensions of ``normalized``.

    Examples
    --------
    >>> e = np.arange(6530.0, 6580.0, 0.5)
    >>> mu = xr.DataArray(1 / (1 + np.exp(-(e - 6552.0) / 1.5)) + 0.3 * np.exp(-((e - 6560.0) / 2) ** 2),
    ...                   dims="energy", coords={"energy": e})
    >>> round(float(white_line_map(mu)), 1)
    6560.0
    """
    return _energy_map(normalized, _parabolic_peak, "white-line energy")


@dataclass(frozen=True)
class EdgeCalibration:
    """Linear calibration of edge energy against valence, E_edge = intercept_ev + slope_ev · valence,
    fitted to standards by :func:`calibrate_edge`.

    Parameters
    ----------
    slope_ev : float
        Edge shift per unit of valence (eV).
    intercept_ev : float
        Edge energy at valence 0 (eV).
    covariance : numpy.ndarray
        2 × 2 covariance of (intercept, slope) (eV²).
    residual_ev : float
        Residual standard deviation of the standards about the line (eV).
    """

    slope_ev: float
    intercept_ev: float
    covariance: np.ndarray
    residual_ev: float

    @property
    def slope_err_ev(self) -> float:
        """1σ error of the slope (eV per unit of valence)."""
        return float(np.sqrt(self.covariance[1, 1]))

    def valence(self, edge_ev: xr.DataArray | np.ndarray,
                edge_err_ev: float | np.ndarray = 0.0) -> tuple:
        """Valence from edge energy, v = (E − intercept) / slope, and its 1σ error from the calibration's
        covariance and the edge energy's own error.

        Parameters
        ----------
        edge_ev : xarray.DataArray or numpy.ndarray
            Edge energies (eV), e.g. a map from :func:`edge_energy_map`.
        edge_err_ev : float or numpy.ndarray
            1σ error of the edge energies (eV).

        Returns
        -------
        valence, valence_err
            Arrays of the shape of ``edge_ev``.
        """
        v = (edge_ev - self.intercept_ev) / self.slope_ev
        # d v / d(intercept) = −1/slope; d v / d(slope) = −v/slope
        var = (self.covariance[0, 0] + 2 * v * self.covariance[0, 1] + v**2 * self.covariance[1, 1]
               + np.square(edge_err_ev)) / self.slope_ev**2
        return v, np.sqrt(var)


def calibrate_edge(edge_ev: np.ndarray, valence: np.ndarray) -> EdgeCalibration:
    """Fit edge energy against the valence of standards by least squares, with the parameter
    covariance from the residual scatter (≥ 3 standards give an uncertainty; 2 give an exact line
    with zero covariance).

    Parameters
    ----------
    edge_ev : array_like
        Edge energy of each standard (eV).
    valence : array_like
        Valence of each standard.

    Returns
    -------
    EdgeCalibration
        Slope, intercept, their covariance and the residual standard deviation.

    Raises
    ------
    FitError
        If fewer than two standards are given, their numbers differ, or all have one valence.

    Examples
    --------
    >>> cal = calibrate_edge([6544.0, 6548.0, 6551.9], [2, 3, 4])
    >>> round(cal.slope_ev, 2), round(float(cal.valence(6550.0)[0]), 3)
    (3.95, 3.515)
    """
    edge_ev = np.asarray(edge_ev, float)
    valence = np.asarray(valence, float)
    if edge_ev.size != valence.size or edge_ev.size < 2 or np.ptp(valence) == 0:
        raise FitError(f"calibration needs ≥ 2 standards of different valence; got valences {valence}")
    design = np.column_stack([np.ones_like(valence), valence])
    coef, *_ = np.linalg.lstsq(design, edge_ev, rcond=None)
    resid = edge_ev - design @ coef
    dof = edge_ev.size - 2
    sigma2 = float(resid @ resid / dof) if dof > 0 else 0.0
    cov = sigma2 * np.linalg.inv(design.T @ design)
    return EdgeCalibration(slope_ev=float(coef[1]), intercept_ev=float(coef[0]), covariance=cov,
                           residual_ev=float(np.sqrt(sigma2)))
