"""``read_raw``: recognise a file's layout and read its counts, flats and darks."""

from __future__ import annotations

from pathlib import Path

from redoxmap.errors import FormatError
from redoxmap.io.dxchange import DATA as DXCHANGE_DATA
from redoxmap.io.dxchange import _is_dxchange, read_dxchange
from redoxmap.io.fxi import DATA as FXI_DATA
from redoxmap.io.fxi import _is_fxi, read_fxi
from redoxmap.io.hdf5 import Chunks, _h5_errors, _list_datasets, _open_h5, read_hdf5
from redoxmap.io.nxstxm import _find_nxstxm_entry, read_nxstxm
from redoxmap.io.raw import RawStack
from redoxmap.io.stxm import read_stxm
from redoxmap.io.tiff import read_tiff
from redoxmap.io.xradia import OLE_MAGIC, XRADIA_SUFFIXES, read_xradia_raw

HDF5_SUFFIXES = {".h5", ".hdf5", ".hdf", ".nxs", ".he5"}
TIFF_SUFFIXES = {".tif", ".tiff"}


def detect_format(path: str | Path) -> str:
    """Name the layout of a stack file, recognised by content (HDF5 datasets, OLE2 streams), not only
    the suffix.

    Parameters
    ----------
    path : str or pathlib.Path
        The stack file (an ALS stack by its ``.hdr``).

    Returns
    -------
    str
        ``"dxchange"``, ``"fxi"``, ``"hdf5"``, ``"tiff"``, ``"stxm"`` (ALS ``.hdr`` + ``.xim``),
        ``"nxstxm"`` or ``"xradia"`` (Zeiss/Xradia ``.xrm``/``.txrm``).

    Raises
    ------
    FormatError
        If the file is missing, a folder, or of no known layout.

    Examples
    --------
    >>> import tempfile
    >>> from redoxmap.io import write_fxi
    >>> from redoxmap.simulate import demo_raw_stack
    >>> path = Path(tempfile.mkdtemp()) / "scan.h5"
    >>> write_fxi(demo_raw_stack(shape=(16, 16)), path)
    >>> detect_format(path)
    'fxi'
    """
    path = Path(path)
    if path.is_dir():
        raise FormatError(f"{path}: is a folder; expected a stack file (an ALS stack is opened by its .hdr)")
    if not path.is_file():
        raise FormatError(f"{path}: file not found")
    if path.suffix.lower() in TIFF_SUFFIXES:
        return "tiff"
    if path.suffix.lower() == ".hdr":
        return "stxm"
    with open(path, "rb") as fh:
        magic = fh.read(8)
    if magic == OLE_MAGIC or path.suffix.lower() in XRADIA_SUFFIXES:
        return "xradia"
    if magic == b"\x89HDF\r\n\x1a\n" or path.suffix.lower() in HDF5_SUFFIXES:
        with _open_h5(path) as h5, _h5_errors(path):
            if _is_dxchange(h5):
                return "dxchange"
            if _is_fxi(h5):
                return "fxi"
            if _find_nxstxm_entry(h5) is not None:
                return "nxstxm"
        return "hdf5"
    if magic[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    raise FormatError(
        f"{path}: unrecognised file; expected HDF5 (dxchange, NSLS-II FXI, NXstxm or named datasets), "
        "a Zeiss/Xradia .xrm/.txrm, an ALS STXM .hdr, or a multi-page TIFF with an energy list"
    )


def read_raw(path: str | Path, *, energies: str | Path | None = None,
             flats: str | Path | None = None, darks: str | Path | None = None,
             data: str | None = None, energy: str | None = None,
             transmission: bool | None = None, chunks: Chunks | None = None) -> RawStack:
    """Read counts, flats and darks from any supported layout (:func:`detect_format`).

    TIFF stacks need ``energies`` (an energy list file) and, for raw counts, ``flats``/``darks``
    TIFFs. A generic HDF5 file needs ``data`` and ``energy`` dataset names, and takes
    ``flats``/``darks`` as dataset names. An Xradia ``.txrm``/``.xrm`` uses the reference image it
    holds, or the reference ``.xrm`` file(s) given as ``flats``.

    Parameters
    ----------
    path : str or pathlib.Path
        The stack file.
    energies : str or pathlib.Path, optional
        Energy list file (TIFF stacks).
    flats, darks : str or pathlib.Path, optional
        Flat and dark TIFFs, HDF5 dataset names, or Xradia reference files.
    data, energy : str, optional
        HDF5 dataset names of the images and energies (generic HDF5).
    transmission : bool, optional
        The images hold I/I0 (default: recognised for TIFF).
    chunks : int or tuple, optional
        Keep the images on disk as a dask array of tiles or chunks (HDF5 layouts:
        :func:`redoxmap.io.read_hdf5`).

    Returns
    -------
    RawStack
        Counts ``(energy, y, x)`` with energies in eV, flats, darks and the reader's notes.

    Raises
    ------
    FormatError
        If the layout is unknown, or options it needs are missing.

    Examples
    --------
    >>> import tempfile
    >>> from redoxmap.io import write_dxchange
    >>> from redoxmap.simulate import demo_raw_stack
    >>> path = Path(tempfile.mkdtemp()) / "scan.h5"
    >>> write_dxchange(demo_raw_stack(shape=(16, 16)), path)
    >>> read_raw(path).counts.dims
    ('energy', 'y', 'x')
    """
    kind = detect_format(path)
    if kind == "xradia":  # flats: reference .xrm file(s); else the reference stored in the file
        return read_xradia_raw(path, references=flats)
    if kind == "stxm":
        return read_stxm(path)
    if kind == "nxstxm":
        return read_nxstxm(path)
    if kind == "tiff":
        if energies is None:
            raise FormatError(f"{path}: a TIFF stack needs an energy list file (--energies)")
        return read_tiff(path, energies, flats=flats, darks=darks, transmission=transmission)
    if data is not None or kind == "hdf5":
        if data is None or energy is None:
            with _open_h5(path) as h5, _h5_errors(path):
                present = ", ".join(_list_datasets(h5)) or "none"
            raise FormatError(
                f"{path}: no {DXCHANGE_DATA} (dxchange) or {FXI_DATA} (FXI) dataset; name the "
                f"datasets that hold the images and energies (--data-dataset, --energy-dataset). "
                f"Datasets present: {present}"
            )
        return read_hdf5(path, data=data, energy=energy,
                         flats=None if flats is None else str(flats),
                         darks=None if darks is None else str(darks),
                         chunks=chunks, transmission=bool(transmission))
    reader = read_dxchange if kind == "dxchange" else read_fxi
    return reader(path, chunks=chunks)
