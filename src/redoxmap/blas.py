"""The BLAS library's own threads, held to one while redoxmap runs its own.

redoxmap parallelizes over pixels and chunks with its threads (the fit's pool, dask's threaded
scheduler). OpenBLAS also starts threads of its own for a matrix product of more than a few
thousand values, and the two kinds then compete for the same cores: in the 2D fit of a 1024² × 121
stack on 2 cores, one BLAS thread made the fit 1.1× faster, and 1.35× with the larger blocks it
then allowed (``benchmarks/bench_lincomb.py``). dask.distributed
workers already run with one BLAS thread (their environment sets ``OPENBLAS_NUM_THREADS=1``);
:func:`one_blas_thread` does the same within this process, through threadpoolctl.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["one_blas_thread"]


@functools.cache
def _controller():
    """The BLAS libraries loaded in this process (found once: finding them takes milliseconds)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block with one BLAS thread, then give BLAS back the threads it had.

    Blocks nest. OpenBLAS has one thread count for the whole process, so threadpoolctl lets one
    Python thread at a time change it: the thread that holds a block controls it until it leaves,
    and a block entered meanwhile by another thread changes nothing. Enter it in the thread that
    starts the parallel work (the job's, or the fit's caller), not in the workers.

    Examples
    --------
    >>> from threadpoolctl import threadpool_info
    >>> with one_blas_thread():
    ...     {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"} <= {1}
    True
    """
    with _controller().limit(limits=1, user_api="blas"):
        yield
