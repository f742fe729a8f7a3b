"""Neware files: ``.nda`` / ``.ndax`` binaries (through NewareNDA) and BTS CSV exports (own parser)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from redoxmap.echem.integrity import _warn
from redoxmap.errors import FormatError

NDA_DATA_START = 1024  # version 130: records start here
NDA29_RECORD = 86
NDA29_START = b"\x00\x00\x00\x00\x55\x00"  # version 29: four zero bytes, then the first record


def _check_nda(path: Path) -> None:
    """Warn when an ``.nda`` file stops before the end of its data. Version 130 files close their
    records (fixed length, from byte 1024) with an end-of-data record whose first byte is 0x81;
    version 29 files hold whole 86-byte records after the header."""
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    if raw.size < NDA_DATA_START + 2 or bytes(raw[:6]) != b"NEWARE":
        return
    if raw[14] == 130:
        record = 88
        if raw[NDA_DATA_START] == 0x55:  # BTS 9.1: the record length is the distance to the next record
            marker = bytes(raw[NDA_DATA_START:NDA_DATA_START + 2])
            found = bytes(raw[:1 << 16]).find(marker, NDA_DATA_START + 2)
            record = found - NDA_DATA_START if found > 0 else record
        if not (raw[NDA_DATA_START::record] == 0x81).any():
            _warn(path, f"no end-of-data record after {(raw.size - NDA_DATA_START) // record} records of "
                        f"{record} bytes: the file is cut (or was copied while the test was running)",
                  stacklevel=4)
    elif raw[14] == 29:
        start = bytes(raw[:1 << 20]).find(NDA29_START)
        extra = (raw.size - start - 4) % NDA29_RECORD if start >= 0 else 0
        if extra:
            _warn(path, f"the last record has {extra} of {NDA29_RECORD} bytes: the file is cut (or was "
                        "copied while the test was running)", stacklevel=4)


def _read_nda(path: Path) -> pd.DataFrame:
    """Neware binary file into the standard table. Time comes from the timestamps (NewareNDA's
    ``Time`` restarts with every step, and a paused channel shows up only in the timestamps).
    Cycles follow the schedule: a new cycle starts when the step type that opened the first cycle
    (charge or discharge) comes round again (NewareNDA ``cycle_mode="auto"``). A file that stops
    before its end-of-data record is read with a warning; a cut ``.ndax`` (a zip, whose directory is
    at its end) cannot be opened."""
    from redoxmap.echem.table import _boundaries, _finish, accumulate

    try:
        import NewareNDA
    except ImportError as exc:
        raise FormatError(f"{path}: reading Neware files needs NewareNDA (pip install NewareNDA)") from exc
    try:
        frame = NewareNDA.read(str(path), cycle_mode="auto")
    except Exception as exc:  # NewareNDA raises plain errors on damaged files
        raise FormatError(f"{path}: not a readable Neware file ({exc}); truncated or damaged?") from exc
    _check_nda(path)
    if frame.empty:
        raise FormatError(f"{path}: Neware file without data rows")
    stamp = pd.to_datetime(frame["Timestamp"])
    time_s = (stamp - stamp.iloc[0]).dt.total_seconds().to_numpy()
    current = frame["Current(mA)"].to_numpy(float) * 1e-3
    # NewareNDA's capacities restart with every step (Step counts every step of the record)
    new_step = _boundaries(frame["Step"].to_numpy())
    columns = {
        "time_s": time_s, "voltage_v": frame["Voltage"].to_numpy(float), "current_a": current,
        "charge_capacity_ah": 1e-3 * accumulate(frame["Charge_Capacity(mAh)"].to_numpy(float), new_step),
        "discharge_capacity_ah": 1e-3 * accumulate(frame["Discharge_Capacity(mAh)"].to_numpy(float),
                                                   new_step),
        "cycle": frame["Cycle"].to_numpy(int), "step": frame["Step"].to_numpy(int),
    }
    extra = frame.drop(columns=["Time", "Voltage", "Current(mA)", "Cycle", "Step"])
    return _finish(path, columns, extra, "neware_", "neware-nda", start_time=stamp.iloc[0].isoformat())


CSV_COLUMNS = {"Cycle Index", "Step Index", "Step Type", "Current(A)", "Voltage(V)"}


def _looks_like_csv(first_line: str) -> bool:
    """Neware BTS CSV export: the header names ``Cycle Index``, ``Step Type`` and ``Voltage(V)``."""
    names = {c.strip() for c in first_line.split(",")}
    return {"Cycle Index", "Step Type"} <= names or {"Step Type", "Voltage(V)"} <= names


def _duration_s(values: pd.Series) -> np.ndarray:
    """"144:02:18" (hours may pass 24) or "1 day, 00:00:01" into seconds."""
    text = values.astype(str).str.strip()
    parts = text.str.extract(r"^(?:(\d+)\s*days?,?\s*)?(\d+):(\d+):([\d.]+)$").astype(float)
    return (parts[0].fillna(0) * 86400 + parts[1] * 3600 + parts[2] * 60 + parts[3]).to_numpy()


def _read_neware_csv(path: Path) -> pd.DataFrame:
    """Neware BTS CSV export (``Cycle Index, Step Index, Step Type, Time, Cumulative Time, Current(A),
    Voltage(V), Chg. Cap.(Ah), DChg. Cap.(Ah), …``). Time is the cumulative time (or, if absent, the
    ``Date`` clock); Neware's charge/discharge capacities restart with every step and are made
    cumulative with :func:`redoxmap.echem.table.accumulate`. A last line shorter than the others
    (a cut file) is dropped with a warning."""
    from redoxmap.echem.integrity import _last_line_cut
    from redoxmap.echem.table import _boundaries, _finish, accumulate

    try:
        frame = pd.read_csv(path, encoding="latin-1")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise FormatError(f"{path}: Neware CSV that cannot be parsed ({exc})") from exc
    frame.columns = frame.columns.str.strip()
    if len(frame) > 1 and _last_line_cut(path, ","):
        frame = frame.iloc[:-1]
    missing = sorted(CSV_COLUMNS - set(frame.columns))
    if missing:
        raise FormatError(f"{path}: looks like a Neware CSV export but lacks columns {missing}")
    if frame.empty:
        raise FormatError(f"{path}: Neware CSV export without data rows")
    if "Cumulative Time" in frame:
        time_s = _duration_s(frame["Cumulative Time"])
    elif "Date" in frame:
        clock = pd.to_datetime(frame["Date"], errors="coerce")
        time_s = (clock - clock.iloc[0]).dt.total_seconds().to_numpy()
    else:
        raise FormatError(f"{path}: Neware CSV export without 'Cumulative Time' or 'Date' column")
    current = pd.to_numeric(frame["Current(A)"], errors="coerce").to_numpy(float)
    kind = frame["Step Type"].astype(str).str.lower()
    # the sign of the current is not the same in every BTS version: take it from the step type
    current = np.where(kind.str.contains("dchg|discharge"), -np.abs(current),
                       np.where(kind.str.contains("chg|charge"), np.abs(current), current))
    voltage = pd.to_numeric(frame["Voltage(V)"], errors="coerce").to_numpy(float)
    columns = {"time_s": time_s, "voltage_v": voltage, "current_a": current,
               "cycle": pd.to_numeric(frame["Cycle Index"], errors="coerce").fillna(-1).to_numpy(int),
               "step": pd.to_numeric(frame["Step Index"], errors="coerce").fillna(-1).to_numpy(int)}
    if {"Chg. Cap.(Ah)", "DChg. Cap.(Ah)"} <= set(frame.columns):
        new_step = _boundaries(columns["cycle"], columns["step"])
        for name, key in (("Chg. Cap.(Ah)", "charge"), ("DChg. Cap.(Ah)", "discharge")):
            counter = pd.to_numeric(frame[name], errors="coerce").to_numpy(float)
            columns[f"{key}_capacity_ah"] = accumulate(counter, new_step)
    else:  # integrated over the rows with a time and a current (the others are dropped by _finish)
        known = np.isfinite(time_s) & np.isfinite(current)
        dq = np.zeros(time_s.size)
        dq[known] = np.diff(time_s[known], prepend=time_s[known][:1]) * current[known] / 3600.0
        columns["charge_capacity_ah"] = np.cumsum(np.clip(dq, 0, None))
        columns["discharge_capacity_ah"] = np.cumsum(np.clip(-dq, 0, None))
    used = ["Current(A)", "Voltage(V)", "Cycle Index", "Step Index"]
    attrs = {}
    if "Date" in frame:
        clock = pd.to_datetime(frame["Date"], errors="coerce")
        dated = clock.notna().to_numpy() & np.isfinite(time_s)  # the first row with a clock and a time
        first = int(np.argmax(dated)) if dated.any() else None
        if first is not None:
            attrs["start_time"] = (clock.iloc[first] - pd.Timedelta(seconds=float(time_s[first]))).isoformat()
    return _finish(path, columns, frame.drop(columns=used), "neware_", "neware-csv", **attrs)
