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
    """EC-Lab columns into the standard table.

    Charge comes from ``dq/mA.h``, the charge EC-Lab measured over each interval, or, without it, from
    the current by the trapezoid rule. The ``(Q-Qo)/mA.h`` counter is not used: EC-Lab resets it at the
    start of a loop and of some techniques, and a reset would read as charge passed the other way.
    Cycles are EC-Lab's ``cycle number`` when the file has it, else :func:`~redoxmap.echem.table.
    _charge_cycles` of its ``half cycle`` column or, without that, of the sign of the current: cycle 0
    first, a new cycle at every charge half cycle that follows a discharge. ``start_time`` (ISO 8601,
    the acquisition start from the file's header) is kept in ``attrs``.
    """
    from redoxmap.echem.table import _charge_cycles, _finish

    time = _first(frame, ("time/s",))
    volt = _first(frame, ("Ewe/V", "Ecell/V", "<Ewe>/V"))
    if time is None or volt is None:
        raise FormatError(f"{path}: no time/s or Ewe/V column; columns are {list(frame.columns)[:12]}")
    # EC-Lab columns are numbers: text in one is a damaged number, read as NaN (finish drops its row)
    text = frame.select_dtypes(exclude=["number", "bool"]).columns
    frame[text] = frame[text].apply(pd.to_numeric, errors="coerce")
    t = frame[time].to_numpy(float)
    dt = np.diff(t, prepend=t[:1])
    current = _first(frame, ("I/mA", "<I>/mA"))
    if current is not None:
        i_a = frame[current].to_numpy(float) * 1e-3
    elif "dq/mA.h" in frame:  # average current over each interval from the charge passed in it
        i_a = np.where(dt > 0, frame["dq/mA.h"].to_numpy(float) * 3.6 / np.where(dt > 0, dt, 1), 0.0)
    else:
        raise FormatError(f"{path}: no current column (I/mA, <I>/mA or dq/mA.h)")
    if "dq/mA.h" in frame:
        dq = np.nan_to_num(frame["dq/mA.h"].to_numpy(float)) * 1e-3
    else:
        dq = np.nan_to_num(dt * (i_a + np.concatenate([i_a[:1], i_a[:-1]])) / 2) / 3600.0
    if "cycle number" in frame:
        cycle = pd.to_numeric(frame["cycle number"], errors="coerce").fillna(-1).to_numpy(int)
    else:
        half = frame["half cycle"].to_numpy() if "half cycle" in frame else None
        cycle = _charge_cycles(dq, i_a, half)
    step = (pd.to_numeric(frame["Ns"], errors="coerce").fillna(-1).to_numpy(int) if "Ns" in frame
            else np.zeros(len(frame), int))
    columns = {"time_s": t, "voltage_v": frame[volt].to_numpy(float), "current_a": i_a,
               "capacity_ah": np.cumsum(dq), "charge_capacity_ah": np.cumsum(np.clip(dq, 0, None)),
               "discharge_capacity_ah": np.cumsum(np.clip(-dq, 0, None)), "cycle": cycle, "step": step}
    extra = frame.drop(columns=[c for c in (time, volt, current, "cycle number", "Ns") if c in frame])
    out = _finish(path, columns, extra, "biologic_", fmt)
    if start_time is not None:
        out.attrs["start_time"] = start_time
    return out


def _read_mpt(path: Path) -> pd.DataFrame:
    """EC-Lab text export: the header states its own length ("Nb header lines : N"). A last line
    shorter than the others (a cut file) is dropped with a warning."""
    from redoxmap.echem.integrity import _last_line_cut

    text = path.read_bytes().decode("latin-1")
    match = re.search(r"Nb header lines\s*:\s*(\d+)", text)
    if not text.startswith(MPT_MAGIC) or match is None:
        raise FormatError(f"{path}: not an EC-Lab ASCII file (no 'Nb header lines')")
    lines = text.splitlines()
    n_header = int(match.group(1))
    if len(lines) <= n_header:
        raise FormatError(f"{path}: truncated: {len(lines)} lines for a {n_header}-line header and no data")
    rows = [line for line in lines[n_header:] if line.strip()]
    if len(rows) > 1 and _last_line_cut(path, "\t"):
        rows = rows[:-1]
    body = "\n".join([lines[n_header - 1], *rows]).replace(",", ".")
    try:
        frame = pd.read_csv(io.StringIO(body), sep="\t")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise FormatError(f"{path}: EC-Lab data rows that cannot be parsed ({exc})") from exc
    frame = frame.loc[:, ~frame.columns.str.startswith("Unnamed")]
    started = re.search(r"Acquisition started on\s*:\s*(\d+/\d+/\d{4} \d+:\d+:\d+(?:\.\d+)?)", text)
    start = (pd.to_datetime(started.group(1), format="%m/%d/%Y %H:%M:%S.%f", errors="coerce")
             if started else pd.NaT)
    return _standardize(path, frame, "biologic-mpt", None if pd.isna(start) else start.isoformat())


def _read_mpr(path: Path) -> pd.DataFrame:
    """EC-Lab binary file, through galvani, which checks each module's stated length and the data
    module's number of points: a file that ends early is refused."""
    try:
        from galvani import BioLogic
    except ImportError as exc:
        raise FormatError(f"{path}: reading .mpr files needs galvani (pip install galvani)") from exc
    try:
        with open(path, "rb") as fh:
            mpr = BioLogic.MPRfile(fh)
            frame = pd.DataFrame(mpr.data)
    except Exception as exc:  # galvani raises plain errors on damaged files
        reason = " ".join(str(exc).split()) or "fewer data points than its header states"
        hint = "; the file ends early (cut, or copied while EC-Lab was writing it)" if (
            "end of file" in reason or isinstance(exc, AssertionError)) else ""
        raise FormatError(f"{path}: not a readable EC-Lab .mpr file ({reason[:200]}){hint}") from exc
    stamp = getattr(mpr, "timestamp", None)  # the log module's acquisition start (absent in old files)
    return _standardize(path, frame, "biologic-mpr",
                        None if stamp is None else pd.Timestamp(stamp).isoformat())
