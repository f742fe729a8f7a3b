"""Every cycler format in scope into the standard table; numbers from tests/data/echem/SOURCES.md."""

import gzip
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redoxmap.echem import accumulate, cycle_table, read_cycler
from redoxmap.echem.readers import STANDARD_COLUMNS
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
