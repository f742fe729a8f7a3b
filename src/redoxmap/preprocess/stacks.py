"""Files to optical density in one call: read (any format :mod:`redoxmap.io` knows), then
flat/dark-correct and take −ln (:func:`redoxmap.preprocess.optical_density`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from redoxmap.errors import FormatError
from redoxmap.io.projections import ENERGY, read_projections_dxchange
from redoxmap.io.stack import read_raw
from redoxmap.io.xradia import read_xradia_raw
from redoxmap.preprocess.flatfield import optical_density


def open_stack(path: str | Path, **options) -> xr.DataArray:
    """Open a spectral image stack as flat/dark-corrected optical density ``(energy, y, x)``.

    ``options`` are those of :func:`read_raw`. The result carries ``energy`` in eV, a ``valid``
    pixel coordinate and a ``history`` of every step.

    >>> stack = open_stack("scan.h5")  # doctest: +SKIP
    """
    return optical_density(read_raw(path, **options))


def open_projections(paths: Sequence[str | Path], energies_ev: Sequence[float] | None = None,
                     theta_units: str | None = None) -> xr.DataArray:
    """Flat/dark-corrected −ln projections of one or more energies, dims ``(energy, angle, y, x)``.

    Each file is a dxchange HDF5 file or a Zeiss/Xradia ``.txrm`` tilt series (angles and energy
    from its header, flat from the reference image it holds). All files must share the angles and
    the detector shape.
    """
    if energies_ev is not None and len(energies_ev) != len(paths):
        raise FormatError(f"{len(energies_ev)} energies for {len(paths)} projection files")
    stacks = []
    for i, path in enumerate(paths):
        if Path(path).suffix.lower() == ".txrm":
            raw = read_xradia_raw(path, dim="angle")
            energy = raw.counts["energy"].values if "energy" in raw.counts.coords else None
            if energies_ev is not None or energy is not None:
                chosen = energies_ev[i] if energies_ev is not None else float(np.ravel(energy)[0])
                raw.counts = raw.counts.drop_vars("energy", errors="ignore").assign_coords(energy=chosen)
        else:
            raw = read_projections_dxchange(path, None if energies_ev is None else energies_ev[i],
                                            theta_units)
        if "energy" not in raw.counts.coords:
            raise FormatError(f"{path}: no {ENERGY} in the file; pass the energy of each file")
        stacks.append(optical_density(raw))
    first = stacks[0]
    for path, other in zip(paths[1:], stacks[1:], strict=True):
        if other.shape != first.shape or not np.allclose(other.angle, first.angle):
            raise FormatError(f"{path}: projections {other.shape} or angles differ from {paths[0]}; "
                              "expected the same scan at each energy")
    out = xr.concat(stacks, dim="energy").sortby("energy")
    out = out.assign_coords(valid=out.valid.all("energy")) if "energy" in out.valid.dims else out
    return out.transpose("energy", "angle", "y", "x")
