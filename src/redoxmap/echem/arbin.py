"""Arbin files: CSV exports (own parser) and ``.res`` databases (MS-Access, via ``mdb-export``).

Arbin writes SI units (s, A, V, Ah, Wh); its ``Charge_Capacity`` and ``Discharge_Capacity``
counters restart with every cycle and are made cumulative with
:func:`redoxmap.echem.table.accumulate`. A ``.res`` file holds the data in ``Channel_Normal_Table``
and the test description (schedule, mass in g) in ``Global_Table``; both are exported to CSV with
``mdb-export`` from Debian's ``mdbtools`` package.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from redoxmap.echem.integrity import _warn
from redoxmap.errors import FormatError

#: Byte of an MS-Access file that gives its Jet version: 0 for Jet 3 (2048-byte pages), else 4096-byte pages.
JET_VERSION_BYTE = 0x14
#: mdb-export may run this long, plus one second per MB of database, before the file counts as damaged.
MDB_TIMEOUT_S = 20.0
#: How much of mdb-export's messages is kept (a damaged database can make it print without end).
MDB_MESSAGE_BYTES = 65536
#: What mdb-export prints into the table when it meets a page it cannot read: a hex dump of the page
#: ("0000x  00 00 …") and lines of spaces.
MDB_DUMP = re.compile(rb"^(?:[0-9a-f]{4}x  [^\n]*|[ \t]*)\r?\n", flags=re.MULTILINE)
COLUMNS = {"Test_Time", "Current", "Voltage", "Charge_Capacity", "Discharge_Capacity", "Cycle_Index",
           "Step_Index"}


def _looks_like_csv(first_line: str) -> bool:
    """The header names Arbin's voltage or current columns (a full or partial Arbin export)."""
    names = {c.strip().strip('"').split("(")[0].strip() for c in first_line.split(",")}
    return bool(names & {"Voltage", "Current", "Test_Time"})


def _columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Map "Voltage(V)" / "Test_Time(s)" style names (newer MITS exports) to the bare names."""
    return frame.rename(columns=lambda c: c.split("(")[0].strip())


def _standardize(path: Path, frame: pd.DataFrame, fmt: str, **attrs) -> pd.DataFrame:
    """Arbin columns (bare names, SI units) into the standard table."""
    from redoxmap.echem.table import _boundaries, _finish, accumulate

    frame = _columns(frame)
    missing = sorted(COLUMNS - set(frame.columns))
    if missing:
        raise FormatError(f"{path}: looks like an Arbin {fmt.split('-')[1].upper()} but lacks columns "
                          f"{missing}; found {list(frame.columns)[:12]}")
    if frame.empty:
        raise FormatError(f"{path}: Arbin {fmt.split('-')[1].upper()} without data rows")
    order = [c for c in ("Test_ID", "Data_Point") if c in frame]
    if order:  # mdb-export does not always return the rows in the order they were recorded
        frame = frame.sort_values(order, kind="stable")
    num = frame[sorted(COLUMNS)].apply(pd.to_numeric, errors="coerce")
    new_step = _boundaries(num["Cycle_Index"].to_numpy(), num["Step_Index"].to_numpy())
    columns = {
        "time_s": num["Test_Time"].to_numpy(float),
        "voltage_v": num["Voltage"].to_numpy(float),
        "current_a": num["Current"].to_numpy(float),
        "charge_capacity_ah": accumulate(num["Charge_Capacity"].to_numpy(), new_step),
        "discharge_capacity_ah": accumulate(num["Discharge_Capacity"].to_numpy(), new_step),
        "cycle": num["Cycle_Index"].fillna(-1).to_numpy(int),
        "step": num["Step_Index"].fillna(-1).to_numpy(int),
    }
    return _finish(path, columns, frame.drop(columns=sorted(COLUMNS)), "arbin_", fmt, **attrs)


def _read_csv(path: Path) -> pd.DataFrame:
    """Arbin CSV export (``Test_Time, Current, Voltage, Charge_Capacity, …``, SI units). A last line
    shorter than the others (a cut file) is dropped with a warning."""
    from redoxmap.echem.integrity import _last_line_cut

    try:
        frame = pd.read_csv(path, encoding="latin-1")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise FormatError(f"{path}: Arbin CSV that cannot be parsed ({exc})") from exc
    if len(frame) > 1 and _last_line_cut(path, ","):
        frame = frame.iloc[:-1]
    return _standardize(path, frame, "arbin-csv")


def _whole_pages(path: Path, folder: Path) -> Path:
    """``path``, or when the database is not a whole number of pages (a file cut inside a page, on
    which mdb-export can loop without end) a copy of its whole pages in ``folder``, with a warning."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(JET_VERSION_BYTE + 1)
    page = 2048 if len(head) > JET_VERSION_BYTE and head[JET_VERSION_BYTE] == 0 else 4096
    whole = size // page * page
    if whole == size:
        return path
    if whole == 0:
        raise FormatError(f"{path}: {size} bytes, less than one {page}-byte page; expected an Arbin .res "
                          "(MS-Access) database")
    _warn(path, f"{size} bytes is not a whole number of {page}-byte pages: the database is cut inside page "
                f"{whole // page + 1} (cut, or copied while the test was running); its {whole // page} whole "
                "pages are read", stacklevel=5)
    copy = folder / path.name
    shutil.copyfile(path, copy)
    os.truncate(copy, whole)
    return copy


def _mdb_export(path: Path, table: str, source: Path | None = None) -> pd.DataFrame:
    """``table`` of the database ``source`` (default ``path``; messages name ``path``) as a frame."""
    exe = shutil.which("mdb-export")
    if exe is None:
        raise FormatError(f"{path}: an Arbin .res (MS-Access) file; reading it needs the program "
                          "mdb-export from the Debian/Ubuntu package 'mdbtools' (apt-get install mdbtools; "
                          "brew install mdbtools on macOS), which is not installed")
    source = source or path
    timeout_s = MDB_TIMEOUT_S + source.stat().st_size / 1e6
    with tempfile.TemporaryFile() as messages:
        try:
            result = subprocess.run([exe, str(source), table], stdout=subprocess.PIPE, stderr=messages,
                                    timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            raise FormatError(f"{path}: mdb-export did not finish reading table {table} in "
                              f"{timeout_s:.0f} s; expected a readable Arbin .res file (damaged?)") from None
        messages.seek(0)
        message = " ".join(messages.read(MDB_MESSAGE_BYTES).decode("latin-1", "replace").split())[:200]
    if result.returncode != 0 or not result.stdout.strip():
        raise FormatError(f"{path}: mdb-export could not read table {table} of this Arbin .res file "
                          f"(truncated or damaged?): {message or 'no output'}")
    if table == "Channel_Normal_Table" and re.search(r"beyond EOF|page \d+ failed|Unrecognized format",
                                                     message):
        _warn(path, f"mdb-export read table {table} only in part, it could not read some pages (the database "
                    f"is cut, copied while the test was running, or damaged): {message}", stacklevel=4)
    try:
        return pd.read_csv(io.BytesIO(MDB_DUMP.sub(b"", result.stdout)), encoding="latin-1")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise FormatError(f"{path}: table {table} of this Arbin .res file cannot be parsed (damaged?): "
                          f"{exc}") from exc


def _check_points(path: Path, frame: pd.DataFrame) -> None:
    """Arbin numbers the points of a test 1, 2, …, N: warn when numbers are missing (lost pages)."""
    if "Data_Point" not in frame:
        return
    tests = frame["Test_ID"] if "Test_ID" in frame else pd.Series(0, index=frame.index)
    point = pd.to_numeric(frame["Data_Point"], errors="coerce")
    span = point.groupby(tests).agg(["min", "max", "nunique"])
    missing = int((span["max"] - span["min"] + 1 - span["nunique"]).sum())
    if missing > 0:
        _warn(path, f"{missing} of the data points {int(span['min'].min())}…{int(span['max'].max())} are "
                    "missing from Channel_Normal_Table (a cut or damaged file)", stacklevel=4)


def _read_res(path: Path) -> pd.DataFrame:
    """Arbin ``.res`` database: ``Channel_Normal_Table`` as data, ``Global_Table`` as attrs
    (``schedule``, ``mass_mg`` when the file states a mass). A database that ends early (cut inside a
    page, pages that ``mdb-export`` cannot read, data points missing from the numbering) is read with a
    warning."""
    with tempfile.TemporaryDirectory(prefix="redoxmap-res-") as folder:
        source = _whole_pages(path, Path(folder))
        frame = _mdb_export(path, "Channel_Normal_Table", source)
        _check_points(path, frame)
        attrs = {}
        try:
            info = _mdb_export(path, "Global_Table", source)
            if len(info):
                if "Schedule_File_Name" in info:
                    attrs["schedule"] = str(info["Schedule_File_Name"].iloc[0])
                mass = pd.to_numeric(info["MASS"], errors="coerce").iloc[0] if "MASS" in info else 0.0
                mass_g = float(mass)
                if np.isfinite(mass_g) and mass_g > 0:
                    attrs["mass_mg"] = mass_g * 1e3
        except FormatError:
            pass  # the description is optional; the data table was read
    return _standardize(path, frame, "arbin-res", **attrs)
