"""Reconstruction speed, measured in one run.

    python benchmarks/bench_tomo.py [--size 512] [--angles 720] [--slices 512] [--volume-size 128]

Prints seconds per size² slice from ``angles`` projections for redoxmap's ``reconstruct`` (FBP)
against scikit-image ``iradon`` called directly (the backend: goal overhead ≤ 10 %), the sparse
SIRT iteration cost, and the wall time of a ``slices``-slice volume (``volume-size``² slices from
``angles`` / 4 projections, so the run stays near a minute) with 1 versus 2 dask workers.
"""

from __future__ import annotations

import argparse
import time

import dask
import numpy as np
import xarray as xr
from rich.console import Console
from rich.table import Table
from skimage.transform import iradon

from redoxmap.tomo.reconstruct import reconstruct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--angles", type=int, default=720)
    parser.add_argument("--slices", type=int, default=512)
    parser.add_argument("--volume-size", type=int, default=128)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    angles = np.linspace(0, 180, args.angles, endpoint=False)
    proj = xr.DataArray(rng.random((args.angles, 1, args.size)).astype(np.float32),
                        dims=("angle", "y", "x"), coords={"angle": angles})
    sino = proj.isel(y=0).values.T.astype(np.float64)

    start = time.perf_counter()
    iradon(sino, theta=angles, filter_name="ramp", circle=True)
    backend = time.perf_counter() - start
    start = time.perf_counter()
    reconstruct(proj.isel(y=slice(0, 1)), "fbp")
    ours = time.perf_counter() - start
    start = time.perf_counter()
    reconstruct(proj.isel(y=slice(0, 1)), "sirt", iterations=10)
    sirt = (time.perf_counter() - start) / 10

    volume_angles = np.linspace(0, 180, max(args.angles // 4, 2), endpoint=False)
    volume = xr.DataArray(rng.random((volume_angles.size, args.slices, args.volume_size)).astype(np.float32),
                          dims=("angle", "y", "x"), coords={"angle": volume_angles})
    walls = {}
    for workers in (1, 2):
        with dask.config.set(scheduler="threads", num_workers=workers):
            start = time.perf_counter()
            reconstruct(volume, "fbp", slices_per_chunk=max(args.slices // 16, 1)).compute()
            walls[workers] = time.perf_counter() - start

    table = Table(title=f"{args.size}² slices from {args.angles} projections")
    for column in ("step", "seconds", "ratio"):
        table.add_column(column, justify="right")
    table.add_row("iradon, called directly (per slice)", f"{backend:.2f}", "1.00")
    table.add_row("reconstruct(method='fbp') (per slice)", f"{ours:.2f}", f"{ours / backend:.2f}")
    table.add_row("reconstruct(method='sirt'), one iteration (1 slice)", f"{sirt:.2f}", "")
    name = f"{args.slices}-slice volume ({args.volume_size}², {volume_angles.size} projections)"
    table.add_row(f"{name}, 1 worker", f"{walls[1]:.2f}", "1.00")
    table.add_row(f"{name}, 2 workers", f"{walls[2]:.2f}", f"{walls[2] / walls[1]:.2f}")
    Console().print(table)
    overhead = ours / backend - 1
    Console().print(f"goal: overhead ≤ 10 % — {overhead:+.0%} ({'met' if overhead <= 0.10 else 'NOT met'})")


if __name__ == "__main__":
    main()
