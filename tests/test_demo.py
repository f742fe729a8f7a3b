import pytest

from redoxmap.demo import run_demo


def test_demo_runs_end_to_end_from_files(tmp_path):
    summary = run_demo(tmp_path, size=96, seed=1)
    assert summary["fraction RMSE"] < 0.05
    assert abs(summary["mean fraction, recovered"] - summary["mean fraction, true"]) < 0.02
    assert summary["valence RMSE (Mn L3)"] < 0.05
    assert summary["tomo Mn density, recovered (g/cm³)"] == pytest.approx(
        summary["tomo Mn density, true (g/cm³)"], rel=0.05)
    assert summary["tomo porosity, recovered"] == pytest.approx(summary["tomo porosity, true"], rel=0.10)
    for name in ("scan.h5", "pristine.csv", "cycled.csv", "maps.nc", "report/index.html",
                 "report-valence/valence.png", "report-valence/edge_energy.png",
                 "tomo/Mn_density_slices.png", "tomo/Mn_density.zarr/.zattrs", "tomo/report/index.html",
                 "tomo/report/rendering.png", "tomo/report/pore_sizes.csv"):
        assert (tmp_path / name).is_file(), name
