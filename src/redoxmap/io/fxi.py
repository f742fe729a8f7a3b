"""NSLS-II FXI (18-ID) XANES HDF5: ``img_xanes``, ``img_bkg``, ``img_dark``, ``X_eng`` (keV)."""

from __future__ import annotations

from pathlib import Path

import h5py

from redoxmap.io.hdf5 import Chunks, read_hdf5, write_hdf5
from redoxmap.io.raw import RawStack

DATA = "/img_xanes"
FLATS = "/img_bkg"
DARKS = "/img_dark"
ENERGY = "/X_eng"


def _is_fxi(h5: h5py.File) -> bool:
    """True when the file has the FXI image and energy datasets."""
    return DATA in h5 and ENERGY in h5


def read_fxi(path: str | Path, chunks: Chunks | None = None) -> RawStack:
    """Read an NSLS-II FXI (18-ID) XANES scan: ``img_xanes``, ``img_bkg``, ``img_dark`` and ``X_eng``
    (keV, converted to eV).

    Parameters
    ----------
    path : str or pathlib.Path
        The HDF5 file.
    chunks : int or tuple, optional
        Keep the images on disk as a dask array of tiles or chunks (:func:`redoxmap.io.read_hdf5`).

    Returns
    -------
    RawStack
        Counts ``(energy, y, x)`` with energies in eV, flats and darks.

    Examples
    --------
    >>> import tempfile
    >>> from redoxmap.simulate import demo_raw_stack
    >>> path = Path(tempfile.mkdtemp()) / "fxi.h5"
    >>> write_fxi(demo_raw_stack(shape=(16, 16)), path)
    >>> float(read_fxi(path).counts.energy[0])
    6519.0
    """
    return read_hdf5(path, data=DATA, energy=ENERGY, flats=FLATS, darks=DARKS, chunks=chunks)


def write_fxi(raw: RawStack, path: str | Path) -> None:
    """Write a raw stack in the FXI layout (``X_eng`` in keV, as the beamline writes it), under a
    temporary name, then renamed.

    Parameters
    ----------
    raw : RawStack
        Counts, flats and darks.
    path : str or pathlib.Path
        The HDF5 file to write.
    """
    write_hdf5(raw, path, data=DATA, energy=ENERGY, flats=FLATS, darks=DARKS, energy_scale=1000.0)
