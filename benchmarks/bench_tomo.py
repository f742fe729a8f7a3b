"""Tomographic reconstruction: speed and accuracy against scikit-image, astra-toolbox and algotom,
and iterative memory, sparse matrix versus matrix-free projector — measured in one run, one thread.

    python benchmarks/bench_tomo.py [--size 1024] [--angles 1000] [--large] [--slab-size 512]
                                    [--slab-angles 720] [--slab-slices 32] [--iterations 3]

FBP: the modified Shepp–Logan phantom (Toft 1996), its sinogram computed analytically (exact line
integrals of the ellipses, averaged over the detector pixel's width; the phantom averaged over
each pixel's area), once noise-free and once with Poisson noise at 1e4 flat counts (attenuation
scaled to a largest line integral of 2). RMSE inside the disc of 0.9 × the radius, in the
phantom's units. Each tool gets the data on its own grid: redoxmap and scikit-image put the
rotation axis at pixel n // 2, astra and algotom at (n − 1) / 2. s/slice for redoxmap's gridrec and
algotom is the time of both slices (noise-free and noisy) / 2, as both reconstruct slices in pairs
or chunks; the others run slice by slice. astra-toolbox (CPU FBP, ``linear`` projector, Ram-Lak)
and algotom (``fbp_reconstruction``, numba, no window) run when installed
(``pip install -e ".[bench]"``); neither is a redoxmap dependency.

Iterative: a ``slab-slices``-slice slab of ``slab-size``² slices from ``slab-angles`` views, SIRT and
TV, each projector in its own process so its peak RSS is its own; s/iteration after the first.
Finally gridrec on a 64-slice volume with 1 versus 2 dask workers. Timings share the machine with
whatever else runs: compare the ratios of one run.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

#: Modified Shepp–Logan (Toft, PhD thesis, DTU 1996): intensity, semi-axes a, b, centre x0, y0,
#: rotation φ (degrees), on the square [−1, 1]².
ELLIPSES = np.array([
    [1.0, 0.69, 0.92, 0.0, 0.0, 0.0], [-0.8, 0.6624, 0.874, 0.0, -0.0184, 0.0],
    [-0.2, 0.11, 0.31, 0.22, 0.0, -18.0], [-0.2, 0.16, 0.41, -0.22, 0.0, 18.0],
    [0.1, 0.21, 0.25, 0.0, 0.35, 0.0], [0.1, 0.046, 0.046, 0.0, 0.1, 0.0],
    [0.1, 0.046, 0.046, 0.0, -0.1, 0.0], [0.1, 0.046, 0.023, -0.08, -0.605, 0.0],
    [0.1, 0.023, 0.023, 0.0, -0.606, 0.0], [0.1, 0.023, 0.046, 0.06, -0.605, 0.0]])
SUB = 4  # sub-samples per pixel side (phantom) and per detector pixel (sinogram)


def phantom_image(n: int, centre: float) -> np.ndarray:
    """Pixel (i, j) at (x, y) = (j − centre, centre − i), averaged over SUB × SUB points."""
    out = np.zeros((n, n))
    offsets = (np.arange(SUB) + 0.5) / SUB - 0.5
    for dy in offsets:
        y = ((centre - np.arange(n) - dy) / (n / 2))[:, None]
        for dx in offsets:
            x = ((np.arange(n) - centre + dx) / (n / 2))[None, :]
            for value, a, b, x0, y0, phi in ELLIPSES:
                c, s = np.cos(np.radians(phi)), np.sin(np.radians(phi))
                u, v = (x - x0) * c + (y - y0) * s, (y - y0) * c - (x - x0) * s
                out += value * ((u / a) ** 2 + (v / b) ** 2 <= 1)
    return out / SUB**2


def phantom_sinogram(n: int, angles_deg: np.ndarray, centre: float) -> np.ndarray:
    """Line integrals (angle, det) along t = x cos θ + y sin θ = d − centre, in pixel units,
    averaged over SUB points across each detector pixel: ∫ over an ellipse of semi-axes a, b is
    2 a b √(s² − t′²) / s² with s² = a² cos²(θ − φ) + b² sin²(θ − φ)."""
    theta = np.radians(np.asarray(angles_deg))[:, None]
    out = np.zeros((theta.size, n))
    for dt in (np.arange(SUB) + 0.5) / SUB - 0.5:
        t = ((np.arange(n) - centre + dt) / (n / 2))[None, :]
        for value, a, b, x0, y0, phi in ELLIPSES:
            s2 = (a * np.cos(theta - np.radians(phi))) ** 2 + (b * np.sin(theta - np.radians(phi))) ** 2
            shifted = t - (x0 * np.cos(theta) + y0 * np.sin(theta))
            out += value * 2 * a * b / s2 * np.sqrt(np.clip(s2 - shifted**2, 0, None))
    return out * (n / 2) / SUB


def noisy(sino: np.ndarray, counts: float, seed: int) -> np.ndarray:
    """−ln(I/I0) with I Poisson at I0 = ``counts`` · exp(−scaled line integral), back in the
    phantom's units (scaled so that the largest line integral is 2)."""
    scale = 2.0 / sino.max()
    measured = np.random.default_rng(seed).poisson(counts * np.exp(-scale * sino))
    return -np.log(np.maximum(measured, 1) / counts) / scale


def astra_fbp(sino: np.ndarray, angles_deg: np.ndarray) -> np.ndarray:
    import astra

    n = sino.shape[1]
    vol = astra.create_vol_geom(n, n)
    geometry = astra.create_proj_geom("parallel", 1.0, n, np.radians(angles_deg))
    projector = astra.create_projector("linear", geometry, vol)
    sino_id = astra.data2d.create("-sino", geometry, sino)
    rec_id = astra.data2d.create("-vol", vol)
    cfg = astra.astra_dict("FBP")
    cfg.update(ProjectorId=projector, ProjectionDataId=sino_id, ReconstructionDataId=rec_id,
               FilterType="ram-lak")
    algorithm = astra.algorithm.create(cfg)
    astra.algorithm.run(algorithm)
    out = astra.data2d.get(rec_id)
    astra.algorithm.delete(algorithm)
    astra.data2d.delete([sino_id, rec_id])
    astra.projector.delete(projector)
    return out


def algotom_fbp(sinos: np.ndarray, angles_deg: np.ndarray) -> np.ndarray:
    """sinos (angle, slice, det) → (slice, n, n), axis at (n − 1) / 2."""
    from algotom.rec.reconstruction import fbp_reconstruction

    out = fbp_reconstruction(sinos, (sinos.shape[2] - 1) / 2, angles=np.radians(angles_deg), filter_name=None,
                             apply_log=False, gpu=False, ncore=1)
    return np.moveaxis(out, 1, 0)  # algotom returns (n, slice, n)


def fbp_rows(n: int, n_angle: int) -> list[dict]:
    """Time and RMSE of each FBP on the noise-free and the noisy sinogram (one slice each)."""
    from skimage.transform import iradon

    from redoxmap.tomo.reconstruct import reconstruct

    angles = np.linspace(0, 180, n_angle, endpoint=False)
    grids = {"ours": n // 2, "peer": (n - 1) / 2}
    truth, data = {}, {}
    for grid, centre in grids.items():
        truth[grid] = phantom_image(n, centre)
        clean = phantom_sinogram(n, angles, centre)
        data[grid] = np.stack([clean, noisy(clean, 1e4, seed=0)], axis=1)  # (angle, 2, det)

    def rmse(volume: np.ndarray, grid: str) -> tuple[float, float]:
        rows, cols = np.indices((n, n)) - grids[grid]
        disc = rows**2 + cols**2 <= (0.9 * n / 2) ** 2
        return tuple(float(np.sqrt(np.mean((v - truth[grid])[disc] ** 2))) for v in volume)

    def per_slice(name: str, grid: str, run) -> dict:
        start = time.perf_counter()
        volume = run(data[grid])
        return {"name": name, "s": (time.perf_counter() - start) / 2, "rmse": rmse(volume, grid)}

    projections = xr.DataArray(data["ours"].astype(np.float32), dims=("angle", "y", "x"),
                               coords={"angle": angles})
    rows = [per_slice("scikit-image iradon (ramp)", "ours",
                      lambda d: [iradon(d[:, k].T, angles, filter_name="ramp", circle=True) for k in (0, 1)])]
    if n <= 1024:
        rows.append(per_slice("redoxmap fbp (iradon)", "ours",
                              lambda d: reconstruct(projections, "fbp", threads=1).values))
    for name in ("linear", "ramp", "shepp-logan"):
        label = "redoxmap gridrec (linear: default)" if name == "linear" else f"redoxmap gridrec ({name})"
        rows.append(per_slice(label, "ours", lambda d, name=name: reconstruct(
            projections, "gridrec", filter_name=name, threads=1).values))
    peers = (("astra-toolbox FBP (CPU, ram-lak)", "astra",
              lambda d: [astra_fbp(d[:, k], angles) for k in (0, 1)]),
             ("algotom FBP (numba, ramp)", "algotom", lambda d: algotom_fbp(d, angles)))
    for name, module, run in peers:
        try:
            __import__(module)
        except ImportError:
            continue
        if module == "algotom":
            run(data["peer"])  # numba compiles its kernels on the first call: not timed
        rows.append(per_slice(name, "peer", run))
    return rows


def iterative_child(method: str, projector: str, n: int, n_angle: int, n_slices: int,
                    iterations: int) -> None:
    """Runs in its own process; prints one JSON line."""
    from redoxmap.tomo import reconstruct

    angles = np.linspace(0, 180, n_angle, endpoint=False)
    sino = phantom_sinogram(n, angles, n // 2).astype(np.float32)
    block = np.stack([sino * (1 + 0.01 * k) for k in range(n_slices)], axis=1)
    projections = xr.DataArray(block, dims=("angle", "y", "x"), coords={"angle": angles})
    stamps = [time.perf_counter()]
    reconstruct(projections, method, iterations=iterations + 1, tv_weight=0.5, projector=projector,
                threads=1, progress=lambda done, total: done and stamps.append(time.perf_counter()))
    print(json.dumps({"setup_s": stamps[1] - stamps[0],
                      "s_per_iteration": (stamps[-1] - stamps[1]) / iterations, "peak_gb": peak_gb()}))


def peak_gb() -> float:
    """This process's peak resident memory: VmHWM, which starts afresh at exec (``ru_maxrss`` keeps
    the parent's peak from before the fork)."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1e6
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def iterative_rows(args: argparse.Namespace) -> list[dict]:
    rows = []
    for method in ("sirt", "tv"):
        for projector in ("sparse", "fourier"):
            command = [sys.executable, __file__, "--child", method, projector, str(args.slab_size),
                       str(args.slab_angles), str(args.slab_slices), str(args.iterations)]
            result = subprocess.run(command, capture_output=True, text=True, check=True)
            rows.append({"method": method, "projector": projector,
                         **json.loads(result.stdout.strip().splitlines()[-1])})
    return rows


def dask_rows(n: int, n_angle: int, n_slices: int = 64) -> dict[int, float]:
    import dask

    from redoxmap.tomo.reconstruct import reconstruct

    angles = np.linspace(0, 180, n_angle, endpoint=False)
    sino = phantom_sinogram(n, angles, n // 2).astype(np.float32)
    projections = xr.DataArray(np.repeat(sino[:, None], n_slices, axis=1), dims=("angle", "y", "x"),
                               coords={"angle": angles})
    walls = {}
    for workers in (1, 2):
        with dask.config.set(scheduler="threads", num_workers=workers):
            start = time.perf_counter()
            reconstruct(projections, "gridrec", slices_per_chunk=n_slices // 8, threads=1).compute()
            walls[workers] = time.perf_counter() - start
    return walls


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        method, projector, *numbers = sys.argv[2:]
        iterative_child(method, projector, *map(int, numbers))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--angles", type=int, default=1000)
    parser.add_argument("--large", action="store_true", help="also 2048² from 1800 views (iradon: minutes)")
    parser.add_argument("--slab-size", type=int, default=512)
    parser.add_argument("--slab-angles", type=int, default=720)
    parser.add_argument("--slab-slices", type=int, default=32)
    parser.add_argument("--iterations", type=int, default=3)
    args = parser.parse_args()
    console = Console(width=150)
    cases = [(args.size, args.angles)] + ([(2048, 1800)] if args.large else [])
    goals = []
    for n, n_angle in cases:
        rows = fbp_rows(n, n_angle)
        ref = rows[0]
        table = Table(title=f"FBP of a {n}² Shepp–Logan slice from {n_angle} views, one thread")
        for column in ("method", "s/slice", "× faster than iradon", "RMSE noise-free", "÷ iradon",
                       "RMSE 1e4 counts", "÷ iradon"):
            table.add_column(column, justify="right")
        for row in rows:
            table.add_row(row["name"], f"{row['s']:.3f}", f"{ref['s'] / row['s']:.1f}",
                          f"{row['rmse'][0]:.5f}", f"{row['rmse'][0] / ref['rmse'][0]:.2f}",
                          f"{row['rmse'][1]:.5f}", f"{row['rmse'][1] / ref['rmse'][1]:.3f}")
        console.print(table)
        ours = next(r for r in rows if r["name"].startswith("redoxmap gridrec (linear"))
        peers = [r for r in rows if r["name"].startswith(("astra", "algotom"))]
        goals += [(f"{n}²: gridrec RMSE ≤ 1.1 × iradon's (noise-free)",
                   ours["rmse"][0] <= 1.1 * ref["rmse"][0]),
                  (f"{n}²: gridrec RMSE ≤ 1.05 × iradon's (1e4 counts)",
                   ours["rmse"][1] <= 1.05 * ref["rmse"][1]),
                  (f"{n}²: gridrec ≥ 10× faster than iradon", ref["s"] >= 10 * ours["s"])]
        goals += [(f"{n}²: gridrec faster than {p['name']}", ours["s"] < p["s"]) for p in peers]
    rows = iterative_rows(args)
    table = Table(title=f"Iterative, {args.slab_slices} slices of {args.slab_size}² from {args.slab_angles} "
                        "views, one thread")
    for column in ("method", "projector", "setup + 1st iteration s", "s/iteration", "peak RSS GB"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(row["method"], row["projector"], f"{row['setup_s']:.1f}",
                      f"{row['s_per_iteration']:.2f}", f"{row['peak_gb']:.2f}")
    console.print(table)
    for method in ("sirt", "tv"):
        sparse, fourier = (next(r for r in rows if r["method"] == method and r["projector"] == p)
                           for p in ("sparse", "fourier"))
        console.print(f"{method}: matrix-free / sparse — time per iteration "
                      f"{fourier['s_per_iteration'] / sparse['s_per_iteration']:.2f}, "
                      f"peak memory {fourier['peak_gb'] / sparse['peak_gb']:.2f}")
        goals.append((f"{method}: matrix-free peak RSS ≤ 1.5 GB", fourier["peak_gb"] <= 1.5))
    walls = dask_rows(args.slab_size, args.slab_angles)
    console.print(f"gridrec, 64 slices of {args.slab_size}² from {args.slab_angles} views: 1 dask worker "
                  f"{walls[1]:.1f} s, 2 workers {walls[2]:.1f} s (ratio {walls[2] / walls[1]:.2f})")
    for goal, met in goals:
        console.print(f"goal: {goal} — {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
