"""Cycler files into one tidy table: ``time_s, voltage_v, current_a, capacity_ah, cycle, step,
step_type`` (charge / discharge / rest), plus the source's own columns.

Recognised from the content, not only the extension. Implemented: Arbin CSV exports
(``Test_Time``, ``Current``, ``Voltage``, ``Charge_Capacity``, ``Discharge_Capacity``,
``Cycle_Index``, ``Step_Index``; SI units as Arbin writes them), BioLogic ``.mpt`` (own parser) and
``.mpr`` (galvani), Neware ``.nda``/``.ndax`` (NewareNDA). Other formats raise a clear
:class:`~redoxmap.errors.FormatError` naming what was found.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from redoxmap.errors import FormatError

ARBIN_COLUMNS = {"Test_Time", "Current", "Voltage", "Charge_Capacity", "Discharge_Capacity",
                 "Cycle_Index", "Step_Index"}
#: |current| below this fraction of the largest |current| counts as rest.
REST_FRACTION = 1e-3


def step_types(current_a: np.ndarray) -> np.ndarray:
    """"charge" (I > 0), "discharge" (I < 0) or "rest" (|I| below 0.1 % of the largest |I|)."""
    current_a = np.asarray(current_a, float)
    limit = REST_FRACTION * np.nanmax(np.abs(current_a)) if current_a.size else 0.0
    return np.where(np.abs(current_a) <= limit, "rest", np.where(current_a > 0, "charge", "discharge"))


def standard_table(time_s: np.ndarray, voltage_v: np.ndarray, current_a: np.ndarray,
                   cycle: np.ndarray | None = None) -> pd.DataFrame:
    """The standard table from bare arrays (e.g. a simulation): capacities by integrating the
    current (trapezoid), steps numbered at every change of step type."""
    time_s, voltage_v, current_a = (np.asarray(a, float) for a in (time_s, voltage_v, current_a))
    if not (time_s.shape == voltage_v.shape == current_a.shape):
        raise FormatError("time, voltage and current arrays differ in length")
    dq = np.concatenate([[0.0], np.diff(time_s) * (current_a[1:] + current_a[:-1]) / 2]) / 3600.0
    kind = step_types(current_a)
    step = np.concatenate([[0], np.cumsum(kind[1:] != kind[:-1])])
    return pd.DataFrame({
        "time_s": time_s, "voltage_v": voltage_v, "current_a": current_a,
        "capacity_ah": np.cumsum(dq),
        "charge_capacity_ah": np.cumsum(np.clip(dq, 0, None)),
        "discharge_capacity_ah": np.cumsum(np.clip(-dq, 0, None)),
        "cycle": np.zeros(time_s.size, int) if cycle is None else np.asarray(cycle, int),
        "step": step, "step_type": kind,
    })


def _read_arbin_csv(path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({
        "time_s": frame["Test_Time"].astype(float),
        "voltage_v": frame["Voltage"].astype(float),
        "current_a": frame["Current"].astype(float),
        "capacity_ah": frame["Charge_Capacity"].astype(float) - frame["Discharge_Capacity"].astype(float),
        "charge_capacity_ah": frame["Charge_Capacity"].astype(float),
        "discharge_capacity_ah": frame["Discharge_Capacity"].astype(float),
        "cycle": frame["Cycle_Index"].astype(int),
        "step": frame["Step_Index"].astype(int),
    })
    out["step_type"] = step_types(out["current_a"].to_numpy())
    extra = frame.drop(columns=[c for c in frame.columns if c in ARBIN_COLUMNS])
    out = pd.concat([out, extra.add_prefix("arbin_")], axis=1)
    out.attrs = {"source": str(path), "format": "arbin-csv"}
    return out


def read_cycler(path: str | Path) -> pd.DataFrame:
    """Read a cycler file into the standard table (see module doc)."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: file not found")
    with open(path, "rb") as fh:
        head = fh.read(4096)
    from redoxmap.echem import biologic, neware

    if head.startswith(biologic.MPR_MAGIC):
        return biologic.read_mpr(path)
    if head.decode("latin-1").startswith(biologic.MPT_MAGIC):
        return biologic.read_mpt(path)
    if head[:2] == b"PK" or b"NEWARE" in head[:64]:  # .ndax is a zip; .nda starts with "NEWARE"
        return neware.read_nda(path)
    if b"\x00" in head[:512]:
        raise FormatError(f"{path}: a binary file of a format redoxmap does not read; expected "
                          "BioLogic .mpr, Neware .nda/.ndax or a text export")
    text = head.decode("utf-8", errors="replace")
    header = text.splitlines()[0] if text else ""
    columns = {c.strip() for c in header.split(",")}
    if ARBIN_COLUMNS <= columns:
        try:
            frame = pd.read_csv(path)
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise FormatError(f"{path}: Arbin CSV that cannot be parsed ({exc})") from None
        if frame.empty:
            raise FormatError(f"{path}: Arbin CSV without data rows")
        return _read_arbin_csv(path, frame)
    missing = sorted(ARBIN_COLUMNS - columns) if "Voltage" in columns or "Current" in columns else []
    if missing:
        raise FormatError(f"{path}: looks like an Arbin CSV but lacks columns {missing}")
    raise FormatError(f"{path}: unknown cycler format (first line {header[:80]!r}); expected an "
                      "Arbin CSV export with Test_Time, Current, Voltage, ... columns")
