"""The fitter and the synchronisation on real operando lab XRD (LiCoVO4 spinel cell, Cu Kα; patterns no. 1
and 43 of 100 and the voltage log, tests/data/xrd/SOURCES.md). Upstream places pattern n at
(n − 1) × 1140 s on the voltage log's clock."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from redoxmap.diffraction import fit_cubic_cell, fit_reflections
from redoxmap.echem import attach_cycler, standard_table
from redoxmap.io.xrd import read_xrd_series

DATA = Path(__file__).parent / "data" / "xrd"
SPINEL = {"220": (29.9, 31.6), "400": (43.0, 44.5), "511": (57.2, 58.9), "440": (62.6, 64.8)}


def voltage_log() -> pd.DataFrame:
    raw = pd.read_csv(DATA / "lcov_charge.txt", sep=r"\s+", header=None, names=["clock", "volt", "current"])
    parts = raw.clock.str.split(":", expand=True).astype(float)
    return standard_table((parts[0] * 3600 + parts[1] * 60 + parts[2]).to_numpy(), raw.volt.to_numpy(),
                          raw.current.to_numpy() * 1e-6)


@pytest.fixture(scope="module")
def fitted():
    series = read_xrd_series([DATA / "lcov_1.txt", DATA / "lcov_43.txt"], time_s=[0.0, 42 * 1140.0])
    series = attach_cycler(series, voltage_log())
    peaks = fit_reflections(series, SPINEL, ka2=True)
    return series, peaks, fit_cubic_cell(peaks)


def test_spinel_220_moves_by_a_third_of_a_degree_on_charge(fitted):
    """SOURCES: the (220) peak near 30.6° moves to ≈30.93° at the end of charge (its maximum)."""
    _, peaks, _ = fitted
    start, charged = peaks.center.sel(peak="220").values
    assert start == pytest.approx(30.60, abs=0.04) and charged == pytest.approx(30.93, abs=0.04)
    assert charged - start > 0.3 and peaks.converged.all()
    assert (peaks.center_err.values < 0.03).all()


def test_cubic_cell_of_pristine_licovo4_and_its_contraction(fitted):
    """Pristine a close to the reported ≈ 8.27 Å of LiCoVO4 (inverse spinel); the four reflections agree
    within 0.02 Å (lab operando cell: sample displacement)."""
    _, _, cell = fitted
    assert float(cell.a[0]) == pytest.approx(8.27, abs=0.01)
    assert float(cell.a[0] - cell.a[1]) > 0.07
    a_each = cell.d * np.sqrt((cell.hkl ** 2).sum("index"))
    assert float(np.ptp(a_each.values, axis=1).max()) < 0.02


def test_patterns_land_on_the_voltage_log(fitted):
    """Pattern 43 at 47,880 s = 13:18:00 on the log, whose row there reads 4.445 V."""
    series, _, _ = fitted
    assert series.in_range.values.all()
    assert series.voltage_v.values[1] == pytest.approx(4.445, abs=0.001)
    assert series.voltage_v.values[0] == pytest.approx(3.182, abs=0.001)
