"""Cycle metrics, retention, voltage decay and dQ/dV on simulated records with known answers."""

from pathlib import Path

import numpy as np
import pytest

from redoxmap.echem import CycleError, cycle_dqdv, cycle_table, dqdv, dqdv_peaks, read_cycler, standard_table
from redoxmap.errors import FitError

DATA = Path(__file__).parent / "data" / "echem"
CHARGE_PEAKS_V = (3.70, 4.20)
DISCHARGE_PEAKS_V = (3.67, 4.17)  # 30 mV hysteresis


def _segment(peaks_v, capacity_ah, rng, points=3000, noise_v=0.001, width_v=0.02):
    """Constant-current V(Q) of two redox plateaus: Q(V) ∝ Σ_k 1/(1 + exp(−(V − V_k)/w)) plus a small
    capacitive slope, inverted on an even Q grid, with Gaussian voltage noise."""
    v = np.linspace(3.3, 4.5, 20000)
    q_of_v = sum(0.5 / (1 + np.exp(-(v - vk) / width_v)) for vk in peaks_v) + 0.05 * (v - 3.3)
    q = np.linspace(0, capacity_ah, points)
    return q, np.interp(q, q_of_v / q_of_v[-1] * capacity_ah, v) + rng.normal(0, noise_v, points)


def simulated_cycling(seed=0, cycles=5, fade=0.98, current_a=1e-3):
    """Charge (with a 30 min constant-voltage hold), rest, discharge, rest per cycle; the capacity of
    cycle n is 1 mAh · fade^(n−1) for both charge and discharge, the CV hold adds 0.083 mAh."""
    rng = np.random.default_rng(seed)
    parts, t0 = [], 0.0

    def add(t, v, i, n):
        parts.append((t, v, i, np.full(len(t), n)))
        return t[-1]

    for n in range(1, cycles + 1):
        capacity = 1e-3 * fade ** (n - 1)
        q, v = _segment(CHARGE_PEAKS_V, capacity, rng)
        t0 = add(t0 + q / current_a * 3600, v, np.full(q.size, current_a), n)
        hold = t0 + np.linspace(10, 1800, 100)
        t0 = add(hold, np.full(100, 4.5), current_a * np.exp(-(hold - t0) / 300), n)
        t0 = add(t0 + np.linspace(10, 600, 30), np.full(30, 4.3), np.zeros(30), n)
        q, v = _segment(DISCHARGE_PEAKS_V, capacity, rng)
        t0 = add(t0 + 10 + q / current_a * 3600, v[::-1], np.full(q.size, -current_a), n)
        t0 = add(t0 + np.linspace(10, 600, 30), np.full(30, 3.5), np.zeros(30), n)
    t, v, i, c = (np.concatenate(x) for x in zip(*parts, strict=True))
    return standard_table(t, v, i, cycle=c)


@pytest.fixture(scope="module")
def cycling():
    return simulated_cycling()


def test_cycle_table_capacities_retention_and_energy(cycling):
    table = cycle_table(cycling, mass_mg=10.0).set_index("cycle")
    assert list(table.index) == [1, 2, 3, 4, 5]
    expected = 1e-3 * 0.98 ** np.arange(5)
    np.testing.assert_allclose(table.discharge_capacity_ah, expected, rtol=4e-3)  # + 10 s step edges
    np.testing.assert_allclose(table.capacity_retention, 0.98 ** np.arange(5), rtol=2e-3)
    # the CV hold passes ∫ I e^(−t/300 s) dt ≈ 1 mA · 300 s = 0.083 mAh on top of the CC charge
    hold_ah = 1e-3 * 300 * (np.exp(-10 / 300) - np.exp(-1800 / 300)) / 3600
    np.testing.assert_allclose(table.charge_capacity_ah, expected + hold_ah, rtol=5e-3)
    np.testing.assert_allclose(table.coulombic_efficiency, expected / (expected + hold_ah), rtol=5e-3)
    assert table.discharge_capacity_mah_g.iloc[0] == pytest.approx(100.0, rel=4e-3)  # 1 mAh / 10 mg
    # the same V(Q) shape every cycle: no voltage decay; mean discharge voltage between the plateaus
    assert np.abs(table.voltage_decay_v).max() < 1e-3
    assert 3.85 < table.mean_discharge_voltage_v.iloc[0] < table.mean_charge_voltage_v.iloc[0] < 4.05
    np.testing.assert_allclose(table.discharge_energy_wh,
                               table.discharge_capacity_ah * table.mean_discharge_voltage_v)
    assert cycle_table(cycling, reference_cycle=3).set_index("cycle").capacity_retention[3] == 1.0


def test_voltage_decay_is_measured():
    data = simulated_cycling(cycles=3)
    later = data.cycle == 3
    data.loc[later & (data.step_type == "discharge"), "voltage_v"] -= 0.050
    table = cycle_table(data).set_index("cycle")
    assert table.voltage_decay_v[3] == pytest.approx(-0.050, abs=1e-3)
    assert table.voltage_decay_v[2] == pytest.approx(0.0, abs=1e-3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dqdv_peaks_at_the_plateau_voltages(seed):
    """Peaks within 5 mV of the plateau voltages, for charge (CV hold left out) and discharge."""
    data = simulated_cycling(seed=seed, cycles=2)
    for kind, true in (("charge", CHARGE_PEAKS_V), ("discharge", DISCHARGE_PEAKS_V)):
        peaks = dqdv_peaks(cycle_dqdv(data, 2, kind))
        assert len(peaks) == 2
        np.testing.assert_allclose(np.sort(peaks.voltage_v), true, atol=0.005)


def test_dqdv_without_noise_is_exact_and_area_is_capacity():
    q, v = _segment(CHARGE_PEAKS_V, 1e-3, np.random.default_rng(0), noise_v=0.0)
    curve = dqdv(q, v)
    peaks = dqdv_peaks(curve)
    np.testing.assert_allclose(peaks.voltage_v, CHARGE_PEAKS_V, atol=5e-4)
    area = np.trapezoid(curve.dqdv_ah_v, curve.voltage_v)
    assert area == pytest.approx(1e-3, rel=1e-3)  # ∫ dQ/dV dV = Q


def test_dqdv_of_a_real_neware_cycle():
    """Real cycle (Neware .nda, 1.72–4.20 V): dQ/dV integrates to the cycle's discharge capacity, and
    its strongest peak sits where a plain histogram of the charge passed per 10 mV of voltage (an
    independent computation on the raw points) has its maximum, within one histogram bin."""
    data = read_cycler(DATA / "TestFile.nda")
    curve = cycle_dqdv(data, 2, "discharge")
    table = cycle_table(data).set_index("cycle")
    area = np.trapezoid(curve.dqdv_ah_v, curve.voltage_v)
    assert area == pytest.approx(table.discharge_capacity_ah[2], rel=0.01)
    peaks = dqdv_peaks(curve)
    strongest = float(peaks.voltage_v.iloc[int(np.argmax(peaks.dqdv_ah_v))])
    part = data[(data.cycle == 2) & (data.step_type == "discharge")]
    dq = np.diff(part.discharge_capacity_ah.to_numpy())
    mid_v = 0.5 * (part.voltage_v.to_numpy()[1:] + part.voltage_v.to_numpy()[:-1])
    edges = np.arange(1.7, 4.25, 0.01)
    histogram, _ = np.histogram(mid_v, bins=edges, weights=dq)
    assert strongest == pytest.approx(edges[np.argmax(histogram)] + 0.005, abs=0.01)


def test_cycle_errors(cycling):
    cycling = cycling.copy()
    cycling.attrs["source"] = "cell.csv"
    with pytest.raises(CycleError, match="cell.csv: cycle 9 has no discharge; cycles with a discharge"):
        cycle_dqdv(cycling, 9, "discharge")
    with pytest.raises(CycleError, match="kind must be"):
        cycle_dqdv(cycling, 1, "rest")
    with pytest.raises(CycleError, match="reference cycle 7 has no discharge"):
        cycle_table(cycling, reference_cycle=7)
    with pytest.raises(CycleError, match=r"cell.csv: no column\(s\) \['voltage_v'\]"):
        cycle_table(cycling.drop(columns="voltage_v"))
    with pytest.raises(FitError, match="expected one charge or discharge"):
        dqdv(np.zeros(20), np.full(20, 3.7))
