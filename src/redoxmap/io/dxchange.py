"""dxchange (Data Exchange) HDF5: ``/exchange/data``, ``data_white``, ``data_dark``, ``energy``.

The layout TomoPy/dxchange and APS beamlines write (De Carlo et al., J. Synchrotron Rad. 21,
1224 (2014)).
"""

from __future__ import annotations

from pathlib import Path

import h5py

from redoxmap.io.hdf5 import Chunks, read_hdf5, write_hdf5
from redoxmap.io.raw import RawStack

DATA = "/exchange/data"
FLATS = "/exchange/data_white"
DARKS = "/exchange/data_dark"
ENERGY = "/exchange/energy"


def _is_dxchange(h5: h5py.File) -> bool:
    """True when the file has the dxchange image and energy datasets."""
    return DATA in h5 and ENERGY in h5


def read_dxchange(path: str | Path, chunks: Chunks | None = None) -> RawStack:
    """Read a dxchange (Data Exchange, De Carlo et al. 2014) XANES stack: ``/exchange/data``,
    ``data_white``, ``data_dark`` and ``energy`` (eV or keV, recognised).

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
    >>> path = Path(tempfile.mkdtemp()) / "scan.h5"
    >>> write_dxchange(demo_raw_stack(shape=(16, 16)), path)
    >>> read_dxchange(path).counts.shape
    (121, 16, 16)
    """
    return read_hdf5(path, data=DATA, energy=ENERGY, flats=FLATS, darks=DARKS, chunks=chunks)


def write_dxchange(raw: RawStack, path: str | Path) -> None:
    """Write a raw stack in the dxchange layout (energies in eV), under a temporary name, then renamed.

    Parameters
    ----------
    raw : RawStack
        Counts, flats and darks.
    path : str or pathlib.Path
        The HDF5 file to write.
    """
    write_hdf5(raw, path, data=DATA, energy=ENERGY, flats=FLATS, darks=DARKS)
