"""Out of core and on a cluster, measured in one run (part A of issue 16: the 2D jobs).

    python benchmarks/bench_scale.py [--memory-limit 64MiB] [--energies 41] [--chunks-px 160]
                                     [--cluster-size 256]

(1) A Mn K-edge stack written energy by energy to HDF5, 3.2× ``--memory-limit``, fitted by
``xanes2d --memory-limit`` out of core (threads) in a subprocess: wall time, throughput and peak RSS
growth (/proc/self/status VmHWM − VmRSS at the start), against a plain read of the same bytes from a
Zarr store (``dask.array.from_zarr(...).sum()``, also in a subprocess); the maps of a corner are
compared with the in-memory fit of that corner. (2) The same 2D job (with drift registration) on a
``LocalCluster`` of 2 worker processes against the threads scheduler. Results go to
benchmarks/results/scale.json with a description of the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MEASURED = """
import json, sys, time
def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
kind, settings = sys.argv[1], json.loads(sys.argv[2])
start, began = status("VmRSS:"), time.perf_counter()
if kind == "zarr":
    import dask.array as da
    total = float(da.from_zarr(settings["path"]).sum(dtype="f8").compute())
    extra = {}
else:
    from redoxmap.pipeline import Xanes2DConfig, run_xanes2d
    result = run_xanes2d(Xanes2DConfig(**settings))
    extra = {"summary": result.summary[-3:]}
print(json.dumps({"seconds": time.perf_counter() - began, "grown": status("VmHWM:") - start, **extra}))
"""


def machine() -> dict:
    """CPU count and model, RAM, and the versions that matter here."""
    import dask
    import distributed
    import h5py
    import xarray
    import zarr

    import redoxmap

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    ram = next(int(line.split()[1]) * 1024 for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    return {"cpus": os.cpu_count(), "cpu_model": model, "ram_bytes": ram, "python": platform.python_version(),
            "load_average_1min": os.getloadavg()[0],
            "versions": {m.__name__: m.__version__
                         for m in (np, dask, distributed, zarr, h5py, xarray, redoxmap)}}


def write_scan(path: Path, shape: tuple[int, int], n_energy: int, drift_px: float = 0.0) -> tuple[int, list]:
    """A stack tiled from simulated Mn K-edge particles, written energy by energy (never whole in
    memory), and its two reference files; returns the stack's bytes and the references."""
    import h5py
    from scipy import ndimage

    from redoxmap.simulate import MN_K_ENERGY_EV, demo_dataset

    energies = MN_K_ENERGY_EV[:: max(len(MN_K_ENERGY_EV) // n_energy, 1)][:n_energy]
    sim = demo_dataset(shape=(64, 64), energy_ev=energies, seed=1)
    tile = sim.stack.values
    reps = (shape[0] // 64 + 1, shape[1] // 64 + 1)
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as h5:
        data = h5.create_dataset("exchange/data", (n_energy, *shape), np.float32, chunks=(1, *shape))
        for i in range(n_energy):
            od = np.tile(tile[i], reps)[: shape[0], : shape[1]]
            if drift_px:
                od = ndimage.shift(od, rng.uniform(-drift_px, drift_px, 2), order=1, mode="nearest")
            data[i] = 4000.0 * np.exp(-od)
        h5["exchange/data_white"] = np.full(shape, 4000.0, np.float32)
        h5["exchange/energy"] = energies
    refs = []
    for comp in sim.refs.component.values:
        refs.append(str(path.parent / f"{comp}.csv"))
        np.savetxt(refs[-1], np.column_stack([sim.refs.energy, sim.refs.sel(component=comp)]), delimiter=",")
    return n_energy * shape[0] * shape[1] * 4, refs


def measured(kind: str, settings: dict) -> dict:
    done = subprocess.run([sys.executable, "-c", MEASURED, kind, json.dumps(settings, default=str)],
                          capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def out_of_core(folder: Path, limit: str, n_energy: int, chunks_px: int) -> dict:
    """Part (1): the out-of-core fit against a plain Zarr read of the same bytes."""
    import dask.array as da
    import xarray as xr

    from redoxmap.fit.lincomb import lincomb
    from redoxmap.pipeline.execution import parse_memory_limit
    from redoxmap.preprocess.stacks import open_stack
    from redoxmap.spectra.references import load_references

    side = int(np.ceil(np.sqrt(3.2 * parse_memory_limit(limit) / (n_energy * 4))))
    scan = folder / "large.h5"
    nbytes, refs = write_scan(scan, (side, side), n_energy)
    settings = {"stack": scan, "references": refs, "memory_limit": limit, "chunks_px": chunks_px,
                "align": False, "mask_threshold": 0.01, "output": folder / "maps.nc"}
    job = measured("job", settings)
    stack = open_stack(scan, chunks=256)
    da.to_zarr(stack.data.rechunk((n_energy, chunks_px, chunks_px)), str(folder / "plain.zarr"),
               overwrite=True)
    plain = measured("zarr", {"path": folder / "plain.zarr"})
    corner = stack.isel(y=slice(0, 64), x=slice(0, 96)).compute()
    expected = lincomb(corner, load_references(refs, energy=corner.energy.values))
    maps = xr.open_dataset(folder / "maps.nc", engine="h5netcdf").isel(y=slice(0, 64), x=slice(0, 96))
    return {"stack_bytes": nbytes, "shape": [n_energy, side, side], "memory_limit": limit,
            "memory_limit_bytes": parse_memory_limit(limit), "chunks_px": chunks_px,
            "job_seconds": job["seconds"], "job_peak_rss_growth_bytes": job["grown"],
            "job_summary": job["summary"],
            "zarr_read_seconds": plain["seconds"], "zarr_read_peak_rss_growth_bytes": plain["grown"],
            "throughput_job_mb_s": nbytes / job["seconds"] / 1e6,
            "throughput_zarr_mb_s": nbytes / plain["seconds"] / 1e6,
            "throughput_ratio_job_to_zarr": plain["seconds"] / job["seconds"],
            "corner_max_abs_weight_difference":
                float(np.nanmax(np.abs(maps.weight.values - expected.weight.values)))}


def cluster_against_threads(folder: Path, size: int, n_energy: int) -> dict:
    """Part (2): the same job (with registration) on a LocalCluster of 2 processes and on threads."""
    import logging

    from distributed import LocalCluster

    from redoxmap.pipeline import Xanes2DConfig, run_xanes2d

    scan = folder / "drift.h5"
    nbytes, refs = write_scan(scan, (size, size), n_energy, drift_px=2.0)
    seconds = {}
    base = {"stack": scan, "references": refs, "memory_limit": "1GB", "overwrite": True}
    start = time.perf_counter()
    threads = run_xanes2d(Xanes2DConfig(**base, output=folder / "threads.nc"))
    seconds["threads"] = time.perf_counter() - start
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster:
        start = time.perf_counter()
        on_cluster = run_xanes2d(Xanes2DConfig(**base, scheduler=cluster.scheduler_address,
                                               output=folder / "cluster.nc"))
        seconds["local_cluster_2_workers"] = time.perf_counter() - start
    difference = float(np.nanmax(np.abs(on_cluster.maps.fraction.values - threads.maps.fraction.values)))
    return {"stack_bytes": nbytes, "shape": [n_energy, size, size], "seconds": seconds,
            "ratio_cluster_to_threads": seconds["local_cluster_2_workers"] / seconds["threads"],
            "max_abs_fraction_difference": difference}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory-limit", default="64MiB")
    parser.add_argument("--energies", type=int, default=41)
    parser.add_argument("--chunks-px", type=int, default=160)
    parser.add_argument("--cluster-size", type=int, default=256)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="redoxmap-bench-scale-") as tmp:
        folder = Path(tmp)
        results = {"machine": machine(),
                   "out_of_core": out_of_core(folder, args.memory_limit, args.energies, args.chunks_px),
                   "cluster": cluster_against_threads(folder, args.cluster_size, args.energies)}
    ooc, cl = results["out_of_core"], results["cluster"]
    mb = 2**20
    print(f"out of core: {ooc['stack_bytes'] / mb:.0f} MiB stack ({ooc['shape']}), --memory-limit "
          f"{ooc['memory_limit']}, chunks {ooc['chunks_px']} px")
    print(f"  xanes2d {ooc['job_seconds']:.1f} s ({ooc['throughput_job_mb_s']:.1f} MB/s), peak RSS "
          f"+{ooc['job_peak_rss_growth_bytes'] / mb:.0f} MiB")
    print(f"  plain zarr read {ooc['zarr_read_seconds']:.1f} s ({ooc['throughput_zarr_mb_s']:.1f} MB/s), "
          f"peak RSS +{ooc['zarr_read_peak_rss_growth_bytes'] / mb:.0f} MiB; ratio job/zarr throughput "
          f"{ooc['throughput_ratio_job_to_zarr']:.3f}")
    print(f"  corner vs in-memory fit: max |Δ weight| {ooc['corner_max_abs_weight_difference']:.2e}")
    print(f"cluster: {cl['shape']} stack with drift; threads {cl['seconds']['threads']:.1f} s, LocalCluster "
          f"2 workers {cl['seconds']['local_cluster_2_workers']:.1f} s (ratio "
          f"{cl['ratio_cluster_to_threads']:.2f}); max |Δ fraction| {cl['max_abs_fraction_difference']:.1e}")
    out = Path(__file__).parent / "results" / "scale.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
