"""Drift alignment of an energy stack: sub-pixel shifts of each energy's image against one
reference energy, found by upsampled phase cross-correlation (Guizar-Sicairos et al.,
Opt. Lett. 33, 156 (2008), via scikit-image)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import dask.array as da
import numpy as np
import xarray as xr
from scipy import ndimage
from skimage.registration import phase_cross_correlation

from redoxmap.errors import EnergyError
from redoxmap.history import with_history

#: Spline order of the interpolation that applies the shifts.
SHIFT_ORDER = 3
#: Halo (px) beyond the largest shift read around each dask chunk: the cubic-spline prefilter's
#: influence decays as 0.268^n, so 16 px keeps chunk borders exact to ~1e-9 of the signal.
SPLINE_HALO_PX = 16


def _smoothed(image: np.ndarray, sigma_px: float) -> np.ndarray:
    image = np.asarray(image, dtype=np.float64)
    return ndimage.gaussian_filter(image, sigma_px) if sigma_px > 0 else image


def _register_block(images: np.ndarray, reference: np.ndarray, smooth_px: float,
                    upsample: int) -> np.ndarray:
    """Shift (y, x) of one image (a block ``(1, y, x)``) onto the smoothed ``reference`` ``(1, y, x)``."""
    shift, _, _ = phase_cross_correlation(reference[0], _smoothed(images[0], smooth_px),
                                          upsample_factor=upsample, normalization=None)
    return np.asarray(shift, float)[None, :]


def estimate_shifts(od: xr.DataArray, ref_energy_ev: float | None = None,
                    max_shift_px: float = 10.0, upsample: int = 20,
                    smooth_px: float = 1.0,
                    progress: Callable[[int, int], None] | None = None) -> xr.Dataset:
    """Sub-pixel shifts (y, x in px) that bring each energy's image onto the reference energy's image,
    by upsampled phase cross-correlation (Guizar-Sicairos et al. 2008, via scikit-image).

    Images are smoothed by a Gaussian of ``smooth_px`` before registration to suppress photon noise.
    A shift larger than ``max_shift_px`` in either direction is rejected, warned about and replaced
    by interpolation between the accepted shifts of the neighbouring energies (the guard against
    registering on noise).

    Parameters
    ----------
    od : xarray.DataArray
        Optical density ``(energy, y, x)``, energies in eV.
    ref_energy_ev : float, optional
        Energy whose image is the reference (eV); default the energy of the highest mean OD (the
        white line, where the particle contrast is highest).
    max_shift_px : float
        Largest shift accepted (px).
    upsample : int
        Upsampling factor of the cross-correlation: shifts are resolved to 1/``upsample`` px.
    smooth_px : float
        Standard deviation of the Gaussian smoothing (px); 0 for none.
    progress : callable, optional
        Called as ``progress(done, total)`` after each energy.

    Returns
    -------
    xarray.Dataset
        ``shift_y``, ``shift_x`` (px) and ``rejected`` along ``energy``.

    Raises
    ------
    EnergyError
        If ``ref_energy_ev`` lies outside the stack's energies.

    Examples
    --------
    >>> from redoxmap.simulate import MN_K_ENERGY_EV, demo_dataset, score_shifts
    >>> sim = demo_dataset(shape=(48, 48), energy_ev=MN_K_ENERGY_EV[::12], drift_max_px=2, seed=1)
    >>> shifts = estimate_shifts(sim.stack, ref_energy_ev=6567.0)
    >>> bool(score_shifts(shifts.shift_y, shifts.shift_x, sim.truth, 6567.0).max() < 0.2)  # px
    True
    """
    energy = od["energy"].values
    if ref_energy_ev is None:
        mean_od = od.mean([d for d in od.dims if d != "energy"])
        ref_index = int(np.argmax(np.asarray(mean_od)))
    else:
        if not energy.min() <= ref_energy_ev <= energy.max():
            raise EnergyError(f"reference energy {ref_energy_ev:g} eV is outside the stack's "
                              f"{energy.min():g}–{energy.max():g} eV")
        ref_index = int(np.argmin(np.abs(energy - ref_energy_ev)))
    reference = _smoothed(od.isel(energy=ref_index).values, smooth_px)
    images = od.transpose("energy", "y", "x").data
    if isinstance(images, da.Array):  # registered where each image is read, in one computation
        images = images.rechunk({0: 1, 1: -1, 2: -1})
        found = images.map_blocks(_register_block, da.from_array(reference[None], chunks=-1),
                                  smooth_px=smooth_px, upsample=upsample, drop_axis=2,
                                  chunks=((1,) * energy.size, (2,)), dtype=float)
        shifts = found.compute()
        shifts[ref_index] = 0.0
        if progress is not None:
            progress(energy.size, energy.size)
    else:
        shifts = np.zeros((energy.size, 2))
        for i in range(energy.size):
            if i != ref_index:
                shifts[i] = _register_block(images[i:i + 1], reference[None], smooth_px, upsample)[0]
            if progress is not None:
                progress(i + 1, energy.size)
    rejected = np.any(np.abs(shifts) > max_shift_px, axis=1)
    if rejected.any():
        warnings.warn(
            f"{int(rejected.sum())} of {energy.size} energies gave shifts above max_shift_px="
            f"{max_shift_px:g} ({', '.join(f'{e:g}' for e in energy[rejected][:5])} eV…); "
            "their shifts were interpolated from neighbouring energies",
            stacklevel=2,
        )
        keep = ~rejected
        for axis in range(2):
            shifts[rejected, axis] = np.interp(energy[rejected], energy[keep], shifts[keep, axis])
    out = xr.Dataset(
        {"shift_y": ("energy", shifts[:, 0]), "shift_x": ("energy", shifts[:, 1]),
         "rejected": ("energy", rejected)},
        coords={"energy": energy},
        attrs={"reference_energy_ev": float(energy[ref_index])},
    )
    out["shift_y"].attrs["units"] = out["shift_x"].attrs["units"] = "pixel"
    return out


def shift_images(images: np.ndarray, shifts_px: np.ndarray, order: int = SHIFT_ORDER) -> np.ndarray:
    """Move each image of a stack by its own sub-pixel shift, by spline interpolation (edges held).

    The one image-shifting routine of redoxmap: drift correction of energy stacks, jitter
    correction of projections and the simulated drift and jitter all use it.

    Parameters
    ----------
    images : stack (n, y, x).
    shifts_px : (n, 2) shifts (y, x) in pixels, one per image, or one (2,) shift for all.
    order : spline order (3: cubic).

    Returns
    -------
    The shifted stack, same shape and type.

    Examples
    --------
    >>> image = np.zeros((1, 5, 5)); image[0, 2, 2] = 1.0
    >>> np.argwhere(shift_images(image, np.array([[1.0, -1.0]]), order=1)[0] > 0.5).tolist()
    [[3, 1]]
    """
    images = np.asarray(images)
    shifts = np.broadcast_to(np.asarray(shifts_px, float), (images.shape[0], 2))
    out = np.empty_like(images)
    for i in range(images.shape[0]):  # one spline per image: a loop over images, not pixels
        out[i] = ndimage.shift(images[i], shifts[i], order=order, mode="nearest")
    return out


def _shift_block(block: np.ndarray, shifts: np.ndarray, block_info=None) -> np.ndarray:
    """Shift each image of a block; ``block_info`` (from dask) says which energies it holds."""
    first = 0 if block_info is None else block_info[0]["array-location"][0][0]
    return shift_images(block, shifts[first:first + block.shape[0]])


def apply_shifts(od: xr.DataArray, shifts: xr.Dataset) -> xr.DataArray:
    """Shift each energy's image by (``shift_y``, ``shift_x``) with cubic-spline interpolation
    (``scipy.ndimage.shift``; zero outside the image).

    Works on NumPy and on dask stacks with any chunks: each chunk is read with a halo of the largest
    shift plus :data:`SPLINE_HALO_PX`, so chunk borders match the in-memory result.

    Parameters
    ----------
    od : xarray.DataArray
        Optical density ``(energy, y, x)``.
    shifts : xarray.Dataset
        ``shift_y`` and ``shift_x`` (px) along ``energy``, e.g. from :func:`estimate_shifts`.

    Returns
    -------
    xarray.DataArray
        The shifted stack, with the shifts as ``shift_y``/``shift_x`` coordinates and a history line.

    Examples
    --------
    >>> import xarray as xr
    >>> image = np.zeros((1, 9, 9)); image[0, 4, 4] = 1.0
    >>> od = xr.DataArray(image, dims=("energy", "y", "x"), coords={"energy": [6550.0]})
    >>> shifts = xr.Dataset({"shift_y": ("energy", [2.0]), "shift_x": ("energy", [-1.0])})
    >>> np.argwhere(apply_shifts(od, shifts).values[0] > 0.5).tolist()
    [[6, 3]]
    """
    values = np.column_stack([shifts["shift_y"].values, shifts["shift_x"].values])
    data = od.transpose("energy", "y", "x").data
    if isinstance(data, da.Array) and len(data.chunks[1]) == len(data.chunks[2]) == 1:  # whole images
        moved = data.map_blocks(_shift_block, dtype=data.dtype, shifts=values)
    elif isinstance(data, da.Array):
        depth = int(math.ceil(np.abs(values).max())) + SPLINE_HALO_PX  # none along a whole axis
        moved = data.map_overlap(_shift_block, depth={0: 0, 1: depth * (len(data.chunks[1]) > 1),
                                                      2: depth * (len(data.chunks[2]) > 1)},
                                 boundary="nearest", dtype=data.dtype, shifts=values)
    else:
        moved = _shift_block(np.asarray(data), values)
    out = od.transpose("energy", "y", "x").copy(data=moved)
    out = out.assign_coords(shift_y=("energy", values[:, 0]), shift_x=("energy", values[:, 1]))
    out.attrs = with_history(od.attrs, "apply_shifts", max_abs_px=float(np.abs(values).max()))
    return out


def align_stack(od: xr.DataArray, ref_energy_ev: float | None = None,
                max_shift_px: float = 10.0, upsample: int = 20,
                smooth_px: float = 1.0,
                progress: Callable[[int, int], None] | None = None,
                shifts: xr.Dataset | None = None) -> xr.DataArray:
    """Estimate (:func:`estimate_shifts`) and apply (:func:`apply_shifts`) drift shifts; the shifts are
    kept as ``shift_y``/``shift_x`` coordinates.

    Output frame: every image is moved onto the image at the reference energy, so the aligned stack
    and every map fitted from it (:func:`redoxmap.fit.lincomb`, :func:`redoxmap.fit.valence_map`)
    are in the pixel frame of that one energy's image, not of the first image or of the detector.
    The attributes ``align_reference_energy_ev`` and ``frame`` say so, and travel with the maps.

    Parameters
    ----------
    od : xarray.DataArray
        Optical density ``(energy, y, x)``, energies in eV.
    ref_energy_ev : float, optional
        Reference energy (eV); default the energy of the highest mean OD.
    max_shift_px : float
        Largest shift accepted (px); larger ones are interpolated from neighbouring energies.
    upsample : int
        Upsampling factor of the cross-correlation.
    smooth_px : float
        Gaussian smoothing before registration (px).
    progress : callable, optional
        Called as ``progress(done, total)`` after each energy.
    shifts : xarray.Dataset, optional
        Shifts estimated already (:func:`estimate_shifts`, e.g. on the same stack read image by
        image while this one is read in strips of rows): applied, not estimated again.

    Returns
    -------
    xarray.DataArray
        The aligned stack.

    Examples
    --------
    >>> from redoxmap.simulate import MN_K_ENERGY_EV, demo_dataset
    >>> sim = demo_dataset(shape=(48, 48), energy_ev=MN_K_ENERGY_EV[::12], drift_max_px=2, seed=1)
    >>> aligned = align_stack(sim.stack)
    >>> aligned.shift_x.dims, aligned.attrs["align_reference_energy_ev"]
    (('energy',), 6567.0)
    """
    if shifts is None:
        shifts = estimate_shifts(od, ref_energy_ev, max_shift_px, upsample, smooth_px, progress)
    out = apply_shifts(od, shifts)
    out.attrs = with_history(od.attrs, "align_stack",
                             ref_energy_ev=shifts.attrs["reference_energy_ev"],
                             max_shift_px=max_shift_px, upsample=upsample,
                             rejected=int(shifts["rejected"].sum()))
    reference = shifts.attrs["reference_energy_ev"]
    out.attrs["align_reference_energy_ev"] = reference
    out.attrs["frame"] = (f"pixel frame of the image at {reference:g} eV (the drift-alignment "
                          "reference); shift_y/shift_x move each energy's image onto it")
    return out
