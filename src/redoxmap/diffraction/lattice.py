"""Lattice parameters from fitted peak positions: the layered R-3m cell (hexagonal setting) and,
for spinels, a cubic cell.

For a hexagonal cell 1/d² = 4 (h² + hk + k²) / (3a²) + l²/c² (e.g. Cullity & Stock, *Elements of
X-ray Diffraction*, 3rd ed., Appendix 3), which is linear in A = 1/a² and C = 1/c². Each scan's
A and C are the weighted least-squares solution over its reflections, with weights
1/σ²(1/d²) and σ(1/d²) = 2σ_d/d³; σ_d = d cot θ σ_θ comes from the peak fit. With only (00l)
reflections (e.g. (003) alone) only c is determined: c = l·d(00l).

Errors: the covariance (XᵀWX)⁻¹ of (A, C), scaled by max(1, χ²_ν) of the cell fit when it has
more reflections than parameters (so inconsistent reflections widen the errors), propagated to
a = A^(-1/2), c = C^(-1/2) and V = (√3/2) a² c.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from redoxmap.diffraction.units import d_sigma, d_to_two_theta, two_theta_to_d
from redoxmap.errors import FitError
from redoxmap.history import with_history

#: d-spacing windows (Å) holding one reflection each of a layered Li(1−x)MO2 (M = Ni, Co, Mn) over
#: a charge to x ≈ 0.75: c 13.9–14.45 Å, a 2.81–2.89 Å. (101) and (006), (018) and (110) come too close
#: for fixed single-peak windows.
LAYERED_WINDOWS_D = {"003": (4.45, 5.00), "104": (1.96, 2.07), "113": (1.335, 1.395)}


def layered_windows(wavelength_a: float, names=None) -> dict[str, tuple[float, float]]:
    """The d-spacing windows of :data:`LAYERED_WINDOWS_D` as 2θ windows at one wavelength (Bragg's law).

    Parameters
    ----------
    wavelength_a : float
        Wavelength λ (Å).
    names : sequence of str, optional
        Reflections to keep (keys of :data:`LAYERED_WINDOWS_D`, e.g. ``["003", "104"]``); default all.

    Returns
    -------
    dict of str to (float, float)
        ``{reflection: (low, high)}`` in degrees of 2θ, low first.

    Examples
    --------
    >>> {k: tuple(round(v, 2) for v in w) for k, w in layered_windows(1.5406, ["003"]).items()}
    {'003': (17.72, 19.94)}
    """
    chosen = LAYERED_WINDOWS_D if names is None else {n: LAYERED_WINDOWS_D[n] for n in names}
    return {n: tuple(sorted(float(v) for v in d_to_two_theta(np.array(w), wavelength_a)))
            for n, w in chosen.items()}


def d_hexagonal(hkl, a_a, c_a):
    """d-spacing of reflections in a hexagonal cell: 1/d² = 4 (h² + hk + k²) / (3a²) + l²/c² (Cullity &
    Stock, *Elements of X-ray Diffraction*, 3rd ed., Appendix 3).

    Parameters
    ----------
    hkl : array_like
        Miller indices, shape (..., 3).
    a_a, c_a : array_like
        Cell parameters a and c (Å); broadcast against the reflections.

    Returns
    -------
    numpy.ndarray
        d (Å), shape ``hkl.shape[:-1]`` broadcast with ``a_a`` and ``c_a``.

    Examples
    --------
    >>> round(float(d_hexagonal((0, 0, 3), 2.87, 14.19)), 4)
    4.73
    """
    h, k, l_ = np.moveaxis(np.asarray(hkl, float), -1, 0)
    inv_d2 = 4.0 * (h * h + h * k + k * k) / (3.0 * np.asarray(a_a, float) ** 2) + l_ * l_ / np.asarray(
        c_a, float) ** 2
    return 1.0 / np.sqrt(inv_d2)


def _parse_hkl(label: str) -> tuple[int, int, int]:
    digits = label.replace(" ", "").replace("(", "").replace(")", "")
    if len(digits) != 3 or not digits.isdigit():
        raise FitError(f"reflection name {label!r} is not three digits hkl; pass hkl= explicitly")
    return int(digits[0]), int(digits[1]), int(digits[2])


def _spacings(peaks: xr.Dataset, wavelength_a: float | None, caller: str):
    """d and σ_d (Å) of every fitted centre, from 2θ (with the wavelength) or q."""
    center, center_err = peaks.center.values, peaks.center_err.values
    if peaks.attrs.get("axis", "two_theta") == "q":
        d = 2 * np.pi / center
        return d, d * center_err / center
    lam = wavelength_a if wavelength_a is not None else peaks.attrs.get("wavelength_a")
    if lam is None:
        raise FitError(f"{caller}: 2θ centres need a wavelength; pass wavelength_a=")
    return two_theta_to_d(center, lam), d_sigma(center, center_err, lam)


def _weighted_lsq(design: np.ndarray, d: np.ndarray, d_err: np.ndarray):
    """Per-scan weighted least squares of 1/d² = design · unknowns; σ(1/d²) = 2σ_d/d³.

    Returns the unknowns (scan, k), their covariance scaled by max(1, χ²_ν) where χ²_ν is defined,
    and χ²_ν (NaN without spare reflections)."""
    y = 1.0 / d ** 2
    y_err = 2.0 * d_err / d ** 3
    good = np.isfinite(y) & np.isfinite(y_err) & (y_err > 0)
    weight = np.where(good, 1.0 / np.where(good, y_err, 1.0) ** 2, 0.0)
    y = np.where(good, y, 0.0)
    normal = np.einsum("pi,sp,pj->sij", design, weight, design)
    rhs = np.einsum("pi,sp,sp->si", design, weight, y)
    solution = np.linalg.solve(normal, rhs[:, :, None])[:, :, 0]
    residual = y - solution @ design.T
    dof = good.sum(axis=1) - design.shape[1]
    chi2_red = np.where(dof > 0, np.sum(weight * residual ** 2, axis=1) / np.maximum(dof, 1), np.nan)
    cov = np.linalg.inv(normal) * np.where(dof > 0, np.maximum(chi2_red, 1.0), 1.0)[:, None, None]
    return solution, cov, chi2_red


def _indices(peaks: xr.Dataset, hkl) -> tuple[list[str], np.ndarray]:
    names = [str(p) for p in peaks.peak.values]
    return names, np.array([hkl[n] if hkl is not None else _parse_hkl(n) for n in names], float)


def _cell_dataset(peaks, data, d, d_err, d_calc, indices, step, names) -> xr.Dataset:
    angstrom = {"units": "angstrom"}
    data = {k: ("scan", v, {"units": "angstrom^3"} if k.startswith("volume") else angstrom)
            for k, v in data.items()}
    data.update({"d": (("scan", "peak"), d, angstrom), "d_err": (("scan", "peak"), d_err, angstrom),
                 "d_calc": (("scan", "peak"), d_calc, angstrom)})
    coords = {k: v for k, v in peaks.coords.items() if set(v.dims) <= {"scan", "peak"}}
    coords["hkl"] = (("peak", "index"), indices.astype(int))
    return xr.Dataset(data, coords=coords, attrs=with_history(dict(peaks.attrs), step, reflections=names))


def fit_hexagonal_cell(peaks: xr.Dataset, hkl: Mapping[str, tuple[int, int, int]] | None = None,
                       wavelength_a: float | None = None) -> xr.Dataset:
    """Cell parameters a and c (Å) of every scan from fitted peak centres, by weighted least squares of
    1/d² = A · 4(h² + hk + k²)/3 + C · l² in A = 1/a², C = 1/c² (equations and error propagation in
    the module doc).

    With only (00l) reflections, only c is determined (a, volume and their errors are NaN).

    Parameters
    ----------
    peaks : xarray.Dataset
        Output of :func:`redoxmap.diffraction.fit_reflections` or :func:`~redoxmap.diffraction.fit_peaks`:
        ``center`` and ``center_err`` with dims ``(scan, peak)``, on a ``two_theta`` (degrees) or ``q``
        (Å⁻¹) axis (``attrs["axis"]``).
    hkl : mapping of str to (int, int, int), optional
        Miller indices of each peak name; default: the peak names read as ``"003"``, ``"104"`` ….
    wavelength_a : float, optional
        Wavelength (Å), needed for 2θ centres; default ``peaks.attrs["wavelength_a"]``.

    Returns
    -------
    xarray.Dataset
        Over ``scan``: ``a``, ``a_err``, ``c``, ``c_err`` (Å), ``volume``, ``volume_err`` (Å³),
        ``chi2_red`` of the cell fit; over ``(scan, peak)``: ``d``, ``d_err``, ``d_calc`` (Å).

    Raises
    ------
    FitError
        If no reflection has l ≠ 0, or the reflections cannot separate a from c, or a peak name is not
        three hkl digits and ``hkl`` is not given, or 2θ centres come without a wavelength.

    Examples
    --------
    >>> hkl = np.array([[0, 0, 3], [1, 0, 4]])
    >>> d = d_hexagonal(hkl, 2.87, 14.19)
    >>> peaks = xr.Dataset({"center": (("scan", "peak"), [2 * np.pi / d]),
    ...                     "center_err": (("scan", "peak"), [[1e-4, 1e-4]])},
    ...                    coords={"peak": ["003", "104"]}, attrs={"axis": "q"})
    >>> cell = fit_hexagonal_cell(peaks)
    >>> round(float(cell.a[0]), 6), round(float(cell.c[0]), 6)
    (2.87, 14.19)
    """
    names, indices = _indices(peaks, hkl)
    d, d_err = _spacings(peaks, wavelength_a, "fit_hexagonal_cell")
    h, k, l_ = indices.T
    design = np.stack([4.0 * (h * h + h * k + k * k) / 3.0, l_ * l_], axis=1)  # (peak, 2)
    if not np.any(design[:, 1] > 0):
        raise FitError(f"fit_hexagonal_cell: reflections {names} have l = 0; c needs at least one l ≠ 0")
    has_a = bool(np.any(design[:, 0] > 0))
    if has_a and np.linalg.matrix_rank(design) < 2:
        raise FitError(f"fit_hexagonal_cell: reflections {names} do not separate a from c; add (00l) or "
                       "(hk0) reflections")
    solution, cov, chi2_red = _weighted_lsq(design if has_a else design[:, 1:], d, d_err)
    big_c = solution[:, -1]
    c = big_c ** -0.5
    c_err = 0.5 * big_c ** -1.5 * np.sqrt(cov[:, -1, -1])
    if has_a:
        big_a = solution[:, 0]
        a = big_a ** -0.5
        a_err = 0.5 * big_a ** -1.5 * np.sqrt(cov[:, 0, 0])
        volume = np.sqrt(3.0) / 2.0 * a * a * c
        grad = np.stack([-volume / big_a, -volume / (2 * big_c)], axis=1)
        volume_err = np.sqrt(np.einsum("si,sij,sj->s", grad, cov, grad))
        d_calc = d_hexagonal(indices[None, :, :], a[:, None], c[:, None])
    else:
        a = a_err = volume = volume_err = np.full(c.shape, np.nan)
        d_calc = c[:, None] / np.where(indices[:, 2] > 0, indices[:, 2], np.nan)[None, :]
    values = {"a": a, "a_err": a_err, "c": c, "c_err": c_err, "volume": volume, "volume_err": volume_err}
    out = _cell_dataset(peaks, values, d, d_err, d_calc, indices, "fit_hexagonal_cell", names)
    out["chi2_red"] = ("scan", chi2_red)
    return out


def fit_cubic_cell(peaks: xr.Dataset, hkl: Mapping[str, tuple[int, int, int]] | None = None,
                   wavelength_a: float | None = None) -> xr.Dataset:
    """Cubic cell parameter a (Å) of every scan from fitted peak centres: 1/d² = (h² + k² + l²)/a²,
    solved for 1/a² by weighted least squares as in :func:`fit_hexagonal_cell` (e.g. a spinel from
    (220), (400), (440)).

    Parameters
    ----------
    peaks : xarray.Dataset
        ``center`` and ``center_err`` with dims ``(scan, peak)`` (see :func:`fit_hexagonal_cell`).
    hkl : mapping of str to (int, int, int), optional
        Miller indices of each peak name; default: the peak names read as hkl.
    wavelength_a : float, optional
        Wavelength (Å), needed for 2θ centres; default ``peaks.attrs["wavelength_a"]``.

    Returns
    -------
    xarray.Dataset
        Over ``scan``: ``a``, ``a_err`` (Å), ``volume``, ``volume_err`` (Å³), ``chi2_red``; over
        ``(scan, peak)``: ``d``, ``d_err``, ``d_calc`` (Å).

    Examples
    --------
    >>> d = 8.0 / np.sqrt([8.0, 32.0])
    >>> peaks = xr.Dataset({"center": (("scan", "peak"), [2 * np.pi / d]),
    ...                     "center_err": (("scan", "peak"), [[1e-4, 1e-4]])},
    ...                    coords={"peak": ["220", "440"]}, attrs={"axis": "q"})
    >>> round(float(fit_cubic_cell(peaks).a[0]), 6)
    8.0
    """
    names, indices = _indices(peaks, hkl)
    d, d_err = _spacings(peaks, wavelength_a, "fit_cubic_cell")
    design = np.sum(indices ** 2, axis=1)[:, None]
    solution, cov, chi2_red = _weighted_lsq(design, d, d_err)
    a = solution[:, 0] ** -0.5
    a_err = 0.5 * solution[:, 0] ** -1.5 * np.sqrt(cov[:, 0, 0])
    d_calc = a[:, None] / np.sqrt(design[:, 0])[None, :]
    out = _cell_dataset(peaks, {"a": a, "a_err": a_err, "volume": a ** 3, "volume_err": 3 * a ** 2 * a_err},
                        d, d_err, d_calc, indices, "fit_cubic_cell", names)
    out["chi2_red"] = ("scan", chi2_red)
    return out
