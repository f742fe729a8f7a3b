"""MACCOR text and raw exports (own parser).

Both are tab-separated: a few header lines (date, file name, procedure), then a column line that
starts with ``Rec`` (``Rec#  Cyc#  Step  Test (Sec)  Step (Sec)  Amp-hr  Watt-hr  Amps  Volts  State
…``). Variants handled, all seen in real files:

* time as ``Test (Sec)``, ``Test (Min)``, ``Test (Hr)``, ``TestTime`` written ``0d 00:01:00.00``, or a
  bare ``TestTime`` number whose unit (s, min or h) is taken from the ``DPt Time`` clock;
* units A/Ah/V or mA/mAh with millivolts (files that use ``mAmps`` and ``mAmp-hr`` write ``Volts`` in
  mV when its median is above 20);
* decimal commas (``0,1377``) and a blank line after the column line;
* ``State``/``Md`` = C (charge), D (discharge), R (rest), …; MACCOR may write currents and capacities
  without sign, so the sign is taken from the state (C → +, D → −).

The ``Amp-hr`` counter restarts with each step; it is made cumulative with
:func:`redoxmap.echem.table.accumulate` and split into charge and discharge by the current's sign.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from redoxmap.errors import FormatError

TIME_UNITS_S = {"Test (Sec)": 1.0, "Test (Min)": 60.0, "Test (Hr)": 3600.0}
CURRENT_UNITS_A = {"Amps": 1.0, "Current [A]": 1.0, "mAmps": 1e-3, "Current [mA]": 1e-3}
CAPACITY_UNITS_AH = {"Amp-hr": 1.0, "Cap. [Ah]": 1.0, "mAmp-hr": 1e-3, "Cap. [mAh]": 1e-3}
VOLTAGE_COLUMNS = ("Volts", "Voltage [V]", "Voltage")


def _header_index(lines: list[str]) -> int | None:
    for i, line in enumerate(lines[:40]):
        cells = [c.strip() for c in line.split("\t")]
        if cells and cells[0] in ("Rec#", "Rec") and "Step" in cells:
            return i
    return None


def _looks_like(lines: list[str]) -> bool:
    """A tab-separated column line starting with ``Rec#``/``Rec`` and holding ``Step``."""
    return _header_index(lines) is not None


def _first(frame: pd.DataFrame, names) -> str | None:
    return next((n for n in names if n in frame.columns), None)


def _clock(values: pd.Series) -> pd.Series:
    """``DPt Time`` as datetimes: NaT where a time cannot be read, all NaT when the times mix time
    zones (a damaged file; pandas refuses the mix even with errors="coerce"). The format is guessed
    from the first times and applied to all at once; only times it does not fit are parsed one by one
    (``format="mixed"``, 0.1 ms per time)."""
    first = values.dropna().astype(str).iloc[:20]
    layout = next((f for f in map(guess_datetime_format, first) if f is not None), None)
    try:
        clock = pd.to_datetime(values, errors="coerce", format=layout or "mixed")
        missed = clock.isna() & values.notna()
        if layout is not None and missed.any():
            clock[missed] = pd.to_datetime(values[missed], errors="coerce", format="mixed")
        return clock
    except ValueError:
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")


def _time_s(path: Path, frame: pd.DataFrame) -> np.ndarray:
    name = _first(frame, TIME_UNITS_S)
    if name is not None:
        return pd.to_numeric(frame[name], errors="coerce").to_numpy(float) * TIME_UNITS_S[name]
    if "TestTime" not in frame:
        raise FormatError(f"{path}: MACCOR export without a test-time column (Test (Sec), Test (Min), "
                          f"Test (Hr) or TestTime); columns are {list(frame.columns)[:12]}")
    raw = frame["TestTime"].astype(str)
    parts = raw.str.extract(r"^\s*(\d+)d\s+(\d+):(\d+):([\d.]+)\s*$").astype(float)
    if parts.notna().all(axis=1).mean() > 0.5:  # "0d 00:01:00.00"
        return (parts[0] * 86400 + parts[1] * 3600 + parts[2] * 60 + parts[3]).to_numpy()
    value = pd.to_numeric(raw, errors="coerce").to_numpy(float)
    scale = 1.0  # a bare number: seconds, minutes or hours, whichever matches the DPt Time clock
    clock_name = _first(frame, ("DPt Time", "DPT Time"))
    if clock_name is not None:
        clock = _clock(frame[clock_name])
        clock_s = (clock - clock.iloc[0]).dt.total_seconds().to_numpy()
        ok = np.isfinite(clock_s) & np.isfinite(value) & (value > 0)
        if ok.sum() >= 2:
            ratio = np.median(clock_s[ok] / value[ok])
            scale = min((1.0, 60.0, 3600.0), key=lambda s: abs(np.log(max(ratio, 1e-9) / s)))
    return value * scale


def _read_maccor(path: Path) -> pd.DataFrame:
    """MACCOR text or raw export into the standard table (see module doc). A last line shorter than
    the others (a cut file) is dropped with a warning."""
    from redoxmap.echem.integrity import _last_line_cut
    from redoxmap.echem.table import _boundaries, _finish, accumulate

    text = path.read_bytes().decode("latin-1")
    lines = text.splitlines()
    start = _header_index(lines)
    if start is None:
        raise FormatError(f"{path}: no MACCOR column line starting with 'Rec#'")
    data_lines = [ln for ln in lines[start + 1:] if ln.strip()]
    if not data_lines:
        raise FormatError(f"{path}: MACCOR export without data rows (truncated after the column line)")
    if len(data_lines) > 1 and _last_line_cut(path, "\t"):
        data_lines = data_lines[:-1]
    comma = bool(re.search(r"\t-?\d+,\d+\t", data_lines[0])) and not re.search(r"\t-?\d+\.\d+\t",
                                                                                 data_lines[0])
    try:
        frame = pd.read_csv(io.StringIO("\n".join([lines[start], *data_lines])), sep="\t",
                            decimal="," if comma else ".", skipinitialspace=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise FormatError(f"{path}: MACCOR data rows that cannot be parsed ({exc})") from exc
    frame = frame.loc[:, ~frame.columns.str.startswith("Unnamed")]
    frame.columns = frame.columns.str.strip()
    current_name = _first(frame, CURRENT_UNITS_A)
    voltage_name = _first(frame, VOLTAGE_COLUMNS)
    if current_name is None or voltage_name is None:
        raise FormatError(f"{path}: MACCOR export without a current (Amps, mAmps, Current [A]) or voltage "
                          f"(Volts, Voltage [V]) column; columns are {list(frame.columns)[:12]}")
    state_name = _first(frame, ("State", "Md"))
    state = frame[state_name].astype(str).str.strip().to_numpy() if state_name else np.full(len(frame), "")
    magnitude = pd.to_numeric(frame[current_name], errors="coerce").to_numpy(float)
    magnitude = magnitude * CURRENT_UNITS_A[current_name]
    current = np.where(state == "C", np.abs(magnitude), np.where(state == "D", -np.abs(magnitude), magnitude))
    voltage = pd.to_numeric(frame[voltage_name], errors="coerce").to_numpy(float)
    if CURRENT_UNITS_A[current_name] < 1 and np.nanmedian(np.abs(voltage)) > 20:
        voltage = voltage * 1e-3  # milli-unit exports write Volts in mV
    cap_name = _first(frame, CAPACITY_UNITS_AH)
    if cap_name is not None:
        counter = pd.to_numeric(frame[cap_name], errors="coerce").to_numpy(float)
        counter = counter * CAPACITY_UNITS_AH[cap_name]
        new_step = _boundaries(*(frame[c].to_numpy() for c in ("Cyc#", "Cycle C", "Step") if c in frame),
                              np.sign(current))
        increment = np.diff(accumulate(counter, new_step), prepend=0.0)
    else:  # no counter: integrate the current
        time = _time_s(path, frame)
        increment = np.abs(np.diff(time, prepend=time[:1]) * current) / 3600.0
    cycle_name = _first(frame, ("Cyc#", "Cycle C", "Cycle"))
    step_name = _first(frame, ("Step",))
    time_s = _time_s(path, frame)
    columns = {
        "time_s": time_s, "voltage_v": voltage, "current_a": current,
        "charge_capacity_ah": np.cumsum(np.where(current > 0, increment, 0.0)),
        "discharge_capacity_ah": np.cumsum(np.where(current < 0, increment, 0.0)),
        "cycle": pd.to_numeric(frame[cycle_name], errors="coerce").fillna(-1).to_numpy(int)
        if cycle_name else np.zeros(len(frame), int),
        "step": pd.to_numeric(frame[step_name], errors="coerce").fillna(-1).to_numpy(int)
        if step_name else np.zeros(len(frame), int),
    }
    used = [c for c in (current_name, voltage_name, cycle_name, step_name) if c]
    header = " ".join(lines[:start])
    procedure = re.search(r"Procedure:?\s*(\S+)", header)
    attrs = {"procedure": procedure.group(1) if procedure else ""}
    clock_name = _first(frame, ("DPt Time", "DPT Time"))
    if clock_name is not None:
        clock = _clock(frame[clock_name])
        ok = clock.notna().to_numpy() & np.isfinite(time_s)
        if ok.any():
            first = int(np.argmax(ok))
            attrs["start_time"] = (clock.iloc[first] - pd.Timedelta(seconds=float(time_s[first]))).isoformat()
    return _finish(path, columns, frame.drop(columns=used), "maccor_", "maccor", **attrs)
