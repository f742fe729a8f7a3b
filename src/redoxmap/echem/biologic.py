"""BioLogic EC-Lab files: ``.mpt`` text exports (own parser) and ``.mpr`` binaries (galvani)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from redoxmap.errors import FormatError

MPR_MAGIC = b"BIO-LOGIC MODULAR FILE"
MPT_MAGIC = "EC-Lab ASCII FILE"


def _first(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in frame.columns), None)


def _standardize(path: Path, frame: pd.DataFrame, fmt: str, start_time: str | None = None) -> pd.DataFrame:
    from redoxmap.echem.readers import step_types

    time = _first(frame, ("time/s",))
    volt = _first(frame, ("Ewe/V", "Ecell/V", "<Ewe>/V"))
    if time is None or volt is None:
        raise FormatError(f"{path}: no time/s or Ewe/V column; columns are {list(frame.columns)[:12]}")
    t = frame[time].to_numpy(float)
    current = _first(frame, ("I/mA", "<I>/mA"))
    if current is not None:
        i_a = frame[current].to_numpy(float) * 1e-3
    elif "dq/mA.h" in frame:  # average current over each interval from the charge passed in it
        dt = np.diff(t, prepend=t[0])
        i_a = np.where(dt > 0, frame["dq/mA.h"].to_numpy(float) * 3.6 / np.where(dt > 0, dt, 1), 0.0)
    else:
        raise FormatError(f"{path}: no current column (I/mA, <I>/mA or dq/mA.h)")
    q = _first(frame, ("(Q-Qo)/mA.h",))
    capacity = frame[q].to_numpy(float) * 1e-3 if q else np.cumsum(i_a * np.diff(t, prepend=t[0])) / 3600
    cycle = frame["cycle number"].to_numpy(int) if "cycle number" in frame else np.zeros(len(frame), int)
    step = frame["Ns"].to_numpy(int) if "Ns" in frame else np.zeros(len(frame), int)
    dq = np.diff(capacity, prepend=capacity[0])
    out = pd.DataFrame({"time_s": t, "voltage_v": frame[volt].to_numpy(float), "current_a": i_a,
                        "capacity_ah": capacity, "charge_capacity_ah": np.cumsum(np.clip(dq, 0, None)),
                        "discharge_capacity_ah": np.cumsum(np.clip(-dq, 0, None)), "cycle": cycle,
                        "step": step, "step_type": step_types(i_a)})
    extra = frame.drop(columns=[c for c in (time, volt, current, q, "cycle number", "Ns") if c in frame])
    out = pd.concat([out, extra.add_prefix("biologic_").reset_index(drop=True)], axis=1)
    out.attrs = {"source": str(path), "format": fmt}
    if start_time is not None:
        out.attrs["start_time"] = start_time
    return out


def read_mpt(path: Path) -> pd.DataFrame:
    """EC-Lab text export: the header states its own length ("Nb header lines : N")."""
    text = path.read_bytes().decode("latin-1")
    match = re.search(r"Nb header lines\s*:\s*(\d+)", text)
    if not text.startswith(MPT_MAGIC) or match is None:
        raise FormatError(f"{path}: not an EC-Lab ASCII file (no 'Nb header lines')")
    lines = text.splitlines()
    n_header = int(match.group(1))
    if len(lines) <= n_header:
        raise FormatError(f"{path}: truncated: {len(lines)} lines for a {n_header}-line header and no data")
    body = "\n".join(lines[n_header - 1:]).replace(",", ".")
    frame = pd.read_csv(io.StringIO(body), sep="\t")
    frame = frame.loc[:, ~frame.columns.str.startswith("Unnamed")]
    started = re.search(r"Acquisition started on\s*:\s*(\d+/\d+/\d{4} \d+:\d+:\d+(?:\.\d+)?)", text)
    start = (pd.to_datetime(started.group(1), format="%m/%d/%Y %H:%M:%S.%f", errors="coerce")
             if started else pd.NaT)
    return _standardize(path, frame, "biologic-mpt", None if pd.isna(start) else start.isoformat())


def read_mpr(path: Path) -> pd.DataFrame:
    """EC-Lab binary file, through galvani."""
    try:
        from galvani import BioLogic
    except ImportError:
        raise FormatError(f"{path}: reading .mpr files needs galvani (pip install galvani)") from None
    try:
        mpr = BioLogic.MPRfile(str(path))
        frame = pd.DataFrame(mpr.data)
    except Exception as exc:  # galvani raises plain errors on damaged files
        raise FormatError(f"{path}: not a readable EC-Lab .mpr file ({exc})") from None
    stamp = getattr(mpr, "timestamp", None)  # the log module's acquisition start (absent in old files)
    return _standardize(path, frame, "biologic-mpr",
                        None if stamp is None else pd.Timestamp(stamp).isoformat())
