import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from redoxmap.cli import app, main
from redoxmap.io import write_dxchange, write_tiff

runner = CliRunner()


@pytest.fixture()
def scan_files(tmp_path, small_scan):
    scan = tmp_path / "scan.h5"
    write_dxchange(small_scan.raw, scan)
    refs = []
    for comp in small_scan.refs.component.values:
        path = tmp_path / f"{comp}.csv"
        np.savetxt(path, np.column_stack([small_scan.refs.energy, small_scan.refs.sel(component=comp)]),
                   delimiter=",", header="energy_eV,od")
        refs.append(path)
    return scan, refs


def test_xanes2d_writes_netcdf_named_after_reference_stems(tmp_path, scan_files, small_scan):
    scan, (pristine, cycled) = scan_files
    out = tmp_path / "maps.nc"
    result = runner.invoke(app, ["xanes2d", str(scan), "-r", str(pristine), "-r", str(cycled),
                                 "-o", str(out), "--no-align", "--mask-threshold", "0.3"])
    assert result.exit_code == 0, result.output
    maps = xr.open_dataset(out, engine="h5netcdf")
    assert list(maps.component.values) == ["pristine", "cycled"]
    region = small_scan.truth.edge_jump.values > 0.3
    error = maps.fraction.sel(component="cycled").values[region] - small_scan.truth.fraction.values[region]
    assert np.sqrt(np.mean(error**2)) < 0.05
    assert "lincomb(mode='nnls'" in maps.attrs["history"]


def test_xanes2d_tiff_to_zarr(tmp_path, small_scan, scan_files):
    _, refs = scan_files
    stack, energies = tmp_path / "stack.tif", tmp_path / "energies.txt"
    write_tiff(small_scan.raw, stack, energies)
    out = tmp_path / "maps.zarr"
    result = runner.invoke(app, [
        "xanes2d", str(stack), "--energies", str(energies), "--flats", str(tmp_path / "stack_flats.tif"),
        "--darks", str(tmp_path / "stack_darks.tif"), "-r", str(refs[0]), "-r", str(refs[1]),
        "-n", "Mn4+", "-n", "Mn3+", "--mode", "lsq", "-o", str(out), "--no-align"])
    assert result.exit_code == 0, result.output
    maps = xr.open_zarr(out)
    assert list(maps.component.values) == ["Mn4+", "Mn3+"]
    assert maps.fraction.shape == (2, 40, 48)


def test_info_describes_the_file(scan_files):
    scan, _ = scan_files
    result = runner.invoke(app, ["info", str(scan)])
    assert result.exit_code == 0, result.output
    assert "dxchange" in result.output
    assert "121 × 40 × 48" in result.output
    assert "6519.00–6639.00 eV" in result.output


def test_bad_input_exits_2_with_message(tmp_path, scan_files, monkeypatch, capsys):
    scan, refs = scan_files
    monkeypatch.setattr("sys.argv", ["redoxmap", "xanes2d", str(tmp_path / "missing.h5"),
                                     "-r", str(refs[0]), "-r", str(refs[1])])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 2
    assert "missing.h5: file not found" in capsys.readouterr().err


def test_output_may_not_overwrite_an_input(scan_files):
    scan, refs = scan_files
    before = scan.read_bytes()
    result = runner.invoke(app, ["xanes2d", str(scan), "-r", str(refs[0]), "-r", str(refs[1]),
                                 "-o", str(refs[0].with_suffix(".nc"))])
    assert result.exit_code == 0
    result = runner.invoke(app, ["xanes2d", str(scan), "-r", str(refs[0]), "-r", str(refs[1]),
                                 "-o", str(refs[0].with_suffix(".nc"))])
    assert result.exit_code != 0
    assert "exists already" in str(result.exception)
    assert scan.read_bytes() == before
