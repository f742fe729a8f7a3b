"""Bad input and faults as a new user makes them (issue 14): every case the issue lists, run through
the command line as the user ran it, with its expected outcome: a one-line error naming the cause and
the option as typed (``error``), a warning plus a correct result (``warning``), or a correct result
(``ok``); never a traceback.

``CASES`` is the table: one row per case, its id the issue's section and words. A row's command is a
template whose ``{names}`` are inputs made on first use (:class:`Inputs`); its ``check`` asserts on
what was computed (recovered against clean, files written or not). Rows with ``not_called=READERS``
must fail before any input is opened: the readers the jobs use raise if called (so "fails in under
2 s, before any reading" is checked without a clock). The cases that need a second
process (a log read while the job runs, the exit code of ``main``) and the functions the command
line calls (masking, repair) follow the table.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

import redoxmap.echem  # noqa: F401  (READERS patches their readers)
import redoxmap.io.omezarr  # noqa: F401
import redoxmap.io.projections  # noqa: F401
import redoxmap.preprocess.stacks  # noqa: F401
from redoxmap.cli import app
from redoxmap.errors import RedoxmapError, RedoxmapWarning
from redoxmap.io import RawStack, write_dxchange, write_hdf5, write_tiff
from redoxmap.io.omezarr import read_ome_zarr, write_ome_zarr
from redoxmap.io.projections import read_projections_dxchange, write_projections_dxchange
from redoxmap.preprocess import optical_density

runner = CliRunner()
DATA = Path(__file__).parent / "data"
ARBIN = DATA / "echem" / "arbin_example.csv"
TOOTH = DATA / "tomopy" / "tooth.h5"
XRM = DATA / "xradia" / "rep01_20161456_ssrl-test-data_08324.0_eV_001of003.xrm"
XRM_FLAT = DATA / "xradia" / "rep01_000051_ref_20161456_ssrl-test-data_08324.0_eV_001of010.xrm"
STXM_HDR = DATA / "stxm_fe" / "71214078.hdr"
#: The tilt series' rotation axis: 32 px detector, axis 1.5 px off its middle.
TILT_AXIS_PX = 17.5


# --- inputs, made on first use ----------------------------------------------------------------------

class Inputs(dict):
    """Files a case's command names, made the first time a template asks for them (``{scan}``); the
    values are the text put into the command line."""

    def __init__(self, tmp_path: Path, scan) -> None:
        super().__init__(tmp=str(tmp_path))
        self.path, self.scan = tmp_path, scan

    def __missing__(self, key: str) -> str:
        self[key] = str(getattr(self, "make_" + key)())
        return self[key]

    # 2D spectral stacks and references
    def make_scan(self) -> Path:
        write_dxchange(self.scan.raw, self.path / "scan.h5")
        return self.path / "scan.h5"

    def reference_files(self, nan_row: int | None = None) -> list[Path]:
        files = []
        for comp in self.scan.refs.component.values:
            values = self.scan.refs.sel(component=comp).values.copy()
            name = comp
            if nan_row is not None and comp == "cycled":
                values[nan_row], name = np.nan, "cycled_nan"
            files.append(self.path / f"{name}.csv")
            np.savetxt(files[-1], np.column_stack([self.scan.refs.energy, values]), delimiter=",",
                       header="energy_eV,od")
        return files

    def make_refs(self) -> str:
        return " ".join(f"-r {path}" for path in self.reference_files())

    def make_refs_nan(self) -> str:
        return " ".join(f"-r {path}" for path in self.reference_files(nan_row=30))

    def counts_with(self, name: str, *where: tuple[int, int, int], value: float) -> Path:
        counts = self.scan.raw.counts.copy()
        for index in where:
            counts[index] = value
        write_dxchange(replace(self.scan.raw, counts=counts), self.path / name)
        return self.path / name

    def make_scan_nan(self) -> Path:
        return self.counts_with("nan.h5", (5, 10, 12), value=np.nan)

    def make_scan_inf(self) -> Path:
        return self.counts_with("inf.h5", (60, 20, 20), value=np.inf)

    def make_scan_generic(self) -> Path:
        write_hdf5(self.scan.raw, self.path / "generic.h5", data="/scan/images", energy="/scan/energy",
                   flats="/scan/flats", darks="/scan/darks")
        return self.path / "generic.h5"

    def make_scan_wide(self) -> Path:
        """8 energies of the small scan tiled to 280 × 288 px: 324 tiles of 16 px."""
        raw = self.scan.raw
        tile = {"energy": slice(0, 8)}
        counts = np.tile(raw.counts.isel(tile).values, (1, 7, 6))
        flats = np.tile(raw.flats.isel(tile).values, (1, 7, 6))
        coords = {"energy": raw.counts.energy.values[:8]}
        wide = RawStack(counts=xr.DataArray(counts, dims=("energy", "y", "x"), coords=coords),
                        flats=xr.DataArray(flats, dims=("energy", "y", "x"), coords=coords))
        write_dxchange(wide, self.path / "wide.h5")
        return self.path / "wide.h5"

    def make_flat(self) -> np.ndarray:
        return self.scan.raw.flats.mean("energy").values.astype(np.float32)

    def make_tiff(self) -> Path:
        """The scan as a TIFF with one flat-field image (``s_flats.tif``) and its energy list."""
        raw = self.scan.raw
        flat = xr.DataArray(self.make_flat(), dims=("y", "x"))
        write_tiff(replace(raw, flats=flat, darks=None), self.path / "s.tif", self.path / "e.txt")
        return self.path / "s.tif"

    def make_energies(self) -> Path:
        self["tiff"]
        return self.path / "e.txt"

    def make_flats(self) -> Path:
        self["tiff"]
        return self.path / "s_flats.tif"

    def make_flats_100(self) -> Path:
        """100 flat-field pages for the 121 energies: the flat times 1 ± 10 % noise of mean zero, so
        their mean is the one flat of ``s_flats.tif`` (and any one page alone is up to 30 % off)."""
        import tifffile

        noise = np.random.default_rng(7).normal(0.0, 0.1, (100, 1, 1))
        pages = self.make_flat()[None] * (1.0 + noise - noise.mean())
        tifffile.imwrite(self.path / "flats_100.tif", pages.astype(np.float32))
        return self.path / "flats_100.tif"

    def make_energies_mixed(self) -> Path:
        energy = self.scan.raw.energy_ev
        half = energy.size // 2
        (self.path / "e_mixed.txt").write_text("\n".join([*(f"{e / 1000:.4f}" for e in energy[:half]),
                                                          *(f"{e:.1f}" for e in energy[half:])]))
        return self.path / "e_mixed.txt"

    def make_clean_maps(self) -> Path:
        """The maps of the undamaged scan, as the rows' commands make them (no alignment)."""
        from redoxmap.pipeline import Xanes2DConfig, run_xanes2d

        refs = self.reference_files()
        run_xanes2d(Xanes2DConfig(stack=self["scan"], references=refs, align=False,
                                  output=self.path / "clean.nc"))
        return self.path / "clean.nc"

    def make_clean_tiff_maps(self) -> Path:
        """The maps of the TIFF stack with its one flat."""
        from redoxmap.pipeline import Xanes2DConfig, run_xanes2d

        run_xanes2d(Xanes2DConfig(stack=self["tiff"], energies=self["energies"], flats=self["flats"],
                                  references=self.reference_files(), align=False,
                                  output=self.path / "clean_tiff.nc"))
        return self.path / "clean_tiff.nc"

    # tomography
    def tilt_raw(self) -> RawStack:
        from redoxmap.simulate.phantom3d import attenuation_volume, cathode_phantom
        from redoxmap.simulate.tomography import acquire_projections

        phantom = cathode_phantom(32, seed=4, n_pores=1)
        raw, _ = acquire_projections(attenuation_volume(phantom, 6565.0, 300.0), np.arange(0.0, 180.0, 2.0),
                                     flat_counts=1e5, center_offset_px=TILT_AXIS_PX - 16.0, seed=5)
        return raw

    def make_tilt(self) -> Path:
        write_projections_dxchange(self.tilt_raw(), self.path / "p.h5")
        return self.path / "p.h5"

    def make_tilt_inf(self) -> Path:
        raw = self.tilt_raw()
        counts = raw.counts.copy()
        counts[7, 16, 10] = np.inf
        write_projections_dxchange(replace(raw, counts=counts), self.path / "p_inf.h5")
        return self.path / "p_inf.h5"

    def make_tooth_negative(self) -> Path:
        """The real tooth scan with 20 counts set to −50 at random places."""
        raw = read_projections_dxchange(TOOTH)
        values = raw.counts.values.copy()
        rng = np.random.default_rng(0)
        values[tuple(rng.integers(0, n, 20) for n in values.shape)] = -50.0
        path = self.path / "tooth_neg.h5"
        write_projections_dxchange(replace(raw, counts=raw.counts.copy(data=values)), path)
        return path

    def make_tooth_volume(self) -> Path:
        from redoxmap.pipeline import TomoReconConfig, run_tomo_recon

        path = self.path / "tooth.zarr"
        run_tomo_recon(TomoReconConfig(projections=TOOTH, output=path, voxel_size_nm=1000))
        return path

    def volume_at(self, energy_ev: float) -> Path:
        from redoxmap.simulate.phantom3d import attenuation_volume, cathode_phantom

        phantom = cathode_phantom(24, seed=1, n_pores=1)
        mu = attenuation_volume(phantom, energy_ev, 400.0)
        return write_ome_zarr(mu, self.path / f"mu_{energy_ev:.0f}.zarr", voxel_size_nm=400.0, levels=1)

    def make_below(self) -> Path:
        return self.volume_at(6530.0)

    def make_above(self) -> Path:
        return self.volume_at(6565.0)

    # outputs that cannot be written
    def make_existing_nc(self) -> Path:
        (self.path / "exists.nc").write_text("an earlier result")
        return self.path / "exists.nc"

    def make_existing_zarr(self) -> Path:
        (self.path / "exists.zarr").mkdir()
        return self.path / "exists.zarr"

    def make_a_file(self) -> Path:
        (self.path / "a_file").write_text("")
        return self.path / "a_file"

    def make_locked(self) -> Path:
        """A folder nobody may write to (for root, whom permission bits do not stop: a read-only file
        system)."""
        import os

        if os.geteuid() == 0:
            return Path("/sys/redoxmap-test")
        (self.path / "locked").mkdir(mode=0o500)
        return self.path / "locked"

    # leftovers of killed runs
    def make_killed_zarr(self) -> Path:
        """A volume target beside which a run killed (SIGKILL) while writing left its temporary."""
        target = self.path / "killed" / "v.zarr"
        code = ("import os, signal, sys\nfrom pathlib import Path\n"
                "from redoxmap.io.atomic import atomic_output\n"
                "with atomic_output(Path(sys.argv[1])) as tmp:\n    tmp.mkdir()\n"
                "    (tmp / 'half').write_text('half written')\n    os.kill(os.getpid(), signal.SIGKILL)\n")
        subprocess.run([sys.executable, "-c", code, str(target)], check=False, timeout=120)
        assert [p.name for p in target.parent.iterdir() if ".tmp" in p.name], "no temporary left"
        return target

    def make_killed_spill(self) -> Path:
        """The spilled stores (a copy of the stack in the temp folder) of an out-of-core run without
        an output, killed while it ran."""
        code = ("import os, signal\nfrom redoxmap.io.writers import spill_folder\n"
                "(spill_folder() / 'stack.zarr').mkdir()\n"
                "print(os.getpid(), flush=True)\nos.kill(os.getpid(), signal.SIGKILL)\n")
        pid = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout
        import tempfile

        (store,) = Path(tempfile.gettempdir()).glob(f"redoxmap-spill-{pid.strip()}-*")
        return store


# --- checks of what a case computed -------------------------------------------------------------------

def _maps(path: str) -> xr.Dataset:
    return xr.open_dataset(path).load()


def same_maps_elsewhere(maps_file: str, *bad_pixels: tuple[int, int]) -> Callable:
    """The damaged pixels are masked; every pixel inside both masks has the fractions of the clean run."""
    def check(inputs: Inputs, output: str) -> None:
        maps, clean = _maps(inputs["tmp"] + maps_file), _maps(inputs["clean_maps"])
        for y, x in bad_pixels:
            assert maps["mask"].values[y, x] == 0
        assert np.isfinite(maps.r_factor.values).all()
        both = (maps["mask"] * clean["mask"]).values.astype(bool)
        assert both.sum() > 0.9 * clean["mask"].values.sum()
        np.testing.assert_allclose(maps.fraction.values[:, both], clean.fraction.values[:, both], atol=1e-6)
    return check


def check_nan_reference(inputs: Inputs, output: str) -> None:
    """A NaN row interpolated over: fractions within 0.01 of the clean references'."""
    maps, clean = _maps(inputs["tmp"] + "/m.nc"), _maps(inputs["clean_maps"])
    both = (maps["mask"] * clean["mask"]).values.astype(bool)
    assert float(np.abs(maps.fraction.values[:, both] - clean.fraction.values[:, both]).max()) < 0.01


def check_flats_averaged(inputs: Inputs, output: str) -> None:
    """The 100 pages averaged give the maps of their mean, the one flat (to float32 rounding, which
    moves the fractions of a few ill-conditioned pixels by ~1e-4)."""
    maps, clean = _maps(inputs["tmp"] + "/m.nc"), _maps(inputs["clean_tiff_maps"])
    np.testing.assert_array_equal(maps["mask"].values, clean["mask"].values)
    np.testing.assert_allclose(maps.fraction.values, clean.fraction.values, atol=1e-3)


def check_repaired_projection(inputs: Inputs, output: str) -> None:
    """One +inf repaired from its neighbours: no NaN, and within 5 % of the clean reconstruction."""
    from redoxmap.tomo import reconstruct

    volume = read_ome_zarr(inputs["tmp"] + "/v.zarr").compute().values
    clean = reconstruct(optical_density(read_projections_dxchange(inputs["tilt"])), center_px=TILT_AXIS_PX)
    assert np.isfinite(volume).all()
    assert float(np.abs(volume - clean.values).max()) < 0.05 * float(np.abs(clean.values).max())


def check_tooth_centre(inputs: Inputs, output: str) -> None:
    """The rotation axis found with 20 negative counts is the clean scan's (296.24 px) within 0.2 px
    (the issue: 299.44)."""
    from redoxmap.tomo import find_center

    found = read_ome_zarr(inputs["tmp"] + "/v.zarr").attrs["rotation_axis_px"]
    assert found == pytest.approx(find_center(optical_density(read_projections_dxchange(TOOTH))), abs=0.2)


def check_no_voids_written(inputs: Inputs, output: str) -> None:
    assert pd.read_csv(inputs["tmp"] + "/p.csv").empty


def check_chunked_equals_in_memory(inputs: Inputs, output: str) -> None:
    """Tiles fit as the whole image does (to float32 rounding of the spilled store)."""
    maps, clean = _maps(inputs["tmp"] + "/m.nc"), _maps(inputs["clean_maps"])
    np.testing.assert_array_equal(maps["mask"].values, clean["mask"].values)
    np.testing.assert_allclose(maps.fraction.values, clean.fraction.values, atol=1e-5)


def check_wide_in_strips(inputs: Inputs, output: str) -> None:
    """``--chunks-px`` counts rows of strips that span the image (every energy in each), not the side
    of square tiles: 16 rows of the 280 × 288 px image are 18 strips, where tiles of 16 px were 324."""
    from redoxmap.pipeline import Xanes2DConfig, run_xanes2d

    assert "stack: 0/18" in output and "stack: 18/18" in output, output
    maps = _maps(inputs["tmp"] + "/m.nc")
    whole = run_xanes2d(Xanes2DConfig(stack=inputs["scan_wide"], references=inputs.reference_files(),
                                      align=False)).maps
    np.testing.assert_array_equal(maps["mask"].values, whole["mask"].values)
    # float32 projections summed in other blocks: rounding amplified in thin pixels (test_scale.FLOAT32_ATOL)
    np.testing.assert_allclose(maps.fraction.values, whole.fraction.values, atol=1e-4)


def check_killed_temporary_removed(inputs: Inputs, output: str) -> None:
    target = Path(inputs["killed_zarr"])
    assert [p.name for p in target.parent.iterdir()] == ["v.zarr"]
    assert read_ome_zarr(target).shape == (32, 32, 32)


def check_killed_spill_removed(inputs: Inputs, output: str) -> None:
    assert not Path(inputs["killed_spill"]).exists()


def check_progress_from_the_first_iteration(inputs: Inputs, output: str) -> None:
    lines = output.splitlines()
    assert lines.index("recon: 0/10") < lines.index("recon: 1/10") < lines.index("recon: 10/10")


def shows(*texts: str) -> Callable:
    def check(inputs: Inputs, output: str) -> None:
        for text in texts:
            assert text in output
    return check


# --- the table --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One case of the issue: the command (a template of :class:`Inputs`), the outcome (``error``,
    ``warning`` or ``ok``), the text the error or warning must hold (a regular expression for
    warnings), a check of what was computed (given the inputs and the printed output), readers that
    must not be called (it fails before reading), and inputs to make before the run that the command
    does not name."""

    command: str
    outcome: str
    expected: str = ""
    check: Callable[[Inputs, str], None] | None = None
    not_called: tuple[str, ...] = ()
    setup: tuple[str, ...] = ()


#: What the jobs read their inputs with: none may be called before the settings are checked.
READERS = ("h5py.File", "xarray.open_dataset", "xarray.open_zarr", "redoxmap.preprocess.stacks.open_stack",
           "redoxmap.io.projections.read_projections_dxchange", "redoxmap.io.omezarr.read_ome_zarr",
           "redoxmap.echem.read_cycler")


XANES = "xanes2d {scan} {refs} --no-align"
RECON = "tomo recon {tilt} --voxel-size-nm 300"
DUAL = "tomo dual-energy {below} {above} --element Mn --below-ev 6530 --above-ev 6565 -o {tmp}/d.zarr"
TIFF = "xanes2d {tiff} --energies {energies} {refs} --no-align"

CASES = {
    # Tracebacks
    "traceback: NaN in the counts (xanes2d)": Case(
        XANES.replace("{scan}", "{scan_nan}") + " -o {tmp}/m.nc", "warning",
        r"1 of 1920 pixels .* \(1 of them hold NaN or inf counts\); they are masked",
        same_maps_elsewhere("/m.nc", (10, 12))),
    "traceback: one inf in the counts (xanes2d)": Case(
        XANES.replace("{scan}", "{scan_inf}") + " -o {tmp}/m.nc", "warning",
        r"1 of 1920 pixels .* \(1 of them hold NaN or inf counts\); they are masked",
        same_maps_elsewhere("/m.nc", (20, 20))),
    "traceback: a reference with one NaN (SVD did not converge)": Case(
        XANES.replace("{refs}", "{refs_nan}") + " -o {tmp}/m.nc", "warning",
        r"cycled_nan.csv: 1 row\(s\) with NaN or inf \(line 32\) left out", check_nan_reference),
    "traceback: a single-energy .xrm (IndexError)": Case(
        f"xanes2d {XRM} --flats {XRM_FLAT} -r {DATA}/ref_NiO.txt -r {DATA}/ref_LiNiO2.txt", "error",
        "holds 1 energy; expected a spectral stack (at least 8 energies across the edge)"),
    "traceback: profile on a missing file (FileNotFoundError)": Case(
        "profile {tmp}/missing.nc", "error", "missing.nc: no such file (given as MAPS)", not_called=READERS),
    "traceback: --chunks 0 (ZeroDivisionError)": Case(
        XANES + " --chunks-px 0", "error", "--chunks-px = 0: input should be greater than or equal to 16",
        not_called=READERS),
    "traceback: --bin 512 (ValueError)": Case(
        XANES + " --bin-px 512", "error", "binning factor 512 (--bin-px) leaves fewer than 2 pixels"),
    "traceback: --max-shift -1 (ValueError)": Case(
        "xanes2d {scan} {refs} --max-shift-px -1", "error",
        "--max-shift-px = -1.0: input should be greater than 0", not_called=READERS),
    "traceback: echem --mass-mg 0 (AttributeError)": Case(
        f"echem {ARBIN} --mass-mg 0", "error", "--mass-mg = 0.0: input should be greater than 0",
        not_called=READERS),
    "traceback: tomo dual-energy --element Xx": Case(
        DUAL.replace("Mn", "Xx"), "error",
        "--element 'Xx': not an element symbol; expected one such as Mn, Ni or Co", not_called=READERS),
    "traceback: unwritable output folder (PermissionError after the work), xanes2d": Case(
        XANES + " -o {locked}/m.nc", "error", "cannot be written; expected a folder we can write to",
        not_called=READERS),
    "traceback: unwritable output folder, tomo recon": Case(
        RECON + " --method sirt -o {locked}/v.zarr", "error", "cannot be written; expected a folder we can "
        "write to", not_called=READERS),
    "traceback: output under a file (FileExistsError after the work), xanes2d": Case(
        XANES + " -o {a_file}/m.nc", "error", "a_file is a file; expected a folder we can write to",
        not_called=READERS),
    "traceback: output under a file, tomo recon": Case(
        RECON + " --method sirt -o {a_file}/v.zarr", "error", "a_file is a file; expected a folder we can "
        "write to", not_called=READERS),
    "traceback: report folder is a file": Case(
        XANES + " --report {a_file}", "error",
        "a_file: is a file; expected a folder for the report (--report)", not_called=READERS),
    # Silently wrong
    "silently wrong: one +inf in one projection (slice 78 % NaN)": Case(
        f"tomo recon {{tilt_inf}} --voxel-size-nm 300 --center-px {TILT_AXIS_PX} -o {{tmp}}/v.zarr",
        "warning",
        r"1 projection values had I ≤ 0, I0 ≤ 0, NaN or inf \(in 1 of 90 projections\)",
        check_repaired_projection),
    "silently wrong: 20 negative counts move the rotation axis (tooth.h5)": Case(
        "tomo recon {tooth_negative} --voxel-size-nm 1000 -o {tmp}/v.zarr", "warning",
        r"20 projection values had I ≤ 0", check_tooth_centre),
    "silently wrong: --center 5000": Case(
        RECON + " --center-px 5000 -o {tmp}/v.zarr", "error", "--center-px 5000 lies outside the detector "
        "(0–31 px", not_called=("redoxmap.io.projections.read_projections_dxchange",)),
    "silently wrong: --voxel-nm -5": Case(
        "tomo recon {tilt} --voxel-size-nm -5 -o {tmp}/v.zarr", "error",
        "--voxel-size-nm = -5.0: input should be greater than 0", not_called=READERS),
    "silently wrong: --iterations 0": Case(
        RECON + " --method sirt --iterations 0 -o {tmp}/v.zarr", "error",
        "--iterations = 0: input should be greater than or equal to 1", not_called=READERS),
    "silently wrong: -o x.nc from tomo recon (a Zarr named .nc)": Case(
        RECON + " -o {tmp}/x.nc", "error", "unknown output type '.nc'; expected .zarr (--output)",
        not_called=READERS),
    "silently wrong: 100 flat pages for 121 energies": Case(
        TIFF + " --flats {flats_100} -o {tmp}/m.nc", "warning",
        "100 flat-field images for a stack of 121 energies; they are averaged", check_flats_averaged),
    "silently wrong: --mass-mg -5 (negative mAh/g)": Case(
        f"echem {ARBIN} --mass-mg -5", "error", "--mass-mg = -5.0: input should be greater than 0",
        not_called=READERS),
    "silently wrong: swapped volumes in tomo dual-energy (negative densities)": Case(
        DUAL.replace("{below} {above}", "{above} {below}"), "error",
        "looks like the above-edge volume: expected BELOW first, then ABOVE"),
    "silently wrong: the same volume twice in tomo dual-energy (zeros)": Case(
        DUAL.replace("{above}", "{below}"), "error", "is given as both BELOW and ABOVE"),
    "silently wrong: --chunks 1 (280 s without output)": Case(
        XANES + " --chunks-px 1", "error", "--chunks-px = 1: input should be greater than or equal to 16",
        not_called=READERS),
    "silently wrong: --chunks-px 16 would cut the image into hundreds of tiles": Case(
        "xanes2d {scan_wide} {refs} --no-align --chunks-px 16 -o {tmp}/m.nc", "ok",
        check=check_wide_in_strips),
    "silently wrong: tomo pores finds no void in the tooth, whose cracks reach its surface": Case(
        "tomo pores {tooth_volume} -o {tmp}/p.csv", "warning", "no internal void found with the solid "
        "threshold .*; cracks that reach the surface or voids thinner than a voxel are not seen",
        check_no_voids_written),
    # Errors naming the wrong problem
    "wrong problem: a folder given as the input ('file not found')": Case(
        f"xanes2d {DATA} {{refs}}", "error", f"{DATA}: is a folder; expected a file (given as STACK)",
        not_called=READERS),
    "wrong problem: darks equal to flats ('edge jump … below 6509 eV')": Case(
        TIFF + " --flats {flats} --darks {flats}", "error", "the darks look like flats"),
    "wrong problem: energies half in keV, half in eV (the E0 message)": Case(
        TIFF.replace("{energies}", "{energies_mixed}") + " --flats {flats}", "error",
        "energies mix keV and eV: energy[0] = 6.519 reads as keV but energy[60] = 6579 as eV"),
    "wrong problem: info on an ALS .hdr ('not a readable HDF5 file')": Case(
        f"info {STXM_HDR}", "ok", check=shows("ALS STXM", "123 × 125 × 125", "700.00–730.35 eV", "I0")),
    "wrong problem: info on an Xradia .xrm": Case(
        f"info {XRM}", "ok", check=shows("Zeiss/Xradia", "8324.00–8324.00 eV")),
    "wrong problem: Python argument named (overwrite=True) for an existing output": Case(
        XANES + " -o {existing_nc}", "error", "exists.nc: exists already; choose another name or pass "
        "--overwrite", not_called=READERS),
    "wrong problem: Python argument named (data=…) for a generic HDF5": Case(
        "xanes2d {scan_generic} {refs}", "error", "name the datasets that hold the images and energies "
        "(--data-dataset, --energy-dataset)"),
    # Late failures and leftovers
    "late: an existing output refused only after 45 s of SIRT": Case(
        RECON + " --method sirt -o {existing_zarr}", "error", "exists.zarr: exists already; choose another "
        "name or pass --overwrite", not_called=READERS),
    "leftover: the hidden temporary of a killed run": Case(
        RECON + " -o {killed_zarr}", "ok", check=check_killed_temporary_removed),
    "leftover: the spilled stack of a killed out-of-core run": Case(
        XANES + " --chunks-px 16", "ok", check=check_killed_spill_removed, setup=("killed_spill",)),
    # Logs
    "logs: the SIRT progress bar waits ~25 s": Case(
        RECON + " --method sirt --iterations 10 -o {tmp}/v.zarr", "ok",
        check=check_progress_from_the_first_iteration),
    # Found while testing these
    "found: --chunks-px with --no-align (apply_ufunc ValueError)": Case(
        XANES + " --chunks-px 16 -o {tmp}/m.nc", "ok", check=check_chunked_equals_in_memory),
    "found: --below-ev above --above-ev": Case(
        DUAL.replace("--below-ev 6530 --above-ev 6565", "--below-ev 6565 --above-ev 6530"), "error",
        "--below-ev 6565 is not below --above-ev 6530"),
    "found: echem on a folder": Case(
        f"echem {DATA}", "error", f"{DATA}: is a folder; expected a file (given as FILE)",
        not_called=READERS),
    "found: echem --gitt without a radius": Case(
        f"echem {ARBIN} --gitt", "error", "--gitt needs --radius-nm", not_called=READERS),
    "found: simulate-particle --c-rate 0": Case(
        "simulate-particle --c-rate 0", "error", "--c-rate [0.0]: expected positive C-rates"),
}


def _no_reading(*args, **kwargs):
    raise AssertionError("an input was opened before the settings were checked")


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_issue_case(case: Case, tmp_path, small_scan, monkeypatch):
    """The case's command gives its expected outcome and no traceback."""
    inputs = Inputs(tmp_path, small_scan)
    argv = case.command.format_map(inputs).split()
    for name in case.setup:
        inputs[name]
    for reader in case.not_called:
        monkeypatch.setattr(reader, _no_reading)
    if case.outcome == "warning":
        with pytest.warns(RedoxmapWarning, match=case.expected):
            result = runner.invoke(app, argv)
    else:
        result = runner.invoke(app, argv)
    assert "Traceback" not in result.output
    if case.outcome == "error":
        assert result.exit_code != 0
        assert isinstance(result.exception, RedoxmapError), repr(result.exception)
        message = str(result.exception)
        assert "\n" not in message and case.expected in message
        assert re.search(r"(?<![\w-])[a-z][a-z_]*=", message) is None, "names a Python argument"
        assert not (tmp_path / "m.nc").exists() and not (tmp_path / "v.zarr").exists()
        assert not (tmp_path / "d.zarr").exists()
        return
    assert result.exit_code == 0, result.output
    if case.check is not None:
        case.check(inputs, result.output)


# --- cases that need their own process ------------------------------------------------------------

GATED = """
import sys, time
from pathlib import Path
import redoxmap.preprocess.stacks as stacks
gate, read = Path(sys.argv.pop(1)), stacks.open_stack
def gated_open_stack(*args, **kwargs):
    for _ in range(1200):  # the test opens the gate once it has seen the first progress line in the log
        if gate.exists():
            return read(*args, **kwargs)
        time.sleep(0.1)
    raise SystemExit("the gate was never opened: the log stayed empty while the job ran")
stacks.open_stack = gated_open_stack
from redoxmap.cli import main
main()
"""


def test_logs_a_line_as_the_job_advances_not_at_the_end(tmp_path, small_scan):
    """'logs: nothing written until the end': ``redoxmap xanes2d … > log``. The job is held before it
    reads its stack until the log shows its first progress line: a log written only at the end would
    hold it forever (and the test fails)."""
    inputs = Inputs(tmp_path, small_scan)
    gate, log = tmp_path / "gate", tmp_path / "log.txt"
    argv = (XANES + " -o {tmp}/m.nc").format_map(inputs).split()
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-c", GATED, str(gate), *argv], stdout=out,
                                   stderr=subprocess.STDOUT)
        try:
            while "read: 0/1" not in log.read_text():
                assert process.poll() is None, log.read_text()
                time.sleep(0.1)
            assert not (tmp_path / "m.nc").exists()  # still running, held at the gate
            gate.touch()
            assert process.wait(timeout=300) == 0, log.read_text()
        finally:
            process.kill()
    lines = log.read_text().splitlines()
    assert lines.index("read: 0/1") < lines.index("fit: 1/1") and (tmp_path / "m.nc").exists()


LIGHT = """
import sys
from redoxmap.cli import app
from redoxmap.errors import OutputError
for command in sys.argv[1:]:
    try:
        app(command.split(), standalone_mode=False)
    except OutputError as exc:
        print("refused:", exc)
heavy = ("xarray", "pandas", "scipy", "dask", "h5py", "zarr", "matplotlib", "skimage")
print("loaded:", sorted(m for m in heavy if m in sys.modules))
"""


def test_a_refused_output_is_reported_before_the_stages_load(tmp_path, small_scan):
    """'fails in under 2 s': every command refuses an existing or unwritable output with only the command
    line and the settings loaded (measured: ~0.7 s of CPU from the shell); none has imported xarray,
    pandas, scipy, dask, h5py or Zarr, which take seconds."""
    inputs = Inputs(tmp_path, small_scan)
    exists, zarr, locked = inputs["existing_nc"], inputs["existing_zarr"], inputs["locked"]
    for name in ("a.zarr", "b.zarr"):
        (tmp_path / name).mkdir()
    for name in ("e.csv", "e.yaml"):
        (tmp_path / name).write_text("")
    a, b = tmp_path / "a.zarr", tmp_path / "b.zarr"
    commands = [
        f"xanes2d {TOOTH} -r {ARBIN} -o {exists}",
        f"valence {TOOTH} -l {ARBIN} -o {locked}/m.nc",
        f"tomo recon {TOOTH} --voxel-size-nm 1000 --method sirt -o {zarr}",
        f"tomo recon {TOOTH} --voxel-size-nm 1000 -o {locked}/v.zarr",
        f"tomo dual-energy {a} {b} --element Mn --below-ev 6530 --above-ev 6565 -o {zarr}",
        f"tomo pores {a} -o {tmp_path}/e.csv",
        f"tomo classify {a} {b} --target 1 -o {locked}/c.zarr",
        f"tomo xanes {a} {b} -r {ARBIN} -o {exists}",
        f"profile {exists} -o {tmp_path}/e.csv",
        f"echem {ARBIN} -o {tmp_path}/e.csv",
        f"xas-series {ARBIN} -o {exists}",
        f"xrd-series {ARBIN} -o {exists}",
        f"init-experiment {tmp_path} -o {tmp_path}/e.yaml",
    ]
    result = subprocess.run([sys.executable, "-c", LIGHT, *commands], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len([line for line in lines if line.startswith("refused:")]) == len(commands), result.stdout
    assert lines[-1] == "loaded: []"


def test_main_ends_bad_input_with_one_line_and_exit_code_2(monkeypatch, capsys):
    from redoxmap.cli import main

    monkeypatch.setattr(sys, "argv", ["redoxmap", "profile", "missing.nc"])
    with pytest.raises(SystemExit) as caught:
        main()
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: missing.nc: no such file (given as MAPS)"


# --- the functions behind the cases ---------------------------------------------------------------

@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
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


def test_a_reference_with_a_nan_is_interpolated(tmp_path, small_scan):
    """The NaN row is left out and the reference interpolated across it (linear in energy)."""
    from redoxmap.spectra import load_references

    inputs = Inputs(tmp_path, small_scan)
    with pytest.warns(RedoxmapWarning, match=r"1 row\(s\) with NaN or inf \(line 32\) left out"):
        refs = load_references(inputs.reference_files(nan_row=30), energy=small_scan.refs.energy.values)
    expected = small_scan.refs.sel(component="cycled").values
    assert refs.values[1, 30] == pytest.approx(0.5 * (expected[29] + expected[31]))
    np.testing.assert_allclose(np.delete(refs.values[1], 30), np.delete(expected, 30), rtol=1e-6)


def test_a_volume_without_voids_warns(tmp_path):
    """A solid cube: no void, a warning, an empty table and porosity 0."""
    from redoxmap.pipeline import PoresConfig, run_pores

    solid = np.zeros((16, 16, 16), np.float32)
    solid[3:13, 3:13, 3:13] = 1.0
    path = write_ome_zarr(xr.DataArray(solid, dims=("z", "y", "x")), tmp_path / "v.zarr", voxel_size_nm=10.0,
                          levels=1)
    with pytest.warns(RedoxmapWarning, match="no internal void found"):
        result = run_pores(PoresConfig(volume=path, output=tmp_path / "p.csv"))
    assert pd.read_csv(tmp_path / "p.csv").empty and result.porosity.attrs["porosity"] == 0.0


def test_config_errors_are_value_errors_and_name_the_options(tmp_path, small_scan):
    """Scripts get the same messages as the command line: the option as typed, and a ValueError."""
    from redoxmap.errors import ConfigError, OutputError, ParameterError
    from redoxmap.pipeline import Xanes2DConfig
    from redoxmap.preprocess import bin_pixels, open_stack

    inputs = Inputs(tmp_path, small_scan)
    scan, refs = Path(inputs["scan"]), inputs.reference_files()
    with pytest.raises(OutputError, match="--overwrite") as caught:
        Xanes2DConfig(stack=scan, references=refs, output=Path(inputs["existing_nc"]))
    assert isinstance(caught.value, ValueError)
    with pytest.raises(ConfigError, match="--does-not-exist: not a setting of this job"):
        Xanes2DConfig(stack=scan, references=refs, does_not_exist=1)
    with pytest.raises(ParameterError, match="binning factor 0"):
        bin_pixels(open_stack(scan), 0)
