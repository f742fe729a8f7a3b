"""Pseudo-Voigt peaks on a linear background, fitted to every pattern of a series at once.

Model of one window (x = 2θ in degrees or q in Å⁻¹)::

    y(x) = b0 + b1 (x − x̄) + Σ_k A_k [PV(x; x_k, W_k, η_k) + r PV(x; x₂(x_k), W_k, η_k)]

with the area-normalised pseudo-Voigt of full width at half maximum W (Wertheim et al. 1974,
Rev. Sci. Instrum. 45, 1369; Thompson, Cox & Hastings 1987, J. Appl. Cryst. 20, 79)::

    PV = η L + (1 − η) G,   L = (2 / πW) / (1 + 4u²),   G = (2/W) √(ln2/π) exp(−4 ln2 u²),   u = (x − x_k)/W

and, for a Kα1/Kα2 source, the Kα2 copy at sin θ₂ = (λ₂/λ₁) sin θ_k with ratio r (0 without it).

The fit is Levenberg–Marquardt (Marquardt 1963, J. SIAM 11, 431) run on all patterns together:
the Jacobian (patterns × points × parameters) is analytic, the damped normal equations of every
pattern are solved in one batched call, and each pattern keeps its own damping and stops on its
own. Weights are 1/σ² (the ``intensity_sigma`` coordinate, or Poisson σ² = max(y, 1)). The 1σ
errors are √diag((JᵀWJ)⁻¹ χ²_ν), χ²_ν = χ² / (n − p), as in ``scipy.optimize.curve_fit``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr
from scipy.integrate import trapezoid

from redoxmap.diffraction.units import CU_KA1_A, CU_KA2_A, KA2_RATIO
from redoxmap.errors import FitError
from redoxmap.history import with_history

_LN2 = np.log(2.0)
_CG = 2.0 * np.sqrt(_LN2 / np.pi)
_CL = 2.0 / np.pi
#: area / (height × FWHM) of a pseudo-Voigt with η = 1/2
_AREA_PER_HEIGHT_WIDTH = 0.5 * (np.pi / 2) + 0.5 * np.sqrt(np.pi / (4 * _LN2))
PEAK_FIELDS = ("area", "center", "fwhm", "eta")


def pseudo_voigt(x, center, fwhm, eta, area=1.0):
    """Area-normalised pseudo-Voigt profile ``area · [η L + (1 − η) G]`` of full width at half maximum W
    (Thompson, Cox & Hastings 1987, J. Appl. Cryst. 20, 79; L and G in the module doc).

    Parameters
    ----------
    x : array_like
        Axis values (2θ in degrees or q in Å⁻¹).
    center : array_like
        Peak position x_k, in the units of ``x``.
    fwhm : array_like
        Full width at half maximum W, in the units of ``x``.
    eta : array_like
        Lorentzian fraction η (0 Gaussian, 1 Lorentzian).
    area : array_like
        Integrated area; default 1.

    Returns
    -------
    numpy.ndarray
        The profile at ``x``, all arguments broadcast together.

    Examples
    --------
    >>> x = np.linspace(-50, 50, 200001)
    >>> round(float(trapezoid(pseudo_voigt(x, 0.0, 1.0, 0.3), x)), 3)
    0.998
    >>> round(float(pseudo_voigt(0.0, 0.0, 1.0, 0.0)), 4)  # Gaussian height 2√(ln2/π)/W
    0.9394
    """
    u = (np.asarray(x, float) - center) / fwhm
    lorentz = _CL / fwhm / (1 + 4 * u * u)
    gauss = _CG / fwhm * np.exp(-4 * _LN2 * u * u)
    return area * (eta * lorentz + (1 - eta) * gauss)


def _profile_and_grads(x, center, fwhm, eta):
    """PV (unit area) and its derivatives by centre, width and η; shapes broadcast (S, P, N)."""
    u = (x - center) / fwhm
    q = 1 + 4 * u * u
    lorentz = _CL / fwhm / q
    gauss = _CG / fwhm * np.exp(-4 * _LN2 * u * u)
    value = eta * lorentz + (1 - eta) * gauss
    d_center = eta * lorentz * (8 * u / fwhm / q) + (1 - eta) * gauss * (8 * _LN2 * u / fwhm)
    d_fwhm = eta * lorentz * (-1 + 8 * u * u / q) / fwhm + (1 - eta) * gauss * (-1 + 8 * _LN2 * u * u) / fwhm
    return value, d_center, d_fwhm, lorentz - gauss


def _model(x, params, n_peaks, ka2):
    """Model (S, N) and Jacobian (S, N, p) of the window model for parameters (S, p).

    Parameter order: b0, b1, then area, centre, fwhm, eta of each peak.
    """
    s, n = params.shape[0], x.size
    xm = x - x.mean()
    peaks = params[:, 2:].reshape(s, n_peaks, 4)
    area, center, fwhm, eta = (peaks[:, :, i, None] for i in range(4))
    value, d_c, d_w, d_e = _profile_and_grads(x[None, None, :], center, fwhm, eta)
    if ka2 is not None:
        ratio, scale = ka2
        sin1 = np.sin(np.radians(center) / 2)
        center2 = np.degrees(2 * np.arcsin(np.clip(scale * sin1, -1, 1)))
        dc2 = scale * np.cos(np.radians(center) / 2) / np.cos(np.radians(center2) / 2)
        v2, d_c2, d_w2, d_e2 = _profile_and_grads(x[None, None, :], center2, fwhm, eta)
        value, d_c, d_w, d_e = (value + ratio * v2, d_c + ratio * d_c2 * dc2, d_w + ratio * d_w2,
                                d_e + ratio * d_e2)
    model = params[:, 0, None] + params[:, 1, None] * xm[None, :] + np.sum(area * value, axis=1)
    jac = np.empty((s, n, params.shape[1]))
    jac[:, :, 0] = 1.0
    jac[:, :, 1] = xm[None, :]
    grads = np.stack([value, area * d_c, area * d_w, area * d_e], axis=2)  # (S, P, 4, N)
    jac[:, :, 2:] = grads.reshape(s, n_peaks * 4, n).transpose(0, 2, 1)
    return model, jac


def _bounds(n_peaks, x):
    """Lower and upper bounds of the parameters: centres inside the window, widths within
    (step/4, window span), η within [0, 1]; background and areas free."""
    step = float(np.min(np.diff(x)))
    lower = np.tile([-np.inf, x[0], step / 4, 0.0], n_peaks)
    upper = np.tile([np.inf, x[-1], x[-1] - x[0], 1.0], n_peaks)
    return (np.concatenate([[-np.inf, -np.inf], lower]), np.concatenate([[np.inf, np.inf], upper]))


def _initial(x, y, centers, fwhm, n_peaks, ka2_ratio):
    """Per-pattern starting values: background through the window's ends, peak heights read at the
    starting centres (the maximum for a single peak without a given centre), areas from heights."""
    s, n = y.shape
    edge = max(2, n // 20)
    left, right = y[:, :edge].mean(axis=1), y[:, -edge:].mean(axis=1)
    xl, xr_ = x[:edge].mean(), x[-edge:].mean()
    slope = (right - left) / (xr_ - xl)
    xm = x - x.mean()
    intercept = left - slope * (xl - x.mean())
    net = y - (intercept[:, None] + slope[:, None] * xm[None, :])
    if centers is None:
        start = x[np.argmax(net, axis=1)][:, None]
    else:
        start = np.broadcast_to(np.asarray(centers, float), (s, n_peaks)).copy()
    index = np.clip(np.searchsorted(x, start), 0, n - 1)
    height = np.clip(np.take_along_axis(net, index, axis=1), 1e-12, None)
    if fwhm is None:
        area_total = np.clip(trapezoid(np.clip(net, 0, None), x, axis=1), 1e-12, None)
        width = area_total / (_AREA_PER_HEIGHT_WIDTH * height.sum(axis=1) * (1 + ka2_ratio))
        width = np.clip(width, 2 * np.min(np.diff(x)), (x[-1] - x[0]) / 4)[:, None] * np.ones((1, n_peaks))
    else:
        width = np.broadcast_to(np.asarray(fwhm, float), (s, n_peaks)).copy()
    area = height * width * _AREA_PER_HEIGHT_WIDTH / (1 + ka2_ratio)
    peaks = np.stack([area, start, width, np.full((s, n_peaks), 0.5)], axis=2)
    return np.concatenate([intercept[:, None], slope[:, None], peaks.reshape(s, -1)], axis=1)


def _levenberg_marquardt(x, y, weight, params, n_peaks, ka2, max_iter, tol):
    """Batched, bounded Levenberg–Marquardt; returns parameters, JᵀWJ, χ², iterations, converged flags.

    A parameter on a bound whose gradient points outward is held there for that step (active set),
    so a width or η that belongs on its bound does not slow the others down."""
    s, p = params.shape
    lower, upper = _bounds(n_peaks, x)
    params = np.clip(params, lower, upper)
    damping = np.full(s, 1e-3)
    model, jac = _model(x, params, n_peaks, ka2)
    chi2 = np.sum(weight * (y - model) ** 2, axis=1)
    active = np.ones(s, bool)
    iterations = np.zeros(s, int)
    eye = np.eye(p)
    for _ in range(max_iter):
        if not active.any():
            break
        idx = np.flatnonzero(active)
        j, r, w = jac[idx], (y - model)[idx], weight[idx]
        hess = np.einsum("snp,sn,snq->spq", j, w, j)
        grad = np.einsum("snp,sn,sn->sp", j, w, r)
        pinned = ((params[idx] <= lower) & (grad < 0)) | ((params[idx] >= upper) & (grad > 0))
        free = (~pinned).astype(float)
        hess = hess * free[:, :, None] * free[:, None, :] + pinned[:, :, None] * eye[None]
        grad = grad * free
        diag = np.einsum("spp->sp", hess)
        lhs = hess + damping[idx, None, None] * diag[:, :, None] * eye[None]
        try:
            step = np.linalg.solve(lhs, grad[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            step = np.einsum("spq,sq->sp", np.linalg.pinv(lhs), grad)
        trial = np.clip(params[idx] + step, lower, upper)
        t_model, t_jac = _model(x, trial, n_peaks, ka2)
        t_chi2 = np.sum(w * (y[idx] - t_model) ** 2, axis=1)
        better = t_chi2 < chi2[idx]
        gain = (chi2[idx] - t_chi2) / np.maximum(chi2[idx], 1e-300)
        iterations[idx] += 1
        take = idx[better]
        params[take], model[take], jac[take], chi2[take] = (trial[better], t_model[better], t_jac[better],
                                                            t_chi2[better])
        damping[take] /= 3.0
        damping[idx[~better]] *= 4.0
        done = (better & (gain < tol)) | (damping[idx] > 1e10)
        active[idx[done]] = False
    hess = np.einsum("snp,sn,snq->spq", jac, weight, jac)
    return params, hess, chi2, iterations, ~active


def fit_peaks(pattern: xr.DataArray, window: tuple[float, float], centers: Sequence[float] | None = None,
              *, fwhm: float | Sequence[float] | None = None, names: Sequence[str] | None = None,
              ka2: bool | tuple[float, float] = False, max_iter: int = 200,
              tol: float = 1e-10) -> xr.Dataset:
    """Fit one or more pseudo-Voigt peaks on a linear background in one window, every pattern at once
    (model and Levenberg–Marquardt fit in the module doc).

    Parameters
    ----------
    pattern : xarray.DataArray
        ``(scan, two_theta)`` or ``(scan, q)`` series, or a single pattern; an ``intensity_sigma``
        coordinate gives the 1σ of each point (default Poisson, √max(y, 1)).
    window : (float, float)
        ``(low, high)`` of the axis; only these points are fitted.
    centers : sequence of float, optional
        Starting centres, one per peak, or one row per scan (scan × peak). Without them a single
        peak starts at each pattern's maximum.
    fwhm : float or sequence of float, optional
        Starting width(s); default from the window's net area and height.
    names : sequence of str, optional
        Peak labels (e.g. ``["003"]``); default ``p0, p1, …``.
    ka2 : bool or (float, float)
        ``True`` adds the Cu Kα2 copy of every peak (ratio 1/2, λ₂/λ₁ = 1.54439/1.5406); a tuple
        ``(ratio, λ₂/λ₁)`` sets another source. Needs a ``two_theta`` axis; ``center`` is then the
        Kα1 position.
    max_iter : int
        Iteration cap per pattern.
    tol : float
        Relative χ² gain below which a pattern stops.

    Returns
    -------
    xarray.Dataset
        Dims ``scan`` and ``peak``: ``center``, ``fwhm``, ``area``, ``eta`` and their ``*_err``
        (1σ, √diag((JᵀWJ)⁻¹ χ²_ν)), ``height`` (of the Kα1 line), ``background_intercept`` and
        ``background_slope`` (at the window's mean x), ``chi2_red``, ``n_iter``, ``converged``; a
        warning counts the patterns that did not converge.

    Raises
    ------
    FitError
        If the pattern has neither a ``two_theta`` nor a ``q`` axis, the window holds fewer than
        4 points per peak + 3, ``ka2`` is asked for on a q axis, or ``names`` does not give one name
        per peak.

    Examples
    --------
    >>> x = np.linspace(17, 20, 301)
    >>> p = xr.DataArray(100 + 5e3 * pseudo_voigt(x, 18.7, 0.1, 0.4), dims="two_theta",
    ...                  coords={"two_theta": x})
    >>> round(float(fit_peaks(p, (17.5, 20)).center[0, 0]), 4)
    18.7
    """
    dim = "two_theta" if "two_theta" in pattern.dims else "q" if "q" in pattern.dims else None
    if dim is None:
        raise FitError(f"fit_peaks: pattern dims {pattern.dims} hold neither 'two_theta' nor 'q'")
    series = pattern if "scan" in pattern.dims else pattern.expand_dims(scan=[0])
    lo, hi = sorted(window)
    part = series.sel({dim: slice(lo, hi)}).transpose("scan", dim)
    x = part[dim].values.astype(float)
    n_peaks = 1 if centers is None else np.asarray(centers, float).shape[-1]
    if x.size < 4 * n_peaks + 3:
        raise FitError(f"fit_peaks: window {lo:g}–{hi:g} holds {x.size} points for {n_peaks} peak(s); "
                       f"expected at least {4 * n_peaks + 3}")
    y = part.values.astype(float)
    if "intensity_sigma" in part.coords:
        sigma = np.broadcast_to(part.intensity_sigma.values, y.shape)
    else:
        sigma = np.sqrt(np.clip(y, 1.0, None))
    good = np.isfinite(y) & np.isfinite(sigma) & (sigma > 0)
    weight = np.where(good, 1.0 / np.where(good, sigma, 1.0) ** 2, 0.0)
    y = np.where(good, y, 0.0)
    if ka2 is True:
        ka2 = (KA2_RATIO, CU_KA2_A / CU_KA1_A)
    if ka2 and dim != "two_theta":
        raise FitError("fit_peaks: ka2 needs a two_theta axis; the pattern is on q")
    ka2_pair = tuple(ka2) if ka2 else None
    params = _initial(x, y, centers, fwhm, n_peaks, ka2_pair[0] if ka2_pair else 0.0)
    params, hess, chi2, n_iter, converged = _levenberg_marquardt(x, y, weight, params, n_peaks, ka2_pair,
                                                                 max_iter, tol)
    dof = np.maximum(good.sum(axis=1) - params.shape[1], 1)
    chi2_red = chi2 / dof
    cov = np.linalg.pinv(hess) * chi2_red[:, None, None]
    err = np.sqrt(np.clip(np.einsum("spp->sp", cov), 0, None))
    if not converged.all():
        warnings.warn(f"fit_peaks: {int((~converged).sum())} of {converged.size} pattern(s) did not "
                      f"converge in {max_iter} iterations in window {lo:g}–{hi:g}", stacklevel=2)
    s = params.shape[0]
    peaks, peak_err = params[:, 2:].reshape(s, n_peaks, 4), err[:, 2:].reshape(s, n_peaks, 4)
    labels = list(names) if names is not None else [f"p{i}" for i in range(n_peaks)]
    if len(labels) != n_peaks:
        raise FitError(f"fit_peaks: {len(labels)} names for {n_peaks} peak(s)")
    unit = part[dim].attrs.get("units", "deg" if dim == "two_theta" else "1/angstrom")
    data = {}
    for i, name in enumerate(PEAK_FIELDS):
        attrs = {"units": unit} if name in ("center", "fwhm") else {}
        data[name] = (("scan", "peak"), peaks[:, :, i], attrs)
        data[f"{name}_err"] = (("scan", "peak"), peak_err[:, :, i], attrs)
    height = peaks[:, :, 0] * pseudo_voigt(0.0, 0.0, peaks[:, :, 2], peaks[:, :, 3])
    data["height"] = (("scan", "peak"), height)
    data["background_intercept"] = ("scan", params[:, 0])
    data["background_slope"] = ("scan", params[:, 1])
    data["chi2_red"] = ("scan", chi2_red)
    data["n_iter"] = ("scan", n_iter)
    data["converged"] = ("scan", converged)
    coords = {"scan": part.scan.values, "peak": labels}
    for name in ("time", "time_s", "file"):
        if name in part.coords and part[name].dims == ("scan",):
            coords[name] = ("scan", part[name].values)
    attrs = with_history({k: v for k, v in pattern.attrs.items() if k in ("history", "wavelength_a",
                                                                           "wavelength_ka2_a", "source")},
                         "fit_peaks", window=(lo, hi), peaks=labels, ka2=ka2_pair)
    attrs["axis"] = dim
    return xr.Dataset(data, coords=coords, attrs=attrs)


def fit_reflections(pattern: xr.DataArray, windows: Mapping[str, tuple[float, float]], *,
                    ka2: bool | tuple[float, float] = False, **kwargs) -> xr.Dataset:
    """:func:`fit_peaks` for several single-peak windows, one Dataset whose ``peak`` coordinate holds the
    window names.

    Parameters
    ----------
    pattern : xarray.DataArray
        ``(scan, two_theta)`` or ``(scan, q)`` series, or a single pattern.
    windows : mapping of str to (float, float)
        Reflection name → axis window, e.g. ``{"003": (18, 19.5), "104": (43, 45)}``.
    ka2 : bool or (float, float)
        Kα2 copies, as in :func:`fit_peaks`.
    **kwargs
        Further options of :func:`fit_peaks` (``max_iter``, ``tol``, ``fwhm``).

    Returns
    -------
    xarray.Dataset
        The :func:`fit_peaks` variables over ``(scan, peak)``, with ``chi2_red``, ``n_iter`` and
        ``converged`` per window; background terms are left out.

    Examples
    --------
    >>> x = np.linspace(17, 21, 401)
    >>> y = 100 + 5e3 * pseudo_voigt(x, 18.7, 0.1, 0.4) + 3e3 * pseudo_voigt(x, 20.1, 0.12, 0.4)
    >>> series = xr.DataArray([y], dims=("scan", "two_theta"), coords={"two_theta": x})
    >>> fits = fit_reflections(series, {"003": (18.0, 19.4), "101": (19.5, 20.8)})
    >>> [round(float(c), 3) for c in fits.center[0]]
    [18.7, 20.1]
    """
    fits = [fit_peaks(pattern, window, names=[name], ka2=ka2, **kwargs) for name, window in windows.items()]
    out = xr.concat([f.drop_vars(["background_intercept", "background_slope", "chi2_red", "n_iter",
                                  "converged"]) for f in fits], dim="peak")
    for name in ("chi2_red", "converged", "n_iter"):
        out[name] = xr.concat([f[name] for f in fits], dim="peak").transpose("scan", "peak")
    out.attrs = with_history(fits[0].attrs, "fit_reflections", windows=dict(windows))
    return out
