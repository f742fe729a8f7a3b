"""Per-pixel linear-combination fitting of spectra to references, vectorized over pixels.

Wang et al., Nat. Commun. 12, 5370 (2021), Methods, Eqs. 2–3: each pixel's optical density
−ln(I/I0)(E) = Σ_k μ_k(E) t_k is fitted as a linear combination of reference spectra μ_k; the
weights t_k give phase fractions f_k = t_k / Σ_j t_j and their sum is proportional to thickness;
the misfit is R = Σ_E (data − fit)² / Σ_E data².

All pixels are solved at once from the normal equations, the data read once whatever the mode:
with the design matrix A = QR (E × K, Q orthonormal), each pixel's coordinates p = Qᵀd and its
dᵀd give b = Aᵀd = Rᵀp, the unconstrained weights R⁻¹p = G⁻¹b (G = AᵀA) and the residual sum of
squares dᵀd − |p|², in general dᵀd − 2wᵀb + wᵀGw.
Constrained modes enumerate the active sets (2^K − 1 small solves, K ≤ 12): the non-negative
least-squares optimum is the best of the unconstrained solutions on each subset of references
that come out non-negative, which is exact and needs no per-pixel iteration. The sum-to-one mode
does the same with the equality Σw = 1 solved in closed form on each subset (Lagrange multiplier):
w_S = C b_S − C 1 (1ᵀC b_S − 1) / (1ᵀC 1), C = G_SS⁻¹; the problem is a convex quadratic program,
so the best feasible subset solution is its exact optimum (what Larch's ``lincombo_fit`` and
Athena's LCF approach iteratively).
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np
import xarray as xr

from redoxmap.blas import one_blas_thread
from redoxmap.errors import EnergyError, FitError, MaskError
from redoxmap.history import with_history

if TYPE_CHECKING:
    import dask.array as da

Mode = Literal["lsq", "nnls", "sum1", "sum1-scaled"]
MODES: tuple[str, ...] = ("lsq", "nnls", "sum1", "sum1-scaled")
MAX_REFERENCES = 12


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


class _ActiveSet(NamedTuple):
    """One subset S of the columns, with what its solution needs: C = G_SS⁻¹ and, for Σw = 1,
    G_SS and the direction C1 / (1ᵀC1) that restores the sum."""

    columns: np.ndarray
    constrained: np.ndarray
    inverse: np.ndarray
    gram: np.ndarray
    shift: np.ndarray | None


class _Design(NamedTuple):
    """What the solution of every pixel shares: A = QR, R⁻¹, the constraints and the active sets
    to try (all columns first)."""

    q: np.ndarray
    r: np.ndarray
    r_inv: np.ndarray
    nonneg: np.ndarray
    sum_to_one: bool
    sets: list[_ActiveSet]


def _factor_design(design: np.ndarray, nonneg: np.ndarray, sum_to_one: bool = False) -> _Design:
    """Factor the design matrix once for all pixels: A = QR and the active sets to try.

    Parameters
    ----------
    design : A (E × n), full column rank.
    nonneg : which columns are constrained to be ≥ 0 (n).
    sum_to_one : add the constraint Σw = 1.

    Returns
    -------
    :class:`_Design` with Q, R, R⁻¹ and every subset of the constrained columns plus all free
    columns, largest first, each with G_SS⁻¹ (principal submatrices of a positive-definite
    G = AᵀA are invertible).
    """
    q, r = np.linalg.qr(design)
    gram = design.T @ design
    free = np.flatnonzero(~nonneg)
    constrained = np.flatnonzero(nonneg)
    sets = []
    for size in range(len(constrained), -1, -1):
        for combo in itertools.combinations(constrained, size):
            cols = np.sort(np.concatenate([free, np.array(combo, dtype=int)]))
            if cols.size:
                sub = gram[np.ix_(cols, cols)]
                inverse = np.linalg.inv(sub)
                c_one = inverse.sum(axis=1)
                sets.append(_ActiveSet(cols, nonneg[cols], inverse, sub,
                                      c_one / c_one.sum() if sum_to_one else None))
    return _Design(q, r, np.linalg.inv(r), nonneg, sum_to_one, sets)


def _solve_normal_equations(p: np.ndarray, dd: np.ndarray, design: _Design,
                           out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares weights (n × P) and residual sum of squares (P) of every pixel at once, from
    its coordinates p = Qᵀd (n × P) on the orthonormal basis of the design (A = QR) and dd = dᵀd.

    The RSS of weights w is dd − g(w), with the gain g(w) = 2 w·b − wᵀGw (b = Aᵀd = Rᵀp,
    G = AᵀA). Unconstrained: w = R⁻¹p, g = |p|². Constraints w ≥ 0 are met by exact active-set
    enumeration: on each subset S of the columns the unconstrained solution is w_S = G_SS⁻¹ b_S,
    with g = w_S·b_S; the feasible one of largest gain wins (w = 0, g = 0 if none; a later subset
    must beat the best so far by 1e-12 dd). A pixel whose solution on all columns is feasible is
    done (no subset has a larger gain); only the others try the subsets. With Σw = 1 each
    subset's solution is moved onto Σw = 1 (Lagrange multiplier: w_S − C1 (1ᵀw_S − 1) / (1ᵀC1),
    C = G_SS⁻¹), and only solutions with Σw = 1 are candidates.

    Parameters
    ----------
    p : coordinates Qᵀd of each pixel's spectrum (n × P), float64.
    dd : dᵀd per pixel (P).
    design : :func:`_factor_design` of the columns.
    out : where to write the weights (n × P), e.g. rows of a larger output.

    Returns
    -------
    ``(weights, rss)``: n × P and P.

    Examples
    --------
    >>> a = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> d = a @ np.array([0.3, -0.2])
    >>> design = _factor_design(a, np.array([True, True]))
    >>> w, rss = _solve_normal_equations(design.q.T @ d[:, None], np.array([d @ d]), design)
    >>> np.round(w[:, 0], 6).tolist(), np.round(rss, 6).tolist()
    ([0.2, 0.0], [0.06])
    """
    w = np.matmul(design.r_inv, p, out=out)
    gain = np.einsum("kp,kp->p", p, p)
    if design.sum_to_one:
        w -= np.outer(design.sets[0].shift, w.sum(axis=0) - 1.0)
        misfit = design.r @ w - p
        gain -= np.einsum("kp,kp->p", misfit, misfit)
    if design.nonneg.any():
        feasible = _feasible(w, design.nonneg)
        margin = dd * 1e-12
        if not design.sum_to_one:  # w = 0 is feasible, with gain 0
            feasible &= gain > margin
        rest = np.flatnonzero(~feasible)  # their weights and gains are all rewritten
        if rest.size:
            _best_subset(design, np.take(p, rest, axis=1), margin.take(rest), w, gain, rest)
        for k in np.flatnonzero(design.nonneg):
            np.maximum(w[k], 0.0, out=w[k])
    np.subtract(dd, gain, out=gain)
    return w, np.maximum(gain, 0.0, out=gain)


def _feasible(w: np.ndarray, constrained: np.ndarray) -> np.ndarray:
    """Where the constrained weights (rows of ``w``) are ≥ 0 to 1e-9 of the largest |weight|."""
    if constrained.all():
        if len(constrained) == 1:  # w ≥ −1e-9 w
            return w[0] >= 0.0
        # the largest |weight| is the largest weight or −lowest
        threshold = _reduce_rows(np.maximum, w)
        lowest = _reduce_rows(np.minimum, w)
    else:
        threshold = _reduce_rows(np.maximum, np.abs(w))
        lowest = _reduce_rows(np.minimum, w[constrained])
    threshold *= -1e-9
    return lowest >= threshold


def _reduce_rows(ufunc: np.ufunc, rows: np.ndarray) -> np.ndarray:
    """``ufunc`` across the rows, as a new array (a loop of row operations: faster than a
    reduction over axis 0 of a few rows)."""
    if len(rows) == 1:
        return rows[0].copy()
    result = ufunc(rows[0], rows[1])
    for row in rows[2:]:
        ufunc(result, row, out=result)
    return result


def _best_subset(design: _Design, p: np.ndarray, margin: np.ndarray, w: np.ndarray,
                 gain: np.ndarray, pixels: np.ndarray) -> None:
    """Try the smaller active sets on ``pixels`` (whose coordinates are ``p``); write the best
    feasible solution and its gain into ``w`` and ``gain`` there."""
    b = design.r.T @ p
    best = np.full(len(margin), -np.inf if design.sum_to_one else 0.0)
    solutions = []
    for active in design.sets[1:]:
        b_s = b[active.columns]
        w_s = active.inverse @ b_s if len(b_s) > 1 else b_s * active.inverse[0, 0]
        if active.shift is not None:
            w_s -= np.outer(active.shift, w_s.sum(axis=0) - 1.0)
            g = 2 * np.einsum("kp,kp->p", w_s, b_s) - np.einsum("kp,kp->p", w_s, active.gram @ w_s)
        else:
            g = np.einsum("kp,kp->p", w_s, b_s)
        better = g > best + margin
        if active.constrained.any():
            better &= _feasible(w_s, active.constrained)
        best = np.where(better, g, best)
        solutions.append((active.columns, w_s, better))
    chosen = np.zeros((w.shape[0], len(margin)))
    taken = np.zeros(len(margin), bool)
    for columns, w_s, better in reversed(solutions):  # the last subset that was better won
        picked = better & ~taken
        taken |= better
        for column, values in zip(columns, w_s, strict=True):
            chosen[column] += values * picked
    for row, values in zip(w, chosen, strict=True):
        row[pixels] = values
    gain[pixels] = best


#: ``fit_status`` codes (CF flag_values / flag_meanings of the output).
STATUS_MEANINGS = ("fitted", "no_material", "non_finite_spectrum", "valence_out_of_range")
FITTED, NO_MATERIAL, NON_FINITE, OUT_OF_RANGE = range(4)

#: Values of the stack read per block: a block (4096 pixels at 121 energies, 2 MB of float32) is
#: still in cache for the second and later of its products and its sum of squares, so the data
#: leave memory once. BLAS runs on one thread meanwhile (:func:`redoxmap.blas.one_blas_thread`):
#: OpenBLAS would otherwise spread each product over threads of its own, which fight ours.
READ_VALUES = 1 << 19
#: At most this many pixels are solved together: their float64 temporaries stay in cache, and the
#: Python overhead is paid a few times per megapixel (1.3× faster than 2^14 on a 1024² stack).
SOLVE_PIXELS = 1 << 16
#: An image is cut into at least this many solve chunks when it has the pixels, so that threads
#: share the work evenly.
SOLVE_CHUNKS = 8


def _output_rows(n_ref: int, mode: str, with_valence: bool) -> dict[str, slice]:
    """Rows of the kernel's packed output: the weights of the fitted columns (``weight`` per
    component, then ``background_od`` in ``sum1-scaled`` mode), ``fraction`` and ``fraction_err``
    per component, ``r_factor``, ``residual_variance``, ``fit_status``, ``thickness_od`` (not in
    ``sum1`` mode), and ``valence`` and ``valence_err`` with standards of known valence."""
    sizes = {"weight": n_ref}
    if mode == "sum1-scaled":
        sizes["background_od"] = 1
    sizes.update(fraction=n_ref, fraction_err=n_ref, r_factor=1, residual_variance=1, fit_status=1)
    if mode != "sum1":
        sizes["thickness_od"] = 1
    if with_valence:
        sizes.update(valence=1, valence_err=1)
    bounds = np.cumsum([0, *sizes.values()])
    return {name: slice(int(a), int(b)) for name, a, b in zip(sizes, bounds[:-1], bounds[1:], strict=True)}


def _solution_rows(n_col: int) -> dict[str, slice]:
    """Rows of the kernel's output before anything is derived: the weights of the ``n_col``
    fitted columns (as in :func:`_output_rows`), the residual sum of squares and dᵀd (not finite
    for a spectrum that is not): all that :func:`_derive_kernel` needs for the rest, and what a
    fit block by block keeps."""
    return {"weights": slice(0, n_col), "rss": slice(n_col, n_col + 1), "dd": slice(n_col + 1, n_col + 2)}


class _Errors(NamedTuple):
    """The error model every pixel shares, and the rows to write (:func:`_output_rows`)."""

    n_ref: int
    dof: int
    cov_diag: np.ndarray
    cov_rows: np.ndarray
    cov_sum: float
    valence: np.ndarray | None
    valence_terms: tuple[float, float]
    rows: dict[str, slice]


def _error_model(design: np.ndarray, n_ref: int, valence: np.ndarray | None, rows: dict[str, slice],
                 sum_to_one: bool) -> _Errors:
    """C = (AᵀA)⁻¹ of the references' weights (with Σw = 1, its projection on Σw = 1) and the
    degrees of freedom of σ² (:func:`_fit_kernel`)."""
    n_e, n_col = design.shape
    cov = np.linalg.pinv(design.T @ design)[:n_ref, :n_ref]
    if sum_to_one:
        c_one = cov.sum(axis=1)
        cov = cov - np.outer(c_one, c_one) / c_one.sum()
    valence_terms = (0.0, 0.0)
    if valence is not None:
        valence_terms = (float(valence @ cov @ valence), float(cov.sum(axis=0) @ valence))
    return _Errors(n_ref=n_ref, dof=max(n_e - (n_col - 1 if sum_to_one else n_col), 1),
                   cov_diag=np.diag(cov)[:, None].copy(), cov_rows=cov.sum(axis=1)[:, None],
                   cov_sum=float(cov.sum()), valence=valence, valence_terms=valence_terms, rows=rows)


class _Plan(NamedTuple):
    """What every chunk of the kernel shares: the factored design, the error model (None: the
    kernel writes the :func:`_solution_rows` only), the chunk sizes."""

    design: _Design
    q_t: np.ndarray
    errors: _Errors | None
    read_pixels: int
    solve_pixels: int


def _fit_kernel(d: np.ndarray, design: np.ndarray, nonneg: np.ndarray, n_ref: int,
                valence: np.ndarray | None, rows: dict[str, slice], sum_to_one: bool = False,
                threads: int = 1, solution_only: bool = False) -> np.ndarray:
    """Fit spectra ``d`` (..., E); return (..., n_out): the quantities of ``rows``
    (:func:`_output_rows`) per pixel, or with ``solution_only`` the :func:`_solution_rows` they
    are derived from (:func:`_derive_kernel`).

    The data are read once, in their stored (energy-major) order, a cache-sized block of pixels
    at a time: p = Qᵀd on an orthonormal basis Q of the references (A = QR), then dᵀd while the
    block is still in cache. Float32 stacks stay in float32 for this pass (the data are never
    copied to float64; the projection onto Q keeps the rounding at the level of the data's own
    representation instead of amplifying it by the condition number of AᵀA); the solution of
    each pixel is float64. Chunks of pixels go to ``threads`` threads (numpy releases the GIL).
    The rest is :func:`_derive`.
    """
    shape = d.shape[:-1]
    n_e, n_col = design.shape
    if d.dtype not in (np.float32, np.float64):
        d = d.astype(np.float64)
    columns = np.moveaxis(d, -1, 0).reshape(n_e, -1)  # a view for energy-major stacks
    factored = _factor_design(design, nonneg, sum_to_one)
    n_pix = columns.shape[1]
    read_pixels = 1 << max(int(np.log2(READ_VALUES / n_e)), 0)
    # the chunks depend on the image only, not on the threads: each pixel's sums are made alike (a
    # block of a dask fit, solution_only, is one thread's work: no need to share it)
    parts = 1 if solution_only else SOLVE_CHUNKS
    solve_pixels = min(SOLVE_PIXELS, -(-n_pix // parts // read_pixels) * read_pixels)
    errors = None if solution_only else _error_model(design, n_ref, valence, rows, sum_to_one)
    plan = _Plan(design=factored, q_t=np.ascontiguousarray(factored.q.T, dtype=d.dtype), errors=errors,
                 read_pixels=read_pixels, solve_pixels=max(solve_pixels, read_pixels))
    n_out = _solution_rows(n_col)["dd"].stop if solution_only else max(r.stop for r in rows.values())
    out = np.empty((n_out, n_pix))
    starts = range(0, n_pix, plan.solve_pixels)
    chunk = functools.partial(_fit_chunk, columns=columns, plan=plan, out=out)
    if threads > 1 and len(starts) > 1:
        with one_blas_thread(), ThreadPoolExecutor(min(threads, len(starts))) as pool:
            list(pool.map(chunk, starts))
    else:  # a dask chunk: the job holds BLAS to one thread (redoxmap.pipeline.execution)
        for start in starts:
            chunk(start)
    return out.T.reshape(*shape, out.shape[0])  # a view: each output row stays contiguous


def _derive_kernel(solution: np.ndarray, design: np.ndarray, n_ref: int, valence: np.ndarray | None,
                   rows: dict[str, slice], sum_to_one: bool = False) -> np.ndarray:
    """The quantities of ``rows`` (:func:`_output_rows`) per pixel, (..., n_out), from the
    :func:`_solution_rows` ``solution`` (..., n_col + 2) of :func:`_fit_kernel` (:func:`_derive`)."""
    shape, layout = solution.shape[:-1], _solution_rows(design.shape[1])
    given = np.moveaxis(solution, -1, 0).reshape(layout["dd"].stop, -1).astype(np.float64)
    out = np.empty((max(r.stop for r in rows.values()), given.shape[1]))
    weights = out[layout["weights"]]
    np.copyto(weights, given[layout["weights"]])
    errors = _error_model(design, n_ref, valence, rows, sum_to_one)
    _derive(weights, given[layout["rss"]][0], given[layout["dd"]][0], errors, out)
    return out.T.reshape(*shape, out.shape[0])


def _project(columns: np.ndarray, plan: _Plan, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """p = Qᵀd (n × P) and dᵀd (P), in the data's dtype, reading each block of pixels once."""
    p = np.empty((plan.q_t.shape[0], stop - start), columns.dtype)
    dd = np.empty(stop - start, columns.dtype)
    for first in range(start, stop, plan.read_pixels):
        block = columns[:, first:min(first + plan.read_pixels, stop)]
        cells = slice(first - start, first - start + block.shape[1])
        for basis, coordinate in zip(plan.q_t, p, strict=True):  # BLAS gemv: one stream each
            np.matmul(basis, block, out=coordinate[cells])
        np.einsum("ep,ep->p", block, block, out=dd[cells])
    return p, dd


def _fit_chunk(start: int, columns: np.ndarray, plan: _Plan, out: np.ndarray) -> None:
    """Fit the pixels from ``start`` to ``start + plan.solve_pixels`` into ``out`` (n_out × pixels):
    the weights of all columns first (``weight`` rows, then ``background_od`` in sum1-scaled mode),
    then what :func:`_derive` makes of them, or the RSS and dᵀd (:func:`_solution_rows`)."""
    stop = min(start + plan.solve_pixels, columns.shape[1])
    p, dd = _project(columns, plan, start, stop)
    p, dd = p.astype(np.float64), dd.astype(np.float64)
    solved_dd = dd
    if not np.isfinite(dd.sum()):  # one reduction: the float64 sum is finite iff each dd is
        finite = np.isfinite(dd)
        p[:, ~finite] = 0.0  # no material: weights 0
        solved_dd = np.where(finite, dd, 0.0)
    layout = _solution_rows(p.shape[0])
    w, rss = _solve_normal_equations(p, solved_dd, plan.design, out=out[layout["weights"], start:stop])
    if plan.errors is None:
        out[layout["rss"], start:stop] = rss
        out[layout["dd"], start:stop] = dd
    else:
        _derive(w, rss, dd, plan.errors, out[:, start:stop])


def _fractions(weights: np.ndarray, finite: np.ndarray | None, total: np.ndarray, fraction: np.ndarray,
               status: np.ndarray) -> np.ndarray:
    """W = Σ_k w_k of the references' ``weights`` (n_ref × P) into ``total``, f_k = w_k / W into
    ``fraction`` (NaN where not fitted) and the status into ``status``: FITTED, NO_MATERIAL (W ≤ 0)
    or NON_FINITE (``finite`` False; None: every spectrum finite). Returns W, NaN where not fitted."""
    np.copyto(total, weights[0])
    for row in weights[1:]:
        total += row
    ok = total > 0
    if finite is not None:
        ok &= finite
    safe = total if bool(ok.all()) else np.where(ok, total, np.nan)
    np.divide(weights, safe, out=fraction)
    np.logical_not(ok, out=status, casting="unsafe")  # FITTED 0, NO_MATERIAL 1
    if finite is not None:
        status[~finite] = NON_FINITE
    return safe


def _status_and_fractions(solution: np.ndarray, design: np.ndarray, n_ref: int,
                          valence: np.ndarray | None, rows: dict[str, slice],
                          sum_to_one: bool = False) -> np.ndarray:
    """The fit status and the fractions of each pixel, (1 + n_ref, pixels) float64, from the
    :func:`_solution_rows` ``solution`` (..., n_col + 2): what statistics over a mask need, as
    :func:`_derive_kernel` makes them (all of it with valences: their errors can reject a pixel)."""
    if valence is not None:
        full = _derive_kernel(solution, design, n_ref, valence, rows, sum_to_one)
        full = full.reshape(-1, full.shape[-1]).T
        return np.concatenate([full[rows["fit_status"]], full[rows["fraction"]]])
    layout = _solution_rows(design.shape[1])
    given = np.moveaxis(solution, -1, 0).reshape(layout["dd"].stop, -1)
    dd = given[layout["dd"]][0]
    finite = None if bool(np.isfinite(dd.sum(dtype=np.float64))) else np.isfinite(dd)
    out = np.empty((1 + n_ref, given.shape[1]))
    _fractions(given[:n_ref].astype(np.float64), finite, np.empty(given.shape[1]), out[1:], out[0])
    return out


def _block_tally(solution: np.ndarray, wanted: np.ndarray | None = None, **settings) -> np.ndarray:
    """The pixels of each fit status among the ``wanted`` pixels of a block (None: all) and the
    sums of the fractions of the fitted ones, from its :func:`_solution_rows` ``solution``
    (..., n_col + 2): ``(1, …, 1, len(STATUS_MEANINGS) + n_ref)`` float64 (``settings``: those of
    :func:`_status_and_fractions`)."""
    both = _status_and_fractions(solution, **settings)
    status, fraction = both[0], both[1:]
    keep = None if wanted is None else wanted.reshape(-1)  # masks, not a selection: 4× faster

    def among(pixels: np.ndarray) -> np.ndarray:
        return pixels if keep is None else pixels & keep

    each = [np.count_nonzero(among(status == code)) for code in range(len(STATUS_MEANINGS))]
    sums = np.where(among(status == FITTED), fraction, 0.0).sum(axis=1)
    return np.concatenate([each, sums]).reshape(*[1] * (solution.ndim - 1), -1)


def _tally(solutions: da.Array, wanted: da.Array | None, settings: dict) -> da.Array:
    """Lazily, block by block (:func:`_block_tally`): the pixels of each fit status among ``wanted``
    (None: all) and the sums of the fractions of the fitted ones, ``(len(STATUS_MEANINGS) +
    n_ref,)``, from the solutions ``(*spatial, out)``."""
    import dask.array as da

    spatial = tuple(range(solutions.ndim - 1))
    chunks = (*[(1,) * len(c) for c in solutions.chunks[:-1]], (len(STATUS_MEANINGS) + settings["n_ref"],))
    given = (solutions,) if wanted is None else (solutions, wanted[..., None])
    per_block = da.map_blocks(_block_tally, *given, **settings, chunks=chunks, dtype=np.float64,
                              meta=np.empty((0,) * solutions.ndim))
    return per_block.sum(axis=spatial)


def _derive(w: np.ndarray, rss: np.ndarray, dd: np.ndarray, errors: _Errors, out: np.ndarray) -> None:
    """From the weights ``w`` of all columns (n_col × P), the RSS and dᵀd of each pixel (``dd`` not
    finite for a spectrum that is not), write into ``out`` (n_out × P, the weights' rows already
    written) the other rows of ``errors.rows`` (:func:`_output_rows`).

    f_k = w_k / W (W = Σ_k w_k over the references); σ² = RSS / (E − n_params); the fraction
    errors propagate Cov(w) = σ² C (C = G⁻¹) through f_k: Var f_k = σ²/W² (C_kk − 2 f_k Σ_j C_kj +
    f_k² Σ_ij C_ij). The effective valence v̄ = Σ f_k v_k has Var v̄ = σ²/W² · uᵀCu with
    u_k = v_k − v̄, i.e. σ²/W² (vᵀCv − 2 v̄ 1ᵀCv + v̄² 1ᵀC1). With the constraint Σw = 1 the
    covariance is the projection P = C − C11ᵀC / (1ᵀC1) (one parameter fewer); as P1 = 0 the same
    formulas then give Var f_k = σ² P_kk and Var v̄ = σ² vᵀPv. Fractions, their errors and the
    valence are NaN where the status is not 0 (no material, non-finite spectrum, or a valence
    beyond the standards' range by more than 3σ).
    """
    all_finite = bool(np.isfinite(dd.sum()))  # one reduction: the float64 sum is finite iff each dd is
    finite = np.isfinite(dd) if not all_finite else None
    if finite is not None:
        dd = np.where(finite, dd, 0.0)
    o = {name: out[rows] for name, rows in errors.rows.items()}
    total = o["thickness_od"][0] if "thickness_od" in o else np.empty(w.shape[1])
    status, frac = o["fit_status"][0], o["fraction"]
    safe = _fractions(w[:errors.n_ref], finite, total, frac, status)  # NaN where not fitted
    sigma2 = np.divide(rss, errors.dof, out=o["residual_variance"][0])
    scale = sigma2 / (safe * safe)
    var = np.multiply(frac, errors.cov_sum, out=o["fraction_err"])
    var -= 2 * errors.cov_rows
    var *= frac
    var += errors.cov_diag
    var *= scale
    np.sqrt(np.maximum(var, 0.0, out=var), out=var)
    np.divide(rss, np.maximum(dd, 1e-300), out=o["r_factor"][0])
    if not all_finite:
        sigma2[~finite] = np.nan
    if not (dd > 0).all():
        o["r_factor"][0][dd <= 0] = 0.0
    if errors.valence is not None:
        v_cv, one_cv = errors.valence_terms
        mean_v = np.dot(errors.valence, frac, out=o["valence"][0])
        var_v = (v_cv - 2 * mean_v * one_cv + mean_v**2 * errors.cov_sum) * scale
        err_v = np.sqrt(np.maximum(var_v, 0.0, out=var_v), out=o["valence_err"][0])
        outside = (mean_v + 3 * err_v < errors.valence.min()) | (mean_v - 3 * err_v > errors.valence.max())
        if outside.any():
            status[outside] = OUT_OF_RANGE
            for name in ("fraction", "fraction_err", "valence", "valence_err"):
                o[name][:, outside] = np.nan


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
            mask: xr.DataArray | np.ndarray | Callable[[xr.DataArray], xr.DataArray] | None = None,
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
        stack's ``valid`` pixels where the fitted thickness is positive. A callable is given what
        ``store`` returned and returns the mask: a mask made in the fit's pass, e.g. from an edge
        jump that ``store`` computed beside the fit. Its attribute ``guess``, if it has one, is the
        mask it expects to make (a dask-backed DataArray): the statistics are then taken in the
        fit's pass over it, and taken again from the stored results only if the mask made differs.
    store : callable, optional
        For a dask stack: called as ``store(solutions, derive)`` with what is solved per pixel
        (named ``fit``, the spatial dims then ``out``: the weights of the fitted columns, the
        residual sum of squares and dᵀd; the maps are derived from them as they are read), and
        returns them stored (dask-backed) and the values of the dask collections
        ``derive(stored)`` gives (the fit status and the sums for the mean), computed in the same
        pass: e.g. :meth:`redoxmap.io.ChunkStore.write` with ``derive``, which computes them chunk
        by chunk into a resumable Zarr store. Without it they are computed once and kept in memory
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
    rows = _output_rows(n_ref, mode, valence is not None)
    settings = {"design": design, "n_ref": n_ref, "valence": valence, "rows": rows,
                "sum_to_one": mode == "sum1"}
    if data.chunks is None:
        fitted = _fit_kernel(data.values, nonneg=nonneg, threads=_cpu_count(), **settings)
    else:  # block by block, each block given as read: map_blocks, as the energy axis is not dropped,
        # never copies it (xarray's apply_ufunc and a dropped axis concatenate the one chunk anew)
        n_solved = _solution_rows(design.shape[1])["dd"].stop
        fitted = data.data.map_blocks(_fit_kernel, nonneg=nonneg, solution_only=True, **settings,
                                      chunks=(*data.chunks[:-1], (n_solved,)),
                                      dtype=np.float64, meta=np.empty((0,) * data.ndim))
    packed = xr.DataArray(fitted, dims=(*spatial, "out"), name="fit",
                          coords={k: v for k, v in data.coords.items() if "energy" not in v.dims})
    values = packed.data  # (*spatial, out), NumPy or dask; each output row is contiguous
    statistics, guess = None, None
    if packed.chunks is not None:  # the solutions are computed (stored) once, the rest derived as read
        n_out = max(r.stop for r in rows.values())
        guess = _guess(stack, mask, spatial, packed.chunks[:-1])
        if store is None:
            packed = packed.persist()
        else:  # the counts by status and the sums for the mean from the solutions in the fit's pass
            def summary(results: xr.DataArray) -> tuple:
                tally = _tally(results.transpose(*spatial, "out").data, guess, settings)
                return (tally, guess) if callable(mask) and guess is not None else (tally,)

            packed, (statistics, *guessed) = store(packed, summary)
            guess = guessed[0] if guessed else guess
        values = packed.data.map_blocks(_derive_kernel, **settings, chunks=(*packed.chunks[:-1], (n_out,)),
                                        dtype=np.float64, meta=np.empty((0,) * packed.ndim))
    if callable(mask):
        mask = mask(packed)
    components = refs["component"].values
    per_pixel, per_component = tuple(spatial), ("component", *spatial)
    fraction = np.moveaxis(values[..., rows["fraction"]], -1, 0)
    status = values[..., rows["fit_status"].start].astype(np.int8)
    wanted = _wanted(stack, mask, status.shape, spatial)
    if isinstance(values, np.ndarray):
        codes = status if wanted is None else status[wanted]
        each = np.array([np.count_nonzero(codes == code) for code in range(len(STATUS_MEANINGS))])
        inside = status == FITTED
        if wanted is not None:
            inside &= wanted
    else:  # a dask fit: the mask stays lazy, its counts come from the pass or one read of the solutions
        import dask.array as da

        lazy = None if wanted is None else da.from_array(wanted, chunks=status.chunks, name=False)
        if statistics is None or not _same(guess, wanted):
            statistics = _tally(packed.data, lazy, settings).compute()
        each, sums = np.split(statistics, [len(STATUS_MEANINGS)])
        inside = status == FITTED if lazy is None else (status == FITTED) & lazy
    counts = _counts(each, given=mask is not None)
    variables = {name: (per_component, np.moveaxis(values[..., rows[name]], -1, 0))
                 for name in ("weight", "fraction_err")}
    for name in ("r_factor", "residual_variance", "thickness_od", "background_od", "valence",
                 "valence_err"):
        if name in rows:
            variables[name] = per_pixel, values[..., rows[name].start]
    variables.update(fit_status=(per_pixel, status), fraction=(per_component, fraction),
                     mask=(per_pixel, inside))
    if isinstance(values, np.ndarray):
        difference, mean = _difference_from_mean(fraction, inside, _cpu_count())
    else:  # a dask fit: the differences chunk by chunk
        mean = sums / counts["pixels_fitted"]
        difference = np.where(inside, fraction, 0.0)  # the mask holds fitted pixels only: no NaN
        difference = _subtract_mean(difference, mean.reshape(-1, *[1] * inside.ndim), inside)
    variables.update(difference_from_mean=(per_component, difference), mean_fraction=("component", mean))
    coords = {"component": components}
    if valence is not None:
        coords["standard_valence"] = "component", valence
    ds = xr.Dataset(variables, coords=packed.coords).assign_coords(coords)
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


#: Pixels per block of the difference from the mean (both passes run in cache, on all threads).
DIFFERENCE_PIXELS = 1 << 16


def _subtract_mean(difference: np.ndarray, mean: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """``difference − mean`` inside the mask and 0.0 outside, in place; ``difference`` holds the
    fractions inside and 0 outside, ``mean`` broadcasts against it."""
    difference -= mean
    difference *= inside
    difference += 0.0  # −0.0 outside the mask (where the mean was positive) becomes 0.0
    return difference


def _difference_from_mean(fraction: np.ndarray, inside: np.ndarray,
                          threads: int) -> tuple[np.ndarray, np.ndarray]:
    """Each fraction minus its mean over the mask (Wang et al. 2021, Fig. 2: the difference from
    the average state), 0 outside the mask; and the means.

    Two passes over blocks of :data:`DIFFERENCE_PIXELS` pixels spread over ``threads`` threads:
    the sums inside the mask, then the differences, each block still in cache for all its steps.

    Parameters
    ----------
    fraction : (component, *spatial), finite inside the mask.
    inside : the mask (*spatial).
    threads : threads to spread the blocks over.

    Returns
    -------
    ``(difference, mean)``: (component, *spatial) and (component).
    """
    flat, keep = fraction.reshape(len(fraction), -1), inside.reshape(-1)
    difference = np.empty(flat.shape)
    blocks = [slice(start, start + DIFFERENCE_PIXELS) for start in range(0, keep.size, DIFFERENCE_PIXELS)]

    def inside_sums(cells: slice) -> np.ndarray:
        part = difference[:, cells]
        part.fill(0.0)
        np.copyto(part, flat[:, cells], where=keep[cells])
        return part.sum(axis=1)

    with ThreadPoolExecutor(max(min(threads, len(blocks)), 1)) as pool:
        mean = np.sum(list(pool.map(inside_sums, blocks)), axis=0) / np.count_nonzero(keep)
        list(pool.map(lambda cells: _subtract_mean(difference[:, cells], mean[:, None], keep[cells]),
                      blocks))
    return difference.reshape(fraction.shape), mean


def _guess(stack: xr.DataArray, mask, spatial: list, chunks: tuple) -> da.Array | None:
    """The pixels the statistics will likely be taken over, lazily in ``chunks`` (the spatial chunks of
    the results) for the fit's pass: the given mask (with the stack's ``valid`` pixels), the ``guess``
    of a mask made in the pass (a dask-backed DataArray, checked once the mask is made), or None."""
    import dask.array as da

    if callable(mask):
        guess = getattr(mask, "guess", None)
        if guess is None:
            return None
        guess = guess.transpose(*spatial).data.rechunk(chunks)
        if "valid" in stack.coords:
            guess = guess & da.from_array(np.asarray(stack.coords["valid"].transpose(*spatial).values),
                                          chunks=chunks)
        return guess
    wanted = _wanted(stack, mask, tuple(sum(c) for c in chunks), spatial)
    return None if wanted is None else da.from_array(wanted, chunks=chunks, name=False)


def _same(guess, wanted: np.ndarray | None) -> bool:
    """True if the pixels ``guess`` (computed, or lazy and made from ``wanted``) are ``wanted``."""
    if guess is None or wanted is None:
        return guess is None and wanted is None
    return not isinstance(guess, np.ndarray) or bool(np.array_equal(guess, wanted))


def _cpu_count() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _wanted(stack: xr.DataArray, mask, shape: tuple[int, ...], spatial: list) -> np.ndarray | None:
    """The pixels asked for: the given mask (None: all) on the stack's ``valid`` pixels, as a
    NumPy boolean array of the image's ``shape`` (dims ``spatial``)."""
    if mask is None:
        wanted = None
    else:
        wanted = mask if isinstance(mask, xr.DataArray) else xr.DataArray(np.asarray(mask), dims=spatial)
        if wanted.shape != shape:
            raise MaskError(f"mask has shape {wanted.shape}; expected {shape} (the image shape)")
        wanted = wanted.astype(bool, copy=False)
    if "valid" in stack.coords:
        valid = stack.coords["valid"].reset_coords(drop=True)
        wanted = valid if wanted is None else wanted & valid
    return None if wanted is None else np.asarray(wanted.transpose(*spatial).values)


def _counts(each: np.ndarray, given: bool) -> dict[str, int]:
    """The counts of the pixels the statistics are taken over, from ``each``: the wanted pixels
    (:func:`_wanted`) of each fit status; without a ``given`` mask, a pixel without material is
    outside, not rejected.

    Raises
    ------
    MaskError
        If no wanted pixel was fitted.
    """
    counts = {"pixels_in_mask": int(np.sum(each)), "pixels_fitted": int(each[FITTED])}
    for code, reason in enumerate(STATUS_MEANINGS[1:], start=1):
        counts[f"pixels_rejected_{reason}"] = int(each[code])
    if not given:
        counts["pixels_in_mask"] -= counts.pop("pixels_rejected_no_material")
    if counts["pixels_fitted"] == 0:
        raise MaskError("the mask selects no pixel (after removing invalid pixels and failed fits: "
                        + ", ".join(f"{k}={v}" for k, v in counts.items())
                        + "); expected at least one pixel on the particle: lower the mask threshold")
    return counts


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
