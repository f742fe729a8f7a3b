"""Rotation-centre finding for full (180°/360°) scans and limited-angle tilt series.

- Opposing projections (θ and θ + 180°) are mirror images about the axis: the shift s that
  registers the flipped one onto the other gives the axis at (s + n − 1) / 2 (sub-pixel, by
  upsampled phase correlation).
- Without opposing pairs (e.g. a ±65° tilt series): the centre of mass of each projection moves on
  a sinusoid about the axis, COM(θ) = c + a cos θ + b sin θ (Azevedo et al., IEEE TNS 37, 1525
  (1990)); a linear least-squares fit over all projections gives c. This needs the object inside
  the field of view at every angle.
- :func:`center_from_entropy` (reconstruct trial centres, keep the lowest histogram entropy, Donath
  et al., J. Opt. Soc. Am. A 23, 1048 (2006)) is kept for objects that leave the field of view; on
  a ±65° series it was 2.7 px off on our phantom, so it is not the default.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from skimage.registration import phase_cross_correlation

from redoxmap.errors import FitError
from redoxmap.tomo.reconstruct import _fbp_block


def _opposing_pair(angles: np.ndarray, tolerance_deg: float = 0.25) -> tuple[int, int] | None:
    for i, a in enumerate(angles):
        j = int(np.argmin(np.abs(angles - (a + 180.0))))
        if abs(angles[j] - a - 180.0) <= tolerance_deg:
            return i, j
    return None


def center_from_opposing(projections: xr.DataArray) -> float:
    """Axis position from a pair of projections 180° apart: they are mirror images about the axis, so
    the shift s registering the flipped one onto the other (upsampled phase correlation) puts the
    axis at (s + n − 1) / 2.

    Parameters
    ----------
    projections : xarray.DataArray
        −ln projections ``(angle, y, x)``, angles in degrees, with two angles 180° ± 0.25° apart.

    Returns
    -------
    float
        Rotation axis on the detector (px, sub-pixel; 0 is the first column's centre).

    Raises
    ------
    FitError
        If no two projections are 180° apart.
    """
    angles = projections["angle"].values
    pair = _opposing_pair(angles)
    if pair is None:
        raise FitError("no two projections are 180° apart; use center_from_entropy")
    first = projections.isel(angle=pair[0]).transpose("y", "x").values
    second = projections.isel(angle=pair[1]).transpose("y", "x").values[:, ::-1]
    shift, _, _ = phase_cross_correlation(first, second, upsample_factor=50, normalization=None)
    return float((shift[1] + first.shape[1] - 1) / 2.0)


def _entropy(image: np.ndarray, bins: int = 256) -> float:
    hist, _ = np.histogram(image, bins=bins)
    p = hist[hist > 0] / hist.sum()
    return float(-(p * np.log(p)).sum())


def center_from_entropy(projections: xr.DataArray, search_px: float = 10.0, n_slices: int = 5,
                        fine_step_px: float = 0.1) -> float:
    """Axis position minimising the histogram entropy of FBP reconstructions (Donath et al., J. Opt.
    Soc. Am. A 23, 1048 (2006)): a 1 px search over ±``search_px`` around the detector centre, then
    ``fine_step_px`` steps within ±1 px of the best.

    Parameters
    ----------
    projections : xarray.DataArray
        −ln projections ``(angle, y, x)``, angles in degrees.
    search_px : float
        Half-width of the coarse search (px).
    n_slices : int
        Slices reconstructed per trial, spread over the middle 40 % of the rows.
    fine_step_px : float
        Step of the fine search (px).

    Returns
    -------
    float
        Rotation axis on the detector (px).
    """
    angles = projections["angle"].values.astype(float)
    data = projections.transpose("angle", "y", "x").values
    n_y, n_x = data.shape[1:]
    rows = np.linspace(n_y * 0.3, n_y * 0.7, n_slices).astype(int)
    block = data[:, rows, :]

    def score(center: float) -> float:
        return sum(_entropy(vol) for vol in _fbp_block(block, angles, center))

    coarse = np.arange(n_x // 2 - search_px, n_x // 2 + search_px + 0.5, 1.0)
    best = coarse[int(np.argmin([score(c) for c in coarse]))]
    fine = np.arange(best - 1.0, best + 1.0 + 1e-9, fine_step_px)
    return float(fine[int(np.argmin([score(c) for c in fine]))])


def center_from_mass(projections: xr.DataArray) -> float:
    """Axis position from the sinusoidal track of the projections' centres of mass,
    COM(θ) = c + a cos θ + b sin θ, fitted by linear least squares (Azevedo et al., IEEE TNS 37,
    1525 (1990)); needs the object inside the field of view at every angle.

    Parameters
    ----------
    projections : xarray.DataArray
        −ln projections ``(angle, y, x)``, angles in degrees (negative values count as 0).

    Returns
    -------
    float
        Rotation axis c on the detector (px).

    Raises
    ------
    FitError
        If a projection holds no attenuation.
    """
    data = projections.transpose("angle", "y", "x").values.astype(np.float64)
    profile = np.clip(data, 0, None).sum(axis=1)  # (angle, x)
    x = np.arange(profile.shape[1], dtype=float)
    mass = profile.sum(axis=1)
    if np.any(mass <= 0):
        raise FitError("a projection holds no attenuation; expected the object in every projection")
    com = profile @ x / mass
    theta = np.radians(projections["angle"].values.astype(float))
    design = np.column_stack([np.ones_like(theta), np.cos(theta), np.sin(theta)])
    coef, *_ = np.linalg.lstsq(design, com, rcond=None)
    return float(coef[0])


def find_center(projections: xr.DataArray) -> float:
    """Rotation axis: from opposing projections (:func:`center_from_opposing`) when the scan has
    them, else from the centre-of-mass sinusoid (:func:`center_from_mass`).

    Parameters
    ----------
    projections : xarray.DataArray
        −ln projections ``(angle, y, x)``, angles in degrees.

    Returns
    -------
    float
        Rotation axis on the detector (px), for ``reconstruct(center_px=...)``.

    Examples
    --------
    >>> import xarray as xr
    >>> angles = np.linspace(0, 180, 91)  # 0° and 180°: an opposing pair
    >>> x = np.arange(64)[None, None, :]
    >>> t = 3 * np.cos(np.radians(angles))[:, None, None]  # a disc 3 px off the axis at 30.5 px
    >>> chords = 2 * np.sqrt(np.clip(36 - (x - 30.5 - t) ** 2, 0, None))
    >>> proj = xr.DataArray(np.repeat(chords, 4, axis=1), dims=("angle", "y", "x"),
    ...                     coords={"angle": angles})
    >>> round(find_center(proj), 1)
    30.5
    """
    if _opposing_pair(projections["angle"].values) is not None:
        return center_from_opposing(projections)
    return center_from_mass(projections)
