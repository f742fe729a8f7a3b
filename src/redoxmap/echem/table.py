"""The standard table every cycler reader returns, and the helpers the readers share: step types
from the sign of the current, cycles from half cycles, cumulative counters rebuilt across resets.

The columns are described in :mod:`redoxmap.echem.readers`.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from redoxmap.echem.integrity import _check_record
from redoxmap.errors import FormatError

REST_FRACTION = 1e-3
STANDARD_COLUMNS = ("time_s", "voltage_v", "current_a", "capacity_ah", "charge_capacity_ah",
                    "discharge_capacity_ah", "cycle", "step", "step_type")
JET_MAGIC = b"Standard Jet DB"  # MS-Access (Arbin .res), at byte 4
GZIP_MAGIC = b"\x1f\x8b"


def step_types(current_a: np.ndarray) -> np.ndarray:
    """Step type of every point from the sign of the current: "charge" (I > 0), "discharge" (I < 0) or
    "rest" (|I| ≤ 0.1 % of the largest |I|).

    Parameters
    ----------
    current_a : numpy.ndarray
        Current (A), positive on charge.

    Returns
    -------
    numpy.ndarray
        Strings, one per point.

    Examples
    --------
    >>> step_types(np.array([0.0, 1e-3, -1e-3])).tolist()
    ['rest', 'charge', 'discharge']
    """
    current_a = np.asarray(current_a, float)
    finite = current_a[np.isfinite(current_a)]
    limit = REST_FRACTION * np.max(np.abs(finite)) if finite.size else 0.0
    return np.where(~(np.abs(current_a) > limit), "rest", np.where(current_a > 0, "charge", "discharge"))


def _charge_cycles(increment_ah: np.ndarray, current_a: np.ndarray,
                   half_cycle: np.ndarray | None = None) -> np.ndarray:
    """Cycle numbers for a record that has no cycle count of the cycler's own.

    The record is cut into half cycles: those given (EC-Lab's ``half cycle`` column, which counts every
    reversal of the current) or, without them, the runs of one sign of the current (rest rows join the
    half cycle before them; rests before the first current join the first one). A half cycle is a
    charge when the charge passed in it, Σ ΔQ_i (``increment_ah``), is positive and a discharge when
    it is negative. Cycle 0 is the first; a new cycle begins with every charge half cycle that follows
    a discharge half cycle. So a cycle is a charge and the discharge after it, and a discharge before
    the first charge (e.g. a graphite or silicon half cell lithiated first) is cycle 0 on its own.

    >>> i = np.array([0.0, 1, 1, -1, -1, 1, -1])
    >>> _charge_cycles(i, i).tolist()
    [0, 0, 0, 0, 0, 1, 1]
    >>> _charge_cycles(-i, -i).tolist()
    [0, 0, 0, 1, 1, 1, 2]
    """
    increment = np.nan_to_num(np.asarray(increment_ah, float))
    if half_cycle is None:
        kind = step_types(current_a)
        sign = pd.Series(np.where(kind == "charge", 1.0, np.where(kind == "discharge", -1.0, np.nan)))
        label = sign.ffill().bfill().fillna(0.0).to_numpy()
    else:
        label = np.asarray(half_cycle)
    half = np.concatenate([[0], np.cumsum(label[1:] != label[:-1])])
    net = np.sign(pd.Series(increment).groupby(half).sum().to_numpy())
    before = pd.Series(net).replace(0.0, np.nan).ffill().shift(1).to_numpy()
    return np.cumsum((net > 0) & (before < 0))[half]


def accumulate(counter: np.ndarray, boundary: np.ndarray | None = None) -> np.ndarray:
    """Cumulative total of a non-negative counter that the cycler restarts (per step or per cycle).

    The record is cut into runs at each restart: a fall of the counter at a ``boundary`` (True where
    a new step or cycle begins) or, anywhere, a fall below half the previous value (a reset that is
    not at a step change, e.g. at a loop start or after a resumed test). Within a run the counter's
    running maximum is used (noise that lowers it does not count twice); the total is the sum of the
    earlier runs' final values plus the current run's running maximum. A reset therefore never adds
    charge, and the total never decreases.

    Parameters
    ----------
    counter : numpy.ndarray
        The cycler's counter (e.g. Ah charged in the current step).
    boundary : numpy.ndarray, optional
        Booleans, True where a new step or cycle begins.

    Returns
    -------
    numpy.ndarray
        The cumulative total, the shape of ``counter``.

    Examples
    --------
    >>> accumulate(np.array([0.0, 1.0, 2.0, 0.5, 1.5, 1.4, 0.0])).tolist()
    [0.0, 1.0, 2.0, 2.5, 3.5, 3.5, 3.5]
    """
    counter = np.nan_to_num(np.abs(np.asarray(counter, float)))
    if counter.size == 0:
        return counter
    previous = np.concatenate([[0.0], counter[:-1]])
    restart = counter < 0.5 * previous
    if boundary is not None:
        restart |= np.asarray(boundary, bool) & (counter < previous)
    restart[0] = True
    run = np.cumsum(restart) - 1
    running = pd.Series(counter).groupby(run).cummax().to_numpy()
    final = pd.Series(running).groupby(run).last().to_numpy()
    offset = np.concatenate([[0.0], np.cumsum(final)[:-1]])
    return offset[run] + running


def _boundaries(*labels: np.ndarray) -> np.ndarray:
    """True where any of the label arrays (e.g. cycle and step numbers) changes value."""
    change = np.zeros(len(labels[0]), bool)
    for label in labels:
        label = np.asarray(label)
        change[1:] |= label[1:] != label[:-1]
    return change


def _finish(path: Path, columns: dict[str, np.ndarray], extra: pd.DataFrame, prefix: str, fmt: str,
            **attrs) -> pd.DataFrame:
    """The standard table from the standard columns (``capacity_ah`` and ``step_type`` filled in when
    not given) plus the source's other columns with ``prefix``; rows without a finite time, voltage or
    current are dropped with a warning that counts them, and a record whose last row's time runs
    backwards or that stops in the middle of a step is reported
    (:func:`redoxmap.echem.integrity._check_record`)."""
    out = pd.DataFrame({k: np.asarray(v) for k, v in columns.items()})
    if "capacity_ah" not in out:
        out["capacity_ah"] = out["charge_capacity_ah"] - out["discharge_capacity_ah"]
    if "step_type" not in out:
        out["step_type"] = step_types(out["current_a"].to_numpy())
    out = out[list(STANDARD_COLUMNS)]
    extra = extra.reset_index(drop=True)
    out = pd.concat([out, extra.add_prefix(prefix)], axis=1)
    good = np.isfinite(out[["time_s", "voltage_v", "current_a"]].to_numpy(float)).all(axis=1)
    if not good.any():
        raise FormatError(f"{path}: no row with a finite time, voltage and current; expected data rows")
    if not good.all():
        warnings.warn(f"{path}: {int((~good).sum())} row(s) without a finite time, voltage or current "
                      "dropped (truncated line?)", stacklevel=3)
        out = out[good].reset_index(drop=True)
    out.attrs = {"source": str(path), "format": fmt, **attrs}
    _check_record(path, out)
    return out


def standard_table(time_s: np.ndarray, voltage_v: np.ndarray, current_a: np.ndarray,
                   cycle: np.ndarray | None = None) -> pd.DataFrame:
    """The standard table from bare arrays (e.g. a simulation or a file read by other means).

    Capacities by the trapezoid rule, Q_i = Σ_{j≤i} (t_j − t_{j−1})(I_j + I_{j−1})/2 / 3600 (Ah),
    split into charge and discharge by the sign of the current; steps are numbered at every change of
    step type.

    Parameters
    ----------
    time_s : numpy.ndarray
        Test time (s).
    voltage_v : numpy.ndarray
        Voltage (V).
    current_a : numpy.ndarray
        Current (A), positive on charge.
    cycle : numpy.ndarray, optional
        Cycle numbers; default all 1.

    Returns
    -------
    pandas.DataFrame
        The standard columns of :mod:`redoxmap.echem.readers`.

    Raises
    ------
    FormatError
        If the arrays differ in length.

    Examples
    --------
    >>> table = standard_table(np.array([0.0, 3600.0]), np.array([3.0, 3.1]), np.array([1.0, 1.0]))
    >>> table.capacity_ah.tolist()
    [0.0, 1.0]
    """
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
