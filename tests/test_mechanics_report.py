"""Particle-model report: files, figures and the simulate-particle command."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from redoxmap.models.mechanics import simulate_rates, summary_table
from redoxmap.models.mechanics_fem import solve_fem
from redoxmap.models.particle_params import liu2024_parameters
from redoxmap.report.particle import hoop_profiles_figure, write_particle_report


def test_report_files_and_tables(tmp_path):
    p = liu2024_parameters()
    runs = simulate_rates(p, [0.1, 10.0], 20.0, n_r=80, n_t=60)
    fem = {10.0: solve_fem(p, 10.0, 20.0, n_t=20, n_out=2, h_max_m=0.8e-6)}
    written = write_particle_report(runs, tmp_path, fem)
    names = {w.name for w in written}
    assert {
        "summary.csv",
        "stress_vs_dod.csv",
        "von_mises_history.png",
        "hoop_profiles_10C.png",
        "concentration_0.1C.csv",
        "particle_10C.nc",
        "fem_fields_10C.png",
        "fem_bridge.csv",
    } <= names
    assert not list(tmp_path.glob(".*.tmp"))
    summary = pd.read_csv(tmp_path / "summary.csv").set_index("c_rate")
    assert summary.loc[10.0, "void_hoop_pa"] >= 50 * summary.loc[0.1, "void_hoop_pa"]
    assert summary.loc[10.0, "peak_hoop_pa"] >= summary.loc[10.0, "void_hoop_pa"]
    wide = pd.read_csv(tmp_path / "concentration_0.1C.csv")
    assert wide.shape[1] == 2 + 80 and wide.dod_pct.max() == np.float64(summary.loc[0.1, "dod_pct"])
    back = xr.open_dataset(tmp_path / "particle_10C.nc", engine="h5netcdf")
    np.testing.assert_allclose(back.core_hoop_pa.values, runs[10.0].core_hoop_pa.values)
    back.close()
    fig = hoop_profiles_figure(runs[10.0])
    assert len(fig.axes[0].lines) == 7  # six DOD curves and the zero line
    assert summary_table(runs).shape[0] == 2


def test_simulate_particle_command(tmp_path):
    from redoxmap.cli import app

    result = CliRunner().invoke(
        app, ["simulate-particle", "--c-rate", "0.1", "--c-rate", "10", "--report", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "stress_vs_dod.csv").is_file()
    assert (tmp_path / "concentration_10C.png").is_file()
    result = CliRunner().invoke(app, ["simulate-particle", "--c-rate", "1", "--void-radius-nm", "9000"])
    assert "--void-radius-nm 9000 is not smaller than --radius-nm 8000" in str(result.exception)


def test_simulate_particle_command_with_fem_and_a_volume_change_table(tmp_path):
    from redoxmap.cli import app

    table = tmp_path / "dv.csv"
    pd.DataFrame({"li_fraction": [0.0, 0.5, 1.0], "dv_v0": [0.0, -0.01, -0.02]}).to_csv(table, index=False)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["simulate-particle", "--c-rate", "10", "--volume-change", str(table),
                                      "--fem", "--report", str(out)])
    assert result.exit_code == 0, result.output
    bridge = pd.read_csv(out / "fem_bridge.csv")
    assert bridge.dod_pct.iloc[-1] == pytest.approx(20.0)
    # this lattice shrinks on Li insertion (ΔV/V0 < 0): the signs flip, the void's hoop stress is compressive
    assert pd.read_csv(out / "summary.csv").void_hoop_pa.iloc[0] < 0
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"x": [0, 1], "dv": [0, 0.01]}).to_csv(bad, index=False)
    result = CliRunner().invoke(app, ["simulate-particle", "--c-rate", "1", "--volume-change", str(bad)])
    assert result.exit_code != 0
    assert "bad.csv: no column(s) dv_v0, li_fraction" in str(result.exception)


def test_particle_job_exposes_the_stress_table(tmp_path):
    """The job's stresses are a table indexed by C-rate (``result.stress``), the same as the CSV it
    writes with ``output``, and its printed rows give one quantity each; with ``output`` and
    ``report`` both, both are listed as written."""
    from redoxmap.pipeline import ParticleConfig, run_particle

    result = run_particle(ParticleConfig(c_rate=[0.1, 10.0], radial_cells=20, time_steps=20,
                                         output=tmp_path / "stress.csv", report=tmp_path / "report"))
    stress = result.stress
    assert stress.index.name == "c_rate" and stress.index.tolist() == [0.1, 10.0]
    assert stress.loc[10.0, "peak_hoop_pa"] > stress.loc[0.1, "peak_hoop_pa"] > 0  # faster, larger gradient
    written = pd.read_csv(tmp_path / "stress.csv", index_col="c_rate")
    pd.testing.assert_frame_equal(written, stress)
    rows = dict(result.summary)
    assert float(rows["10 C: hoop stress at the void (MPa)"]) == pytest.approx(
        stress.loc[10.0, "void_hoop_pa"] / 1e6, rel=1e-3)
    assert tmp_path / "stress.csv" in result.written and tmp_path / "report" / "summary.csv" in result.written
    assert "summary" not in result.values
