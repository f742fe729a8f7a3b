"""Transport models for profiles versus depth, and their fits (Csernica et al., Nat. Energy 6,
642 (2021), Csernica et al. 2021, Fig. 2e,g and Supplementary Note 2: oxygen-vacancy diffusion from the
surface fits Mn3+ profiles with D_O ~ 1e-17 cm²/s; a two-phase core–shell model does not).

- Diffusion into a sphere of radius R with a fixed surface value from t = 0 (Crank, *The
  Mathematics of Diffusion*, 2nd ed., Eq. 6.18):
  (c − c0)/(cs − c0) = 1 + (2R/πr) Σ_n (−1)ⁿ/n · sin(nπr/R) · exp(−D n²π² t/R²).
- Diffusion into an infinite cylinder of radius a (Crank Eq. 5.22), with βₙ the roots of J0:
  (c − c0)/(cs − c0) = 1 − 2 Σ_n exp(−D βₙ² t/a²) · J0(βₙ r/a) / (βₙ J1(βₙ)).
- Diffusion into a slab −L < x < L with both faces at the surface value (Crank Eq. 4.17):
  (c − c0)/(cs − c0) = 1 − (4/π) Σ_{n≥0} (−1)ⁿ/(2n+1) · cos((2n+1)πx/2L) · exp(−D(2n+1)²π²t/4L²).
- Core–shell: a sharp front at depth δ; c = cs in the shell, c0 in the core.
- Either profile is seen as a thin ``section`` through the centre (c at r = R − d) or as a
  ``projection`` (chord average of c along the beam at the projected position ρ = R − d). The
  ``geometry`` ("sphere", "cylinder", "slab") sets the series, with ``radius_nm`` the radius or,
  for the slab, the half-thickness L. Projection views: a sphere, and a cylinder seen across its
  axis, average c(√(ρ² + z²)) over the chord |z| ≤ √(R² − ρ²) (the same chord in both cases); a
  cylinder seen along its axis shows c(r) unmixed, so use ``section`` for that view; a slab is
  taken as seen edge-on (beam parallel to its faces), where each ray stays at one depth, so its
  projection equals its section.
- For a particle of any shape, :func:`redoxmap.models.diffusion_fd.diffusion_on_mask` solves the
  same problem numerically on its mask.
Units: distances in nm, time in s, D in cm²/s at the boundary (1 cm² = 1e14 nm²).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy.optimize import least_squares
from scipy.special import j0, j1, jn_zeros

from redoxmap.errors import FitError

NM2_PER_CM2 = 1e14
N_TERMS = 200
CHORD_POINTS = 48
J0_ROOTS = jn_zeros(0, N_TERMS)
GEOMETRIES = ("sphere", "cylinder", "slab")


def time_at_high_soc_s(cycles: float, c_rate: float, fraction_above: float) -> float:
    """Time spent at high state of charge: cycles × (1/C-rate h charge + 1/C-rate h discharge) × the
    fraction of each cycle spent above the threshold voltage (read it off one measured cycle) ×
    3600 s/h. Assumes constant-current cycling without holds; add hold times separately.

    Parameters
    ----------
    cycles : float
        Number of cycles.
    c_rate : float
        C-rate of charge and discharge.
    fraction_above : float
        Fraction of each cycle spent above the threshold, in (0, 1].

    Returns
    -------
    float
        Time (s).

    Raises
    ------
    FitError
        If ``cycles`` or ``c_rate`` are not positive or ``fraction_above`` is outside (0, 1].

    Examples
    --------
    >>> time_at_high_soc_s(125, 1 / 3, 0.15)  # 125 cycles at C/3, 15 % above the threshold
    405000.0
    """
    if cycles <= 0 or c_rate <= 0 or not 0 < fraction_above <= 1:
        raise FitError("cycles and c_rate must be positive and fraction_above in (0, 1]")
    return cycles * (2.0 / c_rate) * fraction_above * 3600.0


def sphere_diffusion(r_nm: np.ndarray, radius_nm: float, d_cm2_s: float, time_s: float) -> np.ndarray:
    """Normalized concentration (0 = bulk, 1 = surface) at radius r in a sphere of radius R whose surface
    is held at the surface value from t = 0 (Crank 1975, Eq. 6.18):
    1 + (2R/πr) Σ_n (−1)ⁿ/n · sin(nπr/R) · exp(−D n²π² t/R²).

    Parameters
    ----------
    r_nm : numpy.ndarray
        Radii (nm).
    radius_nm : float
        Sphere radius R (nm).
    d_cm2_s : float
        Diffusivity D (cm²/s).
    time_s : float
        Time t (s).

    Returns
    -------
    numpy.ndarray
        Normalized concentration at ``r_nm``.

    Examples
    --------
    >>> sphere_diffusion(np.array([0.0, 100.0]), 100.0, 1e-15, 1e3).round(4).tolist()
    [0.0, 1.0]
    """
    r = np.clip(np.asarray(r_nm, float), 1e-9 * radius_nm, radius_nm)
    n = np.arange(1, N_TERMS + 1)[:, None]
    dt = d_cm2_s * NM2_PER_CM2 * time_s
    terms = (-1.0) ** n / n * np.sin(n * np.pi * r / radius_nm) * np.exp(-dt * (n * np.pi / radius_nm) ** 2)
    return np.clip(1.0 + 2 * radius_nm / (np.pi * r) * terms.sum(axis=0), 0.0, 1.0)


def cylinder_diffusion(r_nm: np.ndarray, radius_nm: float, d_cm2_s: float, time_s: float) -> np.ndarray:
    """Normalized concentration (0 = bulk, 1 = surface) at radius r in an infinite cylinder of radius
    a (Crank 1975, Eq. 5.22): 1 − 2 Σ_n exp(−D βₙ² t/a²) J0(βₙ r/a) / (βₙ J1(βₙ)), βₙ the first
    200 roots of J0.

    Parameters
    ----------
    r_nm : numpy.ndarray
        Radii (nm).
    radius_nm : float
        Cylinder radius a (nm).
    d_cm2_s : float
        Diffusivity D (cm²/s).
    time_s : float
        Time t (s).

    Returns
    -------
    numpy.ndarray
        Normalized concentration at ``r_nm``.

    Examples
    --------
    >>> bool(abs(cylinder_diffusion(np.array([0.0]), 100.0, 1e-15, 1e3)[0]) < 1e-6)
    True
    """
    r = np.clip(np.asarray(r_nm, float), 0.0, radius_nm)
    beta = J0_ROOTS[:, None]
    dt = d_cm2_s * NM2_PER_CM2 * time_s
    terms = np.exp(-dt * (beta / radius_nm) ** 2) * j0(beta * r / radius_nm) / (beta * j1(beta))
    return np.clip(1.0 - 2.0 * terms.sum(axis=0), 0.0, 1.0)


def slab_diffusion(x_nm: np.ndarray, half_thickness_nm: float, d_cm2_s: float, time_s: float) -> np.ndarray:
    """Normalized concentration (0 = bulk, 1 = surface) at distance x from the mid-plane of a slab
    −L < x < L with both faces at the surface value (Crank 1975, Eq. 4.17):
    1 − (4/π) Σ_{n≥0} (−1)ⁿ/(2n+1) cos((2n+1)πx/2L) exp(−D(2n+1)²π²t/4L²).

    Parameters
    ----------
    x_nm : numpy.ndarray
        Distances from the mid-plane (nm).
    half_thickness_nm : float
        Half-thickness L (nm).
    d_cm2_s : float
        Diffusivity D (cm²/s).
    time_s : float
        Time t (s).

    Returns
    -------
    numpy.ndarray
        Normalized concentration at ``x_nm``.

    Examples
    --------
    >>> bool(abs(slab_diffusion(np.array([0.0]), 100.0, 1e-15, 1e3)[0]) < 1e-6)
    True
    """
    x = np.clip(np.abs(np.asarray(x_nm, float)), 0.0, half_thickness_nm)
    m = 2 * np.arange(N_TERMS)[:, None] + 1
    dt = d_cm2_s * NM2_PER_CM2 * time_s
    k = m * np.pi / (2 * half_thickness_nm)
    terms = (-1.0) ** ((m - 1) // 2) / m * np.cos(k * x) * np.exp(-dt * k**2)
    return np.clip(1.0 - 4 / np.pi * terms.sum(axis=0), 0.0, 1.0)


DIFFUSION_SERIES = {"sphere": sphere_diffusion, "cylinder": cylinder_diffusion, "slab": slab_diffusion}


def core_shell(r_nm: np.ndarray, radius_nm: float, front_depth_nm: float) -> np.ndarray:
    """Normalized concentration of a sharp-front core–shell particle: 1 in the shell (depth below
    ``front_depth_nm``), 0 in the core.

    Parameters
    ----------
    r_nm : numpy.ndarray
        Radii (nm).
    radius_nm : float
        Particle radius (nm).
    front_depth_nm : float
        Depth of the front below the surface (nm).

    Returns
    -------
    numpy.ndarray
        0 or 1 at ``r_nm``.

    Examples
    --------
    >>> core_shell(np.array([10.0, 90.0]), 100.0, 20.0).tolist()
    [0.0, 1.0]
    """
    return (np.asarray(r_nm, float) >= radius_nm - front_depth_nm).astype(float)


def _seen(profile, distance_nm: np.ndarray, radius_nm: float, view: str, geometry: str) -> np.ndarray:
    """``profile(r)`` seen at ``distance_nm`` from the edge: in a section, or in projection as the
    mean over the chord (sphere; cylinder across its axis; a slab edge-on equals its section)."""
    if geometry not in GEOMETRIES:
        raise FitError(f"geometry {geometry!r} is not one of {', '.join(GEOMETRIES)}")
    if view not in ("section", "projection"):
        raise FitError(f"view {view!r} is not one of section, projection")
    if view == "section" or geometry == "slab":
        return profile(radius_nm - np.asarray(distance_nm, float))
    rho = np.clip(radius_nm - np.asarray(distance_nm, float), 0, radius_nm)
    half = np.sqrt(np.maximum(radius_nm**2 - rho**2, 0.0))
    s = (np.arange(CHORD_POINTS) + 0.5) / CHORD_POINTS  # midpoints along the half chord
    r = np.sqrt(rho[:, None] ** 2 + (s[None, :] * half[:, None]) ** 2)
    return profile(r.ravel()).reshape(r.shape).mean(axis=1)


def diffusion_profile(distance_nm, radius_nm, d_cm2_s, time_s, c_surface, c_bulk, view="section",
                      geometry="sphere"):
    """Value versus distance from the edge for surface-driven diffusion into a sphere, an infinite
    cylinder or a slab (module doc): c_bulk + (c_surface − c_bulk) · series, seen in a section or in
    projection (Csernica et al. 2021, Fig. 2e,g).

    Parameters
    ----------
    distance_nm : numpy.ndarray
        Distances from the edge (nm).
    radius_nm : float
        Radius (nm; the half-thickness for a slab).
    d_cm2_s : float
        Diffusivity D (cm²/s).
    time_s : float
        Time t (s).
    c_surface, c_bulk : float
        Values at the surface and in the bulk (any unit, e.g. a valence).
    view : {"section", "projection"}
        A thin section through the centre, or the chord average along the beam.
    geometry : {"sphere", "cylinder", "slab"}
        Which series.

    Returns
    -------
    numpy.ndarray
        The value at each distance.

    Examples
    --------
    >>> diffusion_profile(np.array([0.0, 50.0]), 100.0, 1e-15, 1e3, 3.5, 4.0).round(4).tolist()
    [3.5, 3.9996]
    """
    shape = _seen(lambda r: DIFFUSION_SERIES[geometry](r, radius_nm, d_cm2_s, time_s), distance_nm, radius_nm,
                  view, geometry)
    return c_bulk + (c_surface - c_bulk) * shape


def core_shell_profile(distance_nm, radius_nm, front_depth_nm, c_surface, c_bulk, view="section",
                       geometry="sphere"):
    """Value versus distance from the edge for a sharp-front core–shell particle: ``c_surface`` in the
    shell, ``c_bulk`` in the core, seen in a section or in projection (the geometry only changes the
    projection view).

    Parameters
    ----------
    distance_nm : numpy.ndarray
        Distances from the edge (nm).
    radius_nm : float
        Radius (nm).
    front_depth_nm : float
        Depth of the front (nm).
    c_surface, c_bulk : float
        Values in the shell and in the core.
    view : {"section", "projection"}
        A thin section through the centre, or the chord average along the beam.
    geometry : {"sphere", "cylinder", "slab"}
        The particle's shape.

    Returns
    -------
    numpy.ndarray
        The value at each distance.

    Examples
    --------
    >>> core_shell_profile(np.array([5.0, 50.0]), 100.0, 20.0, 3.0, 4.0).tolist()
    [3.0, 4.0]
    """
    shape = _seen(lambda r: core_shell(r, radius_nm, front_depth_nm), distance_nm, radius_nm, view, geometry)
    return c_bulk + (c_surface - c_bulk) * shape


@dataclass
class ProfileFit:
    """A weighted least-squares fit of one model to one profile (:func:`fit_profile`).

    Attributes
    ----------
    model : str
        "diffusion", "core-shell" or "diffusion-mask".
    params : dict of str to float
        The estimates (``log10_d_cm2_s`` and ``d_cm2_s``, or ``front_depth_nm``; ``c_surface``,
        ``c_bulk``).
    ci95 : dict of str to (float, float)
        95 % intervals of the fitted parameters.
    chi2_red : float
        Reduced χ².
    aic, bic : float
        AIC = χ² + 2k and BIC = χ² + k ln n (Gaussian errors).
    residuals : numpy.ndarray
        Model minus data at the fitted points (units of the values).
    """

    model: str
    params: dict[str, float]
    ci95: dict[str, tuple[float, float]]
    chi2_red: float
    aic: float
    bic: float
    residuals: np.ndarray


def fit_profile(distance_nm: np.ndarray, value: np.ndarray, stderr: np.ndarray, model: str,
                radius_nm: float, time_s: float, view: str = "section", geometry: str = "sphere",
                mask_table: xr.DataArray | None = None) -> ProfileFit:
    """Weighted least squares of one model to a profile with 1σ errors (Csernica et al. 2021, Fig.
    2e,g and Supplementary Note 2).

    Models: "diffusion" (log10 D, surface and bulk values; the series of ``geometry``, seen in
    ``view``), "core-shell" (front depth, surface and bulk values) or "diffusion-mask" (log10 D,
    surface and bulk values; the numerical solution on the particle's own mask, tabulated over D·t
    by :func:`redoxmap.models.mask_profile_table` with the bins of the profile and passed as
    ``mask_table``, interpolated linearly in log D·t; ``radius_nm`` then only sets the starts).
    Estimates have 95 % intervals (±1.96σ) from the Jacobian covariance scaled by max(1, reduced χ²).

    Parameters
    ----------
    distance_nm : numpy.ndarray
        Distances from the edge (nm).
    value : numpy.ndarray
        Mean value at each distance.
    stderr : numpy.ndarray
        1σ of each value (points with a non-finite or non-positive error are left out).
    model : {"diffusion", "core-shell", "diffusion-mask"}
        The model.
    radius_nm : float
        Particle radius (nm; the half-thickness of a slab).
    time_s : float
        Time at high state of charge (s).
    view : {"section", "projection"}
        How the series models are seen.
    geometry : {"sphere", "cylinder", "slab"}
        The series used.
    mask_table : xarray.DataArray, optional
        Output of :func:`redoxmap.models.mask_profile_table`, for "diffusion-mask".

    Returns
    -------
    ProfileFit
        Estimates (D in cm²/s), intervals, reduced χ², AIC, BIC and residuals.

    Raises
    ------
    FitError
        If fewer than 4 points are usable, the model is unknown, or the mask table does not match
        the profile.

    Examples
    --------
    >>> d = np.arange(0, 100.0, 10)
    >>> profile = diffusion_profile(d, 100.0, 1e-15, 1e3, 3.0, 4.0)
    >>> fit = fit_profile(d, profile, np.full(d.size, 1e-3), "diffusion", 100.0, 1e3)
    >>> round(fit.params["log10_d_cm2_s"], 3)
    -15.0
    """
    x, y, s = (np.asarray(a, float) for a in (distance_nm, value, stderr))
    ok = np.isfinite(y) & np.isfinite(s) & (s > 0)
    x, y, s = x[ok], y[ok], s[ok]
    if x.size < 4:
        raise FitError(f"{x.size} usable points; expected at least 4 to fit 3 parameters")
    if model == "diffusion":
        def predict(p):
            return diffusion_profile(x, radius_nm, 10.0 ** p[0], time_s, p[1], p[2], view, geometry)
        # start from the diffusion length that puts the half-way point near the profile's middle
        starts = [np.log10((radius_nm * f) ** 2 / (time_s * NM2_PER_CM2)) for f in (0.05, 0.2, 0.6)]
        names, bounds = ["log10_d_cm2_s", "c_surface", "c_bulk"], ([-30, -5, -5], [-5, 5, 5])
        guesses = [[s0, y[0], y[-1]] for s0 in starts]
    elif model == "diffusion-mask":
        tabulated, (lo, hi) = _tabulated_shape(mask_table, x, time_s)

        def predict(p):
            return p[2] + (p[1] - p[2]) * tabulated(p[0])
        starts = [np.log10((radius_nm * f) ** 2 / (time_s * NM2_PER_CM2)) for f in (0.05, 0.2, 0.6)]
        names, bounds = ["log10_d_cm2_s", "c_surface", "c_bulk"], ([lo, -5, -5], [hi, 5, 5])
        guesses = [[float(np.clip(s0, lo + 1e-6, hi - 1e-6)), y[0], y[-1]] for s0 in starts]
    elif model == "core-shell":
        def predict(p):
            return core_shell_profile(x, radius_nm, p[0], p[1], p[2], view, geometry)
        names, bounds = ["front_depth_nm", "c_surface", "c_bulk"], ([0, -5, -5], [radius_nm, 5, 5])
        guesses = [_core_shell_start(x, y, s, radius_nm, view, geometry)]
    else:
        raise FitError(f"model {model!r} is not one of diffusion, core-shell, diffusion-mask")
    best = None
    for guess in guesses:
        result = least_squares(lambda p: (predict(p) - y) / s, guess, bounds=bounds,
                               diff_step=1e-3 if model == "core-shell" else None)
        if best is None or result.cost < best.cost:
            best = result
    chi2 = float(2 * best.cost)
    k, n = len(names), x.size
    chi2_red = chi2 / max(n - k, 1)
    try:
        cov = np.linalg.pinv(best.jac.T @ best.jac) * max(chi2_red, 1.0)
        err = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        err = np.full(k, np.nan)
    params = dict(zip(names, best.x.tolist(), strict=True))
    ci = {name: (v - 1.96 * e, v + 1.96 * e) for name, v, e in zip(names, best.x, err, strict=True)}
    if "log10_d_cm2_s" in params:
        params["d_cm2_s"] = 10.0 ** params["log10_d_cm2_s"]
        lo_ci, hi_ci = (min(max(v, -300.0), 300.0) for v in ci["log10_d_cm2_s"])
        ci["d_cm2_s"] = (10.0**lo_ci, 10.0**hi_ci)
    return ProfileFit(model=model, params=params, ci95=ci, chi2_red=chi2_red, aic=chi2 + 2 * k,
                      bic=chi2 + k * np.log(n), residuals=(predict(best.x) - y))


def _tabulated_shape(table: xr.DataArray | None, distance_nm: np.ndarray, time_s: float):
    """The shape (0 bulk, 1 surface) at ``distance_nm`` as a function of log10 D (cm²/s) from a
    ``mask_profile_table``, linear in log10 D·t between its rows, and the log10 D range it covers."""
    if table is None:
        raise FitError("model 'diffusion-mask' needs mask_table; expected the output of "
                       "redoxmap.models.diffusion_fd.mask_profile_table for the particle's mask")
    grid = np.asarray(table["distance_nm"], float)
    column = np.abs(grid[None, :] - distance_nm[:, None]).argmin(axis=1)
    if not np.allclose(grid[column], distance_nm):
        raise FitError(f"profile distances {distance_nm[~np.isclose(grid[column], distance_nm)]} nm are not "
                       "in mask_table's distance_nm; expected the table made with the profile's bins")
    values = np.asarray(table, float)[:, column]
    if np.isnan(values).any():
        raise FitError(f"mask_table has no voxel at {distance_nm[np.isnan(values).any(axis=0)]} nm; expected "
                       "the table of the mask the profile was measured on")
    log_d = np.log10(np.asarray(table["dt_nm2"], float) / (time_s * NM2_PER_CM2))

    def shape(log10_d: float) -> np.ndarray:
        i = int(np.clip(np.searchsorted(log_d, log10_d), 1, log_d.size - 1))
        f = float(np.clip((log10_d - log_d[i - 1]) / (log_d[i] - log_d[i - 1]), 0.0, 1.0))
        return (1 - f) * values[i - 1] + f * values[i]
    return shape, (float(log_d[0]), float(log_d[-1]))


def _core_shell_start(x: np.ndarray, y: np.ndarray, s: np.ndarray, radius_nm: float,
                      view: str, geometry: str) -> list[float]:
    """Best front depth on a 0.25 nm grid, with the surface and bulk values solved exactly
    (linear weighted least squares) at each depth: the misfit is piecewise constant in the depth,
    so a gradient method alone would stall."""
    depths = np.arange(0.0, radius_nm + 1e-9, 0.25)
    shapes = np.array([core_shell_profile(x, radius_nm, d, 1.0, 0.0, view, geometry) for d in depths])
    w = 1.0 / s**2
    a11 = (w * shapes**2).sum(1)
    a12 = (w * shapes * (1 - shapes)).sum(1)
    a22 = (w * (1 - shapes) ** 2).sum(1)
    b1, b2 = (w * shapes * y).sum(1), (w * (1 - shapes) * y).sum(1)
    det = a11 * a22 - a12**2
    ok = np.abs(det) > 1e-12
    cs = np.where(ok, (a22 * b1 - a12 * b2) / np.where(ok, det, 1), y.mean())
    c0 = np.where(ok, (a11 * b2 - a12 * b1) / np.where(ok, det, 1), y.mean())
    chi2 = (w * (cs[:, None] * shapes + c0[:, None] * (1 - shapes) - y) ** 2).sum(1)
    i = int(np.argmin(chi2))
    return [float(depths[i]), float(np.clip(cs[i], -5, 5)), float(np.clip(c0[i], -5, 5))]


def compare_models(distance_nm, value, stderr, radius_nm, time_s, view="section",
                   geometry="sphere", mask_table: xr.DataArray | None = None,
                   models: Sequence[str] | None = None) -> list[ProfileFit]:
    """Fit several models to one profile (:func:`fit_profile`) and rank them by AIC, best first.

    Parameters
    ----------
    distance_nm : numpy.ndarray
        Distances from the edge (nm).
    value : numpy.ndarray
        Mean value at each distance.
    stderr : numpy.ndarray
        1σ of each value.
    radius_nm : float
        Particle radius (nm).
    time_s : float
        Time at high state of charge (s).
    view : {"section", "projection"}
        How the series models are seen.
    geometry : {"sphere", "cylinder", "slab"}
        The series used.
    mask_table : xarray.DataArray, optional
        From :func:`redoxmap.models.mask_profile_table`, for "diffusion-mask".
    models : sequence of str, optional
        Model names; default diffusion and core–shell, plus diffusion-mask with a table.

    Returns
    -------
    list of ProfileFit
        The fits, lowest AIC first.

    Examples
    --------
    >>> d = np.arange(0, 100.0, 10)
    >>> profile = diffusion_profile(d, 100.0, 1e-15, 1e3, 3.0, 4.0)
    >>> [f.model for f in compare_models(d, profile, np.full(d.size, 1e-3), 100.0, 1e3)]
    ['diffusion', 'core-shell']
    """
    if models is None:
        models = ("diffusion", "core-shell") + (("diffusion-mask",) if mask_table is not None else ())
    fits = [fit_profile(distance_nm, value, stderr, m, radius_nm, time_s, view, geometry, mask_table)
            for m in models]
    return sorted(fits, key=lambda f: f.aic)
