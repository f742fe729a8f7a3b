"""Acceptance on simulated scans: drift up to ±3 px, ~4000 counts per pixel in the flat."""

import numpy as np
import pytest

from redoxmap.fit import lincomb
from redoxmap.preprocess import align_stack, estimate_shifts
from redoxmap.simulate import score_fraction, score_shifts


@pytest.fixture(scope="module")
def aligned(drifting_scan):
    return align_stack(drifting_scan.stack)


def test_alignment_recovers_drift_within_quarter_pixel(drifting_scan):
    shifts = estimate_shifts(drifting_scan.stack)
    error = score_shifts(shifts.shift_y.values, shifts.shift_x.values, drifting_scan.truth,
                         shifts.attrs["reference_energy_ev"])
    assert np.mean(error < 0.25) >= 0.9
    assert np.median(error) < 0.1


@pytest.mark.parametrize("mode", ["lsq", "nnls", "sum1-scaled"])
def test_fraction_recovered_after_alignment(drifting_scan, aligned, mode):
    maps = lincomb(aligned, drifting_scan.refs, mode=mode)
    score = score_fraction(maps, drifting_scan.truth, "cycled",
                           reference_energy_ev=aligned.attrs["align_reference_energy_ev"])
    assert score["pixels"] > 2000
    assert score["rmse"] <= 0.04
    assert abs(score["mean_error"]) <= 0.02


def test_without_alignment_drift_ruins_the_map(drifting_scan):
    """The drift in the acceptance scene matters: skipping alignment fails the RMSE bound."""
    maps = lincomb(drifting_scan.stack, drifting_scan.refs, mode="nnls")
    score = score_fraction(maps, drifting_scan.truth, "cycled")
    assert score["rmse"] > 0.04


def test_max_shift_guard_interpolates_rejected_energies(drifting_scan):
    with pytest.warns(UserWarning, match="above max_shift_px=1"):
        shifts = estimate_shifts(drifting_scan.stack, max_shift_px=1.0)
    assert shifts.rejected.any()
    assert np.abs(shifts.shift_x.values).max() <= 1.0 + 1e-9
    assert np.abs(shifts.shift_y.values).max() <= 1.0 + 1e-9
