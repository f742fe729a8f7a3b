"""NSLS-II FXI (18-ID) XANES HDF5: ``img_xanes``, ``img_bkg``, ``img_dark``, ``X_eng`` (keV)."""

from __future__ import annotations

from pathlib import Path

import h5py

from redoxmap.io.hdf5 import read_hdf5, write_hdf5
from redoxmap.io.raw import RawStack

DATA = "/img_xanes"
FLATS = "/img_bkg"
DARKS = "/img_dark"
ENERGY = "/X_eng"


def is_fxi(h5: h5py.File) -> bool:
    """True when the file has the FXI image and energy datasets."""
    return DATA in h5 and ENERGY in h5


def read_fxi(path: str | Path, chunks: int | None = None) -> RawStack:
    """Read an FXI XANES scan; ``X_eng`` in keV is converted to eV."""
    return read_hdf5(path, data=DATA, energy=ENERGY, flats=FLATS, darks=DARKS, chunks=chunks)


def write_fxi(raw: RawStack, path: str | Path) -> None:
    """Write a raw stack in the FXI layout (``X_eng`` in keV, as the beamline writes it)."""
    write_hdf5(raw, path, data=DATA, energy=ENERGY, flats=FLATS, darks=DARKS, energy_scale=1000.0)
