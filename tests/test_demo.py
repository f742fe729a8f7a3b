import pytest

from redoxmap.pipeline import DemoConfig, run_demo


def test_demo_runs_end_to_end_from_files(tmp_path):
    """The demo writes the simulated acquisitions as files and runs the same jobs as the commands
    on them: each case recovers its truth, and every file a user would open is there."""
    result = run_demo(DemoConfig(output=tmp_path, size_px=96, seed=1))
    scores = result.scores
    assert scores["fraction RMSE"] < 0.05
    assert abs(scores["mean fraction, recovered"] - scores["mean fraction, true"]) < 0.02
    assert scores["valence RMSE (Mn L3)"] < 0.05
    assert scores["tomo Mn density, recovered (g/cm³)"] == pytest.approx(
        scores["tomo Mn density, true (g/cm³)"], rel=0.05)
    assert scores["tomo porosity, recovered"] == pytest.approx(scores["tomo porosity, true"], rel=0.10)
    for name in ("scan.h5", "pristine.csv", "cycled.csv", "maps.nc", "report/index.html",
                 "valence/particle.hdr", "valence/valence.nc", "valence/report/valence.png",
                 "tomo/projections_6530eV.h5", "tomo/mu_6565eV.zarr/.zattrs",
                 "tomo/Mn_density.zarr/.zattrs", "tomo/report-Mn/slices.png", "tomo/report/index.html",
                 "tomo/report/rendering.png", "tomo/report/pore_sizes.csv", "tomo/voids.csv"):
        assert (tmp_path / name).is_file(), name
    again = run_demo(DemoConfig(output=tmp_path, size_px=96, seed=1))  # a rerun replaces its own files
    assert again.scores["fraction RMSE"] == pytest.approx(scores["fraction RMSE"])
