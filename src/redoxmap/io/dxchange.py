"""dxchange (Data Exchange) HDF5: ``/exchange/data``, ``data_white``, ``data_dark``, ``energy``.

The layout TomoPy/dxchange and APS beamlines write (De Carlo et al., J. Synchrotron Rad. 21,
1224 (2014)).
"""

from __future__ import annotations

from pathlib import Path

import h5py

from redoxmap.io.hdf5 import read_hdf5, write_hdf5
from redoxmap.io.raw import RawStack

DATA = "/exchange/data"
FLATS = "/exchange/data_white"
DARKS = "/exchange/data_dark"
ENERGY = "/exchange/energy"


def is_dxchange(h5: h5py.File) -> bool:
    """True when the file has the dxchange image and energy datasets."""
    return DATA in h5 and ENERGY in h5


def read_dxchange(path: str | Path, chunks: int | None = None) -> RawStack:
    """Read a dxchange XANES stack (energies in eV or keV)."""
    return read_hdf5(path, data=DATA, energy=ENERGY, flats=FLATS, darks=DARKS, chunks=chunks)


def write_dxchange(raw: RawStack, path: str | Path) -> None:
    """Write a raw stack in the dxchange layout (energies in eV)."""
    write_hdf5(raw, path, data=DATA, energy=ENERGY, flats=FLATS, darks=DARKS)
