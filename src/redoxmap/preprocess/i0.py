"""I0 for scanning microscopes (STXM): the incident intensity per energy, taken from an empty
region of the image (chosen by mask or found automatically) or from a separate I0 spectrum, as
aXis2000 and MANTiS do. The result is attached to the raw stack as a per-energy flat, so
:func:`redoxmap.preprocess.flatfield.optical_density` gives OD = −ln(I / I0(E))."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import xarray as xr

from redoxmap.errors import EnergyError, MaskError
from redoxmap.io.raw import RawStack
from redoxmap.io.spectrum import read_spectrum


def auto_i0_mask(counts: xr.DataArray, fraction: float = 0.05) -> xr.DataArray:
    """Off-sample pixels for I0: the brightest ``fraction`` of pixels by their mean count over all
    energies (where nothing absorbs, the most light is transmitted at every energy).

    Parameters
    ----------
    counts : xarray.DataArray
        Transmitted counts ``(energy, y, x)``.
    fraction : float
        Share of the pixels to take, between 0 and 1.

    Returns
    -------
    xarray.DataArray
        ``(y, x)`` booleans, True in the I0 region.

    Raises
    ------
    MaskError
        If ``fraction`` is not between 0 and 1.

    Examples
    --------
    >>> from redoxmap.simulate import demo_raw_stack
    >>> int(auto_i0_mask(demo_raw_stack(shape=(32, 32)).counts, 0.05).sum())
    52
    """
    if not 0 < fraction < 1:
        raise MaskError(f"I0 fraction {fraction} must lie between 0 and 1")
    mean = counts.mean("energy")
    threshold = float(mean.quantile(1.0 - fraction))
    mask = (mean >= threshold).reset_coords(drop=True)
    mask.attrs = {"long_name": "I0 region", "rule": f"brightest {fraction:.0%} of pixels"}
    return mask


def with_i0_region(raw: RawStack, mask: xr.DataArray | np.ndarray | None = None,
                   fraction: float = 0.05) -> RawStack:
    """Attach I0(E), the median count over an empty region of the image, as the stack's flat, so that
    :func:`redoxmap.preprocess.optical_density` gives OD = −ln(I / I0(E)) (as aXis2000 and MANTiS
    do for STXM stacks).

    Parameters
    ----------
    raw : RawStack
        Transmitted counts ``(energy, y, x)``.
    mask : xarray.DataArray or numpy.ndarray, optional
        ``(y, x)`` booleans of the empty region; default :func:`auto_i0_mask`.
    fraction : float
        Share of the brightest pixels used when ``mask`` is None.

    Returns
    -------
    RawStack
        A copy whose ``flats`` is I0 per energy, with a note of the region used.

    Raises
    ------
    MaskError
        If the mask does not have the image's shape or selects no pixel.

    Examples
    --------
    >>> from redoxmap.simulate import demo_raw_stack
    >>> stack = with_i0_region(demo_raw_stack(shape=(32, 32)))
    >>> stack.flats.dims, stack.notes[-1]
    (('energy',), 'I0 from 52 pixels, auto (brightest 5%)')
    """
    counts = raw.counts
    if mask is None:
        mask = auto_i0_mask(counts, fraction)
        how = f"auto (brightest {fraction:.0%})"
    else:
        mask = xr.DataArray(np.asarray(mask, dtype=bool), dims=("y", "x"))
        how = "user mask"
        if mask.shape != counts.shape[1:]:
            raise MaskError(f"I0 mask has shape {mask.shape}; expected {counts.shape[1:]} (the image)")
    if int(mask.sum()) == 0:
        raise MaskError(f"{counts.attrs.get('source', 'stack')}: the I0 region selects no pixel")
    values = np.asarray(counts.values)[:, np.asarray(mask.values, dtype=bool)]
    i0 = xr.DataArray(np.median(values, axis=1), dims=("energy",))
    note = f"I0 from {int(mask.sum())} pixels, {how}"
    return replace(raw, flats=i0, notes=[*raw.notes, note])


def with_i0_spectrum(raw: RawStack, path: str | Path) -> RawStack:
    """Attach an I0 spectrum file (two columns: energy, counts; e.g. aXis2000 ``.xsp``), linearly
    interpolated onto the stack's energies, as the stack's flat.

    Parameters
    ----------
    raw : RawStack
        Transmitted counts ``(energy, y, x)``.
    path : str or pathlib.Path
        The I0 spectrum (energies in eV or keV).

    Returns
    -------
    RawStack
        A copy whose ``flats`` is I0 per energy, with a note naming the file.

    Raises
    ------
    EnergyError
        If the spectrum does not cover the stack's energies.
    FormatError
        If the file cannot be read as two columns.

    Examples
    --------
    >>> stack = with_i0_spectrum(read_stxm("71214078.hdr"), "i0.xsp")  # doctest: +SKIP
    """
    energy, counts, _ = read_spectrum(path)
    target = raw.energy_ev
    if energy[0] > target.min() + 1e-6 or energy[-1] < target.max() - 1e-6:
        raise EnergyError(f"{path}: I0 covers {energy[0]:g}–{energy[-1]:g} eV but the stack spans "
                          f"{target.min():g}–{target.max():g} eV")
    i0 = xr.DataArray(np.interp(target, energy, counts), dims=("energy",))
    return replace(raw, flats=i0, notes=[*raw.notes, f"I0 spectrum from {path}"])
