"""Shared simulated scans. Session-scoped: each is simulated once per test run."""

import numpy as np
import pytest

from redoxmap.simulate import demo_dataset


@pytest.fixture(scope="session")
def drifting_scan():
    """Acceptance scene: Mn K-edge, ~4000 counts in the flat, drift up to ±3 px."""
    return demo_dataset(shape=(160, 160), drift_max_px=3.0, flat_counts=4000.0, seed=11)


@pytest.fixture(scope="session")
def small_scan():
    """A small scene without drift, for readers and error paths."""
    return demo_dataset(shape=(40, 48), seed=3)


@pytest.fixture()
def rng():
    return np.random.default_rng(1234)
