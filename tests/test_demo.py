import h5py
import pytest
import xarray as xr

from redoxmap.io.omezarr import read_ome_zarr
from redoxmap.pipeline import DemoConfig, run_demo


def test_demo_runs_end_to_end_from_files(tmp_path):
    """The demo writes the simulated acquisitions as files and runs the same jobs as the commands
    on them: each case recovers its truth, and every file a user would open is there. Smaller than
    the command's defaults (96 px scan, 48³ particle): the tomography case at 48³ recovers the Mn
    density within 3.4–3.5 % and the porosity within 1.1 % (seeds 1–3; at 64³ 3.0–3.1 % and
    1.3 %). A rerun into the same folder replaces every file: it is a smaller one (48 px scan, 32³
    particle), so that the files it leaves can be told from the first run's."""
    result = run_demo(DemoConfig(output=tmp_path, size_px=96, tomo_size_px=48, seed=1))
    scores = result.scores
    assert scores["fraction RMSE"] < 0.05
    assert abs(scores["mean fraction, recovered"] - scores["mean fraction, true"]) < 0.02
    assert scores["valence RMSE (Mn L3)"] < 0.05
    assert scores["tomo Mn density, recovered (g/cm³)"] == pytest.approx(
        scores["tomo Mn density, true (g/cm³)"], rel=0.05)
    assert scores["tomo porosity, recovered"] == pytest.approx(scores["tomo porosity, true"], rel=0.10)
    files = ("scan.h5", "pristine.csv", "cycled.csv", "maps.nc", "report/index.html",
             "valence/particle.hdr", "valence/valence.nc", "valence/report/valence.png",
             "tomo/projections_6530eV.h5", "tomo/mu_6565eV.zarr/.zattrs",
             "tomo/Mn_density.zarr/.zattrs", "tomo/report-Mn/slices.png", "tomo/report/index.html",
             "tomo/report/rendering.png", "tomo/report/pore_sizes.csv", "tomo/voids.csv")
    for name in files:
        assert (tmp_path / name).is_file(), name
    again = run_demo(DemoConfig(output=tmp_path, size_px=48, tomo_size_px=32, seed=1))
    for name in files:
        assert (tmp_path / name).is_file(), name
    with h5py.File(tmp_path / "scan.h5") as scan, h5py.File(tmp_path / "tomo/projections_6530eV.h5") as tilt:
        assert scan["/exchange/data"].shape[1:] == (48, 48)
        assert tilt["/exchange/data"].shape == (131, 32, 32)
    assert read_ome_zarr(tmp_path / "tomo/Mn_density.zarr").shape == (32, 32, 32)
    with xr.open_dataset(tmp_path / "maps.nc") as maps:
        assert maps.sizes["x"] <= 48
    assert again.scores["pixels scored"] < scores["pixels scored"]
