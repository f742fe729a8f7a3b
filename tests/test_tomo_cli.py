"""The tomo commands end to end on a small simulated scan, and OME-Zarr volumes."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import zarr
from typer.testing import CliRunner

from redoxmap.cli import app
from redoxmap.errors import FormatError
from redoxmap.io.omezarr import read_ome_zarr, write_ome_zarr
from redoxmap.io.projections import write_projections_dxchange
from redoxmap.simulate.phantom3d import attenuation_volume, cathode_phantom
from redoxmap.simulate.tomography import acquire_projections

runner = CliRunner()


def test_recon_dual_energy_and_pores_commands(tmp_path):
    phantom = cathode_phantom(64, seed=1, n_pores=4)
    angles = np.linspace(0, 180, 181)
    for energy in (6530.0, 6565.0):
        raw, _ = acquire_projections(attenuation_volume(phantom, energy, 200.0), angles,
                                     flat_counts=1e6, center_offset_px=1.5, seed=int(energy))
        raw.counts = raw.counts.assign_coords(energy=energy)
        write_projections_dxchange(raw, tmp_path / f"p{energy:.0f}.h5")
        result = runner.invoke(app, ["tomo", "recon", str(tmp_path / f"p{energy:.0f}.h5"),
                                     "-o", str(tmp_path / f"v{energy:.0f}.zarr"), "--voxel-nm", "200"])
        assert result.exit_code == 0, result.output
        assert "rotation axis 33.5" in result.output
    result = runner.invoke(app, ["tomo", "dual-energy", str(tmp_path / "v6530.zarr"),
                                 str(tmp_path / "v6565.zarr"), "--element", "Mn", "--below-ev", "6530",
                                 "--above-ev", "6565", "-o", str(tmp_path / "mn.zarr")])
    assert result.exit_code == 0, result.output
    mn = read_ome_zarr(tmp_path / "mn.zarr").compute()
    solid = (phantom.particle & ~phantom.void).values
    assert float(mn.values[solid].mean()) == pytest.approx(float(phantom.density_Mn.values[solid].mean()),
                                                           rel=0.05)
    result = runner.invoke(app, ["tomo", "pores", str(tmp_path / "v6565.zarr"),
                                 "-o", str(tmp_path / "p.csv")])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "p.csv")
    assert (table.kind == "crack").sum() == 1


def test_ome_zarr_multiscales(tmp_path):
    volume = xr.DataArray(np.arange(16**3, dtype=np.float32).reshape(16, 16, 16), dims=("z", "y", "x"))
    write_ome_zarr(volume, tmp_path / "v.zarr", voxel_size_nm=10.0, levels=3)
    meta = zarr.open_group(str(tmp_path / "v.zarr"), mode="r").attrs["multiscales"][0]
    assert [d["path"] for d in meta["datasets"]] == ["0", "1", "2"]
    assert meta["datasets"][2]["coordinateTransformations"][0]["scale"] == [40.0] * 3
    level1 = read_ome_zarr(tmp_path / "v.zarr", level=1).compute()
    assert level1.shape == (8, 8, 8)
    assert float(level1[0, 0, 0]) == pytest.approx(volume.values[:2, :2, :2].mean())
    with pytest.raises(FormatError, match="exists already"):
        write_ome_zarr(volume, tmp_path / "v.zarr", voxel_size_nm=10.0)
    with pytest.raises(FormatError, match=r"expected \('z', 'y', 'x'\)"):
        write_ome_zarr(volume.rename(z="t"), tmp_path / "w.zarr", voxel_size_nm=10.0)
