"""Neware ``.nda`` / ``.ndax`` binaries, through NewareNDA."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from redoxmap.errors import FormatError


def read_nda(path: Path) -> pd.DataFrame:
    """Neware binary file into the standard table (time from the timestamps: NewareNDA's
    ``Time`` restarts with every step)."""
    from redoxmap.echem.readers import step_types

    try:
        import NewareNDA
    except ImportError:
        raise FormatError(f"{path}: reading Neware files needs NewareNDA (pip install NewareNDA)") from None
    try:
        frame = NewareNDA.read(str(path))
    except Exception as exc:  # NewareNDA raises plain errors on damaged files
        raise FormatError(f"{path}: not a readable Neware file ({exc})") from None
    if frame.empty:
        raise FormatError(f"{path}: Neware file without data rows")
    stamp = pd.to_datetime(frame["Timestamp"])
    time_s = (stamp - stamp.iloc[0]).dt.total_seconds().to_numpy()
    current = frame["Current(mA)"].to_numpy(float) * 1e-3
    charge = frame["Charge_Capacity(mAh)"].to_numpy(float) * 1e-3
    discharge = frame["Discharge_Capacity(mAh)"].to_numpy(float) * 1e-3
    # NewareNDA's capacities restart with every step: accumulate their per-step increments
    step_id = frame["Step_Index"].to_numpy() if "Step_Index" in frame else frame["Step"].to_numpy()
    new_step = np.concatenate([[True], step_id[1:] != step_id[:-1]])
    d_charge = np.where(new_step, charge, np.diff(charge, prepend=0.0))
    d_discharge = np.where(new_step, discharge, np.diff(discharge, prepend=0.0))
    out = pd.DataFrame({
        "time_s": time_s, "voltage_v": frame["Voltage"].to_numpy(float), "current_a": current,
        "charge_capacity_ah": np.cumsum(d_charge), "discharge_capacity_ah": np.cumsum(d_discharge),
        "cycle": frame["Cycle"].to_numpy(int), "step": frame["Step"].to_numpy(int),
        "step_type": step_types(current),
    })
    out["capacity_ah"] = out.charge_capacity_ah - out.discharge_capacity_ah
    extra = frame.drop(columns=["Time", "Voltage", "Current(mA)", "Cycle", "Step"])
    out = pd.concat([out, extra.add_prefix("neware_")], axis=1)
    out.attrs = {"source": str(path), "format": "neware-nda"}
    return out
