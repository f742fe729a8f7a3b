"""Build-style caching of experiment steps: what a step's result depends on, and its record.

A step is done when its folder holds ``step.json`` whose ``key`` equals the key of the step now and
every output it lists is still the file it wrote (same size and modification time). The key
is the SHA-256 of the job's name, the redoxmap version, its settings (paths relative to the
experiment file), the content of its input files and the keys of the steps it reads from. The
record is written last, after the job's own outputs are complete (each written under a temporary
name and renamed). A step that fails writes ``step-failed.json`` beside it and leaves the last
good record and outputs alone: nothing computed before is lost, and undoing the change that made
it fail finds the old result up to date. A step killed after replacing one of its outputs no longer
matches its record, so it runs again.

Input files are identified by the SHA-256 of their content, not by their size and modification
time alone: a copied, restored or touched file with the same bytes does not trigger a rerun, and an
edit that keeps size and time (rare, but some tools do) is not missed when the stat changes. Reading
multi-gigabyte stacks on every run would break the promise that a run with nothing to do takes
about a second, so the hash is kept in a stat cache (``.redoxmap/fingerprints.json`` in the results
folder) beside the file's size and modification time in ns, and a file is only read again when
either of those changed — the same trade-off as git's index. A folder input (an OME-Zarr store) is
hashed over its files. Files beside an input whose names start with its stem and ``_`` (the
``.xim`` images of an ALS ``.hdr``, the ``_flats``/``_darks`` TIFFs of a stack) count as part of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from redoxmap.io.atomic import atomic_output

__all__: list[str] = []  # the step cache of run_experiment; nothing here is public

_CHUNK = 1 << 20


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


class _FingerprintCache:
    """Content hashes of input files, re-read only when a file's size or mtime changed.

    Parameters
    ----------
    store : JSON file that keeps ``{path: [size, mtime_ns, sha256]}`` between runs.
    """

    def __init__(self, store: Path) -> None:
        self.store = store
        self.entries: dict[str, list] = {}
        self.read_bytes = 0
        self._lock = threading.Lock()
        if store.is_file():
            try:
                self.entries = json.loads(store.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self.entries = {}

    def _file(self, path: Path) -> str:
        stat = path.stat()
        name = str(path.resolve())
        with self._lock:
            known = self.entries.get(name)
        if known and known[0] == stat.st_size and known[1] == stat.st_mtime_ns:
            return str(known[2])
        digest = _sha256_file(path)
        with self._lock:
            self.entries[name] = [stat.st_size, stat.st_mtime_ns, digest]
            self.read_bytes += stat.st_size
        return digest

    def fingerprint(self, path: Path) -> str:
        """SHA-256 over the content of ``path`` (a file with its ``<stem>_*`` companions, or every
        file of a folder, each with its relative name)."""
        path = Path(path)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
            names = [str(p.relative_to(path)) for p in files]
        else:
            companions = sorted(p for p in path.parent.glob(f"{path.stem}_*") if p.is_file() and p != path)
            files = [path, *companions]
            names = [p.name for p in files]
        digest = hashlib.sha256()
        for name, file in zip(names, files, strict=True):
            digest.update(name.encode())
            digest.update(self._file(file).encode())
        return digest.hexdigest()

    def save(self) -> None:
        """Write the stat cache (atomically)."""
        with self._lock:
            text = json.dumps(self.entries, indent=0, sort_keys=True)
        with atomic_output(self.store, overwrite=True) as tmp:
            tmp.write_text(text, encoding="utf-8")


def _step_key(job: str, version: str, settings: dict[str, Any], inputs: dict[str, str],
             upstream: dict[str, str]) -> str:
    """SHA-256 of what a step's result depends on (see the module docstring)."""
    text = json.dumps({"job": job, "version": version, "settings": settings, "inputs": inputs,
                       "upstream": upstream}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _stat(path: Path) -> list[int] | None:
    try:
        stat = Path(os.path.normpath(path)).stat()  # "../" need not pass through an existing folder
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


class _StepRecord:
    """The ``step.json`` of a step folder: key, settings, outputs (with their size and modification
    time), status and time; ``step-failed.json`` for the last failure."""

    NAME = "step.json"
    FAILED = "step-failed.json"

    def __init__(self, folder: Path) -> None:
        self.path = folder / self.NAME
        self.failed = folder / self.FAILED

    def read(self) -> dict[str, Any] | None:
        """The record, or None if there is none (or it cannot be read)."""
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def done(self, key: str) -> bool:
        """True if the step finished with this key and its outputs are those it wrote."""
        record = self.read()
        if not record or record.get("status") != "done" or record.get("key") != key:
            return False
        outputs = record.get("outputs", {})
        return all(_stat(self.path.parent / out) == stat for out, stat in outputs.items())

    def write_done(self, record: dict[str, Any], outputs: list[Path]) -> None:
        """Record a success with ``outputs`` (kept relative to the step folder, so a moved or copied
        results folder stays up to date), and forget an earlier failure."""
        folder = self.path.parent
        stats = {}
        for path in outputs:
            name = os.path.relpath(path, folder)
            stats[name] = _stat(folder / name)
        self._write(self.path, {**record, "status": "done", "outputs": stats})
        self.failed.unlink(missing_ok=True)

    def write_failed(self, record: dict[str, Any]) -> None:
        """Record a failure beside the last good record (which stays)."""
        self._write(self.failed, {**record, "status": "failed"})

    @staticmethod
    def _write(path: Path, record: dict[str, Any]) -> None:
        with atomic_output(path, overwrite=True) as tmp:
            tmp.write_text(json.dumps(record, indent=1, sort_keys=True, default=str), encoding="utf-8")
