"""Scans placed on the cycler's record: start times from cycler files, interpolation, out-of-range flags,
and a simulated pair of files (EC-Lab .mpt + FXYE patterns with scan times) read back and synchronised."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from redoxmap.echem import attach_cycler, read_cycler, standard_table, sync_scans
from redoxmap.errors import FormatError
from redoxmap.io.xrd import read_xrd_series, write_fxye
from redoxmap.simulate.cycler import galvanostatic_cycle, write_mpt
from redoxmap.simulate.xrd import SYNCHROTRON, simulate_xrd_series

ECHEM = Path(__file__).parent / "data" / "echem"


@pytest.mark.parametrize("stem", ["gcpl.issue_226.I", "mb.issue_149"])
def test_biologic_start_time_agrees_between_mpr_and_mpt(stem):
    mpt = next(ECHEM.glob(stem + ".mpt*"))
    a, b = read_cycler(ECHEM / (stem + ".mpr")), read_cycler(mpt)
    assert a.attrs["start_time"] == b.attrs["start_time"]
    assert pd.Timestamp(a.attrs["start_time"]).year >= 2024


def test_other_cyclers_state_their_start():
    with pytest.warns(UserWarning, match="ends in the middle of a row"):  # the copy is cut mid-row
        assert read_cycler(ECHEM / "maccor_two.txt").attrs["start_time"] == "2021-06-05T11:23:46"
    assert read_cycler(ECHEM / "neware_uio.csv.gz").attrs["start_time"].startswith("2022-05-18T16:27")


def test_interpolation_previous_cycle_and_out_of_range_flags():
    table = standard_table(np.array([0.0, 60.0, 120.0, 180.0]), np.array([3.0, 3.2, 3.4, 3.3]),
                           np.array([1.0, 1.0, -1.0, -1.0]), cycle=np.array([1, 1, 2, 2]))
    with pytest.warns(UserWarning, match=r"2 of 5 scan\(s\) lie outside the cycler record"):
        out = sync_scans([-5.0, 30.0, 119.0, 180.0, 181.0], table)
    assert out.in_range.tolist() == [False, True, True, True, False]
    np.testing.assert_allclose(out.voltage_v.values[1:4], [3.1, 3.2 + 0.2 * 59 / 60, 3.3])
    assert np.isnan(out.voltage_v.values[[0, 4]]).all() and out.cycle.tolist() == [-1, 1, 1, 2, -1]
    shifted = sync_scans([30.0], table, offset_s=60.0, exposure_s=20.0)  # placed at 30 + 60 + 10 s
    assert float(shifted.voltage_v[0]) == pytest.approx(3.2 + 0.2 * 40 / 60)


def test_absolute_times_need_a_start():
    table = standard_table(np.array([0.0, 60.0]), np.array([3.0, 3.2]), np.array([1.0, 1.0]))
    with pytest.raises(FormatError, match="no start time"):
        sync_scans(np.array(["2024-01-01T00:00:30"], dtype="datetime64[ns]"), table)
    out = sync_scans(np.array(["2024-01-01T00:00:30"], dtype="datetime64[ns]"), table,
                     cycler_start="2024-01-01T00:00:00")
    assert float(out.voltage_v[0]) == pytest.approx(3.1)
    with pytest.raises(FormatError, match="'yesterday' \\(scan 0\\) is not a date"):
        sync_scans(["yesterday"], table, cycler_start="2024-01-01")


def test_simulated_pair_of_files_maps_every_scan_within_one_record(tmp_path):
    """An EC-Lab file (30 s records) and FXYE patterns stamped on the same clock: each scan lands within
    one record of its true time; two scans outside the record are flagged, not extrapolated."""
    cycler = galvanostatic_cycle(n_cycles=2, step_s=30.0, start_time="2024-03-01T09:00:00.250")
    rng = np.random.default_rng(4)
    scan_s = np.concatenate([[-600.0], np.sort(rng.uniform(0, cycler.time_s.iloc[-1], 25)),
                             [cycler.time_s.iloc[-1] + 900.0]])
    truth_record = np.searchsorted(cycler.time_s.to_numpy(), scan_s, side="right") - 1
    series, _ = simulate_xrd_series(cycler, scan_s, SYNCHROTRON, seed=1)
    paths = []
    for i in range(scan_s.size):
        pattern = series.isel(scan=i).drop_vars(["scan", "time", "time_s"]).sel(two_theta=slice(8.0, 9.5))
        pattern.attrs["start_time"] = pd.Timestamp(series.time.values[i]).isoformat()
        paths.append(write_fxye(pattern, tmp_path / f"scan_{i:03d}.fxye"))
    write_mpt(cycler, tmp_path / "cell.mpt")
    read_back = read_cycler(tmp_path / "cell.mpt")
    assert read_back.attrs["start_time"] == "2024-03-01T09:00:00.250000"
    with pytest.warns(UserWarning, match=r"2 of 27 scan\(s\) lie outside"):
        synced = attach_cycler(read_xrd_series(paths), read_back)
    inside = synced.in_range.values
    assert inside.tolist() == [False] + [True] * 25 + [False]
    assert np.all(np.abs(synced.record.values[inside] - truth_record[inside]) <= 1)
    volts = cycler.voltage_v.to_numpy()
    for got, rec in zip(synced.voltage_v.values[inside], truth_record[inside], strict=True):
        near = volts[max(rec - 1, 0):rec + 2]
        assert near.min() - 1e-6 <= got <= near.max() + 1e-6
    assert np.isnan(synced.voltage_v.values[~inside]).all()
    assert set(synced.cycle.values[inside]) == {1, 2}
    np.testing.assert_allclose(synced.cycler_time_s.values, scan_s, atol=1e-3)


def test_real_operando_xas_times_on_a_real_biologic_record():
    """perex LiNiO2 cell: 58 XAS start times (SOLEIL clock) placed on the EC-Lab record by its
    'Acquisition started on'; SOURCES matched 0001 → 0.41 h, 0055 → 10.72 h / 4.27 V, 0058 → 11.29 h /
    4.16 V (discharging)."""
    folder = Path(__file__).parent / "data" / "operando"
    cycler = read_cycler(folder / "220726cell4operandoxas_C06.mpt.gz")
    assert cycler.attrs["start_time"] == "2022-07-26T22:38:30.190000"
    times = pd.read_csv(folder / "perex_xas_times.csv")
    synced = sync_scans(times.time_at_start.to_numpy(), cycler, exposure_s=2 * times.time_from_start_s)
    assert synced.in_range.all() and len(synced) == 58
    hours = synced.time_s.to_numpy() / 3600
    assert hours[[0, 54, 57]] == pytest.approx([0.41, 10.72, 11.29], abs=0.006)
    assert synced.voltage_v.to_numpy()[[54, 57]] == pytest.approx([4.27, 4.16], abs=0.006)
    assert synced.step_type.tolist()[54] == "charge" and synced.step_type.tolist()[57] == "discharge"
    assert np.all(np.diff(synced.capacity_ah.to_numpy()[:55]) > 0)  # charging throughout
