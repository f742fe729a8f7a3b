"""Projections of a volume: parallel beam, any angles, with flats, darks, Poisson noise, a
rotation-centre offset and per-projection jitter (the simulator behind the tomography tests)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import xarray as xr

from redoxmap.errors import ParameterError
from redoxmap.io.raw import RawStack
from redoxmap.preprocess.align import shift_images

#: Samples interpolated per block of angles in :func:`project` (~50 MB of temporaries).
_SAMPLES_PER_BLOCK = 2**18
#: Row and column offsets of the four pixels around a sample (bilinear interpolation).
_DR, _DC = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])


def project(volume: xr.DataArray, angles_deg: np.ndarray) -> np.ndarray:
    """Line integrals of a volume rotating about z, parallel beam (angle 0 projects along y): every
    slice at once, the discretisation of scikit-image's ``radon(circle=True)``.

    Each slice is rotated about pixel (n // 2, n // 2) with bilinear interpolation (zero outside
    the slice) and summed along its rows. The rotated image's pixel (row s, column d) samples the
    slice at column c = cos θ (d − n//2) + sin θ (s − n//2) + n//2 and row
    r = cos θ (s − n//2) − sin θ (d − n//2) + n//2, so the projection at detector bin d is
    p_θ(d) = Σ_s Σ_(i,j) w_ij(r, c) μ(i, j) over the four pixels around (r, c), with the bilinear
    weights w (Kak & Slaney, *Principles of Computerized Tomographic Imaging*, SIAM 2001, ch. 3).
    These weights, a few angles at a time, form a sparse matrix that multiplies all slices as its
    columns. A ray-driven interpolating projector, independent of the reconstructors of
    :mod:`redoxmap.tomo` (Fourier gridding, pixel-driven sparse matrix), so the tests that score
    a reconstruction against the truth do not invert their own forward model.

    Parameters
    ----------
    volume : xarray.DataArray
        Attenuation per voxel ``(z, y, x)`` with square slices, zero outside the inscribed cylinder.
    angles_deg : numpy.ndarray
        Rotation angles (degrees).

    Returns
    -------
    numpy.ndarray
        Projections ``(angle, z, x)``, float64.

    Raises
    ------
    ParameterError
        If the slices are not square.

    Examples
    --------
    >>> z, y, x = np.indices((2, 9, 9))
    >>> disk = xr.DataArray(((y - 4) ** 2 + (x - 4) ** 2 <= 4) * 1.0, dims=("z", "y", "x"))
    >>> project(disk, np.array([0.0, 90.0]))[:, 0, 4].tolist()  # the chord through the centre
    [5.0, 5.0]
    """
    values = np.asarray(volume.values, dtype=np.float64)
    n_z, n, n_x = values.shape
    if n != n_x:
        raise ParameterError(f"volume: slices of {n} × {n_x} voxels (y × x); the projector expects "
                             f"square slices")
    centre = n // 2
    slices = np.ascontiguousarray(values.reshape(n_z, n * n).T)  # one column per slice
    theta = np.deg2rad(np.asarray(angles_deg, float))
    out = np.empty((theta.size, n, n_z))
    offset = np.arange(n, dtype=np.float64) - centre
    step = max(1, _SAMPLES_PER_BLOCK // (n * n))
    for first in range(0, theta.size, step):
        part = theta[first:first + step]
        cos, sin = np.cos(part)[:, None, None], np.sin(part)[:, None, None]
        # samples (angle, detector bin d, position s along the ray)
        col = cos * offset[:, None] + sin * offset + centre
        row = cos * offset - sin * offset[:, None] + centre
        row0, col0 = np.floor(row), np.floor(col)
        dr, dc = row - row0, col - col0
        row0, col0 = row0.astype(np.int64)[..., None] + _DR, col0.astype(np.int64)[..., None] + _DC
        weight = np.stack([(1 - dr) * (1 - dc), (1 - dr) * dc, dr * (1 - dc), dr * dc], axis=-1)
        keep = (weight > 0) & (row0 >= 0) & (row0 < n) & (col0 >= 0) & (col0 < n)
        indptr = np.zeros(part.size * n + 1, np.int64)
        np.cumsum(keep.reshape(part.size * n, -1).sum(axis=1), out=indptr[1:])
        rays = sp.csr_matrix((weight[keep], (row0 * n + col0)[keep], indptr), shape=(part.size * n, n * n))
        out[first:first + part.size] = (rays @ slices).reshape(part.size, n, n_z)
    return np.transpose(out, (0, 2, 1))  # (angle, z, detector)


def acquire_projections(volume: xr.DataArray, angles_deg: np.ndarray, flat_counts: float = 20000.0,
                        center_offset_px: float = 0.0, jitter_px: float = 0.0,
                        seed: int | np.random.Generator = 0) -> tuple[RawStack, np.ndarray]:
    """Counts I = Poisson(I0 · exp(−∫μ)) of a volume at the given angles (Beer–Lambert), with a flat,
    a dark, a rotation-centre offset and per-projection jitter.

    The rotation axis sits ``center_offset_px`` right of the detector centre; each projection is
    moved by a random (y, x) jitter uniform in ±``jitter_px``.

    Parameters
    ----------
    volume : xarray.DataArray
        Attenuation per voxel ``(z, y, x)``.
    angles_deg : numpy.ndarray
        Rotation angles (degrees).
    flat_counts : float
        Counts per pixel in the flat.
    center_offset_px : float
        Offset of the rotation axis from the detector centre (px).
    jitter_px : float
        Largest jitter (px); 0 for none.
    seed : int or numpy.random.Generator
        Seed or generator of the noise and jitter.

    Returns
    -------
    raw : RawStack
        Counts ``(angle, y, x)`` with an ``angle`` coordinate (degrees), one flat and one dark image.
    jitter : numpy.ndarray
        The true jitter (angle × 2: y, x) in px.

    Examples
    --------
    >>> z, y, x = np.indices((8, 16, 16))
    >>> volume = xr.DataArray(0.05 * ((y - 7.5) ** 2 + (x - 7.5) ** 2 < 36), dims=("z", "y", "x"))
    >>> raw, jitter = acquire_projections(volume, np.linspace(0, 180, 19))
    >>> raw.counts.dims, raw.counts.shape
    (('angle', 'y', 'x'), (19, 8, 16))
    """
    rng = np.random.default_rng(seed)
    line = project(volume, angles_deg)
    jitter = rng.uniform(-jitter_px, jitter_px, size=(len(angles_deg), 2)) if jitter_px else \
        np.zeros((len(angles_deg), 2))
    moved = shift_images(line, jitter + np.array([0.0, center_offset_px]))
    ny, nx = line.shape[1:]
    xx = np.linspace(-1, 1, nx)
    beam = flat_counts * (1 - 0.1 * xx**2)[None, :] * np.ones((ny, 1))
    dark = 50.0
    counts = rng.poisson(beam[None] * np.exp(-moved)).astype(np.float32) + dark
    flat = (rng.poisson(np.repeat(beam[None], 10, axis=0)).mean(axis=0) + dark).astype(np.float32)
    coords = {"angle": np.asarray(angles_deg, float)}
    if "energy_ev" in volume.attrs:
        coords["energy"] = float(volume.attrs["energy_ev"])
    da = xr.DataArray(counts, dims=("angle", "y", "x"), coords=coords,
                      attrs={"source": "simulated", "history": []})
    return (RawStack(counts=da, flats=xr.DataArray(flat, dims=("y", "x")),
                     darks=xr.DataArray(np.full((ny, nx), dark, np.float32), dims=("y", "x"))),
            jitter)
