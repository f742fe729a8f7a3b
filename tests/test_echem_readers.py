"""Every cycler format in scope into the standard table; numbers from tests/data/echem/SOURCES.md."""

import gzip
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redoxmap.echem import accumulate, cycle_table, read_cycler
from redoxmap.echem.table import STANDARD_COLUMNS
from redoxmap.errors import FormatError, TruncatedFileWarning

DATA = Path(__file__).parent / "data" / "echem"
needs_mdbtools = pytest.mark.skipif(shutil.which("mdb-export") is None,
                                    reason="mdb-export (Debian package mdbtools) not installed")


def coulomb_count(data: pd.DataFrame) -> pd.DataFrame:
    """Per-cycle charge and discharge by integrating the current (trapezoid), in Ah: an independent
    check of the capacities rebuilt from the cyclers' own counters."""
    t, i = data.time_s.to_numpy(), data.current_a.to_numpy()
    dq = np.diff(t, prepend=t[0]) * (i + np.concatenate([i[:1], i[:-1]])) / 2 / 3600
    return pd.DataFrame({"cycle": data.cycle, "charge": np.clip(dq, 0, None),
                         "discharge": np.clip(-dq, 0, None)}).groupby("cycle").sum()


def check_standard(data: pd.DataFrame) -> None:
    assert list(data.columns[:len(STANDARD_COLUMNS)]) == list(STANDARD_COLUMNS)
    assert set(data.step_type) <= {"charge", "discharge", "rest"}
    assert (np.diff(data.charge_capacity_ah) >= -1e-12).all()
    assert (np.diff(data.discharge_capacity_ah) >= -1e-12).all()
    np.testing.assert_allclose(data.capacity_ah, data.charge_capacity_ah - data.discharge_capacity_ah)


def test_maccor_text_export_in_milli_units():
    """SOURCES: 4,009 rows, 15 cycles, "Volts" 1300–3802 (mV); time as '0d 00:01:00.00'."""
    data = read_cycler(DATA / "maccor_three.txt.gz")
    check_standard(data)
    assert len(data) == 4009 and data.cycle.nunique() == 15
    assert [data.voltage_v.min(), data.voltage_v.max()] == pytest.approx([1.300, 3.802], abs=1e-3)
    assert data.time_s.iloc[1] == pytest.approx(60.0)
    cycles = cycle_table(data).set_index("cycle")
    counted = coulomb_count(data)
    np.testing.assert_allclose(cycles.charge_capacity_ah, counted.charge, rtol=0.002)
    np.testing.assert_allclose(cycles.discharge_capacity_ah, counted.discharge, rtol=0.002)
    assert cycles.loc[1, "discharge_capacity_ah"] == pytest.approx(0.84696, rel=1e-4)
    assert cycles.loc[1:13, "coulombic_efficiency"].between(0.98, 1.0).all()


def test_maccor_decimal_commas_and_truncated_last_line():
    """SOURCES: KIT-SIMBA, 213 rows, 1 cycle; the copy ends in the middle of row 214."""
    with pytest.warns(TruncatedFileWarning, match=r"maccor_two.txt: the last line has 9 of 28 fields"):
        data = read_cycler(DATA / "maccor_two.txt")
    assert len(data) == 213 and data.cycle.nunique() == 1
    assert data.voltage_v.iloc[0] == pytest.approx(0.1377)
    assert data.time_s.iloc[-1] == pytest.approx(212 * 60)  # bare TestTime in minutes (DPT clock)
    assert set(data.step_type) == {"rest"}


def test_maccor_raw_exports():
    """SOURCES: PreDiag .034 4,061 rows, 2 cycle indices; .041 74 rows; .001 8 rows ('Test (Min)')."""
    prediag = read_cycler(DATA / "PreDiag_000229_000229_truncated.034.gz")
    check_standard(prediag)
    assert len(prediag) == 4061 and sorted(prediag.cycle.unique()) == [0, 1]
    assert prediag.attrs["procedure"] == "PreDiag_000229.000"
    cycles = cycle_table(prediag).set_index("cycle")
    counted = coulomb_count(prediag)
    np.testing.assert_allclose(cycles.charge_capacity_ah, counted.charge, rtol=0.001)
    assert cycles.loc[0, "discharge_capacity_ah"] == pytest.approx(counted.loc[0, "discharge"], rel=0.001)
    assert cycles.loc[1, "charge_capacity_ah"] == pytest.approx(4.7734, abs=1e-3)
    eis = read_cycler(DATA / "maccor_test_file_4267-66-6519.041")
    assert len(eis) == 74 and eis.time_s.max() == pytest.approx(10.0)
    short = read_cycler(DATA / "maccor_example.001")
    assert len(short) == 8 and short.time_s.iloc[-1] == pytest.approx(70.0, abs=0.01)
    assert short.voltage_v.iloc[0] == pytest.approx(3.30678264)


def test_neware_csv_export():
    """SOURCES: 9,065 rows, 4 cycles, 0.05–2.96 V, ≤ 0.99 mA; Neware's capacities restart per step."""
    data = read_cycler(DATA / "neware_uio.csv.gz")
    check_standard(data)
    assert len(data) == 9065 and sorted(data.cycle.unique()) == [1, 2, 3, 4]
    assert [data.voltage_v.min(), data.voltage_v.max()] == pytest.approx([0.05, 2.957], abs=0.001)
    assert data.current_a.abs().max() == pytest.approx(0.992e-3, abs=1e-5)
    assert data.time_s.iloc[-1] == pytest.approx(144 * 3600 + 2 * 60 + 18)  # "144:02:18"
    cycles = cycle_table(data).set_index("cycle")
    raw = pd.read_csv(DATA / "neware_uio.csv.gz")
    # cycle 1 has three discharge steps (2, 4, 6); the cycle's discharge is the sum of their ends
    per_step = raw[raw["Cycle Index"] == 1].groupby("Step Index")["DChg. Cap.(Ah)"].max()
    assert cycles.loc[1, "discharge_capacity_ah"] == pytest.approx(per_step.sum(), rel=1e-4)
    np.testing.assert_allclose(cycles.charge_capacity_ah, coulomb_count(data).charge, rtol=0.001)


def test_neware_csv_row_without_a_time(tmp_path):
    """A row whose cumulative time cannot be read (here the first) is dropped with a warning; without
    Neware's capacity columns the charge is integrated over the other rows, and the start time comes
    from the first row with a clock and a time (found by fuzzing: NaN capacities on every later row,
    and a ValueError from the start time)."""
    path = tmp_path / "neware.csv"
    path.write_text("Cycle Index,Step Index,Step Type,Time,Cumulative Time,Current(A),Voltage(V),Date\n"
                    + "".join(f"1,1,CC Chg,00:0{m}:00,{'0x' if m == 0 else '00'}:0{m}:00,0.001,3.{m},"
                              f"2022-05-18 16:0{m}:00\n" for m in range(4)))
    with pytest.warns(UserWarning, match="1 row"):
        data = read_cycler(path)
    assert data.time_s.tolist() == [60.0, 120.0, 180.0]
    assert data.charge_capacity_ah.tolist() == pytest.approx([0.0, 1e-3 / 60, 2e-3 / 60])
    assert data.attrs["start_time"] == "2022-05-18T16:00:00"


@needs_mdbtools
def test_arbin_res_through_mdbtools():
    """SOURCES: 7,218 rows, 3 cycle indices, 3.0–4.2 V, ±0.18 mA, 88.6 h, Qdis max 3.32 mAh."""
    data = read_cycler(DATA / "20210210_FC_01_cc_01.res.gz")
    check_standard(data)
    assert data.attrs["format"] == "arbin-res" and data.attrs["source"].endswith("cc_01.res.gz")
    assert len(data) == 7218 and sorted(data.cycle.unique()) == [1, 2, 3]
    assert [data.voltage_v.min(), data.voltage_v.max()] == pytest.approx([3.0, 4.2], abs=0.01)
    assert data.current_a.abs().max() == pytest.approx(0.18e-3, abs=0.005e-3)
    assert data.time_s.max() / 3600 == pytest.approx(88.6, abs=0.1)
    assert "UsedElectrode_FullCell" in data.attrs["schedule"]
    assert data.attrs["mass_mg"] == pytest.approx(22.64, abs=0.01)
    cycles = cycle_table(data, mass_mg=data.attrs["mass_mg"]).set_index("cycle")
    assert cycles.discharge_capacity_ah.max() * 1e3 == pytest.approx(3.32, abs=0.01)
    np.testing.assert_allclose(cycles.discharge_capacity_ah, coulomb_count(data).discharge, rtol=0.001)
    assert cycles.loc[1, "discharge_capacity_mah_g"] == pytest.approx(146.8, abs=0.5)


def test_arbin_res_without_mdbtools_names_the_package(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(FormatError, match=r"20210210_FC_01_cc_01.res.gz: an Arbin .res .*'mdbtools'"):
        read_cycler(DATA / "20210210_FC_01_cc_01.res.gz")


def test_biologic_files():
    """The Modulo Bat .mpr (galvani) and its .mpt export (own parser) agree; a GCPL .mpr matches
    SOURCES: 2,767 rows, Ewe −0.6…0.5 V, ±0.068 mA, 8.0 h."""
    binary = read_cycler(DATA / "mb.issue_149.mpr")
    text = read_cycler(DATA / "mb.issue_149.mpt.gz")
    assert len(binary) == len(text) == 564
    np.testing.assert_allclose(binary.voltage_v, text.voltage_v, atol=1e-6)
    np.testing.assert_allclose(binary.current_a, text.current_a, atol=1e-9)
    np.testing.assert_allclose(binary.time_s, text.time_s, atol=1e-3)
    gcpl = read_cycler(DATA / "gcpl.issue_211.mpr")
    check_standard(gcpl)
    assert len(gcpl) == 2767
    assert [gcpl.voltage_v.min(), gcpl.voltage_v.max()] == pytest.approx([-0.6, 0.5], abs=0.01)
    assert gcpl.current_a.abs().max() == pytest.approx(0.068e-3, abs=0.002e-3)
    assert (gcpl.time_s.iloc[-1] - gcpl.time_s.iloc[0]) / 3600 == pytest.approx(8.0, abs=0.05)
    cycles = cycle_table(gcpl, mass_mg=0.790)
    assert cycles.charge_capacity_ah.iloc[0] == pytest.approx(coulomb_count(gcpl).charge.iloc[0], rel=0.01)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_bad_files_give_errors_naming_the_file(tmp_path):
    mpr = (DATA / "gcpl.issue_211.mpr").read_bytes()
    with pytest.raises(FormatError, match="cut.mpr: not a readable EC-Lab .mpr"):
        read_cycler(_write(tmp_path / "cut.mpr", mpr[:3000]))
    maccor = (DATA / "maccor_example.001").read_text().splitlines()
    with pytest.raises(FormatError, match="head.001: MACCOR export without data rows"):
        read_cycler(_write(tmp_path / "head.001", "\n".join(maccor[:2]).encode()))
    no_volts = "\n".join(line.replace("Volts", "Other") for line in maccor)
    with pytest.raises(FormatError, match=r"novolts.001: MACCOR export without a current .* or voltage"):
        read_cycler(_write(tmp_path / "novolts.001", no_volts.encode()))
    neware = b"Cycle Index,Step Index,Step Type,Voltage(V)\n1,1,Rest,3\n"
    with pytest.raises(FormatError, match="nocurrent.csv: looks like a Neware CSV export but lacks .*Curr"):
        read_cycler(_write(tmp_path / "nocurrent.csv", neware))
    with pytest.raises(FormatError, match="blob.bin: a binary file of a format redoxmap does not read"):
        read_cycler(_write(tmp_path / "blob.bin", b"\x00\x01\x02" * 100))
    with pytest.raises(FormatError, match="empty.csv: empty file"):
        read_cycler(_write(tmp_path / "empty.csv", b""))
    with pytest.raises(FormatError, match="nova.csv: a Novonix HPC export"):
        read_cycler(_write(tmp_path / "nova.csv", b"[Summary]\nNovonix HPC data file\nNovonix\n"))
    packed = gzip.compress((DATA / "maccor_example.001").read_bytes())
    with pytest.raises(FormatError, match="cut.001.gz: truncated or damaged gzip"):
        read_cycler(_write(tmp_path / "cut.001.gz", packed[: len(packed) // 2]))
    with pytest.raises(FormatError, match="missing.res: file not found"):
        read_cycler(tmp_path / "missing.res")


@needs_mdbtools
def test_truncated_res_names_the_file(tmp_path):
    raw = gzip.decompress((DATA / "20210210_FC_01_cc_01.res.gz").read_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(FormatError, match="cut.res: "):
            read_cycler(_write(tmp_path / "cut.res", raw[:20000]))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.floats(0, 10), min_size=1, max_size=8), min_size=1, max_size=6))
def test_accumulate_sums_restarting_counters(steps):
    """A counter that restarts from zero at each step: the total is the sum of each step's end value."""
    counters = [np.concatenate([[0.0], np.cumsum(s)]) for s in steps]
    boundary = np.concatenate([np.r_[True, np.zeros(len(c) - 1, bool)] for c in counters])
    total = accumulate(np.concatenate(counters), boundary)
    assert total[-1] == pytest.approx(sum(c[-1] for c in counters))
    assert (np.diff(total) >= 0).all()


def _galvani_frame(name: str) -> pd.DataFrame:
    from galvani import BioLogic

    with open(DATA / name, "rb") as fh:
        return pd.DataFrame(BioLogic.MPRfile(fh).data)


@pytest.mark.parametrize("name", ["gcpl.issue_211.mpr", "gcpl.pr_182.1.mpr"])
def test_biologic_cycles_from_half_cycles(name):
    """Issue 12: GCPL files without a 'cycle number' column give 5 cycles (not 1), each a charge and
    the discharge after it; pr_182.1 starts with a discharge (half cycle 0), which is cycle 0 alone,
    and ends with a charge. Per-cycle capacities agree within 1 % with galvani's half-cycle sums of
    dq/mA.h and with EC-Lab's own per-half-cycle counter 'Q charge/discharge'. Without the half-cycle
    column the sign of the current gives the same cycles."""
    from redoxmap.echem.table import _charge_cycles

    data = read_cycler(DATA / name)
    table = cycle_table(data).set_index("cycle")
    assert list(table.index) == [0, 1, 2, 3, 4]
    raw = _galvani_frame(name)
    assert "cycle number" not in raw
    halves = raw.groupby("half cycle")
    dq_ah = halves["dq/mA.h"].sum() * 1e-3
    counter_ah = halves["Q charge/discharge/mA.h"].last().abs() * 1e-3
    np.testing.assert_allclose(dq_ah.abs(), counter_ah, rtol=0.01)
    cycle_of_half = dq_ah.index // 2  # charge + following discharge; in both files EC-Lab's half // 2
    expected_charge = dq_ah.clip(lower=0).groupby(cycle_of_half).sum()
    expected_discharge = (-dq_ah).clip(lower=0).groupby(cycle_of_half).sum()
    np.testing.assert_allclose(table.charge_capacity_ah, expected_charge, rtol=0.01, atol=1e-9)
    np.testing.assert_allclose(table.discharge_capacity_ah, expected_discharge, rtol=0.01, atol=1e-9)
    increment = np.diff(data.capacity_ah.to_numpy(), prepend=0.0)
    np.testing.assert_array_equal(_charge_cycles(increment, data.current_a.to_numpy()), data.cycle)


def test_biologic_counter_resets_are_not_capacity():
    """Issue 12: in mb.issue_149 the (Q-Qo) counter restarts at every loop (it falls three times)
    although the current is never negative: the discharge capacity is 0 and the charge is the sum of
    EC-Lab's dq over the record, from the .mpr and from its .mpt export."""
    raw = _galvani_frame("mb.issue_149.mpr")
    assert (np.diff(raw["(Q-Qo)/mA.h"]) < -1e-3).sum() == 3 and raw["I/mA"].min() >= 0
    for name in ("mb.issue_149.mpr", "mb.issue_149.mpt.gz"):
        table = cycle_table(read_cycler(DATA / name))
        assert table.discharge_capacity_ah.sum() == 0.0
        assert table.charge_capacity_ah.sum() == pytest.approx(raw["dq/mA.h"].sum() * 1e-3, rel=1e-6)


def test_counter_reset_inside_a_step_is_not_lost(tmp_path):
    """An Arbin counter that restarts in the middle of a step (no step or cycle change, e.g. a resumed
    test) gives the same per-cycle capacities as the original record."""
    raw = pd.read_csv(DATA / "arbin_example.csv")
    step = raw[(raw.Cycle_Index == 2) & (raw.Current > 0)]
    middle = step.index[len(step) // 4]  # inside the first charge step of cycle 2
    rows = raw.index[(raw.index >= middle) & (raw.Cycle_Index == 2)]  # the counter runs per cycle
    assert raw.Step_Index[middle] == raw.Step_Index[middle - 1]
    reset = raw.copy()
    reset.loc[rows, "Charge_Capacity"] -= raw.loc[rows[0] - 1, "Charge_Capacity"]
    reset.loc[rows, "Charge_Capacity"] = reset.loc[rows, "Charge_Capacity"].clip(lower=0)
    assert reset.loc[rows[0], "Charge_Capacity"] < 0.5 * reset.loc[rows[0] - 1, "Charge_Capacity"]
    reset.to_csv(tmp_path / "reset.csv", index=False)
    original = cycle_table(read_cycler(DATA / "arbin_example.csv")).set_index("cycle")
    restarted = cycle_table(read_cycler(tmp_path / "reset.csv")).set_index("cycle")
    np.testing.assert_allclose(restarted.charge_capacity_ah, original.charge_capacity_ah, rtol=1e-6)
    np.testing.assert_allclose(restarted.discharge_capacity_ah, original.discharge_capacity_ah, rtol=1e-6)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.floats(0.01, 10), min_size=1, max_size=8), min_size=1, max_size=6))
def test_accumulate_counts_resets_without_boundaries(steps):
    """A counter reset to zero anywhere (no step boundary given) adds no charge and loses none."""
    counters = [np.concatenate([[0.0], np.cumsum(s)]) for s in steps]
    total = accumulate(np.concatenate(counters))
    assert total[-1] == pytest.approx(sum(c[-1] for c in counters))
    assert (np.diff(total) >= 0).all()


def test_novonix_export_matches_beep():
    """Issue 12: rows, time span and charge capacity of the Novonix HPC export equal BEEP's
    (NovonixDatapath; numbers and version in beep_reference.json). Independent check: the charge
    equals the current integrated over time (trapezoid) within 0.1 %."""
    reference = json.loads((DATA / "beep_reference.json").read_text())["test_Nova_Form-CH01-01_short.csv"]
    data = read_cycler(DATA / "test_Nova_Form-CH01-01_short.csv.gz")
    check_standard(data)
    assert data.attrs["format"] == "novonix" and data.attrs["protocol"] == "XC_Formation_Entree_Test.pro1"
    assert data.attrs["nominal_capacity_ah"] == pytest.approx(0.24)
    assert len(data) == reference["rows"] == 3942
    assert data.time_s.iloc[0] / 3600 == pytest.approx(reference["test_time_h_first"], abs=1e-9)
    assert data.time_s.iloc[-1] / 3600 == pytest.approx(reference["test_time_h_last"], rel=1e-12)
    assert sorted(data.cycle.unique()) == reference["cycles"]
    table = cycle_table(data)
    assert table.charge_capacity_ah.sum() == pytest.approx(reference["charge_capacity_ah_max"], rel=1e-9)
    assert table.discharge_capacity_ah.sum() == reference["discharge_capacity_ah_max"] == 0.0
    assert table.charge_capacity_ah.sum() == pytest.approx(coulomb_count(data).charge.sum(), rel=1e-3)
    # the constant-voltage hold at 1.5 V (Step Type 8, current down to 23 µA) stays a charge
    assert set(data.step_type) == {"rest", "charge"}
    assert (data.step_type[data["novonix_Step Type"] == 8] == "charge").all()


def test_record_that_starts_mid_charge():
    """arbin_example.csv starts with Arbin's charge counter at 0.880 Ah (the export begins during a
    charge). Our cycle 1 charge is the charge passed within the record, 191.9 mAh; BEEP reports the
    counter's maximum, 1071.9 mAh (beep_reference.json), which includes charge passed before the
    record starts. See the cycle_table docstring and docs/echem.md."""
    reference = json.loads((DATA / "beep_reference.json").read_text())["arbin_example.csv"]
    raw = pd.read_csv(DATA / "arbin_example.csv")
    table = cycle_table(read_cycler(DATA / "arbin_example.csv")).set_index("cycle")
    beep_ah = reference["charge_capacity_ah_max_per_cycle"]
    assert beep_ah["1"] == pytest.approx(1.0719, abs=1e-4)
    ours = table.charge_capacity_ah
    assert ours[1] == pytest.approx(beep_ah["1"] - raw.Charge_Capacity.iloc[0], rel=1e-6)
    assert ours[1] * 1e3 == pytest.approx(191.9, abs=0.05)
    assert ours[2] == pytest.approx(beep_ah["2"], rel=1e-6)  # a cycle recorded whole: the same number
