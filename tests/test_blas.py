"""One BLAS thread while redoxmap's threads run, given back afterwards."""

import threading

import numpy as np  # noqa: F401  (loads the BLAS library the tests look at)
from threadpoolctl import threadpool_info, threadpool_limits

from redoxmap.blas import one_blas_thread


def blas_threads() -> set[int]:
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


def test_nested_blocks_keep_one_thread_until_the_outer_one_ends():
    with threadpool_limits(2, user_api="blas"):
        before = blas_threads()
        assert before == {2}  # numpy's OpenBLAS
        with one_blas_thread():
            with one_blas_thread():
                pass
            after_inner = blas_threads()
        assert after_inner <= {1}
        assert blas_threads() == before


def test_a_block_entered_by_a_worker_meanwhile_leaves_the_limit_alone():
    """A worker thread that enters and leaves a block while the job's thread holds one neither
    lifts the limit under the job nor keeps BLAS at one thread after the job's block ends."""
    with threadpool_limits(2, user_api="blas"):
        before = blas_threads()
        seen = {}

        def worker():
            with one_blas_thread():
                pass
            seen["after the worker left"] = blas_threads()

        with one_blas_thread():
            thread = threading.Thread(target=worker)
            thread.start()
            thread.join(10)
        assert seen == {"after the worker left": {1}}
        assert blas_threads() == before


def test_a_job_on_dask_threads_runs_blas_on_one_thread():
    """``execution`` with the threads scheduler holds BLAS to one thread while the job computes
    (dask's threads are the parallel ones), and gives the threads back when the job ends."""
    from redoxmap.pipeline.execution import ExecutionSettings, execution

    with threadpool_limits(2, user_api="blas"):
        with execution(ExecutionSettings(scheduler="threads")):
            during = blas_threads()
        assert during == {1}
        assert blas_threads() == {2}
