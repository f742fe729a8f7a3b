"""Out of core and on a cluster, measured in one run (issue 16: the 2D jobs and the 3D chain).

    python benchmarks/bench_scale.py [--memory-limit 64MiB] [--energies 41] [--cluster-size 256]
                                     [--memory-limit-3d 400MB] [--energies-3d 20] [--slices 256]
                                     [--size 256] [--angles 256] [--parts 2d,cluster,3d]

(1) 2D: a Mn K-edge stack written energy by energy to HDF5, 3.2× ``--memory-limit``, fitted by
``xanes2d --memory-limit`` out of core (threads) in a subprocess: wall time, throughput and peak RSS
(/proc/self/status VmHWM, and its growth over VmRSS after the imports), against a plain read of the
same bytes from a Zarr store (``dask.array.from_zarr(...).sum()``, also in a subprocess); the maps
of a corner are compared with the in-memory fit of that corner. (2) The same 2D job (with drift
registration) on a ``LocalCluster`` of 2 worker processes against the threads scheduler. (3) 3D:
projections of ``--energies-3d`` energies (one dxchange file each) of a ``--slices``-slice volume,
reconstructed by ``tomo recon`` into one (energy, z, y, x) OME-Zarr 3.3× ``--memory-limit-3d`` and
fitted voxel by voxel by ``tomo xanes`` from it: peak RSS of each, reconstruction in s per slice and
energy, the fit's throughput against a plain read of the store's own Zarr array (the best of
``REPEATS_3D`` runs of each, alternately); the fit of a corner
against the in-memory fit; ``tomo xanes`` on a LocalCluster of 2 processes against threads. Results
go to benchmarks/results/scale.json with a description of the machine.
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
# imports before the clock and the memory baseline: the jobs import their stages when they run, the
# Zarr read imports zarr, dask's first compute imports distributed (to look for a client), and
# xarray's first indexed array imports pint (0.4 s)
import dask.array as da, distributed, zarr
import redoxmap.pipeline as jobs
import redoxmap.fit, redoxmap.io, redoxmap.preprocess, redoxmap.spectra, redoxmap.tomo
import redoxmap.pipeline.outofcore, redoxmap.pipeline.tomo_series
import xarray as xr
xr.DataArray([0.0], coords={"x": [0]})  # xarray imports its duck-array modules (pint) on first use
start, began = status("VmRSS:"), time.perf_counter()
stages = {}
def progress(stage, done, total):
    stages.setdefault(stage + "_start", time.perf_counter() - began)
    if done == total:
        stages.setdefault(stage + "_first_end", time.perf_counter() - began)
        stages[stage + "_end"] = time.perf_counter() - began
if kind == "zarr":
    total = float(da.from_zarr(settings["path"]).sum(dtype="f8").compute())
    extra = {}
else:
    config, run = {"job": ("Xanes2DConfig", "run_xanes2d"), "series": ("TomoSeriesConfig", "run_tomo_series"),
                   "xanes3d": ("TomoXanesConfig", "run_tomo_xanes"),
                   "dual": ("DualEnergyConfig", "run_dual_energy"),
                   "classify": ("ClassifyConfig", "run_classify")}[kind]
    result = getattr(jobs, run)(getattr(jobs, config)(**settings), progress)
    extra = {"summary": result.summary[-3:], "stages": stages}
print(json.dumps({"seconds": time.perf_counter() - began, "grown": status("VmHWM:") - start,
                  "peak": status("VmHWM:"), **extra}))
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


def write_scan(path: Path, shape: tuple[int, int], n_energy: int) -> tuple[int, list]:
    """A stack tiled from simulated Mn K-edge particles with fresh photon noise in every pixel (as
    measured counts have: the bytes do not compress better than real data), written energy by
    energy (never whole in memory), one HDF5 chunk per image, and its two reference files; returns
    the stack's bytes and the references."""
    import h5py

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
            data[i] = rng.poisson(4000.0 * np.exp(-od)).astype(np.float32)
        h5["exchange/data_white"] = np.full(shape, 4000.0, np.float32)
        h5["exchange/energy"] = energies
    refs = []
    for comp in sim.refs.component.values:
        refs.append(str(path.parent / f"{comp}.csv"))
        np.savetxt(refs[-1], np.column_stack([sim.refs.energy, sim.refs.sel(component=comp)]), delimiter=",")
    return n_energy * shape[0] * shape[1] * 4, refs


#: Runs of tomo xanes and of the plain Zarr read, alternately; the best of each is compared.
REPEATS_3D = 5


#: The environment the measured runs start in, as this process was started: a LocalCluster's nannies
#: set their workers' variables in the process that starts them (MALLOC_TRIM_THRESHOLD_=65536, the
#: BLAS threads to 1), which every later subprocess would inherit; under that malloc setting the 3D
#: runs after the cluster part took 1.5-2x as long (tomo xanes 15.5 s against 6.6 s, recon 146 s
#: against 109 s).
ENVIRON = {**os.environ, "OMP_NUM_THREADS": "1"}


def measured(kind: str, settings: dict) -> dict:
    done = subprocess.run([sys.executable, "-c", MEASURED, kind, json.dumps(settings, default=str)],
                          capture_output=True, text=True, env=ENVIRON)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def out_of_core(folder: Path, limit: str, n_energy: int) -> dict:
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
    settings = {"stack": scan, "references": refs, "memory_limit": limit, "align": False,
                "mask_threshold": 0.01, "output": folder / "maps.nc"}
    job = measured("job", settings)
    stack = open_stack(scan, chunks=(-1, 256, 256))
    da.to_zarr(stack.data, str(folder / "plain.zarr"), overwrite=True)  # zarr's default compressor
    plain = measured("zarr", {"path": folder / "plain.zarr"})
    corner = stack.isel(y=slice(0, 64), x=slice(0, 96)).compute()
    expected = lincomb(corner, load_references(refs, energy=corner.energy.values))
    maps = xr.open_dataset(folder / "maps.nc", engine="h5netcdf").isel(y=slice(0, 64), x=slice(0, 96))
    stages = job["stages"]
    prepared = stages["stack_end"]  # read, optical density and the stack store
    per_pixel = stages["fit_end"] - prepared  # E0, edge-jump mask and the fit from the stored stack
    return {"stack_bytes": nbytes, "shape": [n_energy, side, side], "memory_limit": limit,
            "memory_limit_bytes": parse_memory_limit(limit),
            "job_seconds": job["seconds"], "job_stage_seconds": stages,
            "job_peak_rss_growth_bytes": job["grown"], "job_peak_rss_bytes": job["peak"],
            "job_summary": job["summary"],
            "zarr_read_seconds": plain["seconds"], "zarr_read_peak_rss_growth_bytes": plain["grown"],
            "throughput_job_mb_s": nbytes / job["seconds"] / 1e6,
            "throughput_zarr_mb_s": nbytes / plain["seconds"] / 1e6,
            "throughput_ratio_job_to_zarr": plain["seconds"] / job["seconds"],
            "prepare_seconds": prepared, "per_pixel_seconds": per_pixel,
            "maps_seconds": job["seconds"] - stages["fit_end"],
            "throughput_ratio_per_pixel_stages_to_zarr": plain["seconds"] / per_pixel,
            "corner_max_abs_weight_difference":
                float(np.nanmax(np.abs(maps.weight.values - expected.weight.values)))}


def cluster_against_threads(folder: Path, size: int, n_energy: int) -> dict:
    """Part (2): the same job (with registration) on a LocalCluster of 2 processes and on threads."""
    import logging

    from distributed import LocalCluster

    from redoxmap.io import write_dxchange
    from redoxmap.pipeline import Xanes2DConfig, run_xanes2d
    from redoxmap.simulate import MN_K_ENERGY_EV, demo_dataset

    scan = folder / "drift.h5"  # the demo scene (not tiled: registration needs an aperiodic image)
    energies = MN_K_ENERGY_EV[:: max(len(MN_K_ENERGY_EV) // n_energy, 1)][:n_energy]
    sim = demo_dataset(shape=(size, size), energy_ev=energies, drift_max_px=2.0, seed=3)
    write_dxchange(sim.raw, scan)
    nbytes, refs = sim.raw.counts.size * 4, []
    for comp in sim.refs.component.values:
        refs.append(str(folder / f"drift_{comp}.csv"))
        np.savetxt(refs[-1], np.column_stack([sim.refs.energy, sim.refs.sel(component=comp)]), delimiter=",")
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


def write_series(folder: Path, n_energy: int, n_slices: int, size: int, n_angles: int) -> tuple[list, list]:
    """Projections of a multi-energy scan, one dxchange file per energy, written energy by energy: discs
    mixing two Mn K-edge phases (a pattern of 8 slices repeated along z), so that the projections of
    the two phases' densities are computed once (the Radon transform is linear) and each energy's
    counts are Poisson(I0 exp(−(μ_a(E) P_a + μ_b(E) P_b))). Returns the files and the reference files."""
    from skimage.transform import radon

    from redoxmap.data import demo_reference_paths
    from redoxmap.io.projections import write_projections_dxchange
    from redoxmap.io.raw import RawStack
    from redoxmap.simulate import phase_spectra

    energies = np.linspace(6530.0, 6600.0, n_energy)
    spectra = phase_spectra(energies).values * 0.005  # attenuation per voxel: ≥ 2 % transmitted
    rng = np.random.default_rng(4)
    y, x = np.indices((size, size)) - (size - 1) / 2
    angles = np.linspace(0.0, 180.0, n_angles, endpoint=False)
    base = np.zeros((2, n_angles, 8, size))
    for k in range(8):
        density = np.zeros((2, size, size))
        for _ in range(6):
            cy, cx = rng.uniform(-0.2, 0.2, 2) * size  # inside the inscribed circle
            inside = (y - cy) ** 2 + (x - cx) ** 2 < (rng.uniform(0.08, 0.18) * size) ** 2
            share = rng.uniform(0, 1)
            density[0] += inside * (1 - share)
            density[1] += inside * share
        for phase in range(2):
            base[phase, :, k] = radon(density[phase], angles, circle=True).T
    reps = -(-n_slices // 8)
    base = np.tile(base, (1, 1, reps, 1))[:, :, :n_slices]
    flat = np.full((n_slices, size), 2e4, np.float32)
    paths = []
    for k, energy in enumerate(energies):
        line = spectra[0, k] * base[0] + spectra[1, k] * base[1]
        counts = rng.poisson(flat[None] * np.exp(-line)).astype(np.float32)
        raw = RawStack(counts=xr_counts(counts, angles, energy), flats=xr_frame(flat), darks=None)
        paths.append(folder / f"series_{k:02d}.h5")
        write_projections_dxchange(raw, paths[-1])
    return paths, [str(p) for p in demo_reference_paths()]


def xr_counts(counts: np.ndarray, angles: np.ndarray, energy: float):
    import xarray as xr

    return xr.DataArray(counts, dims=("angle", "y", "x"), coords={"angle": angles, "energy": float(energy)},
                        attrs={"source": "simulated", "history": []})


def xr_frame(image: np.ndarray):
    import xarray as xr

    return xr.DataArray(image, dims=("y", "x"))


def three_d(folder: Path, limit: str, n_energy: int, n_slices: int, size: int, n_angles: int) -> dict:
    """Part (3): the 3D chain out of core against a plain Zarr read of the store."""
    import xarray as xr

    from redoxmap.fit.lincomb import lincomb
    from redoxmap.io.omezarr import read_ome_zarr
    from redoxmap.pipeline.execution import parse_memory_limit
    from redoxmap.spectra.references import load_references

    paths, refs = write_series(folder, n_energy, n_slices, size, n_angles)
    store = folder / "volumes.zarr"
    recon = measured("series", {"projections": paths, "voxel_size_nm": 50.0, "memory_limit": limit,
                                "output": store})
    nbytes = n_energy * n_slices * size * size * 4
    fit = {"volumes": [store], "references": refs, "names": ["pristine", "cycled"], "mode": "sum1-scaled",
           "mask_threshold": 0.001, "memory_limit": limit}
    # alternately, best of each: other load on a shared machine hits both alike
    runs = [(measured("xanes3d", {**fit, "output": folder / f"maps3d_{k}.nc"}),
             measured("zarr", {"path": store / "0"})) for k in range(REPEATS_3D)]
    xanes = min((x for x, _ in runs), key=lambda x: x["stages"]["fit_end"])
    plain = min((z for _, z in runs), key=lambda z: z["seconds"])
    stack = read_ome_zarr(store)
    corner = stack.isel(z=slice(0, 4), y=slice(0, 48), x=slice(0, 48)).compute()
    mask = xr.open_dataset(folder / "maps3d_0.nc")["mask"].isel(z=slice(0, 4), y=slice(0, 48), x=slice(0, 48))
    references = load_references(refs, energy=corner.energy.values, names=["pristine", "cycled"])
    expected = lincomb(corner, references, mode="sum1-scaled", mask=mask.values.astype(bool))
    maps = xr.open_dataset(folder / "maps3d_0.nc").isel(z=slice(0, 4), y=slice(0, 48), x=slice(0, 48))
    stages = recon["stages"]
    recon_seconds = stages.get("recon_end", recon["seconds"]) - stages.get("center_end", 0.0)
    seconds = {}
    if n_slices <= 64:  # LocalCluster against threads on the fit (a smaller store keeps it to minutes)
        seconds = cluster_3d(store, fit, folder)
    return {"stack_bytes": nbytes, "shape": [n_energy, n_slices, size, size], "angles": n_angles,
            "memory_limit": limit, "memory_limit_bytes": parse_memory_limit(limit),
            "recon_seconds_total": recon["seconds"], "recon_stage_seconds": stages,
            "recon_seconds_per_slice_and_energy": recon_seconds / (n_slices * n_energy),
            "recon_peak_rss_growth_bytes": recon["grown"], "recon_peak_rss_bytes": recon["peak"],
            "recon_summary": recon["summary"],
            "xanes_seconds": xanes["seconds"], "xanes_stage_seconds": xanes["stages"],
            "xanes_per_voxel_seconds": xanes["stages"]["fit_end"],
            "xanes_peak_rss_growth_bytes": max(x["grown"] for x, _ in runs),  # the worst run's
            "xanes_peak_rss_bytes": max(x["peak"] for x, _ in runs),
            "xanes_summary": xanes["summary"],
            "zarr_read_seconds": plain["seconds"],
            "throughput_ratio_xanes_to_zarr": plain["seconds"] / xanes["seconds"],
            "throughput_ratio_per_voxel_stages_to_zarr": plain["seconds"] / xanes["stages"]["fit_end"],
            "repeats": REPEATS_3D,
            "xanes_per_voxel_seconds_each": [x["stages"]["fit_end"] for x, _ in runs],
            "zarr_read_seconds_each": [z["seconds"] for _, z in runs],
            "corner_max_abs_fraction_difference": float(np.nanmax(np.abs(
                maps.fraction.values - expected.fraction.values))),
            "cluster_seconds": seconds}


def cluster_3d(store: Path, fit: dict, folder: Path) -> dict:
    import logging

    from distributed import LocalCluster

    from redoxmap.pipeline import TomoXanesConfig, run_tomo_xanes

    seconds = {}
    start = time.perf_counter()
    threads = run_tomo_xanes(TomoXanesConfig(**fit, output=folder / "threads3d.nc"))
    seconds["threads"] = time.perf_counter() - start
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster:
        start = time.perf_counter()
        on_cluster = run_tomo_xanes(TomoXanesConfig(**fit, scheduler=cluster.scheduler_address,
                                                    output=folder / "cluster3d.nc"))
        seconds["local_cluster_2_workers"] = time.perf_counter() - start
    seconds["max_abs_fraction_difference"] = float(np.nanmax(np.abs(
        on_cluster.maps.fraction.values - threads.maps.fraction.values)))
    return seconds


def report_three_d(r: dict) -> None:
    mb = 2**20
    print(f"3D: {r['stack_bytes'] / mb:.0f} MiB of volumes ({r['shape']}, {r['angles']} angles), "
          f"--memory-limit {r['memory_limit']}")
    print(f"  tomo recon {r['recon_seconds_total']:.1f} s, "
          f"{1e3 * r['recon_seconds_per_slice_and_energy']:.1f} ms per slice and energy; peak RSS "
          f"{r['recon_peak_rss_bytes'] / mb:.0f} MiB (+{r['recon_peak_rss_growth_bytes'] / mb:.0f} MiB)")
    print(f"  tomo xanes {r['xanes_seconds']:.1f} s, peak RSS {r['xanes_peak_rss_bytes'] / mb:.0f} MiB "
          f"(+{r['xanes_peak_rss_growth_bytes'] / mb:.0f} MiB) "
          f"(limit + 1 GB = {(r['memory_limit_bytes'] + 2**30) / mb:.0f} MiB); plain Zarr read of the store "
          f"{r['zarr_read_seconds']:.2f} s (best of {r['repeats']}, alternately): throughput ratio, "
          f"per-voxel stages (E0, mask, fit: "
          f"{r['xanes_per_voxel_seconds']:.1f} s) {r['throughput_ratio_per_voxel_stages_to_zarr']:.3f}, "
          f"whole job with the maps written {r['throughput_ratio_xanes_to_zarr']:.3f}")
    print(f"  corner vs in-memory fit: max |Δ fraction| {r['corner_max_abs_fraction_difference']:.1e}")
    if r["cluster_seconds"]:
        c = r["cluster_seconds"]
        print(f"  tomo xanes threads {c['threads']:.1f} s, LocalCluster 2 workers "
              f"{c['local_cluster_2_workers']:.1f} s, "
              f"max |Δ fraction| {c['max_abs_fraction_difference']:.1e}")


def write_store(folder: Path, n_energy: int, n_slices: int, size: int) -> Path:
    """An (energy, z, y, x) OME-Zarr of the 3D part's shape without reconstructing it: the discs of
    :func:`write_series` (two Mn K-edge phases, 8 slices repeated along z) with 1 % noise, written slab
    by slab (chunks of 2 slices, as tomo recon's)."""
    import dask.array as da
    import xarray as xr

    from redoxmap.io.omezarr import write_ome_zarr
    from redoxmap.simulate import phase_spectra

    energies = np.linspace(6530.0, 6600.0, n_energy)
    spectra = phase_spectra(energies).values * 0.005
    rng = np.random.default_rng(4)
    y, x = np.indices((size, size)) - (size - 1) / 2
    phases = np.zeros((2, 8, size, size), np.float32)
    for k in range(8):
        for _ in range(6):
            cy, cx = rng.uniform(-0.2, 0.2, 2) * size
            inside = (y - cy) ** 2 + (x - cx) ** 2 < (rng.uniform(0.08, 0.18) * size) ** 2
            share = rng.uniform(0, 1)
            phases[0, k] += inside * (1 - share)
            phases[1, k] += inside * share

    def slab(block_info=None):
        (_, _), (z0, z1), _, _ = block_info[None]["array-location"]
        rows = np.arange(z0, z1) % 8
        mu = np.einsum("pe,pzyx->ezyx", spectra, phases[:, rows])
        noise = np.random.default_rng(z0).normal(0.0, 0.01 * 0.005, mu.shape)
        return (mu + noise).astype(np.float32)

    volumes = da.map_blocks(slab, dtype=np.float32,
                            chunks=((n_energy,), (2,) * (n_slices // 2), (size,), (size,)))
    store = xr.DataArray(volumes, dims=("energy", "z", "y", "x"), coords={"energy": energies},
                         attrs={"units": "1/voxel"})
    return write_ome_zarr(store, folder / "chemistry.zarr", 50.0)


def chemistry_3d(folder: Path, store: Path, limit: str) -> dict:
    """Part (4): tomo dual-energy on two energies of the (energy, z, y, x) store (twice: the edge pair
    6530/6600 eV and a pair on the rising edge), then tomo classify of the ratio of the two densities:
    peak RSS and time of each (subprocess), against the bytes of one volume and of the store."""
    from redoxmap.io.omezarr import read_ome_zarr

    stack = read_ome_zarr(store)
    energies = stack.energy.values
    volume_bytes = int(np.prod(stack.shape[1:])) * 4
    runs = {}
    for name, above in (("edge", energies[-1]), ("rising", energies[len(energies) // 3])):
        runs[name] = measured("dual", {"below": store, "below_ev": float(energies[0]),
                                       "above_ev": float(above), "element": "Mn", "memory_limit": limit,
                                       "output": folder / f"{name}.zarr"})
    classify = measured("classify", {"numerator": folder / "rising.zarr",
                                     "denominator": folder / "edge.zarr", "target": 0.5, "tolerance": 0.1,
                                     "memory_limit": limit, "output": folder / "classes.zarr"})
    return {"shape": list(stack.shape), "store_bytes": volume_bytes * len(energies),
            "volume_bytes": volume_bytes, "memory_limit": limit,
            "dual_energy_seconds": runs["edge"]["seconds"],
            "dual_energy_peak_rss_bytes": runs["edge"]["peak"],
            "dual_energy_peak_rss_growth_bytes": runs["edge"]["grown"],
            "dual_energy_summary": runs["edge"]["summary"],
            "classify_seconds": classify["seconds"], "classify_peak_rss_bytes": classify["peak"],
            "classify_peak_rss_growth_bytes": classify["grown"], "classify_stage_seconds": classify["stages"],
            "classify_summary": classify["summary"]}


def report_chemistry_3d(r: dict) -> None:
    mb = 2**20
    print(f"3D chemistry: store {r['shape']} ({r['store_bytes'] / mb:.0f} MiB; one volume "
          f"{r['volume_bytes'] / mb:.0f} MiB), --memory-limit {r['memory_limit']}")
    print(f"  tomo dual-energy {r['dual_energy_seconds']:.1f} s, peak RSS "
          f"{r['dual_energy_peak_rss_bytes'] / mb:.0f} MiB "
          f"(+{r['dual_energy_peak_rss_growth_bytes'] / mb:.0f} MiB)")
    print(f"  tomo classify {r['classify_seconds']:.1f} s, peak RSS {r['classify_peak_rss_bytes'] / mb:.0f} "
          f"MiB (+{r['classify_peak_rss_growth_bytes'] / mb:.0f} MiB)")


def report_out_of_core(ooc: dict) -> None:
    mb = 2**20
    print(f"out of core: {ooc['stack_bytes'] / mb:.0f} MiB stack ({ooc['shape']}), --memory-limit "
          f"{ooc['memory_limit']}")
    print(f"  xanes2d {ooc['job_seconds']:.1f} s ({ooc['throughput_job_mb_s']:.1f} MB/s): read + OD + store "
          f"{ooc['prepare_seconds']:.1f} s, E0 + mask + fit {ooc['per_pixel_seconds']:.1f} s, maps written "
          f"{ooc['maps_seconds']:.1f} s; peak RSS "
          f"{ooc['job_peak_rss_bytes'] / mb:.0f} MiB, +{ooc['job_peak_rss_growth_bytes'] / mb:.0f} MiB after "
          f"the imports (limit + 1 GB = "
          f"{(ooc['memory_limit_bytes'] + 2**30) / mb:.0f} MiB)")
    print(f"  plain zarr read {ooc['zarr_read_seconds']:.2f} s ({ooc['throughput_zarr_mb_s']:.0f} MB/s); "
          f"throughput ratio to it: whole job {ooc['throughput_ratio_job_to_zarr']:.3f}, per-pixel stages "
          f"{ooc['throughput_ratio_per_pixel_stages_to_zarr']:.3f}")
    print(f"  corner vs in-memory fit: max |Δ weight| {ooc['corner_max_abs_weight_difference']:.2e}")


def report_cluster(cl: dict) -> None:
    print(f"cluster: {cl['shape']} stack with drift; threads {cl['seconds']['threads']:.1f} s, LocalCluster "
          f"2 workers {cl['seconds']['local_cluster_2_workers']:.1f} s (ratio "
          f"{cl['ratio_cluster_to_threads']:.2f}); max |Δ fraction| {cl['max_abs_fraction_difference']:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory-limit", default="64MiB")
    parser.add_argument("--energies", type=int, default=41)
    parser.add_argument("--cluster-size", type=int, default=256)
    parser.add_argument("--memory-limit-3d", default="400MB")
    parser.add_argument("--energies-3d", type=int, default=20)
    parser.add_argument("--slices", type=int, default=256)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--angles", type=int, default=256)
    parser.add_argument("--parts", default="2d,cluster,3d,chem3d",
                        help="comma-separated: 2d, cluster, 3d, chem3d (dual-energy and classify on the 3d "
                        "store, or on a simulated store of its shape without 3d)")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    out = Path(__file__).parent / "results" / "scale.json"
    results = json.loads(out.read_text()) if out.exists() else {}
    results["machine"] = machine()
    with tempfile.TemporaryDirectory(prefix="redoxmap-bench-scale-") as tmp:
        folder = Path(tmp)
        if "2d" in parts:
            results["out_of_core"] = out_of_core(folder, args.memory_limit, args.energies)
            report_out_of_core(results["out_of_core"])
        if "cluster" in parts:
            results["cluster"] = cluster_against_threads(folder, args.cluster_size, args.energies)
            report_cluster(results["cluster"])
        if "3d" in parts:
            results["three_d"] = three_d(folder, args.memory_limit_3d, args.energies_3d, args.slices,
                                         args.size, args.angles)
            report_three_d(results["three_d"])
        if "chem3d" in parts:
            store = folder / "volumes.zarr"
            if not store.exists():
                store = write_store(folder, args.energies_3d, args.slices, args.size)
            results["chemistry_3d"] = chemistry_3d(folder, store, args.memory_limit_3d)
            report_chemistry_3d(results["chemistry_3d"])
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
