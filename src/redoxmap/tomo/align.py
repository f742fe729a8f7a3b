"""Projection jitter alignment by iterative reprojection (Gürsoy et al., Sci. Rep. 7, 11818 (2017)).

Reconstruct, reproject the volume at the measured angles, register every measured projection to
its reprojection (upsampled phase correlation), shift, and repeat. The mean horizontal shift is
held at zero (it is the rotation centre's job) and so is the mean vertical shift.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import xarray as xr
from skimage.registration import phase_cross_correlation

from redoxmap.history import with_history
from redoxmap.preprocess.align import shift_images
from redoxmap.tomo.radon import FourierRadon
from redoxmap.tomo.reconstruct import reconstruct


def reproject(volume: xr.DataArray, angles_deg: np.ndarray, center_px: float | None = None) -> np.ndarray:
    """Projections of a volume by the matrix-free Fourier projector: p_θ(t) = ∫ f(x, y) along the ray
    x cos θ + y sin θ = t (Fourier-slice theorem, :class:`redoxmap.tomo.FourierRadon`).

    Parameters
    ----------
    volume : xarray.DataArray
        ``(z, y, x)`` with y = x in size, attenuation per voxel (as :func:`redoxmap.tomo.reconstruct`
        returns).
    angles_deg : numpy.ndarray
        Projection angles in degrees.
    center_px : float, optional
        Detector position of the rotation axis (px); default ``x // 2``.

    Returns
    -------
    numpy.ndarray
        −ln projections ``(angle, z, det)``, float32, det = x.

    Examples
    --------
    >>> disc = (np.hypot(*(np.indices((32, 32)) - 16)) <= 8).astype(np.float32)
    >>> volume = xr.DataArray(np.stack([disc, 2 * disc]), dims=("z", "y", "x"))
    >>> p = reproject(volume, np.array([0.0, 90.0]))
    >>> p.shape, round(float(p[1, 1, 16]), 1)  # the middle chord of the second slice: 17 voxels of 2
    ((2, 2, 32), 34.0)
    """
    op = FourierRadon(volume.shape[-1], angles_deg, center_px=center_px)
    return np.transpose(op.forward(np.asarray(volume.values, np.float32)), (1, 0, 2))


def align_projections(projections: xr.DataArray, center_px: float | None = None, iterations: int = 6,
                      upsample: int = 20, tolerance_px: float = 0.02, bin_factor: int = 2,
                      progress: Callable[[int, int], None] | None = None) -> xr.DataArray:
    """Correct per-projection jitter by iterative reprojection (Gürsoy et al., Sci. Rep. 7, 11818
    (2017)): reconstruct (gridrec), reproject (:func:`reproject`), register each projection to its
    reprojection, shift (:func:`redoxmap.preprocess.shift_images`), repeat.

    The shifts are found on projections binned ``bin_factor`` × ``bin_factor`` (each iteration is a
    reconstruction and a reprojection, so binning by 2 makes it ~8× cheaper) and refined by two
    iterations at full resolution. Their mean is held at zero (a mean horizontal shift is the
    rotation centre's job).

    Parameters
    ----------
    projections : xarray.DataArray
        −ln projections ``(angle, y, x)``, angles in degrees.
    center_px : float, optional
        Detector position of the rotation axis (px); default ``x // 2``.
    iterations : int
        Largest number of reconstruct–register rounds on the binned projections.
    upsample : int
        Upsampling of the phase correlation: shifts resolved to 1/``upsample`` px.
    tolerance_px : float
        Stop when no shift changes by more than this (px).
    bin_factor : int
        Binning of the first rounds (1: none).
    progress : callable, optional
        ``progress(done, total)`` after each binned round.

    Returns
    -------
    xarray.DataArray
        The shifted projections ``(angle, y, x)`` (float32) with the shifts (px) as ``shift_y`` and
        ``shift_x`` coordinates along ``angle``.
    """
    full = projections.transpose("angle", "y", "x")
    small = full.coarsen(y=bin_factor, x=bin_factor, boundary="trim").mean() if bin_factor > 1 else full
    shifts = _find_shifts(small, None if center_px is None else center_px / bin_factor, iterations,
                          upsample, tolerance_px / bin_factor, progress) * bin_factor
    if bin_factor > 1:  # refine at full resolution, starting from the binned estimate
        shifts = _find_shifts(full, center_px, 2, upsample, tolerance_px, None, initial=shifts)
    out = full.copy(data=shift_images(full.values.astype(np.float32), shifts))
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
    current = measured if initial is None else shift_images(measured, total)
    for it in range(iterations):
        volume = reconstruct(projections.copy(data=current), "gridrec", center_px=center_px)
        reference = reproject(volume, angles, center_px=center_px)
        step = np.array([phase_cross_correlation(reference[i], current[i], upsample_factor=upsample,
                                                 normalization=None)[0] for i in range(angles.size)])
        step -= step.mean(axis=0)
        total += step
        current = shift_images(measured, total)
        if progress:
            progress(it + 1, iterations)
        if np.abs(step).max() < tolerance_px:
            break
    return total
