"""Novonix HPC CSV exports (own parser).

The file starts with a ``[Summary]`` block (``Novonix HPC data file``, protocol, mass, nominal
capacity), then ``[Protocol]`` and ``[Data]``. Each data line, including the column line, is wrapped
in double quotes: ``"Date and Time,Cycle Number,Step Type,Run Time (h),Step Time (h),Current (A),
Potential (V),Capacity (Ah),…,Step Number,Step position"``.

* ``Step Type`` codes: 0 rest, 1 CC charge, 2 CC discharge, 7 CC-CV charge, 8 CV hold (charge),
  9 CC-CV discharge, 10 CV hold (discharge); ``step_type`` and the current's sign (charge +) are
  taken from them, so a constant-voltage hold whose current has decayed is still a charge.
* ``Capacity (Ah)`` is the net charge passed since the start of the cycle (it rises on charge and
  falls on discharge). Charge passed between two rows is its rise, except where a new cycle starts
  (where Novonix may restart the counter): there it is the current integrated over the interval
  (trapezoid rule), so a restart never reads as charge passed.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from redoxmap.errors import FormatError

MAGIC = "Novonix"
CHARGE_TYPES = (1, 7, 8)
DISCHARGE_TYPES = (2, 9, 10)
COLUMNS = ("Cycle Number", "Step Type", "Run Time (h)", "Current (A)", "Potential (V)", "Capacity (Ah)",
           "Step Number")


def _looks_like(text: str) -> bool:
    """A ``[Summary]`` block that names Novonix in its first lines."""
    return text.lstrip().startswith("[Summary]") and MAGIC in text[:200]


def _summary(text: str) -> dict:
    block = text.split("[End Summary]")[0]

    def value(key: str) -> str | None:
        match = re.search(rf"^{re.escape(key)}:[ \t]*(.*?)\s*$", block, flags=re.MULTILINE)
        return match.group(1) if match and match.group(1) else None

    attrs = {}
    if value("Protocol"):
        attrs["protocol"] = value("Protocol")
    if value("Started"):
        attrs["started"] = value("Started")
    for key, name, scale in (("Mass (g)", "mass_mg", 1e3), ("Capacity (Ah)", "nominal_capacity_ah", 1.0)):
        number = pd.to_numeric(value(key), errors="coerce")
        if np.isfinite(number) and number > 0:
            attrs[name] = float(number) * scale
    return attrs


def _read_novonix(path: Path) -> pd.DataFrame:
    """Novonix HPC export into the standard table (see module doc); ``attrs`` holds the summary's
    ``protocol``, ``started``, ``mass_mg`` and ``nominal_capacity_ah``."""
    from redoxmap.echem.integrity import _last_line_cut
    from redoxmap.echem.table import _finish, step_types

    text = path.read_bytes().decode("utf-8", errors="replace")
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "[Data]"), None)
    if start is None or start + 1 >= len(lines):
        raise FormatError(f"{path}: a Novonix HPC export without a '[Data]' section and column line; "
                          "expected '[Data]' followed by \"Date and Time,Cycle Number,…\"")
    rows = [line.strip().strip('"') for line in lines[start + 1:] if line.strip()]
    if len(rows) > 2 and _last_line_cut(path, ","):
        rows = rows[:-1]
    try:
        frame = pd.read_csv(io.StringIO("\n".join(rows)))
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise FormatError(f"{path}: Novonix data rows that cannot be parsed ({exc})") from exc
    frame.columns = frame.columns.str.strip()
    missing = [c for c in COLUMNS if c not in frame]
    if missing:
        raise FormatError(f"{path}: Novonix export lacks columns {missing}; found {list(frame.columns)[:15]}")
    if frame.empty:
        raise FormatError(f"{path}: Novonix export without data rows")
    num = frame[list(COLUMNS)].apply(pd.to_numeric, errors="coerce")
    time_s = num["Run Time (h)"].to_numpy(float) * 3600.0
    kind = num["Step Type"].to_numpy()
    magnitude = num["Current (A)"].to_numpy(float)
    current = np.where(np.isin(kind, CHARGE_TYPES), np.abs(magnitude),
                       np.where(np.isin(kind, DISCHARGE_TYPES), -np.abs(magnitude), magnitude))
    cycle = num["Cycle Number"].fillna(-1).to_numpy(int)
    counter = num["Capacity (Ah)"].to_numpy(float)
    increment = np.diff(counter, prepend=counter[:1])
    integral = np.diff(time_s, prepend=time_s[:1]) * (current + np.r_[current[:1], current[:-1]]) / 2 / 3600
    new_cycle = np.r_[True, cycle[1:] != cycle[:-1]]
    increment = np.nan_to_num(np.where(new_cycle, integral, increment))
    step_type = np.where(np.isin(kind, CHARGE_TYPES), "charge", np.where(
        np.isin(kind, DISCHARGE_TYPES), "discharge", np.where(kind == 0, "rest", step_types(current))))
    columns = {"time_s": time_s, "voltage_v": num["Potential (V)"].to_numpy(float), "current_a": current,
               "charge_capacity_ah": np.cumsum(np.clip(increment, 0, None)),
               "discharge_capacity_ah": np.cumsum(np.clip(-increment, 0, None)),
               "cycle": cycle, "step": num["Step Number"].fillna(-1).to_numpy(int), "step_type": step_type}
    extra = frame.drop(columns=["Cycle Number", "Run Time (h)", "Current (A)", "Potential (V)",
                                "Step Number"])
    return _finish(path, columns, extra, "novonix_", "novonix", **_summary(text))
