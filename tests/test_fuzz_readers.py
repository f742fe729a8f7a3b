"""The readers of images, volumes, spectra, XAS series, diffraction patterns and Neware's binary cycler
files (.nda, .ndax) fed 200 damaged copies of their real test files (issue 14; how the copies are
made and what passes: :mod:`fuzzing`). The other cycler readers are in ``test_fuzz_cyclers.py``
(Neware's binaries are here so that the two files take about as long, ~40 s of CPU each, and
``pytest -n 2 --dist loadfile`` runs them side by side).

Large text files are cut to their first lines and the Neware ``.nda`` to its first records (a real
file cut short, still valid) and the STXM stack to a few energies, so that the damage often hits the
header and a read takes milliseconds.
"""

from __future__ import annotations

import gzip
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from fuzzing import Case, check_cycler, copy, one, run_case
from redoxmap.data import mn_k_library_path
from redoxmap.echem import read_cycler
from redoxmap.io import (
    RawStack,
    read_energy_list,
    read_pattern,
    read_raw,
    read_spectrum,
    write_dxchange,
    write_fxi,
    write_hdf5,
    write_nxstxm,
    write_tiff,
)
from redoxmap.io.cxi import read_cxi_stack
from redoxmap.io.omezarr import read_ome_zarr, write_ome_zarr
from redoxmap.io.xas_scan import XasScan
from redoxmap.io.xas_series import read_xas_scans
from redoxmap.io.xdi import read_xdi
from redoxmap.simulate import demo_raw_stack
from redoxmap.spectra.library import load_library, write_library

DATA = Path(__file__).parent / "data"
XRD = DATA / "xrd"
XAS = DATA / "xas"
ECHEM = DATA / "echem"


# --- what a correct read is -----------------------------------------------------------------------

def check_energies(energy_ev: np.ndarray) -> None:
    energy_ev = np.asarray(energy_ev, dtype=float)
    assert energy_ev.ndim == 1 and energy_ev.size >= 1
    assert np.all(np.isfinite(energy_ev)), energy_ev
    assert np.all(np.diff(energy_ev) > 0), "energies not strictly increasing"


def check_raw(raw: RawStack) -> None:
    assert isinstance(raw, RawStack)
    counts = raw.counts
    assert counts.dims == ("energy", "y", "x") and min(counts.shape) >= 1
    check_energies(raw.energy_ev)
    np.asarray(counts.values)  # lazily read images are read now
    for frames in (raw.flats, raw.darks):
        if frames is not None:
            assert frames.dims in (("y", "x"), ("energy", "y", "x"))
            assert frames.shape[-2:] == counts.shape[-2:]
            if frames.ndim == 3:
                assert frames.shape[0] == counts.shape[0]


def check_spectrum(result: tuple) -> None:
    energy, absorption, _ = result
    check_energies(energy)
    assert absorption.shape == energy.shape and energy.size >= 2
    assert np.all(np.isfinite(absorption))


def check_energy_list(result: tuple) -> None:
    check_energies(result[0])


def check_xdi(result: tuple) -> None:
    energy, mu, fields = result
    check_energies(energy)
    assert mu.shape == energy.shape and isinstance(fields, dict)


def check_scans(scans: list) -> None:
    assert isinstance(scans, list) and len(scans) >= 1
    for scan in scans:
        assert isinstance(scan, XasScan) and isinstance(scan.label, str)
        check_energies(scan.energy_ev)
        assert scan.energy_ev.size >= 2 and scan.mu.shape == scan.energy_ev.shape
        assert scan.start_time is None or isinstance(scan.start_time, pd.Timestamp)
        assert np.isnan(scan.time_offset_s) or np.isfinite(scan.time_offset_s)


def check_library(lib: xr.DataArray) -> None:
    assert lib.dims == ("component", "energy") and min(lib.shape) >= 1
    check_energies(lib["energy"].values)
    assert lib["valence"].shape == (lib.sizes["component"],)
    assert np.all(np.isfinite(lib["valence"].values))


def check_volume(volume: xr.DataArray) -> None:
    assert volume.dims == ("z", "y", "x") and min(volume.shape) >= 1
    scale = volume.attrs["voxel_size_nm"]
    assert np.isfinite(scale) and scale > 0


def check_pattern(pattern: xr.DataArray) -> None:
    assert pattern.ndim == 1 and pattern.dims[0] in ("two_theta", "q")
    x = pattern[pattern.dims[0]].values
    assert x.size >= 3 and np.all(np.isfinite(x)) and np.all(np.diff(x) > 0)
    assert np.all(np.isfinite(pattern.values))


# --- the intact files -----------------------------------------------------------------------------

def small_raw() -> RawStack:
    return demo_raw_stack(shape=(8, 8), seed=1)


def prepare_written(writer: Callable[[RawStack, Path], None], name: str) -> Callable:
    def prepare(folder: Path) -> tuple[Path, Path]:
        path = folder / name
        writer(small_raw(), path)
        return path, path
    return prepare


def write_generic(raw: RawStack, path: Path) -> None:
    write_hdf5(raw, path, data="/scan/images", energy="/scan/energy_kev", flats="/scan/flats",
               darks="/scan/darks", energy_scale=1000.0)


def prepare_tiff(folder: Path) -> tuple[Path, Path]:
    path = folder / "stack.tif"
    write_tiff(small_raw(), path, folder / "energies.txt")
    return path, path


def read_tiff_stack(path: Path) -> RawStack:
    return read_raw(path, energies=path.parent / "energies.txt", flats=path.parent / "stack_flats.tif",
                    darks=path.parent / "stack_darks.tif")


STXM = DATA / "stxm_fe" / "71214078"
STXM_ENERGIES = 4


def prepare_stxm(damage: str) -> Callable[[Path], tuple[Path, Path]]:
    """The real ALS stack cut to its first energies: its header with StackAxis shortened, and the
    images of those energies (unchanged)."""
    def prepare(folder: Path) -> tuple[Path, Path]:
        text = STXM.with_suffix(".hdr").read_text()
        match = re.search(r"(StackAxis\s*=\s*\{[^{}]*?Points\s*=\s*\()([^)]*)\)", text, flags=re.S)
        points = [p.strip() for p in match.group(2).split(",")][1:STXM_ENERGIES + 1]
        text = text[:match.start(2)] + f"{STXM_ENERGIES}, " + ", ".join(points) + text[match.end(2):]
        header = folder / "71214078.hdr"
        header.write_text(text)
        for i in range(STXM_ENERGIES):
            shutil.copy(f"{STXM}_a{i:03d}.xim", folder)
        return (header if damage == "hdr" else folder / "71214078_a001.xim"), header
    return prepare


XRADIA = DATA / "xradia"
XRM_SAMPLE = "rep01_20161456_ssrl-test-data_08324.0_eV_001of003.xrm"
XRM_FLAT = "rep01_000051_ref_20161456_ssrl-test-data_08324.0_eV_001of010.xrm"


def prepare_xradia(folder: Path) -> tuple[Path, Path]:
    path = copy(XRADIA / XRM_SAMPLE, folder)
    copy(XRADIA / XRM_FLAT, folder)
    return path, path


def prepare_nxstxm(folder: Path) -> tuple[Path, Path]:
    path = folder / "stack.nxs"
    raw = small_raw()
    write_nxstxm(raw, path, control=np.linspace(1.0, 0.9, raw.counts.shape[0]))
    return path, path


def prepare_library_h5(folder: Path) -> tuple[Path, Path]:
    path = folder / "library.h5"
    write_library(load_library(mn_k_library_path()), path)
    return path, path


def prepare_zarr(part: str) -> Callable[[Path], tuple[Path, Path]]:
    def prepare(folder: Path) -> tuple[Path, Path]:
        volume = xr.DataArray(np.random.default_rng(5).random((8, 10, 12)).astype(np.float32),
                              dims=("z", "y", "x"))
        root = write_ome_zarr(volume, folder / "volume.zarr", voxel_size_nm=25.0, levels=2)
        return root / part, root
    return prepare


def read_volume(path: Path) -> xr.DataArray:
    """The volume with its chunks read (a damaged chunk shows only when it is read)."""
    return read_ome_zarr(path).load()


def prepare_fxye(folder: Path, gz: bool = False) -> tuple[Path, Path]:
    """The 11-BM FXYE pattern cut to its first 300 points (the BANK line states 300)."""
    lines = gzip.decompress((XRD / "11bmb_8714.fxye.gz").read_bytes()).decode().splitlines()
    bank = next(i for i, line in enumerate(lines) if line.startswith("BANK"))
    head = lines[bank].split()
    head[2] = head[3] = "300"
    text = "\n".join([*lines[:bank], " ".join(head), *lines[bank + 1: bank + 301]]) + "\n"
    path = folder / ("pattern.fxye.gz" if gz else "pattern.fxye")
    path.write_bytes(gzip.compress(text.encode(), mtime=0) if gz else text.encode())
    return path, path


NDA_DATA_START, NDA_RECORD, NDA_END = 1024, 56, 0x81


def prepare_nda(folder: Path, records: int = 300) -> tuple[Path, Path]:
    """The real Neware .nda (version 130, BTS 9.1: 56-byte records from byte 1024) cut to its first
    ``records`` records, followed by its end-of-data record and what comes after it, as in the whole
    file."""
    data = (ECHEM / "TestFile.nda").read_bytes()
    end = next(i for i in range(NDA_DATA_START, len(data), NDA_RECORD) if data[i] == NDA_END)
    path = folder / "TestFile.nda"
    path.write_bytes(data[:NDA_DATA_START + records * NDA_RECORD] + data[end:])
    return path, path


SOLEIL = [XAS / f"norm_op2_cell4_pos1_dq1_{n:04d}_av240_00001.txt.gz" for n in (1, 12)]
SOLEIL_HEADER = 16  # '#' lines before the rows of numbers


def prepare_concatenated(folder: Path) -> tuple[Path, Path]:
    """Two real SOLEIL operando scans, each cut to its header and first 100 energies, one after the
    other in one file (``cat`` of two scans): two blocks, each timed by its own header."""
    path = folder / "two_scans.txt"
    path.write_bytes(b"".join(b"".join(gzip.decompress(p.read_bytes()).splitlines(keepends=True)
                                       [:SOLEIL_HEADER + 100]) for p in SOLEIL))
    return path, path


CASES = [
    # stacks, through read_raw's detection of the layout
    Case("raw-dxchange", prepare_written(write_dxchange, "scan.h5"), read_raw, check_raw),
    Case("raw-fxi", prepare_written(write_fxi, "fxi.h5"), read_raw, check_raw),
    Case("raw-hdf5", prepare_written(write_generic, "generic.h5"),
         lambda p: read_raw(p, data="/scan/images", energy="/scan/energy_kev", flats="/scan/flats",
                            darks="/scan/darks"), check_raw),
    Case("raw-tiff", prepare_tiff, read_tiff_stack, check_raw),
    Case("raw-stxm-hdr", prepare_stxm("hdr"), read_raw, check_raw),
    Case("raw-stxm-xim", prepare_stxm("xim"), read_raw, check_raw),
    Case("raw-xradia", prepare_xradia, lambda p: read_raw(p, flats=p.parent / XRM_FLAT), check_raw),
    Case("raw-nxstxm", prepare_nxstxm, read_raw, check_raw),
    Case("cxi", one(DATA / "ptycho" / "ptycho-scan-856eV.cxi"), lambda p: read_cxi_stack([p]), check_raw),
    # spectra and energies
    Case("spectrum", one(DATA / "ref_NiO.txt"), read_spectrum, check_spectrum),
    Case("energy-list", one(DATA / "Ni_eng_list.txt"), read_energy_list, check_energy_list),
    Case("xdi", one(DATA / "xdi" / "MnO2_rt_01.xdi"), read_xdi, check_xdi),
    Case("library-csv", one(mn_k_library_path()), load_library, check_library),
    Case("library-h5", prepare_library_h5, load_library, check_library),
    # XAS series: every format through read_xas_scans' detection
    Case("xas-xdi-times", one(DATA / "xdi" / "MnO2_rt_01.xdi"), read_xas_scans, check_scans),
    Case("xas-columns-concatenated", prepare_concatenated, read_xas_scans, check_scans),
    Case("xas-columns-wide", one(XAS / "FeLibNov2021.nor", lines=80), read_xas_scans, check_scans),
    Case("xas-columns-beamline", one(XAS / "ESRF_BM08_LISA_2021.dat", lines=100), read_xas_scans,
         check_scans),
    Case("xas-columns-gzip", one(SOLEIL[0], lines=SOLEIL_HEADER + 100, compress=True), read_xas_scans,
         check_scans),
    Case("xas-nxxas", one(XAS / "Fe_XDIFiles.h5"), read_xas_scans, check_scans),
    # volumes
    Case("omezarr-zattrs", prepare_zarr(".zattrs"), read_volume, check_volume),
    Case("omezarr-zarray", prepare_zarr("0/.zarray"), read_volume, check_volume),
    Case("omezarr-chunk", prepare_zarr("0/0.0.0"), read_volume, check_volume),
    # diffraction patterns, one case per format
    Case("xrd-gsas-std", one(XRD / "PBSO4.XRA"), read_pattern, check_pattern),
    Case("xrd-gsas-esd", one(XRD / "esd_example.gsa"), read_pattern, check_pattern),
    Case("xrd-gsas-fxy", one(XRD / "fxy_example.gsas"), read_pattern, check_pattern),
    Case("xrd-gsas-fxye", prepare_fxye, read_pattern, check_pattern),
    Case("xrd-gzip", lambda f: prepare_fxye(f, gz=True), read_pattern, check_pattern),
    Case("xrd-pyfai-2th", one(XRD / "pyfai2023_2th_deg.dat"), read_pattern, check_pattern),
    Case("xrd-pyfai-q", one(XRD / "pyfai2026_q_Ainv.dat"), read_pattern, check_pattern),
    Case("xrd-chi", one(XRD / "Data_0002.chi"), read_pattern, check_pattern),
    Case("xrd-xy", one(XRD / "Data_0001.xy", lines=300), read_pattern, check_pattern),
    Case("xrd-xye", one(XRD / "x3lactos.xye", lines=300), read_pattern, check_pattern),
    Case("xrd-columns-header", one(XRD / "lcov_1.txt", lines=300), read_pattern, check_pattern),
    Case("xrd-gadds-plt", one(XRD / "map-0.plt", lines=300), read_pattern, check_pattern),
    # Neware binary cycler files (the other cycler files: test_fuzz_cyclers.py)
    Case("echem-neware-nda", prepare_nda, read_cycler, check_cycler),
    Case("echem-neware-ndax", one(ECHEM / "123456789012_Unit27_Example_Data_File.ndax"), read_cycler,
         check_cycler),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_reader_survives_damaged_files(case: Case, tmp_path):
    run_case(case, tmp_path)
