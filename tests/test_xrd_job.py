"""The operando XRD job end to end on a simulated pair of files (FXYE patterns + EC-Lab .mpt), and the
operando figures."""

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from redoxmap.errors import FormatError, OutputError
from redoxmap.io.xrd import write_fxye
from redoxmap.pipeline import XrdSeriesConfig, run_xrd_series
from redoxmap.report.operando import operando_contour_figure, quantity_vs_cycler_figure
from redoxmap.simulate.cycler import galvanostatic_cycle, write_mpt
from redoxmap.simulate.xrd import LAB_CU, simulate_xrd_series


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("operando")
    cycler = galvanostatic_cycle(start_time="2024-03-01T09:00:00")
    scan_s = np.arange(-1200.0, cycler.time_s.iloc[-1] + 1200.0, 3000.0)  # first and last off the record
    series, truth = simulate_xrd_series(cycler, scan_s, LAB_CU, seed=9)
    paths = []
    for i in range(scan_s.size):
        pattern = series.isel(scan=i).drop_vars(["scan", "time", "time_s"])
        pattern.attrs["start_time"] = pd.Timestamp(series.time.values[i]).isoformat()
        paths.append(write_fxye(pattern, folder / f"p{i:03d}.fxye"))
    return paths, write_mpt(cycler, folder / "cell.mpt"), truth, folder


def test_job_writes_tables_figures_and_recovers_c(files):
    paths, mpt, truth, folder = files
    config = XrdSeriesConfig(patterns=paths, output=folder / "xrd_fits.nc", report=folder / "out", cycler=mpt)
    n = len(paths)
    with pytest.warns(UserWarning, match=rf"2 of {n} scan\(s\) lie outside"):
        result = run_xrd_series(config)
    cell = result.cell
    out = folder / "out"
    assert {p.name for p in out.iterdir()} == {"scans.csv", "peaks.csv", "cell.csv", "contour.png",
                                               "003_vs_cycler.png", "c_vs_cycler.png", "summary.json"}
    cells = pd.read_csv(out / "cell.csv")
    assert np.abs(cells.c.to_numpy() - truth.c.values).max() < 0.001
    scans = pd.read_csv(out / "scans.csv")
    assert scans.in_range.tolist() == [False] + [True] * (n - 2) + [False]
    assert scans.voltage_v.iloc[1:-1].between(3.2, 4.3).all() and scans.voltage_v.iloc[[0, -1]].isna().all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scans"] == n and summary["scans_outside_cycler"] == 2
    assert summary["cell"]["c"][1] == pytest.approx(truth.c.max().item(), abs=0.001)
    saved = xr.open_dataset(folder / "xrd_fits.nc")
    np.testing.assert_allclose(saved.c.values, cell.c.values)
    saved.close()
    with pytest.raises(OutputError, match="exists already; choose another name or pass --overwrite"):
        XrdSeriesConfig(patterns=paths, output=folder / "xrd_fits.nc", cycler=mpt)


def test_job_with_interval_times_and_a_given_table(files, tmp_path):
    paths, _, truth, _ = files
    cycler = galvanostatic_cycle(start_time="2024-03-01T09:00:00")
    config = XrdSeriesConfig(patterns=paths[1:-1], report=tmp_path / "o", scan_interval_s=3000.0,
                             first_scan_s=600.0, windows={"003": (17.72, 19.94)}, cell=None)
    result = run_xrd_series(config, cycler=cycler)
    series, peaks, cell = result.series, result.peaks, result.cell
    assert cell is None and series.in_range.values.all()
    np.testing.assert_allclose(series.cycler_time_s.values, 600.0 + 3000.0 * np.arange(len(paths) - 2))
    true = truth.two_theta.sel(peak="003").values[1:-1]
    assert np.abs(peaks.center.sel(peak="003").values - true).max() < 0.002


def test_figures_need_a_time_and_the_cycler_coordinates():
    series = xr.DataArray(np.ones((3, 4)), dims=("scan", "two_theta"),
                          coords={"scan": range(3), "two_theta": np.arange(4.0)})
    with pytest.raises(FormatError, match="no time coordinate"):
        operando_contour_figure(series)
    fig = operando_contour_figure(series.assign_coords(time_s=("scan", [0.0, 60.0, 120.0])))
    assert len(fig.axes) == 3  # map, colour bar, voltage panel
    with pytest.raises(FormatError, match="attach_cycler first"):
        quantity_vs_cycler_figure(series.isel(two_theta=0))
