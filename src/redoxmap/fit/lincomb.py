"""Per-pixel linear-combination fitting of spectra to references, vectorized over pixels.

Wang et al., Nat. Commun. 12, 5370 (2021), Methods, Eqs. 2–3: each pixel's optical density
−ln(I/I0)(E) = Σ_k μ_k(E) t_k is fitted as a linear combination of reference spectra μ_k; the
weights t_k give phase fractions f_k = t_k / Σ_j t_j and their sum is proportional to thickness;
the misfit is R = Σ_E (data − fit)² / Σ_E data².

All pixels are solved at once from the normal equations: with the design matrix A (E × K),
G = AᵀA and b = Aᵀd per pixel, the unconstrained weights are G⁻¹b and the residual sum of squares
is dᵀd − 2wᵀb + wᵀGw, so the data are read once (one matrix product) whatever the mode.
Constrained modes enumerate the active sets (2^K − 1 small solves, K ≤ 12): the non-negative
least-squares optimum is the best of the unconstrained solutions on each subset of references
that come out non-negative, which is exact and needs no per-pixel iteration. The sum-to-one mode
does the same with the equality Σw = 1 solved in closed form on each subset (Lagrange multiplier):
w_S = C b_S − C 1 (1ᵀC b_S − 1) / (1ᵀC 1), C = G_SS⁻¹; the problem is a convex quadratic program,
so the best feasible subset solution is its exact optimum (what Larch's ``lincombo_fit`` and
Athena's LCF approach iteratively).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Literal

import numpy as np
import xarray as xr

from redoxmap.errors import EnergyError, FitError, MaskError
from redoxmap.history import with_history

Mode = Literal["lsq", "nnls", "sum1", "sum1-scaled"]
MODES: tuple[str, ...] = ("lsq", "nnls", "sum1", "sum1-scaled")
MAX_REFERENCES = 12
#: Pixels per block inside a chunk: bounds the float64 temporaries to a few tens of MB.
BLOCK_PIXELS = 1 << 16


def _design_matrix(refs: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Columns to fit (E × n) and which of them are non-negative.

    ``lsq``: the K references, unconstrained. ``nnls`` and ``sum1``: the K references, weights ≥ 0
    (``sum1`` adds Σw = 1 in the solver). ``sum1-scaled``: the K references with weights ≥ 0
    (fractions on the simplex, Σf = 1, times a free thickness scale Σt) plus a free constant
    background column (the non-resonant absorption of the rest of the material).
    """
    k = refs.shape[0]
    columns = refs.T
    nonneg = np.full(k, mode != "lsq")
    if mode == "sum1-scaled":
        columns = np.column_stack([columns, np.ones(refs.shape[1])])
        nonneg = np.append(nonneg, False)
    return np.ascontiguousarray(columns, dtype=np.float64), nonneg


def _subsets(nonneg: np.ndarray) -> list[np.ndarray]:
    """Active sets to try: every subset of the constrained columns plus all free columns."""
    free = np.flatnonzero(~nonneg)
    constrained = np.flatnonzero(nonneg)
    sets = []
    for r in range(len(constrained), -1, -1):
        for combo in itertools.combinations(constrained, r):
            cols = np.sort(np.concatenate([free, np.array(combo, dtype=int)]))
            if cols.size:
                sets.append(cols)
    return sets


def _solve_normal_equations(b: np.ndarray, dd: np.ndarray, gram: np.ndarray,
                           nonneg: np.ndarray, sum_to_one: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares weights (P × n) and residual sum of squares (P) from b = Aᵀd (P × n),
    dd = dᵀd (P) and G = AᵀA, for every pixel at once.

    Exact active-set enumeration for the non-negative columns: on each subset S the
    unconstrained solution is w_S = b_S G_SS⁻¹ with RSS = dd − w_S·b_S; the best feasible one wins.
    With ``sum_to_one`` each subset's solution also satisfies Σw = 1 (Lagrange multiplier), and
    RSS = dd − 2 w_S·b_S + w_Sᵀ G_SS w_S.
    """
    n_pix, n_col = b.shape
    best_w = np.zeros((n_pix, n_col))
    best_ss = np.full(n_pix, np.inf) if sum_to_one else dd.copy()
    for cols in _subsets(nonneg):
        try:
            inv = np.linalg.inv(gram[np.ix_(cols, cols)])
        except np.linalg.LinAlgError:
            continue
        b_s = b[:, cols]
        w_s = b_s @ inv
        if sum_to_one:
            c_one = inv.sum(axis=1)
            w_s = w_s - np.outer(w_s.sum(axis=1) - 1.0, c_one / c_one.sum())
            ss = (dd - 2 * np.einsum("pk,pk->p", w_s, b_s)
                  + np.einsum("pk,kl,pl->p", w_s, gram[np.ix_(cols, cols)], w_s))
        else:
            ss = dd - np.einsum("pk,pk->p", w_s, b_s)
        con = nonneg[cols]
        scale = np.abs(w_s).max(axis=1) + 1e-300
        feasible = (w_s[:, con] >= -1e-9 * scale[:, None]).all(axis=1)
        better = feasible & (ss < best_ss - 1e-12 * np.maximum(dd, 1e-300))
        full = np.zeros((n_pix, n_col))
        full[:, cols] = w_s
        best_w = np.where(better[:, None], full, best_w)
        best_ss = np.where(better, ss, best_ss)
        if not nonneg.any():
            break
    best_w[:, nonneg] = np.clip(best_w[:, nonneg], 0.0, None)
    return best_w, np.clip(best_ss, 0.0, None)


#: Packed kernel outputs after the 2K weights and fraction errors.
_R, _SIGMA2, _BACKGROUND, _VALENCE, _VALENCE_ERR, _STATUS = range(6)
_N_EXTRA = 6

#: ``fit_status`` codes (CF flag_values / flag_meanings of the output).
STATUS_MEANINGS = ("fitted", "no_material", "non_finite_spectrum", "valence_out_of_range")
FITTED, NO_MATERIAL, NON_FINITE, OUT_OF_RANGE = range(4)


def _fit_kernel(d: np.ndarray, design: np.ndarray, nonneg: np.ndarray, n_ref: int,
                valence: np.ndarray | None, sum_to_one: bool = False) -> np.ndarray:
    """Fit spectra ``d`` (..., E); return (..., 2K + 6): weights, fraction errors, R, σ², background,
    effective valence and its error, fit status.

    The data are read once, in their stored (energy-major) order: b = Aᵀd and dᵀd per block of
    pixels. Float32 stacks are projected in float32 onto an orthonormal basis Q of the references
    (A = QR, b = Rᵀ(Qᵀd)): the rounding then stays at the level of the data's own float32
    representation, instead of being amplified by the condition number of AᵀA, and the data are
    never copied to float64. σ² = RSS / (E − n_params); the fraction errors propagate
    Cov(w) = σ² C (C = G⁻¹) through f_k = w_k / W (W = Σw):
    Var f_k = σ²/W² (C_kk − 2 f_k Σ_j C_kj + f_k² Σ_ij C_ij). The effective valence
    v̄ = Σ f_k v_k has Var v̄ = σ²/W² · uᵀCu with u_k = v_k − v̄. With the constraint Σw = 1 the
    covariance is the projection P = C − C11ᵀC / (1ᵀC1) (one parameter fewer); as P1 = 0 the same
    formulas then give Var f_k = σ² P_kk and Var v̄ = σ² vᵀPv.
    """
    shape = d.shape[:-1]
    n_e, n_col = design.shape
    if d.dtype not in (np.float32, np.float64):
        d = d.astype(np.float64)
    columns = np.moveaxis(d, -1, 0).reshape(n_e, -1)  # a view for energy-major stacks
    q, r = np.linalg.qr(design)
    q_t = np.ascontiguousarray(q.T, dtype=d.dtype)
    gram = design.T @ design
    cov = np.linalg.pinv(gram)[:n_ref, :n_ref]
    if sum_to_one:
        c_one = cov.sum(axis=1)
        cov = cov - np.outer(c_one, c_one) / c_one.sum()
    n_params = n_col - 1 if sum_to_one else n_col
    n_pix = columns.shape[1]
    out = np.zeros((n_pix, 2 * n_ref + _N_EXTRA))
    for start in range(0, n_pix, BLOCK_PIXELS):
        block = columns[:, start:start + BLOCK_PIXELS]
        b = (q_t @ block).T.astype(np.float64) @ r
        dd = np.einsum("ep,ep->p", block, block, dtype=np.float64)
        finite = np.isfinite(dd)
        w, rss = _solve_normal_equations(np.where(finite[:, None], b, 0.0), np.where(finite, dd, 0.0),
                                        gram, nonneg, sum_to_one)
        weights = w[:, :n_ref]
        total = weights.sum(axis=1)
        ok = finite & (total > 0)
        safe = np.where(ok, total, 1.0)
        frac = weights / safe[:, None]
        sigma2 = rss / max(n_e - n_params, 1)
        var = (np.diag(cov)[None, :] - 2 * frac * cov.sum(axis=1)[None, :]
               + frac**2 * cov.sum()) * sigma2[:, None] / safe[:, None] ** 2
        sl = slice(start, start + block.shape[1])
        out[sl, :n_ref] = weights
        out[sl, n_ref:2 * n_ref] = np.where(ok[:, None], np.sqrt(np.clip(var, 0.0, None)), np.nan)
        out[sl, 2 * n_ref + _R] = np.where(dd > 0, rss / np.where(dd > 0, dd, 1.0), 0.0)
        out[sl, 2 * n_ref + _SIGMA2] = np.where(finite, sigma2, np.nan)
        out[sl, 2 * n_ref + _STATUS] = np.where(ok, FITTED, np.where(finite, NO_MATERIAL, NON_FINITE))
        if n_col > n_ref:
            out[sl, 2 * n_ref + _BACKGROUND] = w[:, n_ref]
        if valence is not None:
            mean_v = frac @ valence
            u = valence[None, :] - mean_v[:, None]
            var_v = np.einsum("pj,jk,pk->p", u, cov, u) * sigma2 / safe**2
            out[sl, 2 * n_ref + _VALENCE] = np.where(ok, mean_v, np.nan)
            out[sl, 2 * n_ref + _VALENCE_ERR] = np.where(ok, np.sqrt(np.clip(var_v, 0.0, None)), np.nan)
    out[~np.isfinite(out[:, 2 * n_ref + _R]), 2 * n_ref + _R] = np.nan
    return out.reshape(*shape, 2 * n_ref + _N_EXTRA)


def _align_refs(stack: xr.DataArray, refs: xr.DataArray) -> np.ndarray:
    e_stack = np.asarray(stack["energy"].values, dtype=float)
    e_ref = np.asarray(refs["energy"].values, dtype=float)
    if e_ref.shape != e_stack.shape or not np.allclose(e_ref, e_stack, rtol=0, atol=1e-3):
        raise EnergyError(
            f"references are sampled at {e_ref.size} energies ({e_ref.min():g}–{e_ref.max():g} eV) "
            f"but the stack at {e_stack.size} ({e_stack.min():g}–{e_stack.max():g} eV); expected "
            "the same energies: load them with load_references(..., energy=stack.energy)"
        )
    values = np.asarray(refs.transpose("component", "energy").values, dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        k, i = np.argwhere(bad)[0]
        raise FitError(f"reference {refs['component'].values[k]!s} holds {int(bad.sum())} NaN or inf "
                       f"value(s), the first at {e_ref[i]:g} eV; expected finite spectra")
    return values


def lincomb(stack: xr.DataArray, refs: xr.DataArray, mode: Mode = "nnls",
            mask: xr.DataArray | np.ndarray | None = None,
            store: Callable[[xr.DataArray], xr.DataArray] | None = None) -> xr.Dataset:
    """Fit every pixel's spectrum as a linear combination of the references (Wang et al. 2021, Methods,
    Eqs. 2–3).

    Each pixel's optical density OD(E) = Σ_k μ_k(E) t_k is fitted with weights t_k (OD per unit
    reference); the fractions are f_k = t_k / Σ_j t_j and the misfit is R = Σ_E (data − fit)² / Σ_E
    data². All pixels are solved at once from the normal equations, constrained modes by exact
    active-set enumeration (module doc).

    Parameters
    ----------
    stack : xarray.DataArray
        Optical density with dims ``(energy, y, x)`` (or any spatial dims after ``energy``, eV),
        NumPy- or dask-backed; dask chunks must hold whole spectra (one chunk along energy).
    refs : xarray.DataArray
        Reference spectra ``(component, energy)`` on the stack's energies; an optional ``valence``
        coordinate adds the effective valence Σ f_k v_k.
    mode : {"lsq", "nnls", "sum1", "sum1-scaled"}
        ``"lsq"`` unconstrained; ``"nnls"`` non-negative weights; ``"sum1"`` non-negative weights
        summing to one, nothing else free (Larch's and Athena's LCF default, for spectra normalized
        to unit edge jump); ``"sum1-scaled"`` fractions on the simplex (Σf = 1, f ≥ 0) times a free
        thickness scale plus a free constant background.
    mask : xarray.DataArray or numpy.ndarray, optional
        Pixels to report statistics over (e.g. the particle), the image's shape; default the
        stack's ``valid`` pixels where the fitted thickness is positive.
    store : callable, optional
        For a dask stack: applied to the per-pixel results (named ``fit``, the spatial dims then
        ``out``) before anything is derived from them, e.g. ``ChunkStore(path, key).write``
        (:class:`redoxmap.io.ChunkStore`), which computes them chunk by chunk into a resumable Zarr
        store and reads them back. Without it they are computed once and kept in memory
        (``persist``).

    Returns
    -------
    xarray.Dataset
        ``weight`` and ``fraction`` ``(component, y, x)``, ``fraction_err`` (1σ, from the residual
        variance and the design matrix), ``r_factor`` (R), ``residual_variance``, ``thickness_od``
        (Σ weights; not in ``sum1`` mode), ``background_od`` (``sum1-scaled`` only), ``valence`` and
        ``valence_err`` (when ``refs`` has a ``valence`` coordinate), ``fit_status`` (0 fitted;
        1 no material, Σw ≤ 0; 2 non-finite spectrum; 3 valence outside the standards' range by more
        than 3σ), ``difference_from_mean``, ``mean_fraction``, ``mask`` (the given mask, valid
        pixels with status 0 only) and ``shift_y``/``shift_x`` per energy if the stack was aligned.
        Fractions, valences and their errors are NaN where the status is not 0; the counts of
        rejected pixels inside the mask are attributes ``pixels_rejected_<reason>``.

    Raises
    ------
    FitError
        If ``mode`` is unknown, the stack has no ``energy`` dimension, there are not 1–12
        references, the references are linearly dependent, or there are no more energies than
        fitted parameters.
    EnergyError
        If the references are not on the stack's energies.
    MaskError
        If the mask has the wrong shape or keeps no fitted pixel.

    Examples
    --------
    >>> from redoxmap.simulate import demo_dataset
    >>> sim = demo_dataset(shape=(48, 48), seed=0)
    >>> maps = lincomb(sim.stack, sim.refs, mode="nnls")
    >>> float(abs(maps.fraction.sel(component="cycled")
    ...           - sim.truth.fraction).where(sim.truth.edge_jump > 0.3).mean()) < 0.05
    True
    """
    if mode not in MODES:
        raise FitError(f"mode {mode!r} is not one of {', '.join(MODES)}")
    if "energy" not in stack.dims:
        raise FitError(f"stack has dims {stack.dims}; expected an 'energy' dimension")
    n_ref = refs.sizes.get("component", 0)
    if n_ref < 1 or n_ref > MAX_REFERENCES:
        raise FitError(f"{n_ref} references given; expected 1 to {MAX_REFERENCES}")
    ref_values = _align_refs(stack, refs)
    design, nonneg = _design_matrix(ref_values, mode)
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise FitError("the references are linearly dependent (or one is constant in sum1-scaled "
                       "mode); expected independent spectra")
    if design.shape[0] <= design.shape[1]:
        raise FitError(f"{design.shape[0]} energies for {design.shape[1]} parameters; expected more "
                       "energies than fitted parameters")
    spatial = [d for d in stack.dims if d != "energy"]
    data = stack.transpose(*spatial, "energy")
    if data.chunks is not None:
        data = data.chunk({"energy": -1})
    valence = np.asarray(refs["valence"].values, float) if "valence" in refs.coords else None
    n_out = 2 * n_ref + _N_EXTRA
    packed = xr.apply_ufunc(
        _fit_kernel, data,
        kwargs={"design": design, "nonneg": nonneg, "n_ref": n_ref, "valence": valence,
                "sum_to_one": mode == "sum1"},
        input_core_dims=[["energy"]], output_core_dims=[["out"]], dask="parallelized",
        output_dtypes=[np.float64], dask_gufunc_kwargs={"output_sizes": {"out": n_out}},
    ).rename("fit")
    if packed.chunks is not None:  # the fit runs once, whatever is derived from it
        packed = packed.persist() if store is None else store(packed)
    components = refs["component"].values
    weight = packed.isel(out=slice(0, n_ref)).rename(out="component")
    weight = weight.assign_coords(component=components).transpose("component", *spatial)
    err = packed.isel(out=slice(n_ref, 2 * n_ref)).rename(out="component")
    err = err.assign_coords(component=components).transpose("component", *spatial)
    status = packed.isel(out=2 * n_ref + _STATUS).astype(np.int8)
    thickness = weight.sum("component")
    ds = xr.Dataset({
        "weight": weight.drop_vars("out", errors="ignore"),
        "fraction_err": err,
        "r_factor": packed.isel(out=2 * n_ref + _R),
        "residual_variance": packed.isel(out=2 * n_ref + _SIGMA2),
    })
    if mode != "sum1":
        ds["thickness_od"] = thickness
    if mode == "sum1-scaled":
        ds["background_od"] = packed.isel(out=2 * n_ref + _BACKGROUND)
    if valence is not None:
        ds = ds.assign_coords(standard_valence=("component", valence))
        ds["valence"] = packed.isel(out=2 * n_ref + _VALENCE)
        ds["valence_err"] = packed.isel(out=2 * n_ref + _VALENCE_ERR)
        low = ds["valence"] + 3 * ds["valence_err"] < valence.min()
        high = ds["valence"] - 3 * ds["valence_err"] > valence.max()
        status = status.where(~(low | high), OUT_OF_RANGE).astype(np.int8)
    ds = ds.drop_vars("out", errors="ignore")
    if "valid" in stack.coords:
        ds = ds.drop_vars("valid", errors="ignore")
    status = status.drop_vars([c for c in status.coords if c not in spatial])
    status = status.compute() if status.chunks is not None else status
    ds["fit_status"] = status
    good = status == FITTED
    fraction = weight / thickness.where(good, 1.0)
    ds["fraction"] = fraction.where(good)
    for name in ("fraction_err", "valence", "valence_err"):
        if name in ds:
            ds[name] = ds[name].where(good)
    ds["mask"], counts = _fit_mask(stack, mask, good, status, spatial)
    mean = ds["fraction"].where(ds["mask"]).mean(spatial)
    ds["difference_from_mean"] = (ds["fraction"] - mean).where(ds["mask"], 0.0)
    ds["mean_fraction"] = mean
    for name in ("shift_y", "shift_x"):
        if name in stack.coords:
            ds[name] = stack.coords[name].reset_coords(drop=True)
    _describe(ds)
    attrs = {k: v for k, v in stack.attrs.items() if k not in ("units", "long_name")}
    ds.attrs = with_history(attrs, "lincomb", mode=mode,
                            references=[str(c) for c in components])
    ds.attrs["fit_mode"] = mode
    ds.attrs.update(counts)
    return ds


def _fit_mask(stack: xr.DataArray, mask, good: xr.DataArray, status: xr.DataArray,
              spatial: list) -> tuple[xr.DataArray, dict[str, int]]:
    """The pixels statistics are taken over: the given mask (default all) on valid pixels whose
    fit succeeded; and the count of pixels of the given mask rejected for each reason."""
    if mask is None:
        wanted = xr.ones_like(good, dtype=bool)
    else:
        wanted = mask if isinstance(mask, xr.DataArray) else xr.DataArray(np.asarray(mask), dims=spatial)
        if wanted.shape != good.shape:
            raise MaskError(f"mask has shape {wanted.shape}; expected {good.shape} (the image shape)")
        wanted = wanted.astype(bool)
    if "valid" in stack.coords:
        wanted = wanted & stack.coords["valid"].reset_coords(drop=True)
    wanted = wanted.compute() if wanted.chunks is not None else wanted
    wanted = wanted.drop_vars([c for c in wanted.coords if c not in spatial])
    codes = np.asarray(status.values)[np.asarray(wanted.values)]
    counts = {"pixels_in_mask": int(codes.size), "pixels_fitted": int((codes == FITTED).sum())}
    for code, reason in enumerate(STATUS_MEANINGS[1:], start=1):
        counts[f"pixels_rejected_{reason}"] = int((codes == code).sum())
    out = wanted & good
    if mask is None:  # by default, a pixel without material is outside, not rejected
        counts["pixels_in_mask"] -= counts.pop("pixels_rejected_no_material")
    if not bool(out.any()):
        raise MaskError("the mask selects no pixel (after removing invalid pixels and failed fits: "
                        + ", ".join(f"{k}={v}" for k, v in counts.items())
                        + "); expected at least one pixel on the particle: lower the mask threshold")
    return out, counts


def _describe(ds: xr.Dataset) -> None:
    meta = {
        "weight": ("weight of each reference (OD per unit reference)", "1"),
        "fraction": ("phase fraction weight / Σ weights (Wang 2021, Eq. 2)", "1"),
        "fraction_err": ("1σ standard error of the fraction", "1"),
        "r_factor": ("misfit R = Σ(data − fit)² / Σ data² (Wang 2021, Eq. 3)", "1"),
        "residual_variance": ("residual variance RSS / (n_energy − n_params)", "1"),
        "thickness_od": ("Σ weights, proportional to thickness", "1"),
        "background_od": ("fitted constant background optical density", "1"),
        "difference_from_mean": ("fraction minus its mean over the mask", "1"),
        "mean_fraction": ("mean fraction over the mask", "1"),
        "mask": ("pixels included in statistics", ""),
        "valence": ("effective valence Σ fraction_k · valence_k", "1"),
        "valence_err": ("1σ standard error of the effective valence", "1"),
        "shift_y": ("drift correction applied along y", "pixel"),
        "shift_x": ("drift correction applied along x", "pixel"),
        "fit_status": ("fit status: " + ", ".join(f"{i} {m}" for i, m in enumerate(STATUS_MEANINGS)), ""),
    }
    for name, (long_name, units) in meta.items():
        if name in ds:
            ds[name].attrs.update(long_name=long_name, units=units)
    ds["fit_status"].attrs.update(flag_values=list(range(len(STATUS_MEANINGS))),
                                  flag_meanings=" ".join(STATUS_MEANINGS))
