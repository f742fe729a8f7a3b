"""The 3D chain out of core (pipeline/tomo_series.py, tomo xanes from one multi-energy OME-Zarr): the
projections of 8 energies reconstructed slab by slab into one (energy, z, y, x) store chunked over
space only, fitted voxel by voxel, the same on a LocalCluster of 2 workers as in memory, and a killed
reconstruction that resumes without redoing finished slabs. Sizes are tiny (6 × 16 × 16 voxels)."""

import multiprocessing
import os
import signal

import numpy as np
import pytest
import xarray as xr
import zarr

from redoxmap.data import demo_reference_paths
from redoxmap.io.chunkstore import MARKERS
from redoxmap.io.projections import write_projections_dxchange
from redoxmap.pipeline import TomoSeriesConfig, TomoXanesConfig, run_tomo_series, run_tomo_xanes
from redoxmap.simulate import phase_spectra
from redoxmap.simulate.tomography import acquire_projections

ENERGIES = np.linspace(6530.0, 6600.0, 8)
SHAPE = (6, 16, 16)
#: The fit of tomo xanes: the shipped Mn K standards, fractions on the simplex plus a free background
#: (phase_spectra holds the non-resonant absorption of the rest of the material).
FIT = {"references": demo_reference_paths(), "names": ["pristine", "cycled"], "mode": "sum1-scaled",
       "mask_threshold": 0.01}


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    """Projections (25 angles) of a disc whose cycled fraction rises from left to right, one dxchange
    file per energy; and the true fraction."""
    folder = tmp_path_factory.mktemp("series")
    refs = phase_spectra(ENERGIES)
    z, y, x = np.indices(SHAPE)
    disc = (y - 7.5) ** 2 + (x - 7.5) ** 2 < 30
    fraction = np.where(disc, x / (SHAPE[2] - 1), np.nan)
    paths = []
    for k, energy in enumerate(ENERGIES):
        mu = 0.05 * disc * ((1 - fraction) * refs.values[0, k] + fraction * refs.values[1, k])
        raw, _ = acquire_projections(xr.DataArray(np.nan_to_num(mu), dims=("z", "y", "x")),
                                     np.linspace(0, 180, 25), flat_counts=1e7, seed=k)
        raw.counts = raw.counts.assign_coords(energy=float(energy))
        paths.append(folder / f"e{k}.h5")
        write_projections_dxchange(raw, paths[-1])
    return paths, fraction


@pytest.fixture(scope="module")
def in_memory(scan, tmp_path_factory):
    """The volumes and maps of the chain in memory (threads, no limit, slabs of 2 slices)."""
    paths, _ = scan
    folder = tmp_path_factory.mktemp("in_memory")
    volumes = run_tomo_series(TomoSeriesConfig(projections=paths, voxel_size_nm=50.0, slices_per_chunk=2,
                                               output=folder / "volumes.zarr"))
    maps = run_tomo_xanes(TomoXanesConfig(volumes=[folder / "volumes.zarr"], **FIT,
                                          output=folder / "maps.nc")).maps.compute()
    return volumes.volumes.compute(), maps


def test_series_store_is_chunked_over_space_and_the_fit_recovers_the_fraction(in_memory, scan, tmp_path):
    volumes, maps = in_memory
    _, truth = scan
    assert volumes.dims == ("energy", "z", "y", "x") and volumes.energy.values.tolist() == ENERGIES.tolist()
    assert volumes.chunks is None  # computed
    fitted = maps.fraction.sel(component="cycled").values
    inside = maps["mask"].values & ~np.isnan(truth)
    assert inside.sum() > 0.6 * (~np.isnan(truth)).sum()
    assert np.sqrt(np.mean((fitted[inside] - truth[inside]) ** 2)) < 0.1  # through reconstruction noise


def test_chain_on_a_local_cluster_equals_in_memory(scan, in_memory, tmp_path):
    """tomo recon of 8 energies and tomo xanes on a LocalCluster of 2 workers (tcp://): the same
    volumes and fractions as in memory; the OME-Zarr holds every energy in each chunk."""
    from distributed import LocalCluster

    paths, _ = scan
    volumes, maps = in_memory
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp",
                      dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        series = run_tomo_series(TomoSeriesConfig(projections=paths, voxel_size_nm=50.0, scheduler=address,
                                                  slices_per_chunk=2, output=tmp_path / "volumes.zarr"))
        fit = run_tomo_xanes(TomoXanesConfig(volumes=[tmp_path / "volumes.zarr"], **FIT, scheduler=address,
                                             output=tmp_path / "maps.nc"))
    assert series.blocks["recon"] == (3, 0) and fit.blocks["fit"] == (3, 0)  # 6 slices in slabs of 2
    level0 = zarr.open_group(tmp_path / "volumes.zarr", mode="r")["0"]
    assert level0.shape == (8, *SHAPE) and level0.chunks == (8, 2, 16, 16)  # every energy, a slab
    np.testing.assert_allclose(series.volumes.values, volumes.values, rtol=0, atol=1e-7)
    np.testing.assert_allclose(fit.maps.fraction.values, maps.fraction.values, rtol=0, atol=1e-4)
    np.testing.assert_array_equal(fit.maps["mask"].values, maps["mask"].values)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps.nc", "volumes.zarr"]  # stores removed


def test_killed_reconstruction_resumes_without_redoing_finished_slabs(scan, in_memory, tmp_path):
    paths, _ = scan
    settings = {"projections": paths, "voxel_size_nm": 50.0, "slices_per_chunk": 2,
                "output": tmp_path / "volumes.zarr"}

    def killed_run():
        def progress(stage, done, total):
            if stage == "recon" and done >= 1:
                os.kill(os.getpid(), signal.SIGKILL)
        run_tomo_series(TomoSeriesConfig(**settings, scheduler="synchronous"), progress)

    child = multiprocessing.get_context("fork").Process(target=killed_run)
    child.start()
    child.join(120)
    assert child.exitcode == -signal.SIGKILL
    assert not (tmp_path / "volumes.zarr").exists()
    store = tmp_path / ".volumes.zarr.parts" / "volumes.zarr" / MARKERS
    assert len([p for p in store.iterdir() if p.name != "complete"]) == 1
    resumed = run_tomo_series(TomoSeriesConfig(**settings))
    assert resumed.blocks["recon"] == (2, 1)
    np.testing.assert_allclose(resumed.volumes.values, in_memory[0].values, rtol=0, atol=1e-7)


def test_commands_reconstruct_every_energy_and_fit_the_store(scan, in_memory, tmp_path):
    """`tomo recon` given one file per energy writes the (energy, z, y, x) store of the job; `tomo xanes`
    fits it with a memory limit; options of a one-volume reconstruction are refused by name."""
    from typer.testing import CliRunner

    from redoxmap.cli import app

    paths, _ = scan
    runner = CliRunner()
    recon = ["tomo", "recon", *map(str, paths), "--voxel-size-nm", "50", "--slices-per-chunk", "2"]
    result = runner.invoke(app, [*recon, "-o", str(tmp_path / "volumes.zarr")])
    assert result.exit_code == 0, result.output
    refs = [item for p in FIT["references"] for item in ("--ref", str(p))]
    result = runner.invoke(app, ["tomo", "xanes", str(tmp_path / "volumes.zarr"), *refs, "--name", "pristine",
                                 "--name", "cycled", "--mode", "sum1-scaled", "--mask-threshold", "0.01",
                                 "--memory-limit", "64MiB", "-o", str(tmp_path / "maps.nc")])
    assert result.exit_code == 0, result.output
    with xr.open_dataset(tmp_path / "maps.nc") as maps:
        np.testing.assert_allclose(maps.fraction.values, in_memory[1].fraction.values, rtol=0, atol=1e-4)
    result = runner.invoke(app, [*recon, "--hull", "-o", str(tmp_path / "hull.zarr")])
    assert result.exit_code != 0
    assert "--hull: not available for 8 projection files" in str(result.exception)


@pytest.mark.parametrize("sample_off", [False, True])
def test_out_of_core_xanes_reads_the_stack_once_and_equals_in_memory(scan, in_memory, tmp_path, monkeypatch,
                                                                     sample_off):
    """tomo xanes with a memory limit makes the particle mask in the fit's pass (edge jump and mean
    spectrum from the blocks the fit reads): the same mask as particle_mask of the stack and the same
    maps as in memory; also when the E0 of the sampled blocks is not the stack's (the edge jump is
    then taken again at the stack's E0, and the statistics are taken from the stored fit again, as
    the mask guessed in the pass was not the one made)."""
    import importlib

    import redoxmap.pipeline.outofcore as outofcore
    from redoxmap.preprocess import particle_mask
    from redoxmap.preprocess.mask import edge_jump_mask

    volumes, maps = in_memory
    store = tmp_path / "volumes.zarr"
    run_tomo_series(TomoSeriesConfig(projections=scan[0], voxel_size_nm=50.0, slices_per_chunk=2,
                                     output=store))
    expected = particle_mask(volumes, threshold_od=FIT["mask_threshold"])
    assert expected.attrs["e0_ev"] != ENERGIES[0]
    if sample_off:  # a sample whose E0 is another measured energy
        monkeypatch.setattr(outofcore, "_sample_e0", lambda stack, spatial: float(ENERGIES[0]))
    monkeypatch.setattr("redoxmap.preprocess.mask.particle_mask", None)  # not the pass of its own
    made = []

    def recorded(*args, **kwargs):
        made.append(edge_jump_mask(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(outofcore, "edge_jump_mask", recorded)
    lincomb_module = importlib.import_module("redoxmap.fit.lincomb")  # the package exports the function
    summed = []
    tally = lincomb_module._tally
    monkeypatch.setattr(lincomb_module, "_tally", lambda *args: summed.append(1) or tally(*args))
    fit = run_tomo_xanes(TomoXanesConfig(volumes=[store], **FIT, memory_limit="64MiB",
                                         output=tmp_path / "maps.nc"))
    assert fit.blocks["fit"] == (3, 0)
    assert len(summed) == (2 if sample_off else 1)
    np.testing.assert_array_equal(made[0].values, expected.values)
    assert made[0].attrs == expected.attrs
    np.testing.assert_array_equal(fit.maps["mask"].values, maps["mask"].values)
    for name in ("fraction", "fraction_err", "weight", "r_factor", "difference_from_mean", "mean_fraction"):
        np.testing.assert_allclose(fit.maps[name].values, maps[name].values, rtol=1e-5, atol=1e-6,
                                   err_msg=name)
    assert fit.maps.attrs["mask_edge_jump"] == maps.attrs["mask_edge_jump"]


@pytest.mark.parametrize("n_energies", [8, 4])
def test_edge_jump_weights_give_the_edge_jump_of_particle_mask(n_energies):
    """J = Σ a(E) OD(E) + b with the weights of edge_jump_weights equals the edge jump particle_mask
    thresholds: the edge step at E0 (8 energies) or the two-point step (4)."""
    from redoxmap.preprocess import edge_energy, edge_jump
    from redoxmap.preprocess.mask import edge_jump_weights

    energy = ENERGIES if n_energies == 8 else ENERGIES[[0, 2, 5, 7]]
    rng = np.random.default_rng(1)
    od = xr.DataArray(rng.random((energy.size, 3, 5)) + np.linspace(0, 2, energy.size)[:, None, None] ** 2,
                      dims=("energy", "y", "x"), coords={"energy": energy})
    e0 = edge_energy(od) if n_energies == 8 else float("nan")
    a, b, how = edge_jump_weights(energy, e0)
    expected = edge_jump(od, e0_ev=e0) if n_energies == 8 else od.isel(energy=-1) - od.isel(energy=0)
    np.testing.assert_allclose(np.tensordot(a, od.values, axes=1) + b, expected.values, rtol=1e-12,
                               atol=1e-12)
    assert how.startswith("edge step") == (n_energies == 8)
