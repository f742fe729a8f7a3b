"""Series of bulk XAS scans (operando, in situ, ex situ at several states of charge) as one
``(scan, energy)`` array with each scan's clock time.

Formats are recognised from the content: NeXus NXxas (HDF5; :mod:`redoxmap.io.nxxas`), Athena
projects (``.prj``, through the larch extra; :mod:`redoxmap.io.athena`), XDI (:mod:`redoxmap.io.xdi`)
and column text with one or several scans (:mod:`redoxmap.io.xas_text`; also XDI files that
Demeter wrote as "multicolumn" tables). A file may hold several
scans; the series is every scan of every file, in the order given.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Sequence
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from redoxmap.errors import FormatError, RedoxmapWarning
from redoxmap.history import with_history
from redoxmap.io.athena import read_athena_scans
from redoxmap.io.nxxas import read_nxxas
from redoxmap.io.xas_scan import XasScan
from redoxmap.io.xas_text import read_xas_text
from redoxmap.io.xdi import read_xdi_scan

__all__ = ["read_xas_scans", "read_xas_series"]

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ATHENA_MARK = b"Athena project file"
#: Demeter/Athena's export of several groups as columns under an XDI header: a wide table.
MULTICOLUMN_MARK = b"output_filetype: multicolumn"


def _head(path: Path) -> bytes:
    """The first 2 kB of the file's content (of its gzip content if compressed)."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head.startswith(b"\x1f\x8b"):
        try:
            return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 2048)
        except zlib.error:
            return b""
    return head[:2048]


def read_xas_scans(path: str | Path, *, column: str | int | None = None,
                   match: str | None = None) -> list[XasScan]:
    """Every scan of one file, its format recognised from the content.

    Parameters
    ----------
    path : str or pathlib.Path
        An NXxas HDF5 file, an Athena project, an XDI file or column text (module doc).
    column : str or int, optional
        μ column(s) of column text (:func:`redoxmap.io.read_xas_text`).
    match : str, optional
        Keep only the scans whose label matches this shell pattern (``"NiO.0*"``), e.g. to leave
        out an Athena project's reference channels and merges.

    Returns
    -------
    list of XasScan
        The scans, in file order: energy (eV), μ(E), label, start time where stated.

    Raises
    ------
    FormatError
        If the file is missing or empty, its reader finds no scan, or no label matches ``match``.
    MissingExtraError
        For an Athena project without the ``larch`` extra.

    Examples
    --------
    >>> scans = read_xas_scans("tests/data/xas/Fe_XDIFiles.h5", match="Fe2O3*")
    >>> [scan.label for scan in scans], scans[0].fmt
    (['Fe2O3 APS 13-BM-D'], 'nxxas')
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise FormatError(f"{path}: empty file; expected XAS scans")
    head = _head(path)
    if head.startswith(HDF5_MAGIC):
        scans = read_nxxas(path)
    elif ATHENA_MARK in head[:500]:
        scans = read_athena_scans(path)
    elif head.startswith(b"# XDI/") and MULTICOLUMN_MARK not in head:
        scans = [read_xdi_scan(path)]
    else:
        scans = read_xas_text(path, column)
    if match is not None:
        kept = [s for s in scans if fnmatch(s.label, match)]
        if not kept:
            raise FormatError(f"{path}: no scan label matches {match!r}; the labels are "
                              f"{[s.label for s in scans][:12]}")
        scans = kept
    return scans


def _common_grid(scans: list[XasScan], energy_ev) -> tuple[np.ndarray, int]:
    """The series' energies and how many scans must be interpolated onto them."""
    first = scans[0].energy_ev
    if energy_ev is not None:
        grid = np.asarray(energy_ev, float)
    else:
        same = all(s.energy_ev.size == first.size and np.allclose(s.energy_ev, first, rtol=0, atol=1e-3)
                   for s in scans)
        if same:
            return first, 0
        lo = max(float(s.energy_ev[0]) for s in scans)
        hi = min(float(s.energy_ev[-1]) for s in scans)
        grid = first[(first >= lo - 1e-9) & (first <= hi + 1e-9)]
    if grid.size < 8:
        spans = sorted({(round(float(s.energy_ev[0]), 1), round(float(s.energy_ev[-1]), 1)) for s in scans})
        raise FormatError(f"the scans share {grid.size} energies (their ranges are {spans[:6]} eV); expected "
                          "scans over a common edge region of at least 8 energies")
    moved = sum(not (s.energy_ev.size == grid.size and np.allclose(s.energy_ev, grid, rtol=0, atol=1e-3))
                for s in scans)
    outside = [s for s in scans if s.energy_ev[0] > grid[0] + 1e-6 or s.energy_ev[-1] < grid[-1] - 1e-6]
    if outside:
        raise FormatError(f"{outside[0].source} ({outside[0].label}): covers {outside[0].energy_ev[0]:g}–"
                          f"{outside[0].energy_ev[-1]:g} eV, not the series' {grid[0]:g}–{grid[-1]:g} eV; "
                          "expected every scan to cover the energy grid")
    return grid, moved


def read_xas_series(paths: Sequence[str | Path], *, times: Sequence | None = None,
                    time_s: Sequence[float] | None = None, column: str | int | None = None,
                    match: str | None = None, energy_ev: Sequence[float] | None = None) -> xr.DataArray:
    """Read the scans of several files into one ``(scan, energy)`` array of μ(E).

    Scans on the first scan's energies are stacked as read. Otherwise every scan is interpolated
    linearly onto a common grid: ``energy_ev`` if given, else the first scan's energies inside the
    range every scan covers; a warning counts the scans moved.

    Parameters
    ----------
    paths : sequence of str or pathlib.Path
        Files in time order; each may hold several scans (:func:`read_xas_scans`).
    times : sequence, optional
        Start time of each scan (wall clock; anything ``pandas.to_datetime`` reads); default: the
        files' own, when every scan states one.
    time_s : sequence of float, optional
        Scan times (s) on the cycler's clock, when no clock time is known.
    column : str or int, optional
        As in :func:`read_xas_scans`.
    match : str, optional
        As in :func:`read_xas_scans`.
    energy_ev : sequence of float, optional
        The energies (eV) to put every scan on.

    Returns
    -------
    xarray.DataArray
        ``mu`` with dims ``(scan, energy)``, energy in eV, coordinates ``file``, ``label`` and,
        where known, ``time`` (datetime64: the scan's start), ``time_offset_s`` (s from start to
        the moment the scan stands for, NaN where not stated) and ``time_s``; attrs ``normalized``
        (1 when every scan was stored normalized), ``format``, ``source`` and ``history``.

    Raises
    ------
    FormatError
        If no file is given, a file cannot be read (:func:`read_xas_scans`), the scans share fewer
        than two energies or do not cover ``energy_ev``, or ``times``/``time_s`` do not have one
        entry per scan.

    Examples
    --------
    >>> folder = "tests/data/xas/"
    >>> series = read_xas_series([folder + "norm_op2_cell4_pos1_dq1_0001_av240_00001.txt.gz",
    ...                           folder + "norm_op2_cell4_pos1_dq1_0012_av240_00001.txt.gz"])
    >>> series.dims, series.sizes["energy"], str(series.time.values[1])
    (('scan', 'energy'), 1649, '2022-07-27T01:07:55.910000000')
    """
    if len(paths) == 0:
        raise FormatError("read_xas_series: no files given; expected one or more files of XAS scans")
    scans = [scan for path in paths for scan in read_xas_scans(path, column=column, match=match)]
    grid, moved = _common_grid(scans, energy_ev)
    values = np.stack([np.interp(grid, s.energy_ev, s.mu) for s in scans])
    if moved:
        warnings.warn(f"{moved} of {len(scans)} scan(s) lie on other energies than the series' "
                      f"{grid.size} from {grid[0]:g} to {grid[-1]:g} eV and were interpolated onto them",
                      RedoxmapWarning, stacklevel=2)
    coords = {"scan": np.arange(len(scans)), "energy": ("energy", grid, {"units": "eV"}),
              "file": ("scan", [Path(s.source).name for s in scans]),
              "label": ("scan", [s.label for s in scans])}
    if times is None:
        stated = [s.start_time for s in scans]
        if all(t is not None for t in stated):
            times = stated
        elif any(t is not None for t in stated) and time_s is None:
            warnings.warn(f"{sum(t is None for t in stated)} of {len(scans)} scan(s) state no start time: "
                          "the series gets no time coordinate (give the times)", RedoxmapWarning,
                          stacklevel=2)
    for name, given in (("times", times), ("time_s", time_s)):
        if given is not None and len(given) != len(scans):
            raise FormatError(f"read_xas_series: {len(given)} {name} for {len(scans)} scans")
    if times is not None:
        coords["time"] = ("scan", pd.to_datetime(list(times)).to_numpy("datetime64[ns]"))
    if time_s is not None:
        coords["time_s"] = ("scan", np.asarray(time_s, float), {"units": "s"})
    offsets = np.array([s.time_offset_s for s in scans], float)
    if np.isfinite(offsets).any():
        coords["time_offset_s"] = ("scan", offsets, {"units": "s"})
    formats = sorted({s.fmt for s in scans})
    attrs = {"units": "1", "long_name": "μ(E)", "source": str(Path(paths[0]).parent),
             "format": ",".join(formats), "normalized": int(all(s.normalized for s in scans)),
             "history": [n for s in scans[:1] for n in s.notes]}
    attrs = with_history(attrs, "read_xas_series", files=len(paths), scans=len(scans), first=str(paths[0]),
                         column=column, match=match)
    return xr.DataArray(values, dims=("scan", "energy"), coords=coords, name="mu", attrs=attrs)
