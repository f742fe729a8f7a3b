"""A sparse parallel-beam system matrix for iterative reconstruction of all slices at once.

Pixel-driven projector: pixel (row i, column j) of an n × n slice, centred at
(x, y) = (j − c, c − i) with c = n // 2 (scikit-image's rotation centre), falls at detector
position t = x cos θ + y sin θ + c_det and is split linearly between the two nearest detector
bins. Its geometry matches scikit-image's ``radon`` (angle 0 integrates along rows), so the
same sinograms feed either.
One sparse matrix serves every slice: A (n_angle·n_det × n²) times the slices as columns.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def system_matrix(n: int, angles_deg: np.ndarray, n_det: int | None = None,
                  center_px: float | None = None) -> sp.csr_matrix:
    """Sparse A with rows (angle, detector bin) and columns (pixel row, pixel column).

    ``center_px`` is the detector position of the rotation axis (default ``n_det // 2``, as in
    scikit-image).
    Pixels outside the inscribed circle are left out (as ``radon(circle=True)`` does).
    """
    n_det = n if n_det is None else n_det
    c = n // 2  # scikit-image rotates about pixel n // 2
    c_det = n_det // 2 if center_px is None else float(center_px)
    rows_i, cols_j = np.indices((n, n))
    x = (cols_j - c).ravel()
    y = (c - rows_i).ravel()
    inside = x**2 + y**2 <= (n / 2.0) ** 2
    pixel = np.flatnonzero(inside)
    x, y = x[inside], y[inside]
    theta = np.radians(np.asarray(angles_deg, float))
    t = np.cos(theta)[:, None] * x[None, :] + np.sin(theta)[:, None] * y[None, :] + c_det
    lower = np.floor(t).astype(np.int64)
    frac = t - lower
    angle_index = np.repeat(np.arange(theta.size), pixel.size).reshape(theta.size, pixel.size)
    entries = []
    for bins, weight in ((lower, 1.0 - frac), (lower + 1, frac)):
        ok = (bins >= 0) & (bins < n_det) & (weight > 0)
        entries.append((angle_index[ok] * n_det + bins[ok], np.broadcast_to(pixel, t.shape)[ok], weight[ok]))
    row = np.concatenate([e[0] for e in entries])
    col = np.concatenate([e[1] for e in entries])
    val = np.concatenate([e[2] for e in entries]).astype(np.float32)
    return sp.csr_matrix((val, (row, col)), shape=(theta.size * n_det, n * n))
