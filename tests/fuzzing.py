"""Damaged copies of real files for the reader fuzz tests of issue 14, ``test_fuzz_readers.py`` and
``test_fuzz_cyclers.py`` (two files that take about as long, so that ``pytest -n 2 --dist loadfile``
runs them side by side).

Each reader gets ``EXAMPLES`` damaged copies of its intact test file: a random truncation, 1–8 random
byte flips (XOR with 1–255; in the first or last 2 KiB, where headers and directories are, or
anywhere), or both, a third of each; the first two copies are the empty file and the file without its
last byte. The damages come from a NumPy generator seeded with the reader's name, so every run reads
the same copies and a failure names the copy (number, bytes kept, flips) to reproduce it with
:func:`damages`. A seeded loop rather than hypothesis: hypothesis spends ~4 ms drawing each example,
which over 46 readers × 200 copies is over half a minute of the suite. ``REDOXMAP_FUZZ_EXAMPLES=2000`` runs
more copies.

A read passes when the reader raises a :class:`RedoxmapError` or returns what the case's ``check``
accepts as a correct read. Any other exception fails, and so does an absurd allocation (the address
space is capped at its size plus ``MEMORY_HEADROOM_BYTES`` while the reader runs: a flipped size
field must not make a reader allocate gigabytes) or a hang (``TIMEOUT_S``). Warnings are allowed
(readers warn about cut files), except RuntimeWarnings from redoxmap (the suite treats those as errors).
"""

from __future__ import annotations

import gzip
import os
import resource
import signal
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from redoxmap.echem.table import STANDARD_COLUMNS
from redoxmap.errors import RedoxmapError

EXAMPLES = int(os.environ.get("REDOXMAP_FUZZ_EXAMPLES", 200))
#: A read that takes longer than this is a hang (a correct read of these files takes well under 1 s).
TIMEOUT_S = 30.0
#: Address space a reader may add while it runs.
MEMORY_HEADROOM_BYTES = 2 * 1024**3
#: Flips land in the first or last EDGE_BYTES of the kept bytes (headers, directories) or anywhere.
EDGE_BYTES = 2048

Damage = tuple[int, list[tuple[int, int]]]  # (bytes kept, [(offset, XOR mask)])


@dataclass(frozen=True)
class Case:
    """A reader and its test files: ``prepare(folder)`` writes the intact files into ``folder`` and
    returns (file to damage, path to give the reader); ``read(path)`` reads; ``check`` asserts that
    what was read is correct."""

    name: str
    prepare: Callable[[Path], tuple[Path, Path]]
    read: Callable[[Path], object]
    check: Callable[[object], None]


# --- the intact files -----------------------------------------------------------------------------

def copy(source: Path, folder: Path, name: str | None = None, lines: int | None = None,
         compress: bool = False) -> Path:
    """A copy of ``source`` in ``folder`` (gunzipped when it ends in .gz; only its first ``lines``
    lines if given, a real file cut short; gzipped again with ``compress``)."""
    data = source.read_bytes()
    if source.suffix == ".gz":
        data = gzip.decompress(data)
    if lines is not None:
        data = b"".join(data.splitlines(keepends=True)[:lines])
    if compress:
        data = gzip.compress(data, mtime=0)
    target = folder / (name or source.name.removesuffix(".gz") + (".gz" if compress else ""))
    target.write_bytes(data)
    return target


def one(source: Path, **kwargs) -> Callable[[Path], tuple[Path, Path]]:
    """``prepare`` for a reader of one file: a copy of ``source`` (options of :func:`copy`)."""
    def prepare(folder: Path) -> tuple[Path, Path]:
        path = copy(source, folder, **kwargs)
        return path, path
    return prepare


# --- what a correct read of a cycler file is ----------------------------------------------------

def check_cycler(table: pd.DataFrame) -> None:
    """A standard table: finite values, capacities that never decrease, known step types, integer
    cycles and steps."""
    assert isinstance(table, pd.DataFrame) and len(table) >= 1
    assert set(STANDARD_COLUMNS) <= set(table.columns)
    values = table[["time_s", "voltage_v", "current_a", "capacity_ah", "charge_capacity_ah",
                    "discharge_capacity_ah"]].to_numpy(float)
    assert np.all(np.isfinite(values)), "non-finite time, voltage, current or capacity"
    for name in ("charge_capacity_ah", "discharge_capacity_ah"):
        assert np.all(np.diff(table[name].to_numpy(float)) >= 0), f"{name} decreases"
    assert set(table["step_type"]) <= {"charge", "discharge", "rest"}
    assert table["cycle"].dtype.kind == "i" and table["step"].dtype.kind == "i"


# --- damage ---------------------------------------------------------------------------------------

def damages(name: str, size: int, n: int) -> Iterator[Damage]:
    """The ``n`` damages of a ``size``-byte file for the reader called ``name`` (module doc)."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    for k in range(n):
        if k < 2:
            yield (0 if k == 0 else size - 1), []
            continue
        kind = k % 3  # 0 truncate, 1 flip, 2 both
        keep = size if kind == 1 else int(rng.integers(0, size))
        flips = []
        if kind and keep:
            for _ in range(int(rng.integers(1, 9))):
                region = int(rng.integers(3))
                low = max(0, keep - EDGE_BYTES) if region == 1 else 0
                high = min(keep, EDGE_BYTES) if region == 0 else keep
                flips.append((int(rng.integers(low, high)), int(rng.integers(1, 256))))
        yield keep, flips


def damaged(original: bytes, damage: Damage) -> bytes:
    keep, flips = damage
    data = bytearray(original[:keep])
    for offset, mask in flips:
        data[offset] ^= mask
    return bytes(data)


class ReaderHang(BaseException):
    """The reader ran longer than TIMEOUT_S (a BaseException, so that no reader's handler hides it)."""


def _alarm(signum, frame):
    raise ReaderHang(f"the reader ran longer than {TIMEOUT_S:g} s")


def _address_space() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * resource.getpagesize()


def guarded_read(read: Callable[[Path], object], path: Path) -> object:
    """``read(path)`` with the address space capped, a timeout, and warnings silenced except redoxmap's
    RuntimeWarnings (raised)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _address_space() + MEMORY_HEADROOM_BYTES
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, TIMEOUT_S)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard),
                                                hard))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.filterwarnings("error", category=RuntimeWarning, module=r"redoxmap\.")
            return read(path)
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_case(case: Case, folder: Path) -> None:
    """Read ``EXAMPLES`` damaged copies of the case's file (in ``folder``); fail naming the copies that
    gave another exception than a :class:`RedoxmapError` or an incorrect read."""
    target, entry = case.prepare(folder)
    original = target.read_bytes()
    case.check(case.read(entry))  # the intact files read correctly
    failures, count = [], 0
    try:
        for k, damage in enumerate(damages(case.name, len(original), EXAMPLES)):
            target.write_bytes(damaged(original, damage))
            count += 1
            try:
                result = guarded_read(case.read, entry)
            except RedoxmapError:
                continue
            except (Exception, ReaderHang) as exc:
                failures.append((k, damage, exc))
                continue
            try:
                case.check(result)
            except AssertionError as exc:
                failures.append((k, damage, exc))
    finally:
        target.write_bytes(original)
    if failures:
        lines = [f"copy {k} (kept {keep} of {len(original)} bytes, flips {flips}): "
                 f"{type(exc).__name__}: {str(exc)[:300]}" for k, (keep, flips), exc in failures[:8]]
        raise AssertionError(f"{case.name}: {len(failures)} of {count} damaged copies of {target.name} "
                             "neither raised a RedoxmapError nor read correctly:\n" + "\n".join(lines)) \
            from failures[0][2]
