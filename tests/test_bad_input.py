"""Bad input and faults, as a new user makes them: each gives a one-line error naming the cause and
the option as typed, or a warning plus a correct result, or a correct result; never a traceback
from deep inside, never a silently wrong number."""

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from redoxmap.cli import app
from redoxmap.errors import (
    ConfigError,
    EnergyError,
    FormatError,
    OutputError,
    ParameterError,
    RedoxmapError,
    RedoxmapWarning,
)
from redoxmap.io import read_raw, write_dxchange, write_tiff
from redoxmap.io.omezarr import write_ome_zarr
from redoxmap.io.projections import write_projections_dxchange
from redoxmap.preprocess import open_stack, optical_density

runner = CliRunner()
ARBIN = "tests/data/echem/arbin_example.csv"


@pytest.fixture()
def scan(tmp_path, small_scan):
    path = tmp_path / "scan.h5"
    write_dxchange(small_scan.raw, path)
    refs = []
    for comp in small_scan.refs.component.values:
        refs.append(tmp_path / f"{comp}.csv")
        np.savetxt(refs[-1], np.column_stack([small_scan.refs.energy, small_scan.refs.sel(component=comp)]),
                   delimiter=",", header="energy_eV,od")
    return path, refs


def xanes2d(scan_path, refs, *options):
    args = ["xanes2d", str(scan_path), *[x for r in refs for x in ("-r", str(r))], "--no-align", *options]
    return runner.invoke(app, args)


def error_of(result) -> str:
    """The one-line error a command ended with (a RedoxmapError, so main() prints it and exits 2)."""
    assert result.exit_code != 0
    assert isinstance(result.exception, RedoxmapError), repr(result.exception)
    message = str(result.exception)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_counts_are_masked_and_counted(small_scan, bad):
    """A NaN or an inf in the counts: that pixel is masked like an I ≤ 0 pixel, with a warning that
    counts it; every other pixel gets the OD it had."""
    counts = small_scan.raw.counts.copy()
    counts[5, 10, 12] = bad
    with pytest.warns(RedoxmapWarning, match=r"1 of 1920 pixels .* \(1 of them hold NaN or inf counts\)"):
        od = optical_density(replace(small_scan.raw, counts=counts))
    clean = optical_density(small_scan.raw)
    assert not bool(od.valid[10, 12]) and int((~od.valid).sum()) == 1
    assert np.isfinite(od.values).all()
    keep = od.valid.values
    np.testing.assert_array_equal(od.values[:, keep], clean.values[:, keep])


def test_non_finite_counts_through_the_command(tmp_path, scan, small_scan):
    raw = small_scan.raw
    counts = raw.counts.copy()
    counts[:, 3, 4] = np.nan
    counts[60, 20, 20] = np.inf
    write_dxchange(replace(raw, counts=counts), tmp_path / "bad.h5")
    result = xanes2d(tmp_path / "bad.h5", scan[1], "-o", str(tmp_path / "m.nc"))
    assert result.exit_code == 0, result.output
    maps = xr.open_dataset(tmp_path / "m.nc")
    assert maps["mask"].values[3, 4] == 0 and maps["mask"].values[20, 20] == 0
    assert np.isfinite(maps.r_factor.values).all()


def test_a_reference_with_a_nan_is_interpolated_with_a_warning(tmp_path, scan, small_scan):
    path = tmp_path / "cycled_nan.csv"
    values = small_scan.refs.sel(component="cycled").values.copy()
    values[30] = np.nan
    np.savetxt(path, np.column_stack([small_scan.refs.energy, values]), delimiter=",")
    from redoxmap.spectra import load_references

    with pytest.warns(RedoxmapWarning, match=r"1 row\(s\) with NaN or inf \(line 31\) left out"):
        refs = load_references([path], energy=small_scan.refs.energy.values)
    expected = small_scan.refs.sel(component="cycled").values
    assert refs.values[0, 30] == pytest.approx(0.5 * (expected[29] + expected[31]))


def test_single_energy_xradia_file_is_a_clear_error():
    from redoxmap.pipeline import Xanes2DConfig, run_xanes2d

    folder = "tests/data/xradia/"
    config = Xanes2DConfig(stack=folder + "rep01_20161456_ssrl-test-data_08324.0_eV_001of003.xrm",
                           flats=folder + "rep01_000051_ref_20161456_ssrl-test-data_08324.0_eV_001of010.xrm",
                           references=["tests/data/ref_NiO.txt", "tests/data/ref_LiNiO2.txt"])
    with pytest.raises(EnergyError, match=r"holds 1 energy; expected a spectral stack"):
        run_xanes2d(config)


@pytest.mark.parametrize("options, message", [
    (["--chunks-px", "0"], "--chunks-px = 0: input should be greater than or equal to 16"),
    (["--chunks-px", "1"], "--chunks-px = 1: input should be greater than or equal to 16"),
    (["--max-shift-px", "-1"], "--max-shift-px = -1.0: input should be greater than 0"),
    (["--bin-px", "0"], "--bin-px = 0: input should be greater than or equal to 1"),
    (["--mode", "sum2"], "--mode = 'sum2': input should be 'lsq', 'nnls', 'sum1' or 'sum1-scaled'"),
    (["--pixel-size-nm", "-5"], "--pixel-size-nm = -5.0: input should be greater than 0"),
])
def test_out_of_range_settings_name_the_option(scan, options, message):
    assert message in error_of(xanes2d(*scan, *options))


def test_binning_beyond_the_image_is_refused(scan):
    message = error_of(xanes2d(*scan, "--bin-px", "512"))
    assert "binning factor 512 (--bin-px) leaves fewer than 2 pixels" in message


@pytest.mark.parametrize("args, message", [
    (["profile", "missing.nc"], "missing.nc: no such file (given as MAPS)"),
    (["echem", ARBIN, "--mass-mg", "0"], "--mass-mg = 0.0: input should be greater than 0"),
    (["echem", ARBIN, "--mass-mg", "-5"], "--mass-mg = -5.0: input should be greater than 0"),
    (["echem", ARBIN, "--gitt"], "--gitt needs --radius-nm"),
    (["echem", "tests/data"], "tests/data: is a folder; expected a file (given as FILE)"),
    (["simulate-particle", "--c-rate", "0"], "--c-rate [0.0]: expected positive C-rates"),
])
def test_other_commands_refuse_bad_settings(args, message):
    assert message in error_of(runner.invoke(app, args))


@pytest.fixture()
def volumes(tmp_path):
    from redoxmap.simulate.phantom3d import attenuation_volume, cathode_phantom

    phantom = cathode_phantom(24, seed=1, n_pores=1)
    paths = {}
    for energy in (6530.0, 6565.0):
        mu = attenuation_volume(phantom, energy, 400.0)
        paths[energy] = write_ome_zarr(mu, tmp_path / f"mu_{energy:.0f}.zarr", voxel_size_nm=400.0, levels=1)
        # as a volume from elsewhere, without the energy tomo recon stores
        paths[f"unlabelled {energy:.0f}"] = write_ome_zarr(mu.drop_attrs(), tmp_path / f"u_{energy:.0f}.zarr",
                                                           voxel_size_nm=400.0, levels=1)
    return paths


@pytest.mark.parametrize("which, message", [
    ("element", "--element = 'Xx': value error, not an element symbol (e.g. Mn, Ni, Co)"),
    ("swapped", "(BELOW) was measured at 6565 eV (its energy_ev); "),
    ("swapped", "looks like the above-edge volume: expected BELOW first, then ABOVE"),
    ("swapped unlabelled", "looks like the above-edge volume; expected BELOW (6530 eV) first"),
    ("twice", "is given as both BELOW and ABOVE"),
    ("energies", "--below-ev 6565 is not below --above-ev 6530"),
    ("wrong energy", "--above-ev 6600 but "),
])
def test_dual_energy_mistakes(tmp_path, volumes, which, message):
    below, above, element, energies = volumes[6530.0], volumes[6565.0], "Mn", ("6530", "6565")
    if which == "element":
        element = "Xx"
    elif which == "swapped":
        below, above = above, below
    elif which == "swapped unlabelled":
        below, above = volumes["unlabelled 6565"], volumes["unlabelled 6530"]
    elif which == "wrong energy":
        energies = ("6530", "6600")
    elif which == "twice":
        above = below
    elif which == "energies":
        energies = energies[::-1]
    result = runner.invoke(app, ["tomo", "dual-energy", str(below), str(above), "--element", element,
                                 "--below-ev", energies[0], "--above-ev", energies[1], "-o",
                                 str(tmp_path / "d.zarr")])
    assert message in error_of(result)
    assert not (tmp_path / "d.zarr").exists()


@pytest.fixture()
def tilt(tmp_path):
    from redoxmap.simulate.phantom3d import attenuation_volume, cathode_phantom
    from redoxmap.simulate.tomography import acquire_projections

    phantom = cathode_phantom(32, seed=4, n_pores=1)
    raw, _ = acquire_projections(attenuation_volume(phantom, 6565.0, 300.0), np.arange(0.0, 180.0, 2.0),
                                 flat_counts=1e5, center_offset_px=1.5, seed=5)
    write_projections_dxchange(raw, tmp_path / "p.h5")
    return tmp_path / "p.h5", raw


@pytest.mark.parametrize("options, message", [
    (["--center-px", "5000"], "--center-px 5000 lies outside the detector (0–31 px"),
    (["--voxel-size-nm", "-5"], "--voxel-size-nm = -5.0: input should be greater than 0"),
    (["--iterations", "0"], "--iterations = 0: input should be greater than or equal to 1"),
    (["-o", "x.nc"], "unknown output type '.nc'; expected .zarr (--output)"),
])
def test_tomo_recon_refuses_bad_settings(tmp_path, tilt, options, message):
    defaults = {"--voxel-size-nm": "300", "-o": str(tmp_path / "v.zarr")}
    for key, value in zip(options[::2], options[1::2], strict=True):
        defaults[key] = value
    args = ["tomo", "recon", str(tilt[0]), *[x for kv in defaults.items() for x in kv]]
    assert message in error_of(runner.invoke(app, args))


def test_one_inf_in_one_projection_is_repaired_not_spread(tilt):
    """One +inf count in one projection: repaired from its neighbours with a warning; the slice has
    no NaN and equals the clean reconstruction closely."""
    from redoxmap.tomo import reconstruct

    path, raw = tilt
    counts = raw.counts.copy()
    counts[7, 16, 10] = np.inf
    expected = r"1 projection values had .* NaN or inf \(in 1 of 90 projections\)"
    with pytest.warns(RedoxmapWarning, match=expected):
        bad = optical_density(replace(raw, counts=counts))
    clean = optical_density(raw)
    a = reconstruct(bad.isel(y=slice(15, 18)), "fbp", center_px=17.5)
    b = reconstruct(clean.isel(y=slice(15, 18)), "fbp", center_px=17.5)
    assert np.isfinite(a.values).all()
    assert float(np.abs(a - b).max()) < 0.05 * float(np.abs(b).max())


def test_rotation_centre_is_robust_to_a_few_bad_pixels(tilt):
    """20 negative counts scattered over the projections leave the found centre within 0.2 px."""
    from redoxmap.tomo import find_center

    _, raw = tilt
    rng = np.random.default_rng(0)
    counts = raw.counts.copy()
    values = counts.values
    for _ in range(20):
        values[rng.integers(0, values.shape[0]), rng.integers(0, values.shape[1]),
               rng.integers(0, values.shape[2])] = -50.0
    with pytest.warns(RedoxmapWarning):
        damaged = optical_density(replace(raw, counts=counts.copy(data=values)))
    assert find_center(damaged) == pytest.approx(find_center(optical_density(raw)), abs=0.2)


def test_many_flats_for_a_spectral_stack_are_averaged_with_a_warning(tmp_path, small_scan):
    raw = small_scan.raw
    first = np.asarray(raw.flats.values).reshape(-1, *raw.flats.shape[-2:])[:1]
    flats = xr.DataArray(np.repeat(first, 100, 0), dims=("page", "y", "x"))
    write_tiff(replace(raw, flats=flats.rename(page="energy"), darks=None), tmp_path / "s.tif",
               tmp_path / "e.txt")
    with pytest.warns(RedoxmapWarning, match=r"100 flat-field images for a stack of 121 energies; they are "
                      "averaged"):
        read_raw(tmp_path / "s.tif", energies=tmp_path / "e.txt", flats=tmp_path / "s_flats.tif")


def test_darks_that_look_like_flats_are_named(tmp_path, small_scan):
    raw = small_scan.raw
    with pytest.raises(FormatError, match="the darks look like flats"):
        optical_density(replace(raw, darks=raw.flats))


def test_energies_half_in_kev_half_in_ev(tmp_path):
    path = tmp_path / "e.txt"
    path.write_text("6.539\n6.540\n6541\n6542\n")
    from redoxmap.io import read_energy_list

    with pytest.raises(EnergyError, match=r"energies mix keV and eV: energy\[0\] = 6.539 reads as keV but "
                       r"energy\[2\] = 6541 as eV"):
        read_energy_list(path)


def test_a_folder_given_as_the_stack():
    with pytest.raises(FormatError, match="is a folder; expected a stack file"):
        open_stack("tests/data")


@pytest.mark.parametrize("path, expected", [
    ("tests/data/stxm_fe/71214078.hdr", ["ALS STXM", "123 × 125 × 125", "700.00–730.35 eV", "I0"]),
    ("tests/data/xradia/rep01_20161456_ssrl-test-data_08324.0_eV_001of003.xrm",
     ["Zeiss/Xradia", "8324.00–8324.00 eV"]),
])
def test_info_describes_every_format_it_reads(path, expected):
    result = runner.invoke(app, ["info", path])
    assert result.exit_code == 0, result.output
    for text in expected:
        assert text in result.output


@pytest.mark.parametrize("target", ["parent_is_file", "unwritable"])
def test_unwritable_outputs_fail_fast_before_reading(tmp_path, scan, target):
    """The output's folder is a file, or cannot be written: refused before any reading (measured in
    CPU time, which the machine's load does not stretch)."""
    import os

    if target == "parent_is_file":
        (tmp_path / "file").write_text("")
        output = tmp_path / "file" / "m.nc"
        message = "is a file; expected a folder we can write to"
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        output = locked / "m.nc"
        if os.geteuid() == 0:  # root writes through permission bits: use a read-only file system
            output = Path("/sys/redoxmap-test/m.nc")
        message = "cannot be written"
    start = time.process_time()
    result = xanes2d(*scan, "-o", str(output))
    assert time.process_time() - start < 2.0
    assert message in error_of(result)


def test_a_volume_without_voids_warns(tmp_path):
    solid = np.zeros((16, 16, 16), np.float32)
    solid[3:13, 3:13, 3:13] = 1.0
    path = write_ome_zarr(xr.DataArray(solid, dims=("z", "y", "x")), tmp_path / "v.zarr", voxel_size_nm=10.0,
                          levels=1)
    from redoxmap.pipeline import PoresConfig, run_pores

    with pytest.warns(RedoxmapWarning, match="no internal void found"):
        result = run_pores(PoresConfig(volume=path, output=tmp_path / "p.csv"))
    assert pd.read_csv(tmp_path / "p.csv").empty and result.porosity.attrs["porosity"] == 0.0


def test_progress_is_written_line_by_line_when_not_a_terminal(scan, tmp_path):
    """Output to a file (not a terminal): plain progress lines as the job advances, not a bar at
    the end."""
    result = xanes2d(*scan, "-o", str(tmp_path / "m.nc"))
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert "read: 1/1" in lines and "fit: 1/1" in lines
    assert lines.index("read: 1/1") < lines.index("fit: 1/1")


def test_config_errors_are_value_errors_and_name_no_python_arguments(scan):
    with pytest.raises(ValueError, match="--overwrite") as caught:
        from redoxmap.pipeline import Xanes2DConfig

        scan[0].with_suffix(".nc").write_text("")
        Xanes2DConfig(stack=scan[0], references=scan[1], output=scan[0].with_suffix(".nc"))
    assert isinstance(caught.value, OutputError)
    with pytest.raises(ConfigError, match="--does-not-exist: not a setting of this job"):
        Xanes2DConfig(stack=scan[0], references=scan[1], does_not_exist=1)
    with pytest.raises(ParameterError):
        from redoxmap.preprocess import bin_pixels

        bin_pixels(open_stack(scan[0]), 0)
