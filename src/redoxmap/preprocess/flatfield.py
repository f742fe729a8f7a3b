"""Flat/dark correction and optical density.

Wang et al., Nat. Commun. 12, 5370 (2021), Methods, Eq. 1–2: T = I/I0 = exp(−μt), and the
optical density −ln T is the quantity fitted per pixel. With dark current,
T = (I − dark) / (I0 − dark).
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from redoxmap.errors import FormatError, RedoxmapWarning
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
    """Transmission T = (I − dark) / (I0 − dark) per pixel and the map of pixels where T > 0 and finite at
    every energy (Wang et al. 2021, Methods, Eq. 1: T = I/I0 = exp(−μt)).

    Flats and darks may be single images, one image per energy, or one value per energy (an I0
    spectrum, as STXM takes from an empty region). Where I − dark ≤ 0, I0 − dark ≤ 0, or a count is
    NaN or inf, T is set to 1 (OD 0) and the pixel is marked invalid.

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
        True where T is valid: ``(y, x)`` for a spectral stack (a pixel bad at one energy is bad for
        the fit), ``(angle, y, x)`` for projections.

    Raises
    ------
    FormatError
        If the counts need flats and have none, or flats/darks do not match the images in shape or
        number of energies, or flats minus darks is ≤ 0 over most of the image (darks that look
        like flats).

    Examples
    --------
    >>> from redoxmap.simulate import demo_raw_stack
    >>> t, valid = transmission(demo_raw_stack(shape=(32, 32)))
    >>> t.dims, bool(valid.all())
    (('energy', 'y', 'x'), True)
    """
    counts = raw.counts
    source = counts.attrs.get("source", "stack")
    if raw.counts_are_transmission:
        t = counts.astype(np.float32)
    else:
        if raw.flats is None:
            raise FormatError(f"{source}: no flat-field (I0) images; expected flats to turn counts into "
                              "transmission (or an I0 spectrum for a scanning microscope: --i0)")
        _check_frames(raw.flats, counts, "flat-field images")
        _check_frames(raw.darks, counts, "dark images")
        dark = 0.0 if raw.darks is None else raw.darks.astype(np.float32)
        reference = raw.flats.astype(np.float32) - dark
        share = float((reference <= 0).mean())
        if raw.darks is not None and share > 0.5:
            raise FormatError(
                f"{source}: flats minus darks is ≤ 0 in {100 * share:.0f} % of the pixels (flats mean "
                f"{float(raw.flats.mean()):.4g}, darks mean {float(raw.darks.mean()):.4g}): the darks look "
                "like flats; expected dark images taken without beam")
        t = (counts.astype(np.float32) - dark) / reference.where(reference > 0, np.nan)
    good = np.isfinite(t) & (t > 0)
    per_pixel = [d for d in good.dims if d not in ("y", "x", "angle")]
    valid = good.all(per_pixel) if per_pixel else good
    t = t.where(good, 1.0).transpose(*counts.dims)
    return t, valid


def optical_density(raw: RawStack) -> xr.DataArray:
    """Optical density OD = −ln T per pixel (Wang et al. 2021, Methods, Eqs. 1–2), with T from
    :func:`transmission`.

    Bad values never reach the output as inf or NaN. In a spectral stack, a pixel where I ≤ 0 or
    I0 ≤ 0 (after dark subtraction) or a count is NaN or inf at any energy is counted, warned
    about, given OD 0 and flagged False in the ``valid`` coordinate ``(y, x)``. In projections a
    bad value is replaced by the mean of its valid neighbours in the same projection (a whole
    detector column set to 0 over every angle would draw a ring in the reconstruction), and
    counted in the warning.

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
    source = raw.counts.attrs.get("source", "stack")
    od = -np.log(t)
    projections = "angle" in valid.dims
    if projections:  # lazy projections: the (angle, y, x) map is counted chunk by chunk, held only if bad
        n_bad = int((~valid).sum())
        if n_bad:
            bad = ~np.asarray(valid.transpose(*od.dims).values)
            od = od.copy(data=_repair(np.asarray(od.values, np.float32), bad))
            warnings.warn(f"{source}: {n_bad} projection values had I ≤ 0, I0 ≤ 0, NaN or inf (in "
                          f"{int(bad.any(axis=(1, 2)).sum())} of {bad.shape[0]} projections); each was "
                          "replaced by the mean of its valid neighbours", RedoxmapWarning, stacklevel=2)
        valid = xr.DataArray(np.ones(valid.shape[-2:], bool), dims=("y", "x"))
    else:
        valid = valid.compute() if hasattr(valid.data, "dask") else valid
        n_bad = int((~valid).sum())
        if n_bad:
            finite = np.isfinite(raw.counts).all([d for d in raw.counts.dims if d not in ("y", "x")])
            n_nonfinite = int((~finite).sum())
            detail = f" ({n_nonfinite} of them hold NaN or inf counts)" if n_nonfinite else ""
            warnings.warn(
                f"{source}: {n_bad} of {valid.size} pixels have I ≤ 0 or I0 ≤ 0 (after dark subtraction) "
                f"or a non-finite count at some energy{detail}; they are masked (valid=False) and given OD 0",
                RedoxmapWarning, stacklevel=2)
        od = od.where(valid, 0.0)
    od = od.astype(np.float32)
    flats = "none" if raw.flats is None else (
        "I0 spectrum" if raw.flats.dims == ("energy",) else
        "per-energy" if "energy" in raw.flats.dims else "single")
    darks = "none" if raw.darks is None else ("per-energy" if "energy" in raw.darks.dims else "single")
    attrs = dict(raw.counts.attrs)
    for note in raw.notes:
        attrs = with_history(attrs, "note", text=note)
    od.attrs = with_history(attrs, "optical_density", flats=flats, darks=darks, invalid_pixels=n_bad)
    od.attrs["units"] = "1"
    od.attrs["long_name"] = "optical density −ln(I/I0)"
    od = od.assign_coords(valid=valid)
    if "energy" in od.coords:
        od["energy"].attrs["units"] = "eV"
    return od


def _repair(images: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """Replace the ``bad`` values of each image (…, y, x) by the mean of the valid values of their
    3 × 3 neighbourhood in the same image (7 × 7 where all of those are bad; 0 where still none),
    by normalized convolution: Σ valid·value / Σ valid over the window, for all images at once."""
    from scipy import ndimage

    out = np.where(bad, 0.0, images).astype(np.float32)
    weight = (~bad).astype(np.float32)
    left = bad.copy()
    for size in (3, 7):
        window = (1,) * (images.ndim - 2) + (size, size)
        total = ndimage.uniform_filter(out * weight, window, mode="nearest")
        count = ndimage.uniform_filter(weight, window, mode="nearest")
        fill = left & (count > 1e-6)
        out[fill] = total[fill] / count[fill]
        left &= ~fill
    return out
