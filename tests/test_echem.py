"""Cycler files, cycle metrics and dQ/dV (issue 7, first formats)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from redoxmap.echem import cycle_table, dqdv, dqdv_peaks, read_cycler
from redoxmap.errors import FormatError

DATA = Path(__file__).parent / "data" / "echem"


def test_arbin_csv_into_the_standard_table():
    data = read_cycler(DATA / "arbin_example.csv")
    assert len(data) == 2142 and sorted(data.cycle.unique()) == [1, 2]  # SOURCES: 2,142 rows, 2 cycles
    for column in ("time_s", "voltage_v", "current_a", "capacity_ah", "cycle", "step", "step_type"):
        assert column in data
    raw = pd.read_csv(DATA / "arbin_example.csv")
    cycle2 = raw[raw.Cycle_Index == 2]
    table = cycle_table(data).set_index("cycle")
    # the cycle's discharge capacity equals the rise of Arbin's own discharge counter in that cycle
    expected = cycle2.Discharge_Capacity.max() - cycle2.Discharge_Capacity.min()
    assert table.loc[2, "discharge_capacity_ah"] == pytest.approx(expected, rel=1e-3)
    assert 0.98 < table.loc[2, "coulombic_efficiency"] < 1.02
    assert 2.5 < table.loc[2, "mean_discharge_voltage_v"] < table.loc[2, "mean_charge_voltage_v"] < 4.0


def test_second_arbin_file_is_a_rest_only_record():
    data = read_cycler(DATA / "FastCharge_000025_CH8.csv")
    assert len(data) == 248 and set(data.step_type) == {"rest"}


def test_bad_files_are_named(tmp_path):
    truncated = tmp_path / "cut.csv"
    truncated.write_text((DATA / "arbin_example.csv").read_text().splitlines()[0] + "\n")
    with pytest.raises(FormatError, match="cut.csv: Arbin CSV without data rows"):
        read_cycler(truncated)
    unknown = tmp_path / "notes.txt"
    unknown.write_text("hello,world\n1,2\n")
    with pytest.raises(FormatError, match="notes.txt: unknown cycler format"):
        read_cycler(unknown)
    partial = tmp_path / "partial.csv"
    partial.write_text("Test_Time,Voltage\n0,3.0\n")
    with pytest.raises(FormatError, match=r"partial.csv: looks like an Arbin CSV but lacks"):
        read_cycler(partial)


def test_dqdv_peaks_at_the_plateaus():
    """Two redox plateaus at 3.70 and 4.20 V: Q(V) = Σ_k Q_k / (1 + exp(−(V − V_k)/w)) plus a
    small capacitive slope, sampled at constant current (even Q) with 1 mV noise. The dQ/dV peaks
    sit at V_k within 5 mV."""
    v_fine = np.linspace(3.3, 4.5, 20000)
    q_of_v = sum(0.5 / (1 + np.exp(-(v_fine - vk) / 0.02)) for vk in (3.70, 4.20)) + 0.05 * (v_fine - 3.3)
    q = np.linspace(q_of_v[0], q_of_v[-1], 4000)
    voltage = np.interp(q, q_of_v, v_fine) + np.random.default_rng(0).normal(0, 0.001, q.size)
    peaks = dqdv_peaks(dqdv(q, voltage)).nlargest(2, "dqdv_ah_v").sort_values("voltage_v")
    assert peaks.voltage_v.to_numpy() == pytest.approx([3.70, 4.20], abs=0.005)


def test_echem_command_writes_tables_and_figures(tmp_path):
    from typer.testing import CliRunner

    from redoxmap.cli import app

    result = CliRunner().invoke(app, ["echem", str(DATA / "arbin_example.csv"), "--mass-mg", "5",
                                      "--report", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "2142 rows, 2 cycles" in result.output
    cycles = pd.read_csv(tmp_path / "out" / "cycles.csv")
    assert cycles.discharge_capacity_mah_g.iloc[1] == pytest.approx(
        cycles.discharge_capacity_ah.iloc[1] * 1e3 / 5e-3)
    for name in ("capacity.png", "profiles.png", "dqdv.png"):
        assert (tmp_path / "out" / name).stat().st_size > 1000


def test_biologic_mpr_and_mpt_pair_agree():
    """The same measurement as .mpr (galvani) and as its .mpt text export (own parser)."""
    binary = read_cycler(DATA / "gcpl.issue_226.I.mpr")
    text = read_cycler(DATA / "gcpl.issue_226.I.mpt")
    assert len(binary) == len(text) == 15
    np.testing.assert_allclose(binary.voltage_v, text.voltage_v, atol=1e-6)
    np.testing.assert_allclose(binary.current_a, text.current_a, atol=1e-9)
    assert binary.current_a.abs().max() == pytest.approx(120e-6, rel=1e-3)  # 120 µA steps in the header


def test_biologic_modulo_bat_and_neware_files_match_sources():
    mb = read_cycler(DATA / "mb.issue_149.mpr")
    assert len(mb) == 564 and 3.42 <= mb.voltage_v.min() and mb.voltage_v.max() <= 3.47
    assert mb.time_s.max() / 3600 == pytest.approx(0.2, abs=0.03)
    nda = read_cycler(DATA / "TestFile.nda")
    assert len(nda) == 6670  # SOURCES: 6,670 rows, 2 full cycles, 1.72–4.20 V, −3.0…+1.2 A
    assert [nda.voltage_v.min(), nda.voltage_v.max()] == pytest.approx([1.72, 4.20], abs=0.01)
    assert [nda.current_a.min(), nda.current_a.max()] == pytest.approx([-3.0, 1.2], abs=0.01)
    cycles = cycle_table(nda).set_index("cycle")
    full = cycles[(cycles.charge_capacity_ah > 0) & (cycles.discharge_capacity_ah > 0)]
    assert len(full) == 2  # SOURCES: 2 full cycles (CC_DChg/Rest/CC_Chg/CV_Chg)
    # SOURCES' 20.1 h is the sum of step times; the timestamps also hold a 4.7 h pause inside the
    # last rest step (step time frozen at 71,914.66 s), so the wall-clock record is 24.9 h
    assert nda.time_s.max() / 3600 == pytest.approx(24.89, abs=0.01)
    rest = read_cycler(DATA / "123456789012_Unit27_Example_Data_File.ndax")
    assert len(rest) == 301 and set(rest.step_type) == {"rest"}
