"""Out of core and on a cluster (pipeline/execution.py, pipeline/outofcore.py, io/chunkstore.py): the
same numbers on a dask.distributed cluster as in memory, and a killed run that resumes without
redoing finished chunks. Peak memory against --memory-limit is measured in benchmarks/bench_scale.py
(a run over data 3× the limit takes minutes)."""

import importlib
import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from redoxmap.errors import ConfigError, OutputError
from redoxmap.io import write_dxchange
from redoxmap.io.chunkstore import MARKERS, ChunkStore
from redoxmap.pipeline import ValenceConfig, Xanes2DConfig, run_valence, run_xanes2d
from redoxmap.simulate import MN_K_ENERGY_EV, demo_dataset
from redoxmap.simulate.valence import reduced_surface_particle
from redoxmap.spectra.library import write_library

#: lincomb projects float32 data in float32 (one read pass): the rounding of p = Qᵀd depends on the
#: block of pixels summed at once, so chunked and whole-image fits agree to float32 level only,
#: amplified by 1/thickness in thin pixels (measured up to 7e-6 in a fraction).
FLOAT32_ATOL = 1e-4


@pytest.fixture(scope="module")
def xanes_files(tmp_path_factory):
    """A drifting Mn K-edge scan (41 energies, 64²) as dxchange and its two references."""
    folder = tmp_path_factory.mktemp("xanes")
    sim = demo_dataset(shape=(64, 64), energy_ev=MN_K_ENERGY_EV[::3], drift_max_px=2.0, seed=5)
    write_dxchange(sim.raw, folder / "scan.h5")
    refs = []
    for comp in sim.refs.component.values:
        refs.append(folder / f"{comp}.csv")
        np.savetxt(refs[-1], np.column_stack([sim.refs.energy, sim.refs.sel(component=comp)]), delimiter=",")
    return folder / "scan.h5", refs


@pytest.fixture(scope="module")
def valence_files(tmp_path_factory):
    """A Mn L3 particle with a reduced surface (48²) as dxchange and its standards."""
    folder = tmp_path_factory.mktemp("valence")
    sim = reduced_surface_particle(shape=(48, 48), seed=2)
    write_dxchange(sim.raw, folder / "scan.h5")
    write_library(sim.refs, folder / "mn_l3.csv")
    return folder / "scan.h5", folder / "mn_l3.csv"


@pytest.fixture(scope="module")
def in_memory(xanes_files, valence_files):
    """The maps of both jobs in memory (the reference every out-of-core run must equal)."""
    stack, refs = xanes_files
    v_stack, library = valence_files
    return (run_xanes2d(Xanes2DConfig(stack=stack, references=refs)).maps,
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


def test_memory_limit_sizes_the_chunks_over_space_only():
    """A smaller limit gives smaller square chunks; the energies are never split."""
    from redoxmap.pipeline.execution import chunk_px, parse_memory_limit

    sizes = [chunk_px(121, parse_memory_limit(limit), threads=2) for limit in ("64MB", "256MB", "1GB")]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    for side, limit in zip(sizes, ("64MB", "256MB", "1GB"), strict=True):  # within the limit's share
        assert 2 * side**2 * 121 * 32 <= 0.5 * parse_memory_limit(limit)


def test_jobs_on_a_local_cluster_equal_in_memory(xanes_files, valence_files, in_memory, tmp_path):
    """xanes2d and valence on a dask.distributed LocalCluster of 2 workers, reached by its tcp://
    address: the same maps as in memory (all tasks, the file reads too, travel to the workers)."""
    from distributed import LocalCluster

    stack, refs = xanes_files
    v_stack, library = valence_files
    eager, v_eager = in_memory
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp",
                      dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://")
        result = run_xanes2d(Xanes2DConfig(stack=stack, references=refs, scheduler=address, chunks_px=32,
                                           output=tmp_path / "maps.nc"))
        valence = run_valence(ValenceConfig(stack=v_stack, library=library, scheduler=address,
                                            memory_limit="64MB", output=tmp_path / "valence.nc"))
    maps = result.maps
    assert result.blocks["fit"] == (4, 0)  # 64² in chunks of 32²
    np.testing.assert_allclose(maps.fraction.values, eager.fraction.values, rtol=0, atol=FLOAT32_ATOL)
    np.testing.assert_allclose(maps.shift_x.values, eager.shift_x.values, atol=1e-9)
    np.testing.assert_array_equal(maps["mask"].values, eager["mask"].values)
    np.testing.assert_allclose(valence.maps.valence.values, v_eager.valence.values, rtol=0, atol=FLOAT32_ATOL)
    stored = xr.open_dataset(tmp_path / "valence.nc", engine="h5netcdf")
    np.testing.assert_allclose(stored.valence.values, v_eager.valence.values, rtol=0, atol=FLOAT32_ATOL)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps.nc", "valence.nc"]  # stores removed


_KILLED_RUN = textwrap.dedent("""
    import json, os, signal, sys
    from redoxmap.pipeline import {config}, {job}

    settings, stage, after = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])

    def progress(name, done, total):
        if name == stage and done >= after:
            os.kill(os.getpid(), signal.SIGKILL)

    {job}({config}(**settings), progress)
    """)


def _kill_after(tmp_path: Path, job: str, config: str, settings: dict, stage: str, after: int) -> None:
    script = tmp_path / "killed_run.py"
    script.write_text(_KILLED_RUN.format(job=job, config=config))
    done = subprocess.run([sys.executable, str(script), json.dumps(settings, default=str), stage, str(after)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]


def _markers(store: Path) -> int:
    return len([p for p in (store / MARKERS).iterdir() if p.name != "complete"])


def test_killed_fit_resumes_without_redoing_finished_chunks(xanes_files, in_memory, tmp_path, monkeypatch):
    """SIGKILL after 5 of 16 fit chunks: no maps file under the final name; the rerun fits only the
    chunks not stored (counted in the fit kernel) and writes the maps of the in-memory run."""
    lincomb_module = importlib.import_module("redoxmap.fit.lincomb")  # the package exports the function
    stack, refs = xanes_files
    output = tmp_path / "maps.nc"
    settings = {"stack": stack, "references": refs, "chunks_px": 16, "output": output}
    _kill_after(tmp_path, "run_xanes2d", "Xanes2DConfig", settings, "fit", 5)
    assert not output.exists()
    parts = tmp_path / ".maps.nc.parts"
    finished = _markers(parts / "fit.zarr")
    assert 5 <= finished < 16 and (parts / "stack.zarr" / MARKERS / "complete").exists()

    fitted = []
    kernel = lincomb_module._fit_kernel

    def counting(d, *args, **kwargs):
        if d.size:
            fitted.append(int(np.prod(d.shape[:-1])))
        return kernel(d, *args, **kwargs)

    monkeypatch.setattr(lincomb_module, "_fit_kernel", counting)
    resumed = run_xanes2d(Xanes2DConfig(**settings))
    assert resumed.blocks["fit"] == (16 - finished, finished)
    assert resumed.blocks["stack"][0] == 0  # the stored stack was not made again
    assert sum(fitted) == (16 - finished) * 16 * 16  # pixels fitted in this run: the missing chunks only
    written = xr.open_dataset(output, engine="h5netcdf")
    np.testing.assert_allclose(written.fraction.values, in_memory[0].fraction.values, rtol=0,
                               atol=FLOAT32_ATOL)
    np.testing.assert_allclose(written.r_factor.values, in_memory[0].r_factor.values, rtol=1e-3, atol=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["killed_run.py", "maps.nc"]


def test_killed_stack_stage_resumes_with_its_shifts(valence_files, in_memory, tmp_path):
    """SIGKILL while the aligned stack is stored: the rerun keeps the stored blocks and shifts, stores
    the rest and gives the maps of the in-memory run."""
    stack, library = valence_files
    output = tmp_path / "valence.zarr"
    settings = {"stack": stack, "library": library, "chunks_px": 16, "output": output}
    _kill_after(tmp_path, "run_valence", "ValenceConfig", settings, "stack", 3)
    assert not output.exists()
    store = tmp_path / ".valence.zarr.parts" / "stack.zarr"
    finished = _markers(store)
    assert 3 <= finished < 8
    resumed = run_valence(ValenceConfig(**settings))
    assert resumed.blocks["stack"] == (8 - finished, finished)
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
