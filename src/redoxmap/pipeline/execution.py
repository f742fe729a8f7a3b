"""Where and in how much memory a job computes: the ``scheduler`` and ``memory_limit`` settings that every
heavy job shares (``--scheduler``, ``--memory-limit`` on the command line), and the context in which a
job's dask computations run.

Schedulers (dask's own; https://docs.dask.org/en/stable/scheduling.html):

- ``threads`` (default): dask's thread pool in this process, one thread per core.
- ``synchronous`` (alias ``serial``): every task in the calling thread, for debugging and profiling.
- ``processes``: a :class:`distributed.LocalCluster` of one single-threaded worker process per core,
  started by the job and closed when it ends; ``memory_limit`` is shared among its workers' chunks
  (each worker may hold :data:`WORKER_PROCESS_BYTES` more: the process itself).
- ``tcp://host:port``: the address of a running ``dask.distributed`` scheduler (``dask scheduler``,
  dask-jobqueue, a LocalCluster); the job's tasks run on its workers, which must see the job's files
  at the same paths (docs/cluster.md).

``memory_limit`` (e.g. ``"1GB"``, ``"512MiB"``) bounds what the job holds at once: the chunk size
chosen automatically (:func:`chunk_bytes`; chunks over space only, strips of rows in which every
chunk holds whole spectra) and, for ``processes``, the memory of the workers the job starts. For a
``tcp://`` cluster it is the memory of one worker (the workers' own limits are set where they are
started). Setting it, or a scheduler other than threads or synchronous, makes xanes2d and valence
run out of core.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pydantic import BaseModel, field_validator

from redoxmap.blas import one_blas_thread
from redoxmap.errors import ConfigError

__all__ = ["Execution", "ExecutionSettings", "check_scheduler", "chunk_bytes", "execution",
           "parse_memory_limit"]

LOCAL_SCHEDULERS = ("threads", "processes", "synchronous")
ALIASES = {"serial": "synchronous"}
_ADDRESS = re.compile(r"^tcp://(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9._-]+):(?P<port>[0-9]{1,5})$")
#: Memory of a ``processes`` worker besides its share of ``memory_limit``: the interpreter with
#: NumPy, dask, distributed and the stages it imports (0.22 GB measured), with room under
#: dask's pause threshold (80 % of a worker's limit).
WORKER_PROCESS_BYTES = 512 * 2**20

#: Seconds to wait for a ``tcp://`` scheduler to answer.
CONNECT_TIMEOUT_S = 10
#: Bytes held per spectral value of a chunk while it is processed: the float32 chunk, its merge from
#: per-energy tiles, and the float64 temporaries of normalization and of the fit's blocks (measured
#: in benchmarks/bench_scale.py; a chunk's peak is about this many bytes per value).
BYTES_PER_VALUE = 32
#: Share of ``memory_limit`` given to the chunks in flight; the rest holds the maps, the per-energy
#: images of registration and the interpreter.
CHUNK_SHARE = 0.5
#: Bytes of stored data in one chunk without a memory limit (and at most with one): large enough that
#: dask's per-task overhead is small, small enough that a killed run loses little.
MAX_CHUNK_BYTES = 16 * 2**20
#: Smallest chunk (bytes) a memory limit may ask for.
MIN_CHUNK_BYTES = 2**16


def parse_memory_limit(value: str | None) -> int | None:
    """Bytes of a memory limit such as ``"1GB"``, ``"512MiB"`` or ``"2e9"`` (dask's spelling).

    Parameters
    ----------
    value : str, optional
        The limit as written on the command line (``--memory-limit``); None for no limit.

    Returns
    -------
    int or None
        The limit in bytes, None if ``value`` is None.

    Raises
    ------
    ValueError
        If ``value`` is not a size, or is below 16 MiB (pydantic turns it into the option's
        :class:`redoxmap.errors.ConfigError`).

    Examples
    --------
    >>> parse_memory_limit("1GB"), parse_memory_limit("512MiB"), parse_memory_limit(None)
    (1000000000, 536870912, None)
    """
    if value is None:
        return None
    from dask.utils import format_bytes, parse_bytes  # here: a job's settings are checked before dask loads

    try:
        size = parse_bytes(str(value).strip())
    except (ValueError, TypeError) as exc:
        raise ValueError("expected a memory size such as 1GB, 512MiB or 2e9 (bytes)") from exc
    if size < 16 * 2**20:
        raise ValueError(f"expected at least 16 MiB (found {format_bytes(size)})")
    return int(size)


def check_scheduler(value: str) -> str:
    """The scheduler named by ``value`` (``serial`` is ``synchronous``).

    Parameters
    ----------
    value : str
        ``threads``, ``processes``, ``synchronous``, ``serial`` or ``tcp://host:port``
        (``--scheduler``).

    Returns
    -------
    str
        The scheduler's name, or the address unchanged.

    Raises
    ------
    ValueError
        If ``value`` is neither a local scheduler nor a ``tcp://host:port`` address with a port
        from 1 to 65535.

    Examples
    --------
    >>> check_scheduler("serial"), check_scheduler("tcp://10.0.0.5:8786")
    ('synchronous', 'tcp://10.0.0.5:8786')
    """
    value = ALIASES.get(value.strip(), value.strip())
    if value in LOCAL_SCHEDULERS:
        return value
    match = _ADDRESS.match(value)
    if match is None or not 0 < int(match["port"]) < 65536:
        raise ValueError("expected threads, processes, synchronous or the address of a running dask "
                         "scheduler as tcp://host:port (e.g. tcp://10.0.0.5:8786)")
    return value


class ExecutionSettings(BaseModel):
    """The execution settings shared by the heavy jobs (module doc): a mixin of their
    configurations, e.g. ``class Xanes2DConfig(JobConfig, ExecutionSettings)``.

    Parameters
    ----------
    scheduler : str
        ``threads`` (default), ``processes``, ``synchronous`` (or ``serial``) or the
        ``tcp://host:port`` address of a running dask.distributed scheduler (``--scheduler``).
    memory_limit : str, optional
        Memory the job may hold at once, e.g. ``"1GB"`` (``--memory-limit``; per worker on a
        cluster).

    Examples
    --------
    >>> ExecutionSettings(memory_limit="1GB").out_of_core
    True
    """

    scheduler: str = "threads"
    memory_limit: str | None = None

    @field_validator("scheduler")
    @classmethod
    def _known_scheduler(cls, value: str) -> str:
        return check_scheduler(value)

    @field_validator("memory_limit")
    @classmethod
    def _memory_size(cls, value: str | None) -> str | None:
        parse_memory_limit(value)
        return value

    @property
    def memory_limit_bytes(self) -> int | None:
        """``memory_limit`` in bytes (None if not set)."""
        return parse_memory_limit(self.memory_limit)

    @property
    def out_of_core(self) -> bool:
        """True when the settings ask for chunked work: a memory limit or a scheduler of processes."""
        return self.memory_limit is not None or self.scheduler not in ("threads", "synchronous")


@dataclass
class Execution:
    """The execution a job runs in (what :func:`execution` yields).

    Parameters
    ----------
    scheduler : str
        The scheduler (:func:`check_scheduler`).
    workers : int
        Tasks that run at once (threads of all workers).
    threads_per_worker : int
        Threads of one worker (that share its memory).
    worker_memory : int or None
        Memory of one worker (bytes), None if unbounded.
    address : str, optional
        The dask.distributed scheduler's address, if any.
    """

    scheduler: str
    workers: int
    threads_per_worker: int
    worker_memory: int | None
    address: str | None = None

    def chunk_bytes(self) -> int:
        """:func:`chunk_bytes` for this execution."""
        return chunk_bytes(self.worker_memory, self.threads_per_worker)


def chunk_bytes(memory_bytes: int | None, threads: int = 1) -> int:
    """Bytes of stored (float32) data per chunk such that the chunks in flight fit a memory limit:
    ``threads`` × chunk × :data:`BYTES_PER_VALUE` / 4 ≤ :data:`CHUNK_SHARE` × ``memory_bytes``, at
    most :data:`MAX_CHUNK_BYTES` (that without a limit). Chunks are strips of whole rows holding every
    energy (dask's ``"auto"`` chunking sizes them to this many bytes).

    Parameters
    ----------
    memory_bytes : int or None
        The memory limit of one worker (bytes); None for no limit.
    threads : int
        Chunks processed at once in that memory.

    Returns
    -------
    int
        Bytes per chunk.

    Examples
    --------
    >>> chunk_bytes(parse_memory_limit("64MiB"), threads=2) / 2**20, chunk_bytes(None) / 2**20
    (2.0, 16.0)
    """
    if memory_bytes is None:
        return MAX_CHUNK_BYTES
    share = CHUNK_SHARE * memory_bytes / max(threads, 1) * 4 / BYTES_PER_VALUE
    return int(min(max(share, MIN_CHUNK_BYTES), MAX_CHUNK_BYTES))


def _current_client(address: str):
    """The distributed client of this process already connected to ``address``, if any (an
    experiment opens one for all its steps)."""
    import distributed

    try:
        client = distributed.default_client()
    except ValueError:
        return None
    return client if client.scheduler.address == address else None


def _cluster_shape(client) -> tuple[int, int, int | None]:
    """(workers' threads in all, threads of one worker, memory of one worker) of a cluster."""
    workers = client.scheduler_info().get("workers", {})
    threads = [w.get("nthreads", 1) for w in workers.values()] or [1]
    limits = [w.get("memory_limit") or 0 for w in workers.values()]
    memory = min(limits) if limits and min(limits) > 0 else None
    return sum(threads), max(threads), memory


@contextmanager
def execution(settings: ExecutionSettings) -> Iterator[Execution]:
    """Run the dask computations inside the block with the job's scheduler (module doc).

    Parameters
    ----------
    settings : ExecutionSettings
        A heavy job's configuration.

    Yields
    ------
    Execution
        The scheduler and the resources the job's chunks are sized for.

    Raises
    ------
    ConfigError
        If no dask scheduler answers at a ``tcp://`` address (naming ``--scheduler``).

    Examples
    --------
    >>> import dask.array as da
    >>> with execution(ExecutionSettings(scheduler="synchronous", memory_limit="1GB")) as run:
    ...     total = float(da.ones(100, chunks=10).sum().compute())
    >>> total, run.workers, run.worker_memory
    (100.0, 1, 1000000000)
    """
    import dask

    scheduler, limit = settings.scheduler, settings.memory_limit_bytes
    cores = os.cpu_count() or 1
    if scheduler == "synchronous":
        with dask.config.set(scheduler="synchronous"):
            yield Execution(scheduler, 1, 1, limit)
        return
    if scheduler == "threads":  # dask's threads share the cores: BLAS starts none of its own
        with dask.config.set(scheduler="threads"), one_blas_thread():
            yield Execution(scheduler, cores, cores, limit)
        return
    import distributed

    if scheduler == "processes":
        import logging

        per_worker = "auto" if limit is None else limit // cores
        # dask's limit is a worker's whole memory: its share of the job's limit for the chunks, plus
        # the process itself (a limit of the chunks' share alone kept the workers paused for good)
        process = "auto" if limit is None else per_worker + WORKER_PROCESS_BYTES
        with distributed.LocalCluster(n_workers=cores, threads_per_worker=1, processes=True,
                                      memory_limit=process, dashboard_address=None,
                                      silence_logs=logging.ERROR) as cluster, \
                distributed.Client(cluster) as client:
            _, _, memory = _cluster_shape(client)
            yield Execution(scheduler, cores, 1, memory if limit is None else per_worker,
                            cluster.scheduler_address)
        return
    client = _current_client(scheduler)
    if client is not None:
        total, per_worker, memory = _cluster_shape(client)
        yield Execution(scheduler, total, per_worker, limit or memory, scheduler)
        return
    try:
        client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        raise ConfigError(f"--scheduler {scheduler}: no dask scheduler answered within {CONNECT_TIMEOUT_S} s "
                          f"({exc}); expected the address of a running dask.distributed scheduler (the "
                          "address `dask scheduler` prints)") from exc
    with client:
        total, per_worker, memory = _cluster_shape(client)
        yield Execution(scheduler, total, per_worker, limit or memory, scheduler)
