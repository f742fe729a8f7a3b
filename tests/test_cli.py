import re

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


def _layout_files(folder):
    """One small file of every layout :func:`redoxmap.preprocess.open_stack` reads, written by our
    writers, with the options ``info`` (and ``open_stack``) need to read it."""
    from dataclasses import replace

    from redoxmap.io import write_fxi, write_hdf5, write_nxstxm, write_stxm, write_xradia
    from redoxmap.simulate import demo_raw_stack

    raw = demo_raw_stack(shape=(8, 10))
    scanning = replace(raw, flats=None, darks=None)  # STXM: I0 from an empty region or a spectrum
    flat = np.asarray(raw.flats.values)[0]
    files = {}
    write_dxchange(raw, folder / "dx.h5")
    files["dxchange"] = (folder / "dx.h5", {})
    write_fxi(raw, folder / "fxi.h5")
    files["fxi"] = (folder / "fxi.h5", {})
    write_hdf5(raw, folder / "generic.h5", data="img", energy="e", flats="white", darks="dark")
    files["hdf5"] = (folder / "generic.h5", {"data_dataset": "img", "energy_dataset": "e", "flats": "white",
                                             "darks": "dark"})
    write_nxstxm(scanning, folder / "nx.h5")
    files["nxstxm"] = (folder / "nx.h5", {})
    write_tiff(raw, folder / "stack.tif", folder / "energies.txt")
    files["tiff"] = (folder / "stack.tif", {"energies": str(folder / "energies.txt"),
                                            "flats": str(folder / "stack_flats.tif"),
                                            "darks": str(folder / "stack_darks.tif")})
    write_stxm(scanning, folder / "scan.hdr")
    files["stxm"] = (folder / "scan.hdr", {})
    write_xradia(folder / "xanes.txrm", np.asarray(raw.counts.values, np.uint16), energy_ev=raw.energy_ev,
                 reference=flat.astype(np.uint16))
    files["xradia"] = (folder / "xanes.txrm", {})
    return files


def test_info_describes_every_layout_open_stack_reads(tmp_path):
    """``redoxmap info`` on a file of each layout (every one ``info`` names, so a new reader needs a
    case here) prints the layout and the size and energies that open_stack then reads, given the
    same options (a TIFF's energy list and flats, a generic HDF5 file's dataset names)."""
    from redoxmap.io import detect_format
    from redoxmap.io.describe import LAYOUTS
    from redoxmap.preprocess import open_stack

    files = _layout_files(tmp_path)
    assert set(files) == set(LAYOUTS)
    for layout, (path, options) in files.items():
        assert detect_format(path) == layout
        flags = [part for name, value in options.items() for part in ("--" + name.replace("_", "-"), value)]
        result = runner.invoke(app, ["info", str(path), *flags])
        assert result.exit_code == 0, (layout, result.output)
        text = " ".join(result.output.split())
        stack = open_stack(path, **{{"data_dataset": "data", "energy_dataset": "energy"}.get(k, k): v
                                    for k, v in options.items()})
        energy = stack.energy.values
        assert LAYOUTS[layout] in text, layout
        assert f"{stack.sizes['energy']} × {stack.sizes['y']} × {stack.sizes['x']}" in text, layout
        assert f"{energy[0]:.2f}–{energy[-1]:.2f} eV" in text, layout
    tiff, _ = files["tiff"]  # without its energy list a TIFF is described by its pages and a note
    text = " ".join(runner.invoke(app, ["info", str(tiff)]).output.split())
    assert "121 of (8, 10)" in text and "needs its energy list (--energies)" in text


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


def _options(command):
    """The options of a command (typer builds them on its own copy of click, so they are told by
    their kind, not by click's classes)."""
    return [p for p in command.params if p.param_type_name == "option"]


def test_every_command_shares_the_output_options_and_units_in_names():
    """Walk every command's options: each command that writes has -o/--output, --overwrite (with
    its --no- form) and --report, meaning the same everywhere; every on/off option has a --no-
    form; options that are lengths, energies, times, masses or percentages carry their unit."""
    quantities = ("size", "radius", "energy", "time", "mass", "shift", "dod", "bin", "chunks", "sigma",
                  "width", "thickness", "length", "pixel", "voxel", "wavelength", "interval", "offset",
                  "exposure", "scan_", "e0", "zoom")
    # a share; an HDF5 dataset name; how E0 is chosen (series | each), not an energy
    not_quantities = ("i0_fraction", "energy_dataset", "e0_frame")
    seen, flags, measured, thresholds = 0, 0, 0, 0
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
        for param in _options(command):
            if param.is_flag:
                flags += 1
                assert param.secondary_opts, f"{name} {param.opts}: no --no- form"
            elif any(q in param.name for q in quantities) and param.name not in not_quantities:
                measured += 1
                assert param.name.endswith(UNITS), f"{name} --{param.name}: no unit in the name"
            # one unit per quantity on the command line: lengths in nm, energies in eV
            assert not param.name.endswith(("_um", "_mm", "_m", "_kev")), f"{name} --{param.name}"
            # a threshold's unit is the image's or volume's, so its help names it
            if param.name == "mask_threshold":
                thresholds += 1
                assert re.search(r"\((OD|1/voxel|the denominator's units[^)]*)\)", param.help), \
                    f"{name} --mask-threshold: no unit in its help {param.help!r}"
    assert seen == 16
    assert flags >= 20 and measured >= 30  # the walk saw the options (it once saw none)
    assert thresholds == 4  # xanes2d, tomo xanes, tomo classify, tomo pores


#: Options whose default differs between commands, and why (the help of each says so).
DEFAULTS_DIFFER = {
    "mode": "xanes2d and tomo xanes fit OD (nnls), xas-series normalized spectra (sum1), valence chooses",
    "output": "the demo writes a folder of its own; every other command writes only when asked",
    "overwrite": "the demo's folder holds only what the demo wrote, so a rerun replaces it",
    "radius_nm": "simulate-particle's particle is the one of Liu et al. 2024; elsewhere it is measured",
    "scheduler": "run takes the experiment file's scheduler unless given; each job alone computes in threads",
}


def test_options_of_one_name_share_their_default():
    """An option given to several commands has one default everywhere, unless it is listed in
    DEFAULTS_DIFFER with the reason (e.g. --align is on in xanes2d and valence alike)."""
    defaults: dict[str, dict[str, object]] = {}
    for name, command in _commands():
        for param in _options(command):
            defaults.setdefault(param.name, {})[name] = param.default
    shared = {option: by_command for option, by_command in defaults.items() if len(by_command) > 1}
    assert {"align", "i0_fraction", "min_ev", "pixel_size_nm", "mask_threshold"} <= set(shared)
    differ = {option for option, by_command in shared.items()
              if len({repr(value) for value in by_command.values()}) > 1}
    assert differ == set(DEFAULTS_DIFFER), {option: shared[option] for option in differ}


def test_every_help_text_cites_papers_not_internal_labels():
    for name, command in _commands():
        text = " ".join([command.help or ""] + [getattr(p, "help", "") or "" for p in command.params])
        assert "seed 00" not in text, name
