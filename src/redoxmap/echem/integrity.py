"""Checks that a cycler file is complete.

A file cut short (copied while the cycler was still writing, a failed transfer, a size limit) reads as a
shorter test, and its last, partial cycle looks like capacity fade. Each reader runs the checks its
format allows and warns with :class:`redoxmap.errors.TruncatedFileWarning`, naming the file:

* text exports (Arbin/Neware CSV, MACCOR, BioLogic ``.mpt``, Novonix): the last line has as many fields
  as the line before it; a shorter last line was cut and its row is dropped;
* binary files: what the format itself records. Neware ``.nda`` ends with an end-of-data record; an
  Arbin ``.res`` numbers its points 1…N without gaps and ``mdb-export`` reports pages past the end of
  the file; a BioLogic ``.mpr`` states each module's length and its number of points (galvani refuses
  a file that is shorter); an ``.ndax`` is a zip whose directory is at its end;
* every format (run on the standard table): the last row's time is not earlier
  than the row before (a number cut short), and the record does not stop in the middle of a step.

"In the middle of a step" is judged against the earlier runs of the same step: a cycler ends a step at
a voltage limit, after a time or after a charge. The last charge, discharge or rest (a run of rows of
one step type) is complete when

* it reached the voltage where the earlier runs ended or went beyond it (within 10 mV), or
* it lasted as long as the earlier runs (within 2 %), or, when the earlier runs ended at different
  voltages and after different times, as long as the shortest of them, or passed as much charge as
  the smallest of them.

When the earlier runs all lasted the same time (a time limit, e.g. GITT pulses) only the time and the
voltage beyond theirs count; when they all ended at one voltage (a voltage limit) only that voltage
counts. The earlier runs are those with the same step number when the cycler numbers the steps of
its schedule (the numbers repeat), otherwise all earlier runs of the same type. A last step whose
number was not seen before, or a first run of its type, cannot be judged and is not reported. A cut
during a constant-voltage hold at the usual voltage is not detected.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from redoxmap.errors import TruncatedFileWarning

VOLTAGE_TOLERANCE_V = 0.010
TIME_TOLERANCE = 0.02
TAIL_BYTES = 65536


def _warn(path: str | Path, message: str, stacklevel: int = 3) -> None:
    """A :class:`TruncatedFileWarning` that starts with the file name."""
    warnings.warn(f"{path}: {message}", TruncatedFileWarning, stacklevel=stacklevel)


def _last_line_cut(path: Path, sep: str) -> bool:
    """True, with a warning, when the file's last non-blank line has fewer ``sep``-separated fields
    than the line before it: the file ends in the middle of a row, which the caller drops. Only the
    end of the file is read."""
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(max(0, size - TAIL_BYTES))
        tail = fh.read().decode("latin-1")
    lines = [line for line in tail.splitlines() if line.strip()]
    if len(lines) < 3:  # the first line of the window may itself be partial
        return False
    last, before = lines[-1].count(sep) + 1, lines[-2].count(sep) + 1
    if last >= before:
        return False
    _warn(path, f"the last line has {last} of {before} fields: the file ends in the middle of a row (cut, "
                "or copied while the cycler was writing it); that row is dropped", stacklevel=4)
    return True


def _segments(data: pd.DataFrame, by_label: bool = True) -> dict[str, np.ndarray]:
    """Runs of rows of one step type ("charge", "discharge", "rest") and, with ``by_label``, one step
    number, as arrays with one entry per run: the first row's ``kind`` and ``label``,
    ``duration_s`` and ``charge_ah`` (from the end of the run before), ``end_v`` and the row range
    ``first``/``last``."""
    kind = data["step_type"].to_numpy()
    label = data["step"].to_numpy()
    change = kind[1:] != kind[:-1]
    if by_label:
        change |= label[1:] != label[:-1]
    starts = np.flatnonzero(np.r_[True, change])
    ends = np.r_[starts[1:] - 1, kind.size - 1]
    before = np.maximum(starts - 1, 0)
    t = data["time_s"].to_numpy(float)
    q = data["capacity_ah"].to_numpy(float)
    return {"kind": kind[starts], "label": label[starts], "first": starts, "last": ends,
            "duration_s": t[ends] - t[before], "end_v": data["voltage_v"].to_numpy(float)[ends],
            "charge_ah": np.abs(q[ends] - q[before])}


def _complete(last: dict, refs: dict[str, np.ndarray]) -> bool:
    """Whether the run ``last`` ended the way the earlier runs ``refs`` of the same step did (module
    doc); both as :func:`_segments` gives them."""
    sign = {"charge": 1.0, "discharge": -1.0}.get(last["kind"], 0.0)
    durations, ends = refs["duration_s"], refs["end_v"]
    farthest = ends.max() if sign > 0 else ends.min()
    reached_v = sign != 0 and sign * (last["end_v"] - farthest) >= -VOLTAGE_TOLERANCE_V
    long_enough = last["duration_s"] >= (1 - TIME_TOLERANCE) * durations.min()
    if np.ptp(durations) <= TIME_TOLERANCE * np.median(durations):  # a time limit
        return bool(long_enough or reached_v)
    if sign != 0 and np.ptp(ends) <= 2 * VOLTAGE_TOLERANCE_V:  # a voltage limit
        return bool(reached_v)
    enough_charge = sign != 0 and last["charge_ah"] >= (1 - TIME_TOLERANCE) * refs["charge_ah"].min()
    return bool(reached_v or long_enough or enough_charge)


def _mid_step(data: pd.DataFrame) -> str | None:
    """Why the record looks stopped in the middle of its last step, or None (module doc for the rule)."""
    runs = _segments(data)
    pairs = list(zip(runs["kind"].tolist(), runs["label"].tolist(), strict=True))
    numbered = len(set(pairs)) < len(pairs)  # the cycler numbers the steps of its schedule
    if not numbered:  # a running step count (Neware): compare with every earlier run of the same type
        runs = _segments(data, by_label=False)
    last = {name: values[-1] for name, values in runs.items()}
    same = runs["kind"][:-1] == last["kind"]
    if numbered:
        same &= runs["label"][:-1] == last["label"]
    refs = {name: values[:-1][same] for name, values in runs.items()}
    if not same.any() or _complete(last, refs):
        return None
    return (f"the record stops {last['duration_s']:.4g} s into a {last['kind']} (step {last['label']}, from "
            f"row {last['first'] + 1}) at {last['end_v']:.4g} V, while the {int(same.sum())} earlier run(s) "
            f"of that step lasted {np.median(refs['duration_s']):.4g} s (median) and ended at "
            f"{np.median(refs['end_v']):.4g} V: the file ends in the middle of a step (cut, or the test was "
            "still running), so its last cycle is incomplete")


def _check_record(path: str | Path, data: pd.DataFrame) -> None:
    """Warn when the last row's time runs backwards or the record stops in the middle of a step
    (module doc). Time that runs backwards inside a record (a cycler's clock set back) is not
    a sign of a cut and is not reported."""
    t = data["time_s"].to_numpy(float)
    if t.size > 1 and t[-1] < t[-2]:
        _warn(path, f"the last row's time ({t[-1]:.6g} s) is earlier than the row before ({t[-2]:.6g} s): "
                    "the file is cut inside a number or its last record is damaged", stacklevel=4)
    reason = _mid_step(data) if len(data) > 1 else None
    if reason:
        _warn(path, reason, stacklevel=4)
