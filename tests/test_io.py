import h5py
import numpy as np
import pytest
import tifffile
import xarray as xr

from redoxmap.errors import EnergyError, FormatError, MaskError, OutputError
from redoxmap.io import (
    detect_format,
    read_raw,
    write_dataset,
    write_dxchange,
    write_fxi,
    write_hdf5,
    write_tiff,
)
from redoxmap.preprocess import open_stack, optical_density, particle_mask
from redoxmap.spectra import load_references


def assert_same_od(path_od: xr.DataArray, sim) -> None:
    expected = optical_density(sim.raw)
    np.testing.assert_allclose(path_od.energy.values, sim.raw.energy_ev, atol=1e-6)
    np.testing.assert_allclose(path_od.values, expected.values, atol=1e-5)
    assert path_od.dims == ("energy", "y", "x")


def test_dxchange_round_trip(tmp_path, small_scan):
    path = tmp_path / "scan.h5"
    write_dxchange(small_scan.raw, path)
    assert detect_format(path) == "dxchange"
    raw = read_raw(path)
    assert "energy" in raw.flats.dims and raw.darks.dims == ("y", "x")
    assert_same_od(open_stack(path), small_scan)


def test_fxi_round_trip_converts_kev(tmp_path, small_scan):
    path = tmp_path / "fxi_scan.h5"
    write_fxi(small_scan.raw, path)
    with h5py.File(path) as h5:
        assert h5["X_eng"][0] == pytest.approx(6.519)
    assert detect_format(path) == "fxi"
    od = open_stack(path)
    assert_same_od(od, small_scan)
    assert any("keV" in line for line in od.attrs["history"])


def test_generic_hdf5_round_trip_with_named_datasets(tmp_path, small_scan):
    path = tmp_path / "generic.h5"
    write_hdf5(small_scan.raw, path, data="/scan/images", energy="/scan/energy_ev",
               flats="/scan/i0", darks="/scan/dark")
    assert detect_format(path) == "hdf5"
    od = open_stack(path, data="/scan/images", energy="/scan/energy_ev", flats="/scan/i0",
                    darks="/scan/dark")
    assert_same_od(od, small_scan)
    with pytest.raises(FormatError, match="name the datasets.*Datasets present: /scan/dark"):
        open_stack(path)


def test_tiff_round_trip_raw_counts(tmp_path, small_scan):
    stack, energies = tmp_path / "stack.tif", tmp_path / "energies.txt"
    write_tiff(small_scan.raw, stack, energies)
    od = open_stack(stack, energies=energies, flats=tmp_path / "stack_flats.tif",
                    darks=tmp_path / "stack_darks.tif")
    assert_same_od(od, small_scan)


def test_tiff_of_transmission_is_recognised(tmp_path, small_scan):
    t = np.exp(-optical_density(small_scan.raw).values).astype(np.float32)
    tifffile.imwrite(tmp_path / "t.tif", t)
    np.savetxt(tmp_path / "e.txt", small_scan.raw.energy_ev / 1000.0)  # keV list
    od = open_stack(tmp_path / "t.tif", energies=tmp_path / "e.txt")
    assert_same_od(od, small_scan)
    with pytest.raises(FormatError, match="raw counts.*flat-field images are needed"):
        tifffile.imwrite(tmp_path / "c.tif", small_scan.raw.counts.values)
        open_stack(tmp_path / "c.tif", energies=tmp_path / "e.txt")


def test_missing_dataset_is_named(tmp_path, small_scan):
    path = tmp_path / "broken.h5"
    write_dxchange(small_scan.raw, path)
    with h5py.File(path, "a") as h5:
        del h5["/exchange/energy"]
        h5["/exchange/theta"] = [0.0]
    with pytest.raises(FormatError, match="'/exchange/energy' \\(energies\\) is missing"):
        read_raw(path, data="/exchange/data", energy="/exchange/energy")


def test_mismatched_flat_shape(tmp_path, small_scan):
    path = tmp_path / "flat.h5"
    write_dxchange(small_scan.raw, path)
    with h5py.File(path, "a") as h5:
        del h5["/exchange/data_white"]
        h5["/exchange/data_white"] = np.ones((3, 10, 10), np.float32)
    with pytest.raises(FormatError, match=r"flat-field images.*\(10, 10\), expected \(40, 48\)"):
        open_stack(path)


def test_energies_not_increasing(tmp_path, small_scan):
    path = tmp_path / "order.h5"
    write_dxchange(small_scan.raw, path)
    with h5py.File(path, "a") as h5:
        e = h5["/exchange/energy"][()]
        e[5], e[6] = e[6], e[5]
        h5["/exchange/energy"][...] = e
    with pytest.raises(EnergyError, match=r"not increasing: energy\[5\] = 6525 eV is followed by "
                                          r"energy\[6\] = 6524 eV"):
        open_stack(path)


def test_references_must_cover_the_stack(tmp_path):
    ref = tmp_path / "short.csv"
    np.savetxt(ref, np.column_stack([np.arange(6530.0, 6600.0), np.ones(70)]), delimiter=",")
    with pytest.raises(EnergyError, match="short.csv: reference covers 6530–6599 eV but the stack "
                                          "spans 6519–6639 eV"):
        load_references([ref], energy=np.arange(6519.0, 6640.0))


def test_empty_mask_is_reported(small_scan):
    with pytest.raises(MaskError, match="particle mask is empty: no pixel has an edge jump above 50"):
        particle_mask(small_scan.stack, threshold_od=50.0)


def test_not_a_stack_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(FormatError, match="notes.txt: unrecognised file"):
        open_stack(path)


def test_reference_header_optional_and_names_from_stems(tmp_path):
    e = np.arange(6500.0, 6700.0, 0.5)
    (tmp_path / "with_header.csv").write_text(
        "energy,mu\n" + "\n".join(f"{x},{np.tanh(x - 6550)}" for x in e))
    np.savetxt(tmp_path / "plain.txt", np.column_stack([e, e * 0 + 2]))
    refs = load_references([tmp_path / "with_header.csv", tmp_path / "plain.txt"],
                           energy=np.array([6549.0, 6551.25]))
    assert list(refs.component.values) == ["with_header", "plain"]
    np.testing.assert_allclose(refs.values[1], 2.0)
    np.testing.assert_allclose(refs.values[0, 0], np.tanh(-1.0), atol=1e-12)
    named = load_references([tmp_path / "plain.txt"], energy=[6600.0], names=["Mn4+"])
    assert list(named.component.values) == ["Mn4+"]


def test_real_kev_references_fit_a_real_mixture():
    """Measured Ni K-edge standards (keV files) and the real TXM energy list: a 30/70 mixture is
    recovered exactly, and the files are read in eV."""
    from pathlib import Path

    data = Path(__file__).parent / "data"
    energy = np.loadtxt(data / "Ni_eng_list.txt") * 1000.0
    refs = load_references([data / "ref_NiO.txt", data / "ref_LiNiO2.txt"], energy=energy)
    assert refs.energy.min() > 8000
    from redoxmap.fit import lincomb

    od = (0.3 * refs.isel(component=0) + 0.7 * refs.isel(component=1)) * 0.8
    stack = od.expand_dims(y=1, x=1).transpose("energy", "y", "x")
    maps = lincomb(stack, refs, mode="nnls")
    np.testing.assert_allclose(maps.fraction.values[:, 0, 0], [0.3, 0.7], atol=1e-6)


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_write_dataset_round_trip_and_no_overwrite(tmp_path, small_scan, suffix):
    from redoxmap.fit import lincomb

    maps = lincomb(small_scan.stack, small_scan.refs)
    path = tmp_path / f"maps{suffix}"
    write_dataset(maps, path)
    back = xr.open_zarr(path) if suffix == ".zarr" else xr.open_dataset(path, engine="h5netcdf")
    np.testing.assert_allclose(back.fraction.values, maps.fraction.values)
    assert back["mask"].values.astype(bool).sum() == maps["mask"].values.sum()
    with pytest.raises(OutputError, match="exists already"):
        write_dataset(maps, path)
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_atomic_output_cleans_up_after_failures_and_killed_runs(tmp_path):
    """A failed write leaves neither the target nor its temporary; a temporary left by a killed
    process (one that no longer runs) is removed by the next write to that target; an existing
    target is refused before anything is written."""
    import os
    import subprocess
    import sys

    from redoxmap.io.atomic import atomic_output

    target = tmp_path / "maps.nc"
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    stale = tmp_path / f".maps.nc.{dead}-0123abcd.tmp.nc"
    stale.write_text("left by a killed run")
    mine = tmp_path / f".maps.nc.{os.getpid()}-0123abcd.tmp.nc"  # a live process's: kept
    mine.write_text("in progress")
    with atomic_output(target) as tmp:
        tmp.write_text("done")
    assert target.read_text() == "done" and not stale.exists() and mine.exists()
    with pytest.raises(OutputError, match="exists already; choose another name or pass --overwrite"):
        with atomic_output(target):
            pass
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutputError, match="is a file; expected a folder"):
        with atomic_output(blocker / "out.nc"):
            pass
