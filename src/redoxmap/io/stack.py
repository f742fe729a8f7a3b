"""``read_raw``: recognise a file's layout and read its counts, flats and darks."""

from __future__ import annotations

from pathlib import Path

from redoxmap.errors import FormatError
from redoxmap.io.dxchange import DATA as DXCHANGE_DATA
from redoxmap.io.dxchange import is_dxchange, read_dxchange
from redoxmap.io.fxi import DATA as FXI_DATA
from redoxmap.io.fxi import is_fxi, read_fxi
from redoxmap.io.hdf5 import list_datasets, open_h5, read_hdf5
from redoxmap.io.nxstxm import find_nxstxm_entry, read_nxstxm
from redoxmap.io.raw import RawStack
from redoxmap.io.stxm import read_stxm
from redoxmap.io.tiff import read_tiff
from redoxmap.io.xradia import OLE_MAGIC, XRADIA_SUFFIXES, read_xradia_raw

HDF5_SUFFIXES = {".h5", ".hdf5", ".hdf", ".nxs", ".he5"}
TIFF_SUFFIXES = {".tif", ".tiff"}


def detect_format(path: str | Path) -> str:
    """Name the layout of ``path``: ``"dxchange"``, ``"fxi"``, ``"hdf5"``, ``"tiff"``, ``"stxm"``
    (ALS ``.hdr`` + ``.xim``), ``"nxstxm"`` or ``"xradia"`` (Zeiss/Xradia ``.xrm``/``.txrm``).

    HDF5 files are recognised by their content (the datasets present), not only the suffix.
    """
    path = Path(path)
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
        with open_h5(path) as h5:
            if is_dxchange(h5):
                return "dxchange"
            if is_fxi(h5):
                return "fxi"
            if find_nxstxm_entry(h5) is not None:
                return "nxstxm"
        return "hdf5"
    if magic[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    raise FormatError(
        f"{path}: unrecognised file; expected HDF5 (dxchange, NSLS-II FXI, or named datasets), "
        "a Zeiss/Xradia .xrm/.txrm, or a multi-page TIFF with an energy list"
    )


def read_raw(path: str | Path, *, energies: str | Path | None = None,
             flats: str | Path | None = None, darks: str | Path | None = None,
             data: str | None = None, energy: str | None = None,
             transmission: bool | None = None, chunks: int | None = None) -> RawStack:
    """Read counts, flats and darks from any supported layout (see :func:`detect_format`).

    TIFF stacks need ``energies`` (an energy list file) and, for raw counts, ``flats``/``darks``
    TIFFs. A generic HDF5 file needs ``data`` and ``energy`` dataset names, and takes
    ``flats``/``darks`` as dataset names. An Xradia ``.txrm``/``.xrm`` uses the reference image it
    holds, or the reference ``.xrm`` file(s) given as ``flats``.
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
            with open_h5(path) as h5:
                present = ", ".join(list_datasets(h5)) or "none"
            raise FormatError(
                f"{path}: no {DXCHANGE_DATA} (dxchange) or {FXI_DATA} (FXI) dataset; name the "
                f"datasets that hold the images and energies (data=..., energy=...). "
                f"Datasets present: {present}"
            )
        return read_hdf5(path, data=data, energy=energy,
                         flats=None if flats is None else str(flats),
                         darks=None if darks is None else str(darks),
                         chunks=chunks, transmission=bool(transmission))
    reader = read_dxchange if kind == "dxchange" else read_fxi
    return reader(path, chunks=chunks)
