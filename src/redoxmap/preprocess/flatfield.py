"""Flat/dark correction and optical density.

Wang et al., Nat. Commun. 12, 5370 (2021), Methods, Eq. 1–2: T = I/I0 = exp(−μt), and the
optical density −ln T is the quantity fitted per pixel. With dark current,
T = (I − dark) / (I0 − dark).
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from redoxmap.errors import FormatError
from redoxmap.history import with_history
from redoxmap.io.raw import RawStack


def _check_frames(frames: xr.DataArray | None, counts: xr.DataArray, what: str) -> None:
    if frames is None:
        return
    if frames.dims != ("energy",) and frames.shape[-2:] != counts.shape[-2:]:
        raise FormatError(
            f"{counts.attrs.get('source', 'stack')}: {what} have image shape {frames.shape[-2:]}, "
            f"expected {counts.shape[-2:]} to match the sample images"
        )
    if "energy" in frames.dims and frames.sizes["energy"] != counts.sizes["energy"]:
        raise FormatError(
            f"{counts.attrs.get('source', 'stack')}: {frames.sizes['energy']} {what} for "
            f"{counts.sizes['energy']} energies; expected one per energy or a single image"
        )


def transmission(raw: RawStack) -> tuple[xr.DataArray, xr.DataArray]:
    """Transmission T = (I − dark) / (I0 − dark) per pixel and the map of pixels where T > 0 at every
    energy (Wang et al. 2021, Methods, Eq. 1: T = I/I0 = exp(−μt)).

    Flats and darks may be single images, one image per energy, or one value per energy (an I0
    spectrum, as STXM takes from an empty region). Where I − dark ≤ 0 or I0 − dark ≤ 0, T is set to
    1 (OD 0) and the pixel is marked invalid.

    Parameters
    ----------
    raw : RawStack
        Counts, flats and darks as a reader returns them (:func:`redoxmap.io.read_raw`); a stack
        that already holds I/I0 (``counts_are_transmission``) is passed through.

    Returns
    -------
    transmission : xarray.DataArray
        T with the dims of the counts.
    valid : xarray.DataArray
        ``(y, x)`` booleans, True where I and I0 exceed the dark at every energy.

    Raises
    ------
    FormatError
        If the counts need flats and have none, or flats/darks do not match the images in shape or
        number of energies.

    Examples
    --------
    >>> from redoxmap.simulate import demo_raw_stack
    >>> t, valid = transmission(demo_raw_stack(shape=(32, 32)))
    >>> t.dims, bool(valid.all())
    (('energy', 'y', 'x'), True)
    """
    counts = raw.counts
    if raw.counts_are_transmission:
        t = counts.astype(np.float32)
        positive = t > 0
    else:
        if raw.flats is None:
            raise FormatError(
                f"{counts.attrs.get('source', 'stack')}: no flat-field (I0) images; expected "
                "flats to turn counts into transmission"
            )
        _check_frames(raw.flats, counts, "flat-field images")
        _check_frames(raw.darks, counts, "dark images")
        dark = 0.0 if raw.darks is None else raw.darks.astype(np.float32)
        signal = counts.astype(np.float32) - dark
        reference = raw.flats.astype(np.float32) - dark
        positive = (signal > 0) & (reference > 0)
        t = signal / reference.where(reference > 0, 1.0)
    valid = positive.all([d for d in positive.dims if d not in ("y", "x")])
    t = t.where(positive, 1.0).transpose(*counts.dims)
    return t, valid


def optical_density(raw: RawStack) -> xr.DataArray:
    """Optical density OD = −ln T per pixel (Wang et al. 2021, Methods, Eqs. 1–2), with T from
    :func:`transmission`.

    Pixels where I ≤ 0 or I0 ≤ 0 (after dark subtraction) at any energy are counted, warned about,
    given OD 0 and flagged False in the ``valid`` coordinate ``(y, x)``; no inf or NaN ever reaches
    the output.

    Parameters
    ----------
    raw : RawStack
        Counts, flats and darks as a reader returns them.

    Returns
    -------
    xarray.DataArray
        OD (float32) with the dims of the counts (``(energy, y, x)`` for a spectral stack,
        ``(angle, y, x)`` for projections), a ``valid`` coordinate, ``energy`` in eV, and the
        reader's notes and this step in ``attrs["history"]``.

    Examples
    --------
    >>> from redoxmap.simulate import demo_raw_stack
    >>> od = optical_density(demo_raw_stack(shape=(32, 32)))
    >>> od.dims, bool(od.valid.all())
    (('energy', 'y', 'x'), True)
    """
    t, valid = transmission(raw)
    valid = valid.compute() if hasattr(valid.data, "dask") else valid
    n_bad = int((~valid).sum())
    if n_bad:
        warnings.warn(
            f"{raw.counts.attrs.get('source', 'stack')}: {n_bad} of {valid.size} pixels have "
            "I ≤ 0 or I0 ≤ 0 (after dark subtraction) at some energy; they are masked "
            "(valid=False) and given OD 0",
            stacklevel=2,
        )
    od = -np.log(t)
    od = od.where(valid, 0.0).astype(np.float32)
    flats = "none" if raw.flats is None else (
        "I0 spectrum" if raw.flats.dims == ("energy",) else
        "per-energy" if "energy" in raw.flats.dims else "single")
    darks = "none" if raw.darks is None else ("per-energy" if "energy" in raw.darks.dims else "single")
    attrs = dict(raw.counts.attrs)
    for note in raw.notes:
        attrs = with_history(attrs, "note", text=note)
    od.attrs = with_history(attrs, "optical_density", flats=flats, darks=darks,
                            invalid_pixels=n_bad)
    od.attrs["units"] = "1"
    od.attrs["long_name"] = "optical density −ln(I/I0)"
    od = od.assign_coords(valid=valid)
    if "energy" in od.coords:
        od["energy"].attrs["units"] = "eV"
    return od
