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
    assert "missing.h5: no such file (given as STACK)" in capsys.readouterr().err


def test_output_may_not_overwrite_an_input(scan_files, tmp_path):
    """An input given as the output (directly, or through a symlink that resolves to it) is refused
    before any reading, and so is an existing output without --overwrite, in under 2 s; the input
    and the existing output are left byte for byte as they were."""
    import shutil
    import time

    scan, refs = scan_files
    stack = tmp_path / "stack.nc"  # an HDF5 stack whose name has an output suffix
    shutil.copy(scan, stack)
    before = stack.read_bytes()
    link = tmp_path / "link.nc"
    link.symlink_to(stack)
    for output in (stack, link):
        start = time.perf_counter()
        result = runner.invoke(app, ["xanes2d", str(stack), "-r", str(refs[0]), "-r", str(refs[1]),
                                     "-o", str(output), "--overwrite"])
        assert time.perf_counter() - start < 2.0
        assert "the output would overwrite an input file" in str(result.exception)
    existing = tmp_path / "maps.nc"
    existing.write_bytes(b"earlier result")
    start = time.perf_counter()
    result = runner.invoke(app, ["xanes2d", str(stack), "-r", str(refs[0]), "-r", str(refs[1]),
                                 "-o", str(existing)])
    assert time.perf_counter() - start < 2.0  # refused before any reading or fitting
    assert "exists already; choose another name or pass --overwrite" in str(result.exception)
    assert existing.read_bytes() == b"earlier result" and stack.read_bytes() == before


def _commands(group=app, prefix=()):
    """(name, click command) of every command, subcommands included."""
    import typer.main

    click_group = typer.main.get_group(group)
    for name, command in click_group.commands.items():
        if hasattr(command, "commands"):
            for sub_name, sub in command.commands.items():
                yield " ".join((*prefix, name, sub_name)), sub
        else:
            yield " ".join((*prefix, name)), command


#: Options whose value is a physical quantity: each must carry its unit in the name.
UNITS = ("_nm", "_ev", "_px", "_s", "_mg", "_pct", "_vox", "_od", "_a")


def test_every_command_shares_the_output_options_and_units_in_names():
    """Walk every command's options: each command that writes has -o/--output, --overwrite (with
    its --no- form) and --report, meaning the same everywhere; every on/off option has a --no-
    form; options that are lengths, energies, times, masses or percentages carry their unit."""
    import click

    quantities = ("size", "radius", "energy", "time", "mass", "shift", "dod", "bin", "chunks", "sigma",
                  "width", "thickness", "length", "pixel", "voxel", "wavelength", "interval", "offset",
                  "exposure", "scan_")
    seen = 0
    for name, command in _commands():
        seen += 1
        params = {p.name: p for p in command.params}
        if name != "info":
            assert "output" in params, name
            assert params["output"].opts[:2] in (["--output", "-o"], ["-o", "--output"]) or \
                set(params["output"].opts) == {"--output", "-o"}, name
            assert "overwrite" in params and "--no-overwrite" in params["overwrite"].secondary_opts, name
            if name != "demo":  # the demo's reports are part of its output folder
                assert "report" in params and params["report"].opts == ["--report"], name
                assert "Folder for figures" in params["report"].help, name
            assert "input" in params["overwrite"].help, name
        for param in command.params:
            if isinstance(param, click.Option) and param.is_flag and param.name not in ("help",):
                assert param.secondary_opts, f"{name} {param.opts}: no --no- form"
            option = param.name
            if isinstance(param, click.Option) and any(q in option for q in quantities) \
                    and not param.is_flag and option not in ("i0_fraction",):
                assert option.endswith(UNITS), f"{name} --{option}: no unit in the name"
    assert seen == 16


def test_every_help_text_cites_papers_not_internal_labels():
    for name, command in _commands():
        text = " ".join([command.help or ""] + [getattr(p, "help", "") or "" for p in command.params])
        assert "seed 00" not in text, name
