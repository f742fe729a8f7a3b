"""Iterative reconstruction of a slab of slices on a projector pair (A, Aᵀ): SIRT, CGLS, SIRT-TV and
TV-regularised least squares.

The projector is either the sparse system matrix (:class:`redoxmap.tomo.projector.SparseRadon`) or
the matrix-free Fourier projector (:class:`redoxmap.tomo.radon.FourierRadon`); both map slices
``(z, n, n)`` to sinograms ``(z, angle, det)`` and back, so every algorithm here is written once.
``projector="auto"`` keeps the sparse matrix only where it was measured faster
(:data:`SPARSE_SPEEDUP`: small slices, few angles, a small support); beyond that the matrix-free
projector's memory is the slab and a few copies of it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from skimage.restoration import denoise_tv_chambolle

from redoxmap.errors import FitError
from redoxmap.tomo.projector import SparseRadon
from redoxmap.tomo.radon import FourierRadon, _padded_length

#: Projector choices of :func:`make_projector` (and of ``reconstruct(projector=...)``).
PROJECTORS = ("auto", "sparse", "fourier")

#: ``projector="auto"`` uses the sparse matrix while its non-zeros (2 per angle and pixel in the
#: field of view and the support) are at most SPARSE_SPEEDUP × (n² + m · n_angle), the Fourier
#: projector's work per slice (m the padded detector length), and at most SPARSE_MAX_NONZEROS
#: (8 bytes each). Measured per iteration (A then Aᵀ) on one thread: 48 slices of 128² from 131
#: views (3.4 M non-zeros) sparse 0.11–0.12 s, Fourier 0.17–0.19 s of CPU (a loaded machine;
#: ≈ 0.7 ns per non-zero and slice against ≈ 71 ns per unit of n² + m · n_angle, a ratio of ~100);
#: 16 slices of 256² from 361 views (37 M) sparse 4.8 s, Fourier 0.74 s (beyond ~30 M non-zeros
#: the sparse product leaves the cache: ~8 ns per non-zero). Earlier, on a quieter machine:
#: 64² from 181 views 0.09 vs 0.30 s (1.2 M non-zeros, 64 slices), TV in a disc of 0.35 n on 128²
#: from 131 views 0.17 vs 0.41 s (1.7 M, 48 slices).
SPARSE_SPEEDUP = 100
#: The sparse matrix's cap (64 MB): beyond a few M non-zeros its product leaves the cache. On the
#: real tooth.h5 in its visual hull (640², 181 views, 18.6 M non-zeros) the sparse pair took 0.20 s
#: of CPU per iteration of 2 slices, 5.4 ns per non-zero, against 0.078 s for the Fourier pair,
#: and building it peaked at 0.45 GB: 1.2 GB for TV in one-slice chunks (two slabs built at once).
SPARSE_MAX_NONZEROS = 8_000_000


def make_projector(kind: str, n: int, angles_deg: np.ndarray, center_px: float | None = None,
                   mask: np.ndarray | None = None, threads: int = 1) -> SparseRadon | FourierRadon:
    """The projector pair (A, Aᵀ) for ``n`` × ``n`` slices seen by ``n`` detector bins.

    ``"auto"`` takes the sparse matrix while its non-zeros (2 per angle and pixel in the inscribed
    circle and ``mask``) are at most :data:`SPARSE_SPEEDUP` × (n² + m · n_angle), the Fourier
    projector's work per slice (m the padded detector length), and at most
    :data:`SPARSE_MAX_NONZEROS`; beyond that the matrix-free Fourier projector, whose memory is
    the slab and a few copies of it.

    Parameters
    ----------
    kind : str
        ``"auto"``, ``"sparse"`` (:class:`redoxmap.tomo.projector.SparseRadon`) or ``"fourier"``
        (:class:`redoxmap.tomo.radon.FourierRadon`).
    n : int
        Slice size (px), also the number of detector bins.
    angles_deg : numpy.ndarray
        Projection angles in degrees.
    center_px : float, optional
        Detector position of the rotation axis (px); default ``n // 2``.
    mask : numpy.ndarray, optional
        ``(n, n)`` boolean image of the pixels in the model (a support), besides the circle.
    threads : int
        Threads of the Fourier projector's transforms.

    Returns
    -------
    SparseRadon or FourierRadon
        An object with ``forward(slices) -> sinograms``, ``adjoint(sinograms) -> slices``, ``mask``
        and ``ray_floor``.

    Raises
    ------
    FitError
        If ``kind`` is not one of :data:`PROJECTORS`.

    Examples
    --------
    >>> type(make_projector("auto", 48, np.arange(-65.0, 65.5, 1.0))).__name__
    'SparseRadon'
    >>> type(make_projector("auto", 512, np.linspace(0, 180, 720, endpoint=False))).__name__
    'FourierRadon'
    """
    if kind not in PROJECTORS:
        raise FitError(f"projector {kind!r} is not one of {', '.join(PROJECTORS)}")
    if kind == "auto":
        rows, cols = np.indices((n, n)) - n // 2
        pixels = rows**2 + cols**2 <= (n / 2.0) ** 2
        if mask is not None:
            pixels &= np.asarray(mask, bool)
        nonzeros = 2 * np.size(angles_deg) * int(pixels.sum())
        fourier_work = n * n + _padded_length(n) * np.size(angles_deg)
        small = nonzeros <= min(SPARSE_SPEEDUP * fourier_work, SPARSE_MAX_NONZEROS)
        kind = "sparse" if small else "fourier"
    if kind == "sparse":
        return SparseRadon(n, angles_deg, n, center_px, mask)
    return FourierRadon(n, angles_deg, n, center_px, mask, threads)


def _inverse(sums: np.ndarray, floor: float) -> np.ndarray:
    """1 / sums where sums > floor, else 0 (float32)."""
    ok = sums > floor
    return np.where(ok, 1.0 / np.where(ok, sums, 1.0), 0.0).astype(np.float32)


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


def _tv_block(block: np.ndarray, angles_deg: np.ndarray, center_px: float | None = None,
             iterations: int = 250, tv_weight: float = 0.5, support: np.ndarray | None = None,
             callback: Callable[[int], None] | None = None, projector: str = "auto",
             threads: int = 1) -> np.ndarray:
    """TV-regularised reconstruction of projections (angle, z, det) → volume (z, det, det):

        x̂ = argmin_{x ≥ 0, x = 0 outside support} ½‖A x − b‖² + λ Σ_voxels |∇x|

    with A the projector (:func:`make_projector`) and ∇ forward differences along z, y and x
    (isotropic 3D TV). Solved by the preconditioned primal–dual (Chambolle–Pock) iteration on
    K = [A; μ∇] with the diagonal step sizes σ_i = 1 / Σ_j |K_ij|, τ_j = 1 / Σ_i |K_ij| (Pock &
    Chambolle, "Diagonal preconditioning for first order primal-dual algorithms in convex
    optimization", ICCV 2011, α = 1; the row and column sums are A 1 and Aᵀ 1, exact for the
    non-negative sparse matrix and within 1 % for the Fourier projector):

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
    of 48 slices of 128² on one core). Voxels outside the inscribed circle (or the support) are zero;
    the gradient runs on the bounding box of the pixels inside the support in any slice.

    >>> angles = np.arange(-65.0, 65.5, 1.0)
    >>> sino = np.tile(2 * np.sqrt(np.clip(64 - (np.arange(32) - 16.0) ** 2, 0, None)), (131, 2, 1))
    >>> disc = _tv_block(sino.astype(np.float32), angles, iterations=250)  # a disc of radius 8, μ = 1
    >>> round(float(disc[0, 16, 16]), 1)
    1.0
    """
    n_angle, n_z, n_det = block.shape
    keep = np.ones((n_z, n_det, n_det), bool) if support is None else np.asarray(support, bool)
    op = make_projector(projector, n_det, angles_deg, center_px, keep.any(axis=0), threads)
    row = op.forward(op.mask[None].astype(np.float32))[0]
    seen = row > op.ray_floor
    col = op.adjoint(seen[None].astype(np.float32))[0]
    inside = keep & ((col > 0) & op.mask)[None]
    if not inside.any():
        return np.zeros((n_z, n_det, n_det), np.float32)
    rows, cols = np.nonzero(inside.any(axis=0))
    box = (slice(None), slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
    b = np.transpose(np.asarray(block, np.float32), (1, 0, 2)) * seen
    mu = float(n_angle)
    lam = max(float(tv_weight) * float(b.sum()) / int(inside.sum()), 0.0)
    bound = np.float32(max(lam / mu, 1e-30))
    sigma = _inverse(row, op.ray_floor)
    tau = np.where(inside, 1.0 / (col + 6.0 * mu), 0.0).astype(np.float32)
    x = np.zeros((n_z, n_det, n_det), np.float32)
    x_bar = x.copy()
    y = np.zeros_like(b)
    q = np.zeros((3, *x[box].shape), np.float32)
    diff = np.empty_like(q)
    for it in range(iterations):
        y += sigma * (op.forward(x_bar) - b)
        y /= 1.0 + sigma
        q += 0.5 * _gradient(x_bar[box], diff)
        q /= np.maximum(np.sqrt((q * q).sum(axis=0)) / bound, 1.0)
        step = op.adjoint(y)
        step[box] += mu * _gradient_adjoint(q)
        x_new = np.clip(x - tau * step, 0, None)
        x_bar = 2 * x_new - x
        x = x_new
        if callback:
            callback(it + 1)
    return x


def _iterative_block(block: np.ndarray, angles_deg: np.ndarray, center_px: float | None, method: str,
                    iterations: int, tv_weight: float, callback: Callable[[int], None] | None = None,
                    support: np.ndarray | None = None, projector: str = "auto",
                    threads: int = 1) -> np.ndarray:
    """SIRT / CGLS / SIRT-TV / TV of projections (angle, z, det) → volume (z, det, det); voxels outside
    ``support`` (z, det, det), when given, are held at zero.

    - SIRT: x ← max(0, x + C Aᵀ R (b − A x)) with R and C the inverse row and column sums of A
      (Gregor & Benson, IEEE TMI 27, 918 (2008)); SIRT-TV adds a Chambolle TV denoising step
      (``tv_weight`` relative to the volume's 99th percentile) after each iteration.
    - CGLS: conjugate gradients on the normal equations AᵀA x = Aᵀ b per slice (Björck,
      *Numerical Methods for Least Squares Problems*, SIAM 1996, § 7.4); negative voxels are
      clipped at the end.
    - TV: :func:`_tv_block`.
    """
    if method == "tv":
        return _tv_block(block, angles_deg, center_px, iterations, tv_weight, support, callback, projector,
                        threads)
    n_angle, n_z, n_det = block.shape
    op = make_projector(projector, n_det, angles_deg, center_px, threads=threads)
    keep = None if support is None else np.asarray(support, bool).astype(np.float32)
    b = np.transpose(np.asarray(block, np.float32), (1, 0, 2))
    x = np.zeros((n_z, n_det, n_det), np.float32)
    if method == "cgls":
        r = b.copy()
        s = op.adjoint(r) if keep is None else op.adjoint(r) * keep
        p = s.copy()
        gamma = np.einsum("zij,zij->z", s, s)[:, None, None]
        for it in range(iterations):
            q = op.forward(p)
            alpha = gamma / np.maximum(np.einsum("zij,zij->z", q, q)[:, None, None], 1e-30)
            x += p * alpha
            r -= q * alpha
            s = op.adjoint(r) if keep is None else op.adjoint(r) * keep
            gamma_new = np.einsum("zij,zij->z", s, s)[:, None, None]
            p = s + p * (gamma_new / np.maximum(gamma, 1e-30))
            gamma = gamma_new
            if callback:
                callback(it + 1)
        return np.clip(x, 0, None, out=x)
    row = op.forward(op.mask[None].astype(np.float32))[0]
    inv_row = _inverse(row, op.ray_floor)
    inv_col = _inverse(op.adjoint((row > op.ray_floor)[None].astype(np.float32))[0], 0.0)
    for it in range(iterations):
        x += inv_col * op.adjoint(inv_row * (b - op.forward(x)))
        np.clip(x, 0, None, out=x)
        if method == "sirt-tv" and tv_weight > 0:
            scale = float(np.percentile(x, 99)) or 1.0
            x = (denoise_tv_chambolle(x / scale, weight=tv_weight) * scale).astype(np.float32)
        if keep is not None:
            x *= keep
        if callback:
            callback(it + 1)
    return x
