"""Files to optical density in one call: read (any format :mod:`redoxmap.io` knows), then
flat/dark-correct and take −ln (:func:`redoxmap.preprocess.optical_density`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from redoxmap.errors import FormatError
from redoxmap.io.projections import (
    ENERGY,
    projection_energies,
    read_projection_series_dxchange,
    read_projections_dxchange,
)
from redoxmap.io.stack import read_raw
from redoxmap.io.xradia import read_xradia_raw
from redoxmap.preprocess.flatfield import optical_density
from redoxmap.preprocess.i0 import with_i0_region, with_i0_spectrum


def open_stack(path: str | Path, *, i0_spectrum: str | Path | None = None, i0_fraction: float = 0.05,
               **options) -> xr.DataArray:
    """Open a spectral image stack as flat/dark-corrected optical density ``(energy, y, x)``: read
    (:func:`redoxmap.io.read_raw`), attach I0 for scanning microscopes, then
    :func:`redoxmap.preprocess.optical_density`.

    Parameters
    ----------
    path : str or pathlib.Path
        Any stack :func:`redoxmap.io.read_raw` reads (dxchange, FXI, generic HDF5, TIFF, Xradia,
        ALS STXM, NXstxm).
    i0_spectrum : str or pathlib.Path, optional
        An I0 spectrum file (energy, counts), e.g. aXis2000 ``.xsp``, for a scanning microscope's
        stack. Without it, a stack that has no flats and holds counts (STXM) takes I0 from its
        brightest ``i0_fraction`` of pixels (an empty region), as aXis2000 does.
    i0_fraction : float
        Share of brightest pixels taken as the I0 region.
    **options
        Those of :func:`redoxmap.io.read_raw` (``energies``, ``flats``, ``darks``, ``data``,
        ``energy``, ``transmission``, ``chunks``).

    Returns
    -------
    xarray.DataArray
        Optical density with ``energy`` in eV, a ``valid`` pixel coordinate and a ``history`` of
        every step.

    Examples
    --------
    >>> import tempfile
    >>> from redoxmap.io import write_dxchange
    >>> from redoxmap.simulate import demo_raw_stack
    >>> path = Path(tempfile.mkdtemp()) / "scan.h5"
    >>> write_dxchange(demo_raw_stack(shape=(32, 32)), path)
    >>> open_stack(path).dims
    ('energy', 'y', 'x')
    """
    raw = read_raw(path, **options)
    if i0_spectrum is not None:
        raw = with_i0_spectrum(raw, i0_spectrum)
    elif raw.flats is None and not raw.counts_are_transmission:
        raw = with_i0_region(raw, fraction=i0_fraction)
    return optical_density(raw)


def open_projections(paths: Sequence[str | Path], energies_ev: Sequence[float] | None = None,
                     theta_units: str | None = None, chunks: tuple | None = None) -> xr.DataArray:
    """Flat/dark-corrected −ln projections of one or more energies, dims ``(energy, angle, y, x)``.

    Each file is a dxchange HDF5 file of one energy or of every energy of a scan (``/exchange/data``
    ``(energy, angle, y, x)``, :func:`redoxmap.io.read_projection_series_dxchange`), or a
    Zeiss/Xradia ``.txrm`` tilt series (angles and energy from its header, flat from the reference
    image it holds). All energies must share the angles and the detector shape.

    Parameters
    ----------
    paths : sequence of str or pathlib.Path
        One projection file per energy, or files of several energies each.
    energies_ev : sequence of float, optional
        Energy of each file (eV), or of each energy of a multi-energy file, in order, for files that
        do not state it.
    theta_units : {"deg", "rad"}, optional
        Units of the dxchange angles when the file does not state them.
    chunks : tuple, optional
        Keep dxchange projections on disk as dask arrays read in chunks of this shape of
        ``(angle, y, x)``, e.g. ``(-1, 8, -1)`` for slabs of 8 detector rows
        (:func:`redoxmap.io.read_projections_dxchange`).

    Returns
    -------
    xarray.DataArray
        Optical density with an ``angle`` coordinate in degrees and ``energy`` in eV.

    Raises
    ------
    FormatError
        If ``energies_ev`` does not give one energy per file (per energy of a multi-energy file), a
        file has no energy, or the energies differ in angles or detector shape.

    Examples
    --------
    >>> import tempfile
    >>> import xarray as xr
    >>> from redoxmap.io.projections import write_projections_dxchange
    >>> from redoxmap.simulate.tomography import acquire_projections
    >>> z, y, x = np.indices((8, 16, 16))
    >>> volume = xr.DataArray(0.05 * ((y - 7.5) ** 2 + (x - 7.5) ** 2 < 36), dims=("z", "y", "x"))
    >>> raw, _ = acquire_projections(volume, np.linspace(0, 180, 19))
    >>> path = Path(tempfile.mkdtemp()) / "projections.h5"
    >>> write_projections_dxchange(raw, path)
    >>> open_projections([path], energies_ev=[6530.0]).dims
    ('energy', 'angle', 'y', 'x')
    """
    counts = [None if Path(path).suffix.lower() == ".txrm" else projection_energies(path) for path in paths]
    total = sum(n or 1 for n in counts)
    if energies_ev is not None and len(energies_ev) != total:
        several = [f"{path} ({n})" for path, n in zip(paths, counts, strict=True) if n]
        within = f", energies per file: {', '.join(several)}" if several else ""
        raise FormatError(f"{len(energies_ev)} energies for {total} energies of {len(paths)} projection "
                          f"files{within}; expected one energy each, in order")
    stacks, names, first_energy = [], [], 0
    for path, n in zip(paths, counts, strict=True):
        given = None if energies_ev is None else list(energies_ev[first_energy:first_energy + (n or 1)])
        first_energy += n or 1
        if n is not None:
            raws = read_projection_series_dxchange(path, given, theta_units, chunks=chunks)
        elif Path(path).suffix.lower() == ".txrm":
            raw = read_xradia_raw(path, dim="angle")
            energy = raw.counts["energy"].values if "energy" in raw.counts.coords else None
            if given is not None or energy is not None:
                chosen = given[0] if given is not None else float(np.ravel(energy)[0])
                raw.counts = raw.counts.drop_vars("energy", errors="ignore").assign_coords(energy=chosen)
            raws = [raw]
        else:
            raws = [read_projections_dxchange(path, None if given is None else given[0], theta_units,
                                              chunks=chunks)]
        for raw in raws:
            if "energy" not in raw.counts.coords:
                raise FormatError(f"{path}: no {ENERGY} in the file; pass the energy of each file")
            stacks.append(optical_density(raw))
            names.append(path)
    first = stacks[0]
    for path, other in zip(names[1:], stacks[1:], strict=True):
        if other.shape != first.shape or not np.allclose(other.angle, first.angle):
            raise FormatError(f"{path}: projections {other.shape} at {float(other.energy):g} eV or their "
                              f"angles differ from those of {names[0]} at {float(first.energy):g} eV "
                              f"{first.shape}; expected the same scan at each energy")
    out = xr.concat(stacks, dim="energy").sortby("energy")
    out = out.assign_coords(valid=out.valid.all("energy")) if "energy" in out.valid.dims else out
    return out.transpose("energy", "angle", "y", "x")
