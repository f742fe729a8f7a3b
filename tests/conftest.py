"""Shared simulated scans. Session-scoped: each is simulated once per test run. The simulator is
imported inside the fixtures: xdist's controller process loads this file too but runs no test, and
importing redoxmap.simulate (xarray, dask, scipy, matplotlib) costs it ~5 s of CPU."""

import numpy as np
import pytest


@pytest.fixture(scope="session")
def drifting_scan():
    """Acceptance scene: Mn K-edge, ~4000 counts in the flat, drift up to ±3 px."""
    from redoxmap.simulate import demo_dataset

    return demo_dataset(shape=(160, 160), drift_max_px=3.0, flat_counts=4000.0, seed=11)


@pytest.fixture(scope="session")
def small_scan():
    """A small scene without drift, for readers and error paths."""
    from redoxmap.simulate import demo_dataset

    return demo_dataset(shape=(40, 48), seed=3)


@pytest.fixture()
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="module")
def cluster():
    """A dask.distributed LocalCluster of 2 single-threaded workers reached over tcp:// (threads of
    this process: started in about a second, yet every task and result is serialized as for remote
    workers). Module-scoped: a module that forks runs (a SIGKILL test) does so before its first use."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp",
                      dashboard_address=None) as local:
        yield local
