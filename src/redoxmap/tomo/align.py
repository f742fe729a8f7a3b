"""Projection jitter alignment by iterative reprojection (Gürsoy et al., Sci. Rep. 7, 11818 (2017)).

Reconstruct, reproject the volume at the measured angles, register every measured projection to
its reprojection (upsampled phase correlation), shift, and repeat. The mean horizontal shift is
held at zero (it is the rotation centre's job) and so is the mean vertical shift.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import xarray as xr
from scipy import ndimage
from skimage.registration import phase_cross_correlation

from redoxmap.history import with_history
from redoxmap.tomo.radon import FourierRadon
from redoxmap.tomo.reconstruct import reconstruct


def reproject(volume: xr.DataArray, angles_deg: np.ndarray, center_px: float | None = None) -> np.ndarray:
    """Projections (angle, z, det) of a volume (z, y, x) by the matrix-free Fourier projector
    (:class:`redoxmap.tomo.radon.FourierRadon`), the rotation axis at detector position
    ``center_px`` (default ``x // 2``)."""
    op = FourierRadon(volume.shape[-1], angles_deg, center_px=center_px)
    return np.transpose(op.forward(np.asarray(volume.values, np.float32)), (1, 0, 2))


def shift_projections(data: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Shift each projection (angle, y, x) by (dy, dx) with cubic splines."""
    out = np.empty_like(data)
    for i in range(data.shape[0]):
        out[i] = ndimage.shift(data[i], shifts[i], order=3, mode="nearest")
    return out


def align_projections(projections: xr.DataArray, center_px: float | None = None, iterations: int = 6,
                      upsample: int = 20, tolerance_px: float = 0.02, bin_factor: int = 2,
                      progress: Callable[[int, int], None] | None = None) -> xr.DataArray:
    """Correct per-projection jitter; the shifts are kept as ``shift_y``/``shift_x`` coordinates.

    The shifts are found on projections binned ``bin_factor`` × ``bin_factor`` (each iteration is a
    reconstruction and a reprojection, so binning by 2 makes it ~8× cheaper) and refined by two
    iterations at full resolution.
    """
    full = projections.transpose("angle", "y", "x")
    small = full.coarsen(y=bin_factor, x=bin_factor, boundary="trim").mean() if bin_factor > 1 else full
    shifts = _find_shifts(small, None if center_px is None else center_px / bin_factor, iterations,
                          upsample, tolerance_px / bin_factor, progress) * bin_factor
    if bin_factor > 1:  # refine at full resolution, starting from the binned estimate
        shifts = _find_shifts(full, center_px, 2, upsample, tolerance_px, None, initial=shifts)
    out = full.copy(data=shift_projections(full.values.astype(np.float32), shifts))
    out = out.assign_coords(shift_y=("angle", shifts[:, 0]), shift_x=("angle", shifts[:, 1]))
    out.attrs = with_history(projections.attrs, "align_projections", bin_factor=bin_factor,
                             max_shift_px=float(np.abs(shifts).max()))
    return out


def _find_shifts(projections: xr.DataArray, center_px: float | None, iterations: int, upsample: int,
                 tolerance_px: float, progress: Callable[[int, int], None] | None,
                 initial: np.ndarray | None = None) -> np.ndarray:
    angles = projections["angle"].values.astype(float)
    measured = projections.values.astype(np.float32)
    total = np.zeros((angles.size, 2)) if initial is None else initial.copy()
    current = measured if initial is None else shift_projections(measured, total)
    for it in range(iterations):
        volume = reconstruct(projections.copy(data=current), "gridrec", center_px=center_px)
        reference = reproject(volume, angles, center_px=center_px)
        step = np.array([phase_cross_correlation(reference[i], current[i], upsample_factor=upsample,
                                                 normalization=None)[0] for i in range(angles.size)])
        step -= step.mean(axis=0)
        total += step
        current = shift_projections(measured, total)
        if progress:
            progress(it + 1, iterations)
        if np.abs(step).max() < tolerance_px:
            break
    return total
