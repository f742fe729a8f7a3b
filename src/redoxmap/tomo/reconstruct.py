"""Reconstruction behind one function, :func:`reconstruct`.

- ``fbp``: filtered back-projection (ramp filter), scikit-image ``iradon`` slice by slice — the
  backend that installs everywhere (measured here: a 512² slice from 720 views in ~1.2 s on one core).
- ``sirt``: simultaneous iterative reconstruction, x ← max(0, x + C Aᵀ R (b − A x)) with R and C the
  inverse row and column sums of the system matrix A (Gregor & Benson, IEEE TMI 27, 918 (2008)),
  all slices at once on one sparse A (:mod:`redoxmap.tomo.projector`).
- ``cgls``: conjugate gradients on the normal equations (fast convergence, no constraint; negative
  voxels clipped at the end).
- ``sirt-tv``: SIRT with a total-variation denoising step (Chambolle) after each iteration, for
  limited-angle tilt series; ``tv_weight`` is relative to the volume's 99th percentile.
- ``tv``: total-variation regularised least squares, argmin_{x ≥ 0 in support} ½‖A x − b‖² + λ TV(x)
  with isotropic 3D TV (across slices too), solved by the diagonally preconditioned primal–dual
  algorithm of Chambolle & Pock (Pock & Chambolle, ICCV 2011, diagonal preconditioning with α = 1;
  for CT see Sidky, Jørgensen & Pan, Phys. Med. Biol. 57, 3065 (2012)). A converged minimiser,
  not an early-stopped iteration: the method for a limited-angle tilt series, where the missing
  wedge blurs edges along the unseen direction and TV restores piecewise-constant regions
  (Sidky & Pan, Phys. Med. Biol. 53, 4777 (2008), "ASD-POCS").
Projections are −ln(I/I0), dims ``(angle, y, x)`` (y the detector row = volume slice z); the
result is ``(z, y, x)`` in attenuation per voxel.
"""

from __future__ import annotations

from collections.abc import Callable

import dask.array as da
import numpy as np
import xarray as xr
from scipy import ndimage
from skimage.restoration import denoise_tv_chambolle
from skimage.transform import iradon

from redoxmap.errors import FitError, FormatError
from redoxmap.history import with_history
from redoxmap.tomo.projector import system_matrix

METHODS = ("fbp", "sirt", "cgls", "sirt-tv", "tv")

#: Default ``tv_weight`` per method when none is given.
DEFAULT_TV_WEIGHT = {"sirt-tv": 0.005, "tv": 0.5}


def _check(projections: xr.DataArray) -> None:
    missing = [d for d in ("angle", "y", "x") if d not in projections.dims]
    if missing:
        raise FormatError(f"projections have dims {projections.dims}; expected 'angle', 'y', 'x'")
    if projections.sizes["angle"] != projections["angle"].size or projections.sizes["angle"] < 2:
        raise FormatError("projections need at least 2 angles with an 'angle' coordinate in degrees")


def _centred(sino: np.ndarray, center_px: float | None) -> np.ndarray:
    """Move the rotation axis to detector position n // 2 (where iradon expects it)."""
    if center_px is None:
        return sino
    shift = sino.shape[-1] // 2 - center_px
    return ndimage.shift(sino, (0,) * (sino.ndim - 1) + (shift,), order=3, mode="nearest")


def fbp_block(block: np.ndarray, angles_deg: np.ndarray, center_px: float | None = None) -> np.ndarray:
    """FBP of projections (angle, z, det) → volume (z, det, det)."""
    block = _centred(np.asarray(block, dtype=np.float64), center_px)
    out = np.empty((block.shape[1], block.shape[2], block.shape[2]), np.float32)
    for k in range(block.shape[1]):
        out[k] = iradon(block[:, k, :].T, theta=angles_deg, filter_name="ramp", circle=True)
    return out


def _gradient(volume: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Forward differences of ``volume`` (z, y, x) along its three axes into ``out`` (3, z, y, x);
    zero across the last plane (Neumann boundary)."""
    out[0, :-1] = volume[1:] - volume[:-1]
    out[1, :, :-1] = volume[:, 1:] - volume[:, :-1]
    out[2, :, :, :-1] = volume[:, :, 1:] - volume[:, :, :-1]
    out[0, -1] = out[1, :, -1] = out[2, :, :, -1] = 0
    return out


def _gradient_adjoint(field: np.ndarray) -> np.ndarray:
    """∇ᵀ p (= −div p) of a field (3, z, y, x), the adjoint of :func:`_gradient`."""
    out = np.zeros(field.shape[1:], field.dtype)
    out[:-1] -= field[0, :-1]
    out[1:] += field[0, :-1]
    out[:, :-1] -= field[1, :, :-1]
    out[:, 1:] += field[1, :, :-1]
    out[:, :, :-1] -= field[2, :, :, :-1]
    out[:, :, 1:] += field[2, :, :, :-1]
    return out


def tv_block(block: np.ndarray, angles_deg: np.ndarray, center_px: float | None = None,
             iterations: int = 250, tv_weight: float = 0.5, support: np.ndarray | None = None,
             callback: Callable[[int], None] | None = None) -> np.ndarray:
    """TV-regularised reconstruction of projections (angle, z, det) → volume (z, det, det):

        x̂ = argmin_{x ≥ 0, x = 0 outside support} ½‖A x − b‖² + λ Σ_voxels |∇x|

    with A the system matrix of :mod:`redoxmap.tomo.projector` (all slices as columns) and ∇ forward
    differences along z, y and x (isotropic 3D TV). Solved by the preconditioned primal–dual
    (Chambolle–Pock) iteration on K = [A; μ∇] with the diagonal step sizes σ_i = 1 / Σ_j |K_ij|,
    τ_j = 1 / Σ_i |K_ij| (Pock & Chambolle, "Diagonal preconditioning for first order primal-dual
    algorithms in convex optimization", ICCV 2011, α = 1):

        y ← (y + σ (A x̄ − b)) / (1 + σ),                       σ = 1 / (row sums of A)
        q ← q′ / max(1, |q′| μ/λ) with q′ = q + ½ ∇x̄           (per voxel, |·| over the 3 axes)
        x⁺ ← max(0, x − τ (Aᵀ y + μ ∇ᵀ q)), 0 outside support,  τ = 1 / (column sums of A + 6μ)
        x̄ ← 2x⁺ − x

    μ = number of angles (A's column sum inside the field of view) balances the two blocks; it sets
    the speed of convergence, not the minimiser. The weight is relative to the data:
    λ = ``tv_weight`` · Σ b / n_support = ``tv_weight`` · n_angle · x̄, where x̄ is the mean
    attenuation per voxel inside the support (each voxel's weights sum to 1 per angle, so
    Σ b = n_angle Σ x), so ``tv_weight`` does not depend on the units, the number of angles or the
    voxel size. Measured on the 128³ cathode phantom (48 slices), ±65° in 1° steps, 1e6 counts: the
    Ni/Mn class proportions are within 3.2, 3.5, 3.6, 3.5 points of the truth for ``tv_weight``
    0.2, 0.5, 1, 2, and move by < 0.2 points from 250 to 1000 iterations (~15 s for 250 iterations
    of 48 slices of 128² on one core). Voxels outside the inscribed circle (or the support) are zero; the
    computation runs on the pixels inside the support in any slice.

    >>> angles = np.arange(-65.0, 65.5, 1.0)
    >>> sino = np.tile(2 * np.sqrt(np.clip(64 - (np.arange(32) - 16.0) ** 2, 0, None)), (131, 2, 1))
    >>> disc = tv_block(sino.astype(np.float32), angles, iterations=250)  # a disc of radius 8, μ = 1
    >>> round(float(disc[0, 16, 16]), 1)
    1.0
    """
    n_angle, n_z, n_det = block.shape
    a_full = system_matrix(n_det, angles_deg, n_det, center_px)
    in_view = (np.asarray(a_full.sum(axis=0)).ravel() > 0).reshape(n_det, n_det)
    keep = np.broadcast_to(in_view, (n_z, n_det, n_det))
    if support is not None:
        keep = keep & np.asarray(support, bool)
    if not keep.any():
        return np.zeros((n_z, n_det, n_det), np.float32)
    rows, cols = np.nonzero(keep.any(axis=0))  # pixels inside the support in any slice
    r0, c0 = rows.min(), cols.min()
    box = (n_z, rows.max() + 1 - r0, cols.max() + 1 - c0)
    rows, cols = rows - r0, cols - c0
    a = a_full[:, (rows + r0) * n_det + cols + c0].tocsr()
    row = np.asarray(a.sum(axis=1)).ravel()
    seen = row > 0
    a = a[seen].tocsr()
    at = a.T.tocsr()
    b = np.transpose(block, (0, 2, 1)).reshape(n_angle * n_det, n_z)[seen].astype(np.float32)
    inside = keep[:, rows + r0, cols + c0].T  # (pixel, z)
    mu = float(n_angle)
    lam = max(float(tv_weight) * float(b.sum()) / int(inside.sum()), 0.0)
    bound = np.float32(max(lam / mu, 1e-30))
    sigma = (1.0 / row[seen]).astype(np.float32)[:, None]
    col = np.asarray(a.sum(axis=0)).ravel()[:, None]
    tau = np.where(inside, 1.0 / (col + 6.0 * mu), 0.0).astype(np.float32)
    x = np.zeros((rows.size, n_z), np.float32)  # the slices as columns, as A expects
    x_bar = x.copy()
    y = np.zeros_like(b)
    q = np.zeros((3, *box), np.float32)
    diff = np.empty_like(q)
    volume = np.zeros(box, np.float32)
    for it in range(iterations):
        y += sigma * (a @ x_bar - b)
        y /= 1.0 + sigma
        volume[:, rows, cols] = x_bar.T
        q += 0.5 * _gradient(volume, diff)
        q /= np.maximum(np.sqrt((q * q).sum(axis=0)) / bound, 1.0)
        step = at @ y + mu * _gradient_adjoint(q)[:, rows, cols].T
        x_new = np.clip(x - tau * step, 0, None)
        x_bar = 2 * x_new - x
        x = x_new
        if callback:
            callback(it + 1)
    out = np.zeros((n_z, n_det, n_det), np.float32)
    out[:, rows + r0, cols + c0] = x.T
    return out


def _iterative_block(block: np.ndarray, angles_deg: np.ndarray, center_px: float | None,
                     method: str, iterations: int, tv_weight: float,
                     callback: Callable[[int], None] | None = None,
                     support: np.ndarray | None = None) -> np.ndarray:
    """SIRT / CGLS / SIRT-TV / TV of projections (angle, z, det) → volume (z, det, det); voxels outside
    ``support`` (z, det, det), when given, are held at zero (columns of A removed)."""
    if method == "tv":
        return tv_block(block, angles_deg, center_px, iterations, tv_weight, support, callback)
    n_angle, n_z, n_det = block.shape
    a = system_matrix(n_det, angles_deg, n_det, center_px)
    keep = None
    if support is not None:
        keep = np.asarray(support, bool).reshape(n_z, -1).T.astype(np.float32)  # (pixel, z)
    at = a.T.tocsr()
    b = np.transpose(block, (0, 2, 1)).reshape(n_angle * n_det, n_z).astype(np.float32)
    x = np.zeros((n_det * n_det, n_z), np.float32)
    if method == "cgls":
        r = b.copy()
        s = at @ r if keep is None else (at @ r) * keep
        p = s.copy()
        gamma = np.einsum("ij,ij->j", s, s)
        for it in range(iterations):
            q = a @ p
            alpha = gamma / np.maximum(np.einsum("ij,ij->j", q, q), 1e-30)
            x += p * alpha
            r -= q * alpha
            s = at @ r if keep is None else (at @ r) * keep
            gamma_new = np.einsum("ij,ij->j", s, s)
            p = s + p * (gamma_new / np.maximum(gamma, 1e-30))
            gamma = gamma_new
            if callback:
                callback(it + 1)
        np.clip(x, 0, None, out=x)
    else:
        row = np.asarray(a.sum(axis=1)).ravel()
        col = np.asarray(a.sum(axis=0)).ravel()
        inv_row = np.where(row > 0, 1.0 / np.where(row > 0, row, 1), 0).astype(np.float32)[:, None]
        inv_col = np.where(col > 0, 1.0 / np.where(col > 0, col, 1), 0).astype(np.float32)[:, None]
        for it in range(iterations):
            x += inv_col * (at @ (inv_row * (b - a @ x)))
            np.clip(x, 0, None, out=x)
            if method == "sirt-tv" and tv_weight > 0:
                volume = x.T.reshape(n_z, n_det, n_det)
                scale = float(np.percentile(volume, 99)) or 1.0
                x = (denoise_tv_chambolle(volume / scale, weight=tv_weight) * scale
                     ).reshape(n_z, -1).T.astype(np.float32)
            if keep is not None:
                x *= keep
            if callback:
                callback(it + 1)
    return x.T.reshape(n_z, n_det, n_det)


def reconstruct(projections: xr.DataArray, method: str = "fbp", center_px: float | None = None,
                iterations: int = 100, tv_weight: float | None = None, slices_per_chunk: int | None = None,
                progress: Callable[[int, int], None] | None = None,
                support: xr.DataArray | np.ndarray | None = None) -> xr.DataArray:
    """Reconstruct −ln projections ``(…, angle, y, x)`` into volumes ``(…, z, y, x)``.

    ``support`` (iterative methods only): a boolean ``(z, y, x)`` volume outside which voxels are
    held at zero, e.g. :func:`redoxmap.tomo.support.visual_hull` for a limited-angle tilt series.

    ``tv_weight``: for ``sirt-tv`` relative to the volume's 99th percentile (default 0, plain SIRT);
    for ``tv`` relative to the mean attenuation per voxel in the support (default 0.5; see
    :func:`tv_block`), computed per block of slices when the volume is chunked. ``tv`` is the
    method for a limited-angle tilt series (with ``support`` and ~250 iterations), e.g.
    ``reconstruct(proj, "tv", iterations=250, support=visual_hull(proj))``.

    ``center_px`` is the rotation axis on the detector (from :func:`redoxmap.tomo.center.find_center`;
    default ``n_x // 2``). With dask-backed projections (or ``slices_per_chunk``) the volume is a
    dask array computed slab by slab, so it can stream to Zarr without being held in memory.
    ``progress(done, total)`` reports slices (FBP) or iterations (iterative methods).
    """
    if method not in METHODS:
        raise FitError(f"method {method!r} is not one of {', '.join(METHODS)}")
    _check(projections)
    if tv_weight is None:
        tv_weight = DEFAULT_TV_WEIGHT.get(method, 0.0)
    if support is not None:
        expected = (projections.sizes["y"], projections.sizes["x"], projections.sizes["x"])
        if method == "fbp" or np.shape(support) != expected:
            raise FormatError(f"support has shape {np.shape(support)} for method {method!r}; expected a "
                              f"(z, y, x) = {expected} mask and an iterative method")
        support = np.asarray(support, bool)
    angles = np.asarray(projections["angle"].values, float)
    lead = [d for d in projections.dims if d not in ("angle", "y", "x")]
    if lead:
        return xr.concat([reconstruct(projections.sel({lead[0]: v}), method, center_px, iterations,
                                      tv_weight, slices_per_chunk, progress, support)
                          for v in projections[lead[0]].values], dim=lead[0])
    data = projections.transpose("angle", "y", "x").data
    n_det = projections.sizes["x"]

    def kernel(block: np.ndarray, block_info: dict | None = None) -> np.ndarray:
        if method == "fbp":
            return fbp_block(block, angles, center_px)
        part = None
        if support is not None:
            start, stop = block_info[0]["array-location"][1] if block_info else (0, block.shape[1])
            part = support[start:stop]
        return _iterative_block(block, angles, center_px, method, iterations, tv_weight, support=part)

    if isinstance(data, da.Array) or slices_per_chunk:
        arr = da.asarray(data).rechunk({0: -1, 1: slices_per_chunk or "auto", 2: -1})
        volume = arr.map_blocks(kernel, drop_axis=0, new_axis=2,
                                chunks=(arr.chunks[1], (n_det,), (n_det,)), dtype=np.float32)
    elif method == "fbp":
        block = np.asarray(data)
        volume = np.empty((block.shape[1], n_det, n_det), np.float32)
        for k in range(block.shape[1]):
            volume[k] = fbp_block(block[:, k:k + 1, :], angles, center_px)[0]
            if progress:
                progress(k + 1, block.shape[1])
    else:
        volume = _iterative_block(np.asarray(data), angles, center_px, method, iterations, tv_weight,
                                  None if progress is None else (lambda it: progress(it, iterations)),
                                  support=support)
    out = xr.DataArray(volume, dims=("z", "y", "x"),
                       attrs=with_history(projections.attrs, "reconstruct", method=method,
                                          center_px=center_px, iterations=iterations,
                                          tv_weight=tv_weight, support=support is not None))
    out.attrs.update(units="1/voxel", long_name="linear attenuation per voxel")
    for name in ("energy",):
        if name in projections.coords:
            out = out.assign_coords({name: projections[name]})
    return out
