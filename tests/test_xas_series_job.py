"""The operando XAS job: simulated mixtures of the real XAS Data Library Mn standards written as XDI
files with scan times beside an EC-Lab file (valence per scan, synchronisation, scans off the record),
the command line, the real LiNiO2 operando Ni K-edge series on its real BioLogic record, and bad
settings."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from redoxmap.cli import app
from redoxmap.errors import ConfigError, FormatError, OutputError
from redoxmap.io import read_xdi, write_xdi
from redoxmap.pipeline import XasSeriesConfig, run_xas_series
from redoxmap.simulate.cycler import galvanostatic_cycle, write_mpt
from redoxmap.simulate.xas_series import simulate_xas_series
from redoxmap.spectra.library import make_library, write_library

DATA = Path(__file__).parent / "data"
PEREX = DATA / "xas" / "norm_op2_cell4_pos1_dq1_{:04d}_av240_00001.txt.gz"
MN_VALENCE = {"MnO": 2.0, "Mn2O3": 3.0, "MnO2": 4.0}
SCAN_S = 120.0


@pytest.fixture(scope="module")
def mn_files(tmp_path_factory):
    """31 scans every 30 min over a charge and discharge, the first and last off the cycler record;
    each XDI file states its start and end, the scan's middle is the true time."""
    folder = tmp_path_factory.mktemp("mn_series")
    spectra = {}
    for name in MN_VALENCE:
        energy, spectra[name], _ = read_xdi(DATA / "xdi" / f"{name}_rt_01.xdi")
    library = make_library(energy, spectra, MN_VALENCE, "Mn K")
    cycler = galvanostatic_cycle(start_time="2024-03-01T09:00:00.250")
    middle_s = np.arange(-1200.0, cycler.time_s.iloc[-1] + 1500.0, 1800.0)
    series, truth = simulate_xas_series(cycler, middle_s, library, noise=0.002, seed=3)
    paths = []
    for i, middle in enumerate(series.time.values):
        half = np.timedelta64(int(SCAN_S / 2), "s")
        paths.append(write_xdi(series.energy.values, series.values[i], folder / f"scan_{i:03d}.xdi",
                               fields={"Element.symbol": "Mn", "Element.edge": "K"},
                               start_time=middle - half, end_time=middle + half))
    write_mpt(cycler, folder / "cell.mpt")
    write_library(library, folder / "mn_k.csv")
    return folder, paths, cycler, middle_s, truth


def test_simulated_mn_series_through_the_command_line(mn_files):
    """Acceptance (issue 18): valence within 0.03 on every scan; each scan on the cycler's voltage within
    one record of the truth; the two scans outside the record reported, with NaN, not extrapolated."""
    folder, paths, cycler, middle_s, truth = mn_files
    out = folder / "run"
    with pytest.warns(UserWarning, match=r"2 of 31 scan\(s\) lie outside the cycler record"):
        result = CliRunner().invoke(app, [
            "xas-series", *map(str, paths), "--library", str(folder / "mn_k.csv"), "--cycler",
            str(folder / "cell.mpt"), "-o", str(out / "fits.nc"), "--report", str(out / "report")])
    assert result.exit_code == 0, result.output
    assert "scans outside the cycler's record" in result.output
    fits = xr.load_dataset(out / "fits.nc")
    error = np.abs(fits.valence.values - truth.valence.values)
    assert error.max() < 0.03, error.max()
    inside = fits.in_range.values.astype(bool)
    assert inside.tolist() == [False] + [True] * (len(paths) - 2) + [False]
    truth_record = np.searchsorted(cycler.time_s.to_numpy(), middle_s, side="right") - 1
    assert np.all(np.abs(fits.record.values[inside] - truth_record[inside]) <= 1)
    np.testing.assert_allclose(fits.cycler_time_s.values, middle_s, atol=1e-3)
    volts = cycler.voltage_v.to_numpy()
    for got, record in zip(fits.voltage_v.values[inside], truth_record[inside], strict=True):
        near = volts[max(record - 1, 0):record + 2]
        assert near.min() - 1e-6 <= got <= near.max() + 1e-6
    assert np.isnan(fits.voltage_v.values[~inside]).all() and np.isnan(fits.capacity_ah.values[~inside]).all()
    np.testing.assert_allclose(fits.fraction.transpose("scan", "component").values, truth.fraction.values,
                               atol=0.04)
    report = out / "report"
    assert {p.name for p in report.iterdir()} == {
        "scans.csv", "fractions.csv", "contour.png", "fractions_vs_time.png", "valence_vs_cycler.png",
        "edge_vs_cycler.png", "summary.json"}
    scans = pd.read_csv(report / "scans.csv")
    np.testing.assert_allclose(scans.valence, fits.valence.values)
    assert scans.in_range.tolist() == inside.tolist() and scans.voltage_v.iloc[[0, -1]].isna().all()
    fractions = pd.read_csv(report / "fractions.csv")
    assert len(fractions) == 3 * len(paths) and set(fractions.component) == set(MN_VALENCE)
    summary = json.loads((report / "summary.json").read_text())
    assert summary["scans"] == len(paths) and summary["scans_outside_cycler"] == 2
    assert summary["valence"][1] == pytest.approx(truth.valence.max().item(), abs=0.03)


def test_references_given_as_files_and_cycler_seconds(mn_files, tmp_path):
    """Standards as --ref XDI files with --valence; scan times given on the cycler's clock; the edge
    moves up with the valence, and the standards' own edges order 2 < 3 < 4."""
    folder, paths, cycler, middle_s, truth = mn_files
    refs = [DATA / "xdi" / f"{name}_rt_01.xdi" for name in MN_VALENCE]
    config = XasSeriesConfig(spectra=paths[1:-1], references=refs, valences=list(MN_VALENCE.values()),
                             names=list(MN_VALENCE), scan_interval_s=1800.0, first_scan_s=600.0)
    result = run_xas_series(config, cycler=cycler)
    fits = result.results
    assert "time" not in fits.coords and fits.in_range.values.all()
    starts = 600.0 + 1800.0 * np.arange(len(paths) - 2)
    np.testing.assert_allclose(fits.cycler_time_s.values, starts + SCAN_S / 2)  # the files put scans mid-way
    assert np.abs(fits.valence.values - truth.valence.values[1:-1]).max() < 0.03
    assert np.all(np.diff(fits.standard_edge_ev.values) > 0)
    rho = np.corrcoef(fits.edge_ev.values, truth.valence.values[1:-1])[0, 1]
    assert rho > 0.95, rho


def test_real_lnio2_operando_series_on_its_biologic_record():
    """Seven of the 58 SOLEIL Ni K-edge scans of the LiNiO2 cell on the cell's real EC-Lab file: the
    half-jump edge rises through the charge (+1.4 eV from 3.64 to 4.27 V) and stops after the 4.3 V
    cut-off; with the pristine and the 4.27 V scans as end members every scan is their mixture
    (R < 1e-3) and the charged fraction grows with the charge passed."""
    paths = [Path(str(PEREX).format(n)) for n in (1, 12, 23, 34, 45, 55, 58)]
    config = XasSeriesConfig(spectra=paths, cycler=DATA / "operando" / "220726cell4operandoxas_C06.mpt.gz",
                             references=[paths[0], paths[5]], valences=[3.0, 3.85],
                             names=["pristine", "4.27 V"])
    fits = run_xas_series(config).results
    assert fits.voltage_v.values[[0, 5, 6]] == pytest.approx([3.64, 4.27, 4.16], abs=0.01)
    assert fits.step_type.values.tolist() == ["charge"] * 6 + ["discharge"]
    edge = fits.edge_ev.values
    assert np.all(np.diff(edge[:6]) > 0) and edge[5] - edge[0] == pytest.approx(1.4, abs=0.1)
    assert abs(edge[6] - edge[5]) < 0.1
    charged = fits.fraction.sel(component="4.27 V").values
    assert np.all(np.diff(charged[:6]) > 0) and charged[0] == pytest.approx(0.0, abs=1e-6)
    assert fits.r_factor.values.max() < 1e-3
    assert np.all(np.diff(fits.capacity_ah.values[:6]) > 0)


def test_edges_without_standards(tmp_path):
    paths = [Path(str(PEREX).format(n)) for n in (1, 55)]
    result = run_xas_series(XasSeriesConfig(spectra=paths, report=tmp_path / "r"))
    edge = result.results.edge_ev.values
    assert "valence" not in result.results and edge[1] > edge[0]
    assert {p.name for p in (tmp_path / "r").iterdir()} == {"scans.csv", "contour.png", "summary.json"}


def test_bad_settings_stop_before_any_work(mn_files, tmp_path):
    folder, paths, *_ = mn_files
    refs = [DATA / "xdi" / "MnO_rt_01.xdi", DATA / "xdi" / "MnO2_rt_01.xdi"]
    with pytest.raises(ConfigError, match="1 --valence values for 2 --ref files"):
        XasSeriesConfig(spectra=paths, references=refs, valences=[2.0])
    with pytest.raises(ConfigError, match="either as --library or as --ref"):
        XasSeriesConfig(spectra=paths, references=refs, valences=[2.0, 4.0], library=folder / "mn_k.csv")
    with pytest.raises(ConfigError, match="no such file"):
        XasSeriesConfig(spectra=[tmp_path / "missing.xdi"])
    with pytest.raises(ConfigError, match="--min-ev 6600 is not below --max-ev 6550"):
        XasSeriesConfig(spectra=paths, min_ev=6600.0, max_ev=6550.0)
    (tmp_path / "old.nc").write_text("x")
    with pytest.raises(OutputError, match="exists already"):
        XasSeriesConfig(spectra=paths, output=tmp_path / "old.nc")
    with pytest.raises(FormatError, match="holds 11 scans"):
        run_xas_series(XasSeriesConfig(spectra=paths[:3], references=[DATA / "xas" / "FeLibNov2021.nor"],
                                       valences=[3.0]))
