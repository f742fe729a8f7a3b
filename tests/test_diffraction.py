"""Peak fits and lattice parameters on simulated operando series (known c(t), a(t)), checked against
the truth and against pymatgen's d-spacings and Bragg angles (tests/data/xrd/pymatgen_layered.json)."""

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from redoxmap.diffraction import (
    convert_axis,
    d_hexagonal,
    d_to_two_theta,
    fit_hexagonal_cell,
    fit_peaks,
    fit_reflections,
    layered_windows,
    pseudo_voigt,
    q_to_two_theta,
    two_theta_to_d,
    two_theta_to_q,
)
from redoxmap.errors import FitError, FormatError
from redoxmap.simulate.cycler import galvanostatic_cycle
from redoxmap.simulate.xrd import (
    LAB_CU,
    LAB_CU_DOUBLET,
    SYNCHROTRON,
    layered_cell,
    simulate_xrd_series,
)

PYMATGEN = json.loads((Path(__file__).parent / "data" / "xrd" / "pymatgen_layered.json").read_text())
CYCLER = galvanostatic_cycle()
SCAN_TIMES = np.arange(0.0, CYCLER.time_s.iloc[-1], 1200.0)  # every 20 min over charge and discharge


@settings(max_examples=50, deadline=None)
@given(st.floats(5.0, 170.0), st.floats(0.2, 2.5))
def test_two_theta_q_d_round_trips(two_theta, wavelength):
    q = two_theta_to_q(two_theta, wavelength)
    assert q_to_two_theta(q, wavelength) == pytest.approx(two_theta, abs=1e-9)
    d = two_theta_to_d(two_theta, wavelength)
    assert 2 * np.pi / q == pytest.approx(d, rel=1e-12)
    assert d_to_two_theta(d, wavelength) == pytest.approx(two_theta, abs=1e-9)


def test_conversion_errors_and_axis_swap():
    with pytest.raises(FormatError, match="exceeds 4π/λ"):
        q_to_two_theta(9.0, 1.5406)
    with pytest.raises(FormatError, match="positive wavelength"):
        two_theta_to_q(20.0, 0.0)
    p = xr.DataArray([1.0, 2.0, 3.0], dims="two_theta", coords={"two_theta": [20.0, 30.0, 40.0]})
    with pytest.raises(FormatError, match="give wavelength_a="):
        convert_axis(p, "q")
    back = convert_axis(convert_axis(p, "q", 1.5406), "two_theta")
    np.testing.assert_allclose(back.two_theta.values, [20.0, 30.0, 40.0])


def test_pseudo_voigt_is_area_normalised_with_the_stated_width():
    x = np.linspace(-40, 40, 400001)
    for eta in (0.0, 0.5, 1.0):
        y = pseudo_voigt(x, 0.3, 0.2, eta, area=7.0)
        inside = (1 - eta) * 7.0 + eta * 7.0 * (np.arctan(2 * 39.7 / 0.2) + np.arctan(2 * 40.3 / 0.2)) / np.pi
        assert np.trapezoid(y, x) == pytest.approx(inside, rel=1e-6)
        half = x[y >= y.max() / 2]
        assert half[-1] - half[0] == pytest.approx(0.2, abs=1e-3)


def test_d_spacings_and_bragg_angles_equal_pymatgens():
    """Every stored cell: our hexagonal d = pymatgen's Lattice.d_hkl; our 2θ = XRDCalculator's."""
    hkl = PYMATGEN["reflections"]
    for cell in PYMATGEN["cells"]:
        assert layered_cell(cell["x"]) == pytest.approx((cell["a"], cell["c"]), abs=1e-12)
        for name, d in cell["d"].items():
            assert float(d_hexagonal(hkl[name], cell["a"], cell["c"])) == pytest.approx(d, rel=1e-12)
        for wavelength, angles in cell["two_theta"].items():
            for name, two_theta in angles.items():
                ours = d_to_two_theta(d_hexagonal(hkl[name], cell["a"], cell["c"]), float(wavelength))
                assert float(ours) == pytest.approx(two_theta, abs=1e-9)


@pytest.fixture(scope="module", params=[LAB_CU, LAB_CU_DOUBLET, SYNCHROTRON],
                ids=["CuKa1", "CuKa12", "0.7293A"])
def fitted(request):
    instrument = request.param
    series, truth = simulate_xrd_series(CYCLER, SCAN_TIMES, instrument, seed=7)
    peaks = fit_reflections(series, layered_windows(instrument.wavelength_a), ka2=instrument.ka2)
    return instrument, series, truth, peaks, fit_hexagonal_cell(peaks)


def test_acceptance_peak_positions_within_0002_deg(fitted):
    instrument, series, truth, peaks, _ = fitted
    true = truth.two_theta.sel(peak=peaks.peak.values).values
    error = np.abs(peaks.center.values - true)
    assert peaks.converged.all() and series.sizes["scan"] == 44
    assert error.max() < 0.002, f"max |Δ2θ| = {error.max():.5f}°"
    pull = (peaks.center.values - true) / peaks.center_err.values  # errors are honest 1σ
    assert 0.5 < np.sqrt(np.mean(pull ** 2)) < 1.6


def test_acceptance_c_within_0001_angstrom_on_every_pattern(fitted):
    _, _, truth, _, cell = fitted
    assert np.abs(cell.c - truth.c).max() < 0.001
    assert np.abs(cell.a - truth.a).max() < 0.0005
    assert np.ptp(truth.c.values) > 0.4  # the cell really moves over the cycle
    pull = ((cell.c - truth.c) / cell.c_err).values
    assert np.sqrt(np.mean(pull ** 2)) < 2.0


def test_fitted_cells_reproduce_pymatgens_d_spacings():
    """Scans taken where x equals the stored cells' x: the fitted cell's d-spacings match pymatgen's."""
    charge_s = 0.75 / 0.1 * 3600.0
    x = np.array([cell["x"] for cell in PYMATGEN["cells"]])
    series, _ = simulate_xrd_series(CYCLER, 1800.0 + x / 0.75 * charge_s, SYNCHROTRON, seed=3)
    cell = fit_hexagonal_cell(fit_reflections(series, layered_windows(SYNCHROTRON.wavelength_a)))
    hkl = PYMATGEN["reflections"]
    for i, ref in enumerate(PYMATGEN["cells"]):
        for name, d in ref["d"].items():
            assert float(d_hexagonal(hkl[name], cell.a[i], cell.c[i])) == pytest.approx(d, abs=2e-5)


def test_c_from_003_alone_and_error_paths():
    series, truth = simulate_xrd_series(CYCLER, SCAN_TIMES[:6], LAB_CU, seed=2)
    only = fit_reflections(series, layered_windows(1.5406, ["003"]))
    cell = fit_hexagonal_cell(only)
    assert np.isnan(cell.a).all() and np.abs(cell.c - truth.c).max() < 0.003
    with pytest.raises(FitError, match="three digits hkl"):
        fit_hexagonal_cell(only.assign_coords(peak=["peak0"]))
    with pytest.raises(FitError, match="l = 0"):
        fit_hexagonal_cell(only, hkl={"003": (1, 1, 0)})
    with pytest.raises(FitError, match=r"holds \d points for 1 peak"):
        fit_peaks(series, (18.0, 18.015))
    with pytest.raises(FitError, match="ka2 needs a two_theta axis"):
        fit_peaks(convert_axis(series, "q"), (1.3, 1.4), ka2=True)


def test_two_peaks_in_one_window_and_q_axis():
    """(018)/(110), 0.3° apart at Cu Kα, fitted together; the same pattern on q gives the same d."""
    series, truth = simulate_xrd_series(CYCLER, SCAN_TIMES[:1], LAB_CU, seed=5)
    start = truth.two_theta.sel(peak=["018", "110"]).values[0] + np.array([0.05, -0.05])
    pair = fit_peaks(series, (63.6, 65.6), centers=start, names=["018", "110"])
    np.testing.assert_allclose(pair.center.values[0], truth.two_theta.sel(peak=["018", "110"]).values[0],
                               atol=0.003)
    on_q = fit_peaks(convert_axis(series, "q"), tuple(two_theta_to_q(np.array([17.74, 19.95]), 1.5406)))
    single = fit_peaks(series, (17.74, 19.95))
    assert 2 * np.pi / float(on_q.center[0, 0]) == pytest.approx(float(two_theta_to_d(single.center[0, 0],
                                                                                         1.5406)), abs=1e-4)
