"""Projections of a volume: parallel beam, any angles, with flats, darks, Poisson noise, a
rotation-centre offset and per-projection jitter (the simulator behind the tomography tests)."""

from __future__ import annotations

import numpy as np
import xarray as xr
from skimage.transform import radon

from redoxmap.io.raw import RawStack
from redoxmap.preprocess.align import shift_images


def project(volume: xr.DataArray, angles_deg: np.ndarray) -> np.ndarray:
    """Line integrals of a volume rotating about z, parallel beam: scikit-image's Radon transform, slice
    by slice (angle 0 projects along y).

    Parameters
    ----------
    volume : xarray.DataArray
        Attenuation per voxel ``(z, y, x)``, zero outside the inscribed cylinder.
    angles_deg : numpy.ndarray
        Rotation angles (degrees).

    Returns
    -------
    numpy.ndarray
        Projections ``(angle, z, x)``.

    Examples
    --------
    >>> z, y, x = np.indices((2, 9, 9))
    >>> disk = xr.DataArray(((y - 4) ** 2 + (x - 4) ** 2 <= 4) * 1.0, dims=("z", "y", "x"))
    >>> project(disk, np.array([0.0, 90.0]))[:, 0, 4].tolist()  # the chord through the centre
    [5.0, 5.0]
    """
    values = np.asarray(volume.values, dtype=np.float64)
    sino = np.stack([radon(values[k], angles_deg, circle=True) for k in range(values.shape[0])])
    return np.transpose(sino, (2, 0, 1))  # (angle, z, detector)


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
