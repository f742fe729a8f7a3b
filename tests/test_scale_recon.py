"""tomo recon of one energy and tomo pores with --scheduler/--memory-limit (pipeline/tomo.py), and a
multi-energy scan held in one dxchange file ((energy, angle, y, x), io/projections.py) reconstructed by
the multi-energy job (pipeline/tomo_series.py): the same numbers out of core and on a LocalCluster of 2
workers as in memory, the one-file scan the same volumes as one file per energy, and bad one-file scans
refused naming the file and dataset. Sizes are tiny (6 × 24 × 24 voxels, 31 angles)."""

import multiprocessing
import os
import shutil
import signal

import h5py
import numpy as np
import pytest
import xarray as xr

from redoxmap.errors import ConfigError, FormatError
from redoxmap.io import read_ome_zarr, write_ome_zarr
from redoxmap.io.chunkstore import MARKERS
from redoxmap.io.projections import write_projection_series_dxchange, write_projections_dxchange
from redoxmap.pipeline import (
    PoresConfig,
    TomoReconConfig,
    TomoSeriesConfig,
    run_pores,
    run_tomo_recon,
    run_tomo_series,
)
from redoxmap.simulate.tomography import acquire_projections

SHAPE = (6, 24, 24)
ANGLES = np.linspace(0, 180, 31)
ENERGIES = [6530.0, 6555.0, 6580.0]


def _raw(scale: float, seed: int):
    """Projections of an off-axis disc whose attenuation is scaled by ``scale``."""
    z, y, x = np.indices(SHAPE)
    disc = 0.05 * scale * (((y - 11.5) ** 2 + (x - 10.5) ** 2) < 50)
    raw, _ = acquire_projections(xr.DataArray(disc, dims=("z", "y", "x")), ANGLES, flat_counts=1e6, seed=seed)
    return raw


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """One single-energy file, the same three energies as three files and as one file, and the
    in-memory reconstruction of the single file."""
    folder = tmp_path_factory.mktemp("recon")
    raws = []
    for k, energy in enumerate(ENERGIES):
        raw = _raw(1.0 + 0.5 * k, seed=k)
        raw.counts = raw.counts.assign_coords(energy=energy)
        raws.append(raw)
        write_projections_dxchange(raw, folder / f"e{k}.h5")
    write_projection_series_dxchange(raws, ENERGIES, folder / "scan.h5")
    eager = run_tomo_recon(TomoReconConfig(projections=folder / "e0.h5", voxel_size_nm=50.0,
                                           output=folder / "eager.zarr"))
    return folder, eager


# Before the tests that start the cluster's threads: this one forks.
def test_killed_recon_of_one_energy_resumes_without_redoing_finished_slabs(files, tmp_path):
    folder, eager = files
    settings = {"projections": folder / "e0.h5", "voxel_size_nm": 50.0, "slices_per_chunk": 2,
                "memory_limit": "64MiB", "output": tmp_path / "v.zarr"}

    def killed_run():
        def progress(stage, done, total):
            if stage == "recon" and done >= 1:
                os.kill(os.getpid(), signal.SIGKILL)
        run_tomo_recon(TomoReconConfig(**settings, scheduler="synchronous"), progress)

    child = multiprocessing.get_context("fork").Process(target=killed_run)
    child.start()
    child.join(120)
    assert child.exitcode == -signal.SIGKILL and not (tmp_path / "v.zarr").exists()
    markers = tmp_path / ".v.zarr.parts" / "volumes.zarr" / MARKERS
    assert len([p for p in markers.iterdir() if p.name != "complete"]) == 1
    resumed = run_tomo_recon(TomoReconConfig(**settings))
    assert resumed.blocks["recon"] == (2, 1)
    np.testing.assert_allclose(resumed.volume.values, eager.volume.values, rtol=0, atol=1e-6)


def test_recon_out_of_core_and_on_a_cluster_equals_in_memory(files, cluster, tmp_path):
    """One energy on a LocalCluster of 2 workers (slabs of 2 slices) and with a memory limit alone
    (slabs sized from it): the in-memory volume, its rotation axis and energy; stores removed."""
    folder, eager = files
    expected = eager.volume.values
    assert np.abs(expected).max() > 0.05  # a disc, not an empty volume
    on_cluster = run_tomo_recon(TomoReconConfig(projections=folder / "e0.h5", voxel_size_nm=50.0,
                                                scheduler=cluster.scheduler_address, slices_per_chunk=2,
                                                output=tmp_path / "cluster.zarr"))
    limited = run_tomo_recon(TomoReconConfig(projections=folder / "e0.h5", voxel_size_nm=50.0,
                                             memory_limit="16MiB", output=tmp_path / "limited.zarr"))
    assert on_cluster.blocks["recon"] == (3, 0) and limited.blocks["recon"][1] == 0
    for result in (on_cluster, limited):
        assert result.center_px == pytest.approx(eager.center_px, abs=1e-9)
        np.testing.assert_allclose(result.volume.values, expected, rtol=0, atol=1e-6)
        assert result.volume.attrs["energy_ev"] == 6530.0 and result.volume.dims == ("z", "y", "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cluster.zarr", "limited.zarr"]


def test_steps_that_need_every_projection_are_refused_out_of_core(files, tmp_path):
    folder, _ = files
    with pytest.raises(ConfigError, match="--align-jitter, --hull: not available out of core "
                                          r"\(--memory-limit 1GB\)"):
        TomoReconConfig(projections=folder / "e0.h5", voxel_size_nm=50.0, memory_limit="1GB",
                        align_jitter=True, hull=True, output=tmp_path / "v.zarr")


@pytest.fixture(scope="module")
def pore_volume(tmp_path_factory):
    from redoxmap.simulate.phantom3d import attenuation_volume, cathode_phantom

    path = tmp_path_factory.mktemp("pores") / "volume.zarr"
    mu = attenuation_volume(cathode_phantom(40, seed=2, n_pores=4), 6600.0, 400.0).astype(np.float32)
    write_ome_zarr(mu, path, 400.0)
    return path


def test_pores_on_a_cluster_equal_in_memory(pore_volume, cluster, tmp_path):
    eager = run_pores(PoresConfig(volume=pore_volume, output=tmp_path / "eager.csv"))
    remote = run_pores(PoresConfig(volume=pore_volume, scheduler=cluster.scheduler_address,
                                   memory_limit="64MiB", output=tmp_path / "remote.csv"))
    assert len(eager.table) >= 3  # the phantom's pores and crack are found
    assert eager.table.equals(remote.table)
    np.testing.assert_array_equal(eager.labels.values, remote.labels.values)
    assert remote.porosity.attrs["porosity"] == pytest.approx(eager.porosity.attrs["porosity"], abs=1e-12)


def test_pores_refuse_a_volume_beyond_the_memory_limit(tmp_path):
    path = tmp_path / "big.zarr"
    write_ome_zarr(xr.DataArray(np.zeros((64, 64, 64), np.float32), dims=("z", "y", "x")), path, 400.0)
    with pytest.raises(ConfigError, match=r"--memory-limit 16MiB: .*big.zarr \(64, 64, 64\) needs about 20"):
        run_pores(PoresConfig(volume=path, memory_limit="16MiB", output=tmp_path / "p.csv"))


def test_one_file_scan_equals_one_file_per_energy(files, tmp_path):
    """`tomo recon scan.h5` (every energy in one file) writes the volumes of the per-energy files."""
    from typer.testing import CliRunner

    from redoxmap.cli import app

    folder, eager = files
    per_file = run_tomo_series(TomoSeriesConfig(projections=[folder / f"e{k}.h5" for k in range(3)],
                                                voxel_size_nm=50.0, output=tmp_path / "files.zarr"))
    result = CliRunner().invoke(app, ["tomo", "recon", str(folder / "scan.h5"), "--voxel-size-nm", "50",
                                      "--slices-per-chunk", "2", "-o", str(tmp_path / "scan.zarr")])
    assert result.exit_code == 0, result.output
    one_file = read_ome_zarr(tmp_path / "scan.zarr")
    assert one_file.dims == ("energy", "z", "y", "x") and one_file.energy.values.tolist() == ENERGIES
    np.testing.assert_allclose(one_file.values, per_file.volumes.values, rtol=0, atol=1e-6)
    np.testing.assert_allclose(one_file.sel(energy=6530.0).values, eager.volume.values, rtol=0, atol=1e-6)
    peak = one_file.values[:, :, 11:13, 9:12].mean(axis=(1, 2, 3))
    assert np.all(np.diff(peak) > 0)  # each energy's own attenuation (1, 1.5, 2 × the disc)
    refused = CliRunner().invoke(app, ["tomo", "recon", str(folder / "scan.h5"), "--voxel-size-nm", "50",
                                       "--hull", "-o", str(tmp_path / "hull.zarr")])
    message = str(refused.exception)
    assert "--hull: not available for" in message and "holds 3 energies" in message


def _replace(name: str, values):
    def edit(h5):
        del h5[name]
        h5[name] = values
    return edit


def _edited(folder, tmp_path, edit) -> object:
    path = tmp_path / "bad.h5"
    shutil.copy(folder / "scan.h5", path)
    with h5py.File(path, "r+") as h5:
        edit(h5)
    return path


@pytest.mark.parametrize(("edit", "error", "said"), [
    (_replace("/exchange/energy", [6.53, 6.555]), FormatError,
     "/exchange/energy holds 2 energies but /exchange/data holds 3"),
    (lambda h5: h5.__delitem__("/exchange/energy"), FormatError, "no /exchange/energy for the 3 energies"),
    (_replace("/exchange/data_white", np.ones((2, 1, 6, 24))), FormatError,
     "/exchange/data_white (flat-field images) holds 2 energies but /exchange/data holds 3"),
    (lambda h5: h5["/exchange/data"].attrs.__setitem__("axes", "theta:energy:y:x"), FormatError,
     "has axes 'theta:energy:y:x'; expected energy:theta:y:x"),
    (_replace("/exchange/theta", np.zeros((2, 31))), FormatError,
     "/exchange/theta has shape (2, 31) but /exchange/data holds 3 energies of 31 projections"),
])
def test_bad_one_file_scans_name_the_file_and_dataset(files, tmp_path, edit, error, said):
    folder, _ = files
    path = _edited(folder, tmp_path, edit)
    with pytest.raises(error) as caught:
        run_tomo_series(TomoSeriesConfig(projections=[path], voxel_size_nm=50.0, output=tmp_path / "v.zarr"))
    assert str(path) in str(caught.value) and said in str(caught.value)


def test_energy_counts_and_single_files_are_checked_before_reading(files, tmp_path):
    folder, _ = files
    with pytest.raises(ConfigError, match=r"2 --energy-ev values for 3 energies in 1 projection file\(s\) "
                                          r"\(scan.h5: 3\)"):
        TomoSeriesConfig(projections=[folder / "scan.h5"], energy_ev=[1.0, 2.0], voxel_size_nm=50.0,
                         output=tmp_path / "v.zarr")
    with pytest.raises(ConfigError, match="e0.h5: projections of one energy; expected one file per energy"):
        TomoSeriesConfig(projections=[folder / "e0.h5"], voxel_size_nm=50.0, output=tmp_path / "v.zarr")
