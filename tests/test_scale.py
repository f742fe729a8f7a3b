"""Out of core and on a cluster (pipeline/execution.py, pipeline/outofcore.py, io/chunkstore.py, the lazy
HDF5 reads of io/hdf5.py): the same numbers on a dask.distributed cluster as in memory, stores in strips
of rows that hold every energy, and a killed run that resumes without redoing finished strips. Peak
memory against --memory-limit and throughput are measured in benchmarks/bench_scale.py (a run over data
3× the limit takes minutes). Stacks are tiny (96 × 24 px) so that the file runs in seconds."""

import importlib
import multiprocessing
import os
import signal
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr
import zarr

from redoxmap.errors import ConfigError, OutputError
from redoxmap.io import ChunkStore, write_dxchange
from redoxmap.io.chunkstore import COMPLETE, MARKERS
from redoxmap.io.hdf5 import _images
from redoxmap.pipeline import (
    ValenceConfig,
    Xanes2DConfig,
    chunk_bytes,
    parse_memory_limit,
    run_valence,
    run_xanes2d,
)
from redoxmap.simulate import MN_K_ENERGY_EV, demo_dataset
from redoxmap.simulate.valence import MN_L3_ENERGY_EV, reduced_surface_particle
from redoxmap.spectra.library import write_library

#: lincomb projects float32 data in float32 (one read pass): the rounding of p = Qᵀd depends on the
#: block of pixels summed at once, so chunked and whole-image fits agree to float32 level only,
#: amplified by 1/thickness in thin pixels (measured up to 7e-6 in a fraction).
FLOAT32_ATOL = 1e-4
SHAPE = (96, 24)  # 4 strips of 24 rows (more than the halo of drift correction, 17 rows)


@pytest.fixture(scope="module")
def xanes_files(tmp_path_factory):
    """A Mn K-edge scan (13 energies, 96 × 24) as dxchange and its two references; fitted without
    drift correction (the valence scan drifts and is registered)."""
    folder = tmp_path_factory.mktemp("xanes")
    sim = demo_dataset(shape=SHAPE, energy_ev=MN_K_ENERGY_EV[::10], seed=5)
    write_dxchange(sim.raw, folder / "scan.h5")
    refs = []
    for comp in sim.refs.component.values:
        refs.append(folder / f"{comp}.csv")
        np.savetxt(refs[-1], np.column_stack([sim.refs.energy, sim.refs.sel(component=comp)]), delimiter=",")
    return folder / "scan.h5", refs


@pytest.fixture(scope="module")
def valence_files(tmp_path_factory):
    """A Mn L3 particle with a reduced surface (31 energies, 96 × 24) as dxchange and its standards."""
    folder = tmp_path_factory.mktemp("valence")
    sim = reduced_surface_particle(shape=SHAPE, energy_ev=MN_L3_ENERGY_EV[::4], seed=2)
    write_dxchange(sim.raw, folder / "scan.h5")
    write_library(sim.refs, folder / "mn_l3.csv")
    return folder / "scan.h5", folder / "mn_l3.csv"


@pytest.fixture(scope="module")
def in_memory(xanes_files, valence_files):
    """The maps of both jobs in memory (the reference every out-of-core run must equal)."""
    stack, refs = xanes_files
    v_stack, library = valence_files
    return (run_xanes2d(Xanes2DConfig(stack=stack, references=refs, align=False)).maps,
            run_valence(ValenceConfig(stack=v_stack, library=library)).maps)


@pytest.mark.parametrize(("settings", "flag", "said"), [
    ({"scheduler": "gpu"}, "--scheduler", "tcp://host:port"),
    ({"scheduler": "tcp://cluster"}, "--scheduler", "tcp://host:port"),
    ({"scheduler": "tcp://node7:99999"}, "--scheduler", "tcp://host:port"),
    ({"memory_limit": "lots"}, "--memory-limit", "a memory size such as 1GB"),
    ({"memory_limit": "1kB"}, "--memory-limit", "at least 16 MiB"),
])
def test_bad_execution_settings_name_the_flag(xanes_files, settings, flag, said):
    stack, refs = xanes_files
    with pytest.raises(ConfigError, match=flag) as error:
        Xanes2DConfig(stack=stack, references=refs, **settings)
    assert said in str(error.value)


def test_serial_is_synchronous_and_an_unreachable_scheduler_names_the_flag(xanes_files, monkeypatch):
    import socket

    execution = importlib.import_module("redoxmap.pipeline.execution")  # the package exports the function

    stack, refs = xanes_files
    assert Xanes2DConfig(stack=stack, references=refs, scheduler="serial").scheduler == "synchronous"
    with socket.socket() as free:  # a port nobody listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    monkeypatch.setattr(execution, "CONNECT_TIMEOUT_S", 1)
    config = Xanes2DConfig(stack=stack, references=refs, scheduler=f"tcp://127.0.0.1:{port}")
    with pytest.raises(ConfigError, match=f"--scheduler tcp://127.0.0.1:{port}: no dask scheduler answered"):
        run_xanes2d(config)


def test_memory_limit_sizes_the_chunks():
    """A smaller limit gives smaller chunks, the chunks in flight within the limit's share."""
    sizes = [chunk_bytes(parse_memory_limit(limit), threads=2) for limit in ("32MB", "256MB", "1GB")]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    for size, limit in zip(sizes, ("32MB", "256MB", "1GB"), strict=True):
        assert 2 * size * 32 / 4 <= 0.5 * parse_memory_limit(limit)


def test_lazy_hdf5_reads_give_the_file_in_any_chunks(tmp_path):
    """Contiguous and per-image-chunked datasets are read through a memory map, the others through
    h5py: every layout and byte order gives the file's values in strips, tiles and slices."""
    values = np.random.default_rng(1).normal(size=(5, 13, 17))
    with h5py.File(tmp_path / "a.h5", "w") as h5:
        h5.create_dataset("contiguous", data=values.astype(">f4"))
        h5.create_dataset("images", data=values.astype("<u2"), chunks=(1, 13, 17))
        h5.create_dataset("small_chunks", data=values.astype("<f8"), chunks=(2, 4, 4))
        h5.create_dataset("compressed", data=values.astype("<f4"), chunks=(1, 13, 17), compression="gzip")
        h5.create_dataset("unwritten", shape=(5, 13, 17), dtype="f4", chunks=(1, 13, 17), fillvalue=3)
    with h5py.File(tmp_path / "a.h5", "r") as h5:
        for name in h5:
            expected = h5[name][()]
            np.testing.assert_array_equal(_images(h5[name], (-1, 4, -1)).compute(), expected)
            strips = _images(h5[name], (-1, "auto", -1))
            assert strips.chunks[0] == (5,) and strips.chunks[2] == (17,)
            tiles = _images(h5[name], 5)
            assert tiles.chunks[0] == (1,) * 5
            np.testing.assert_array_equal(tiles[1:3, 2:7, 3].compute(), expected[1:3, 2:7, 3])


def test_stack_store_holds_strips_of_every_energy(xanes_files, in_memory, tmp_path):
    """Chunked over space only: each chunk of the stored stack and fit is a strip of rows holding
    every energy (one file per strip), and the binned, windowed stack gives the in-memory maps."""
    stack, refs = xanes_files
    settings = {"stack": stack, "references": refs, "chunks_px": 24, "align": False, "bin_px": 2,
                "min_ev": 6530.0, "output": tmp_path / "maps.zarr"}

    def stop_at_fit(stage, done, total):
        if stage == "fit":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_xanes2d(Xanes2DConfig(**settings), stop_at_fit)
    od = zarr.open_group(tmp_path / ".maps.zarr.parts" / "stack.zarr", mode="r")["od"]
    n_energy = int(np.count_nonzero(MN_K_ENERGY_EV[::10] >= 6530.0))
    assert od.shape == (n_energy, 48, 12) and od.chunks == (n_energy, 12, 12)  # 24 input rows binned by 2
    resumed = run_xanes2d(Xanes2DConfig(**settings))
    assert resumed.blocks["stack"] == (0, 4)
    eager = run_xanes2d(Xanes2DConfig(**{**settings, "chunks_px": None, "output": None})).maps
    np.testing.assert_allclose(resumed.maps.fraction.values, eager.fraction.values, rtol=0, atol=FLOAT32_ATOL)


def _kill_after(job, config, settings: dict, stage: str, after: int) -> None:
    """Run ``job`` in a forked copy of this process (no second start-up of Python and the imports),
    one strip at a time, and SIGKILL it once ``stage`` has reported ``after`` blocks done."""
    def killed_run():
        def progress(name, done, total):
            if name == stage and done >= after:
                os.kill(os.getpid(), signal.SIGKILL)
        job(config(**settings, scheduler="synchronous"), progress)

    child = multiprocessing.get_context("fork").Process(target=killed_run)
    child.start()
    child.join(120)
    assert child.exitcode == -signal.SIGKILL


def _markers(store: Path) -> int:
    return len([p for p in (store / MARKERS).iterdir() if p.name != "complete"])


def test_killed_fit_resumes_without_redoing_finished_strips(xanes_files, in_memory, tmp_path, monkeypatch):
    """SIGKILL after 2 of 4 fit strips: no maps file under the final name; the rerun fits only the
    strips not stored (counted in the fit kernel) and writes the maps of the in-memory run."""
    lincomb_module = importlib.import_module("redoxmap.fit.lincomb")  # the package exports the function
    stack, refs = xanes_files
    output = tmp_path / "maps.nc"
    settings = {"stack": stack, "references": refs, "align": False, "chunks_px": 24, "output": output}
    _kill_after(run_xanes2d, Xanes2DConfig, settings, "fit", 2)
    assert not output.exists()
    parts = tmp_path / ".maps.nc.parts"
    finished = _markers(parts / "fit.zarr")
    assert 2 <= finished < 4 and (parts / "stack.zarr" / MARKERS / "complete").exists()

    fitted = []
    kernel = lincomb_module._fit_kernel

    def counting(d, *args, **kwargs):
        if d.size:
            fitted.append(int(np.prod(d.shape[:-1])))
        return kernel(d, *args, **kwargs)

    monkeypatch.setattr(lincomb_module, "_fit_kernel", counting)
    resumed = run_xanes2d(Xanes2DConfig(**settings))
    assert resumed.blocks["fit"] == (4 - finished, finished)
    assert resumed.blocks["stack"][0] == 0  # the stored stack was not made again
    assert sum(fitted) == (4 - finished) * 24 * SHAPE[1]  # pixels fitted in this run: the missing strips
    written = xr.open_dataset(output, engine="h5netcdf")
    np.testing.assert_allclose(written.fraction.values, in_memory[0].fraction.values, rtol=0,
                               atol=FLOAT32_ATOL)
    np.testing.assert_allclose(written.r_factor.values, in_memory[0].r_factor.values, rtol=1e-3, atol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps.nc"]


def test_killed_stack_stage_resumes_with_its_shifts(valence_files, in_memory, tmp_path):
    """SIGKILL while the aligned stack is stored: the rerun keeps the stored strips and shifts, stores
    the rest and gives the maps of the in-memory run."""
    stack, library = valence_files
    output = tmp_path / "valence.zarr"
    settings = {"stack": stack, "library": library, "chunks_px": 24, "output": output}
    _kill_after(run_valence, ValenceConfig, settings, "stack", 2)
    assert not output.exists()
    store = tmp_path / ".valence.zarr.parts" / "stack.zarr"
    finished = _markers(store)
    assert 2 <= finished < 4
    resumed = run_valence(ValenceConfig(**settings))
    assert resumed.blocks["stack"] == (4 - finished, finished)
    written = xr.open_zarr(output)
    np.testing.assert_allclose(written.valence.values, in_memory[1].valence.values, rtol=0, atol=FLOAT32_ATOL)
    np.testing.assert_array_equal(written.shift_y.values, in_memory[1].shift_y.values)


def test_a_store_of_other_settings_is_replaced_and_chunks_must_fit_blocks(tmp_path):
    array = xr.DataArray(np.arange(24.0).reshape(4, 6), dims=("y", "x"), name="a")
    first = ChunkStore(tmp_path / "a.zarr", key="one")
    first.write(array, blocks={"y": 2})
    other = ChunkStore(tmp_path / "a.zarr", key="two")
    assert not other.matches and first.complete
    stored = other.write(array * 2, blocks={"y": 1})
    assert (other.computed, other.resumed) == (4, 0)
    np.testing.assert_array_equal(stored.values, array.values * 2)
    with pytest.raises(OutputError, match="chunks of 3 along 'y' do not divide the blocks"):
        ChunkStore(tmp_path / "b.zarr", key="one").write(array, blocks={"y": 2}, chunks={"y": 3})


def test_derive_reads_resumed_blocks_from_the_store_and_computes_only_the_others(tmp_path):
    """A store with 2 of 4 blocks marked complete: ``derive`` sees the stored values of those (not
    recomputed: the rerun's array differs there) and the new values of the others, in one pass."""
    import dask.array as da

    array = xr.DataArray(np.arange(24.0).reshape(4, 6), dims=("y", "x"), name="a")
    store = ChunkStore(tmp_path / "a.zarr", key="k")
    store.write(array.chunk({"y": 1}))
    for name in ("0.0", "2.0", COMPLETE):
        (tmp_path / "a.zarr" / MARKERS / name).unlink()
    computed = []

    def times_ten(block, block_info=None):
        computed.append(block_info[0]["chunk-location"][0])
        return block * 10

    again = xr.DataArray(da.from_array(array.values, chunks=(1, 6)).map_blocks(times_ten, dtype=float,
                                                                           meta=np.empty((0, 0))),
                         dims=("y", "x"), name="a")
    stored = store.write(again, derive=lambda source: (source.sum("x").data,))
    expected = np.where(np.isin(np.arange(4), [0, 2])[:, None], array.values * 10, array.values)
    np.testing.assert_array_equal(stored.values, expected)
    np.testing.assert_array_equal(store.derived[0], expected.sum(axis=1))
    assert sorted(computed) == [0, 2] and (store.computed, store.resumed) == (2, 2)


# Last: the cluster's threads are started once the forked runs above are done.
def test_jobs_on_a_local_cluster_equal_in_memory(xanes_files, valence_files, in_memory, cluster, tmp_path):
    """xanes2d (4 strips) and valence (drift registration, strips sized by a memory limit) on a
    LocalCluster of 2 workers, reached by its tcp:// address: the maps of the in-memory run."""
    stack, refs = xanes_files
    v_stack, library = valence_files
    eager, v_eager = in_memory
    address = cluster.scheduler_address
    result = run_xanes2d(Xanes2DConfig(stack=stack, references=refs, align=False, scheduler=address,
                                       chunks_px=24, output=tmp_path / "maps.nc"))
    valence = run_valence(ValenceConfig(stack=v_stack, library=library, scheduler=address,
                                        memory_limit="16MiB", output=tmp_path / "valence.nc"))
    assert result.blocks["fit"] == (4, 0)  # 96 rows in strips of 24
    maps = result.maps
    np.testing.assert_allclose(maps.fraction.values, eager.fraction.values, rtol=0, atol=FLOAT32_ATOL)
    np.testing.assert_array_equal(maps["mask"].values, eager["mask"].values)
    stored = xr.open_dataset(tmp_path / "valence.nc", engine="h5netcdf")
    np.testing.assert_allclose(stored.valence.values, v_eager.valence.values, rtol=0, atol=FLOAT32_ATOL)
    np.testing.assert_allclose(valence.maps.valence.values, v_eager.valence.values, rtol=0, atol=FLOAT32_ATOL)
    np.testing.assert_allclose(valence.maps.shift_x.values, v_eager.shift_x.values, atol=1e-9)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps.nc", "valence.nc"]  # stores removed


def test_the_processes_scheduler_runs_on_a_cluster_of_worker_processes(xanes_files, in_memory, tmp_path):
    """``--scheduler processes`` starts a LocalCluster of worker processes for the job (one per
    core, the memory limit shared among them) and stops it after: the in-memory maps, computed in
    strips by other processes, and no cluster left behind."""
    import distributed

    stack, refs = xanes_files
    eager, _ = in_memory
    result = run_xanes2d(Xanes2DConfig(stack=stack, references=refs, align=False, scheduler="processes",
                                       memory_limit="64MiB", chunks_px=24, output=tmp_path / "maps.nc"))
    assert result.blocks["fit"] == (4, 0)
    np.testing.assert_allclose(result.maps.fraction.values, eager.fraction.values, rtol=0, atol=FLOAT32_ATOL)
    np.testing.assert_array_equal(result.maps["mask"].values, eager["mask"].values)
    with pytest.raises(ValueError, match="No global client found"):
        distributed.get_client()
