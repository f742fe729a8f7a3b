"""Cycler files into one tidy table.

Standard columns (one row per recorded point):

========================  ===================================================================
``time_s``                test time (s), as the cycler records it (BioLogic files of a series
                          start where the previous file stopped)
``voltage_v``             cell / working-electrode voltage (V)
``current_a``             current (A), **positive on charge**, negative on discharge
``capacity_ah``           net charge passed since the start of the record, ∫I dt (Ah)
``charge_capacity_ah``    charge passed while charging, cumulative over the record (Ah)
``discharge_capacity_ah`` charge passed while discharging, cumulative and positive (Ah)
``cycle``                 the cycler's cycle number
``step``                  the cycler's step number
``step_type``             "charge", "discharge" or "rest" (from the sign of the current)
========================  ===================================================================

plus the source's own columns with a prefix naming the format (``arbin_``, ``maccor_``, …).
``attrs["start_time"]`` (ISO 8601, the cycler's clock) is the moment of ``time_s = 0`` where the
file states it: BioLogic ("Acquisition started on"), Neware (the first timestamp), MACCOR (the
first ``DPt Time``); :func:`redoxmap.echem.sync.sync_scans` uses it to place scans.
Cumulative counters are rebuilt from the cyclers' own counters, which restart per step or per cycle
(:func:`accumulate`). ``attrs`` holds ``source``, ``format`` and what the header states (mass,
schedule).

The format is recognised from the content, not the extension:

* BioLogic EC-Lab ``.mpr`` (galvani) and ``.mpt`` text exports (own parser),
* Neware ``.nda``/``.ndax`` (NewareNDA) and Neware BTS CSV exports (own parser),
* Arbin ``.res`` (an MS-Access database, through ``mdb-export`` of Debian's ``mdbtools``) and
  Arbin CSV exports (own parser),
* MACCOR text exports and raw exports (own parser: ``Rec#``/``Cyc#``/``Step``/``Amps``/``Volts``),
* any of these compressed with gzip (``.gz``).
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from redoxmap.errors import FormatError

#: |current| below this fraction of the largest |current| counts as rest.
REST_FRACTION = 1e-3
STANDARD_COLUMNS = ("time_s", "voltage_v", "current_a", "capacity_ah", "charge_capacity_ah",
                    "discharge_capacity_ah", "cycle", "step", "step_type")
JET_MAGIC = b"Standard Jet DB"  # MS-Access (Arbin .res), at byte 4
GZIP_MAGIC = b"\x1f\x8b"


def step_types(current_a: np.ndarray) -> np.ndarray:
    """"charge" (I > 0), "discharge" (I < 0) or "rest" (|I| ≤ 0.1 % of the largest |I|).

    >>> step_types(np.array([0.0, 1e-3, -1e-3])).tolist()
    ['rest', 'charge', 'discharge']
    """
    current_a = np.asarray(current_a, float)
    finite = current_a[np.isfinite(current_a)]
    limit = REST_FRACTION * np.max(np.abs(finite)) if finite.size else 0.0
    return np.where(~(np.abs(current_a) > limit), "rest", np.where(current_a > 0, "charge", "discharge"))


def accumulate(counter: np.ndarray, boundary: np.ndarray | None = None) -> np.ndarray:
    """Cumulative total of a non-negative counter that the cycler restarts (per step or per cycle).

    The record is cut into runs at each restart: a fall of the counter at a ``boundary`` (True where a
    new step or cycle begins), or, without ``boundary``, a fall below half the previous value. Within a
    run the counter's running maximum is used (noise that lowers it does not count twice); the total is
    the sum of the earlier runs' final values plus the current run's running maximum.

    >>> accumulate(np.array([0.0, 1.0, 2.0, 0.5, 1.5, 1.4, 0.0])).tolist()
    [0.0, 1.0, 2.0, 2.5, 3.5, 3.5, 3.5]
    """
    counter = np.nan_to_num(np.abs(np.asarray(counter, float)))
    if counter.size == 0:
        return counter
    previous = np.concatenate([[0.0], counter[:-1]])
    if boundary is None:
        restart = counter < 0.5 * previous
    else:
        restart = np.asarray(boundary, bool) & (counter < previous)
    restart[0] = True
    run = np.cumsum(restart) - 1
    running = pd.Series(counter).groupby(run).cummax().to_numpy()
    final = pd.Series(running).groupby(run).last().to_numpy()
    offset = np.concatenate([[0.0], np.cumsum(final)[:-1]])
    return offset[run] + running


def boundaries(*labels: np.ndarray) -> np.ndarray:
    """True where any of the label arrays (e.g. cycle and step numbers) changes value."""
    change = np.zeros(len(labels[0]), bool)
    for label in labels:
        label = np.asarray(label)
        change[1:] |= label[1:] != label[:-1]
    return change


def finish(path: Path, columns: dict[str, np.ndarray], extra: pd.DataFrame, prefix: str, fmt: str,
           **attrs) -> pd.DataFrame:
    """The standard table from the standard columns (``capacity_ah`` and ``step_type`` filled in when
    not given) plus the source's other columns with ``prefix``; rows without a finite time, voltage or
    current are dropped with a warning that counts them."""
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
    return out


def standard_table(time_s: np.ndarray, voltage_v: np.ndarray, current_a: np.ndarray,
                   cycle: np.ndarray | None = None) -> pd.DataFrame:
    """The standard table from bare arrays (e.g. a simulation).

    Capacities by the trapezoid rule, Q_i = Σ_{j≤i} (t_j − t_{j−1})(I_j + I_{j−1})/2 / 3600 (Ah);
    steps are numbered at every change of step type.

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


def _read_gzip(path: Path) -> pd.DataFrame:
    inner_name = path.name[:-3] if path.name.endswith(".gz") else path.name + ".raw"
    with tempfile.TemporaryDirectory(prefix="redoxmap-") as tmp:
        inner = Path(tmp) / inner_name
        try:
            with gzip.open(path, "rb") as src, open(inner, "wb") as dst:
                shutil.copyfileobj(src, dst)
        except (OSError, EOFError) as exc:
            raise FormatError(f"{path}: truncated or damaged gzip file ({exc})") from None
        try:
            data = read_cycler(inner)
        except FormatError as exc:
            raise FormatError(str(exc).replace(str(inner), str(path))) from None
    data.attrs["source"] = str(path)
    return data


def read_cycler(path: str | Path) -> pd.DataFrame:
    """Read a cycler file into the standard table (see the module doc for columns and formats).

    >>> data = read_cycler("tests/data/echem/arbin_example.csv")  # doctest: +SKIP
    >>> data.groupby("cycle").discharge_capacity_ah.max()         # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: file not found")
    with open(path, "rb") as fh:
        head = fh.read(8192)
    if not head:
        raise FormatError(f"{path}: empty file; expected a cycler file")
    from redoxmap.echem import arbin, biologic, maccor, neware

    if head.startswith(GZIP_MAGIC):
        return _read_gzip(path)
    if head.startswith(biologic.MPR_MAGIC):
        return biologic.read_mpr(path)
    if head[4:4 + len(JET_MAGIC)] == JET_MAGIC:
        return arbin.read_res(path)
    if head[:2] == b"PK" or b"NEWARE" in head[:64]:  # .ndax is a zip; .nda starts with "NEWARE"
        return neware.read_nda(path)
    if b"\x00" in head[:512]:
        raise FormatError(f"{path}: a binary file of a format redoxmap does not read; expected "
                          "BioLogic .mpr, Arbin .res, Neware .nda/.ndax or a text export")
    text = head.decode("latin-1")
    if text.startswith(biologic.MPT_MAGIC):
        return biologic.read_mpt(path)
    lines = text.splitlines()
    if maccor.looks_like(lines):
        return maccor.read_maccor(path)
    first = lines[0] if lines else ""
    if neware.looks_like_csv(first):
        return neware.read_neware_csv(path)
    if arbin.looks_like_csv(first):
        return arbin.read_csv(path)
    if "Novonix" in text[:200]:
        raise FormatError(f"{path}: a Novonix HPC export, which redoxmap does not read yet; expected "
                          "MACCOR, Arbin, BioLogic or Neware")
    raise FormatError(f"{path}: unknown cycler format (first line {first[:80]!r}); expected a BioLogic "
                      ".mpr/.mpt, Neware .nda/.ndax/CSV, Arbin .res/CSV or MACCOR text export")
