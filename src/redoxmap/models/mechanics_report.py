"""Figures and files of the particle model (like seed 001 Fig. 5d–g)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib import colormaps
from matplotlib.figure import Figure


def concentration_figure(c: xr.DataArray, c_max: float, title: str) -> Figure:
    """c(r)/c_max at several times."""
    fig = Figure(figsize=(5.0, 3.6), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    times = c.time.values[:: max(len(c.time) // 6, 1)]
    cmap = colormaps["viridis"]
    for i, t in enumerate(times):
        ax.plot(c.r * 1e6, c.sel(time=t) / c_max, color=cmap(i / max(len(times) - 1, 1)),
                label=f"{t / 60:.0f} min")
    ax.set_xlabel("r (µm)")
    ax.set_ylabel("c / c_max")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=7)
    return fig


def stress_vs_dod_figure(table: pd.DataFrame) -> Figure:
    """Peak hoop and von Mises stress versus depth of discharge, one line per C-rate."""
    fig = Figure(figsize=(5.0, 3.6), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    for rate, part in table.groupby("c_rate"):
        ax.semilogy(part.dod_pct, part.peak_hoop_pa, "-", label=f"{rate:g} C hoop")
        ax.semilogy(part.dod_pct, part.peak_von_mises_pa, "--", label=f"{rate:g} C von Mises")
    ax.set_xlabel("depth of discharge (%)")
    ax.set_ylabel("stress (Pa)")
    ax.legend(frameon=False, fontsize=7)
    return fig


def write_particle_report(out_dir: str | Path, table: pd.DataFrame, profiles: dict[float, xr.DataArray],
                          c_max: float) -> list[Path]:
    """Write stress-versus-DOD CSV and figures, and c(r, t) per C-rate (NetCDF), atomically."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = []

    def save(write, name: str) -> None:
        tmp = folder / f".{name}.tmp"
        write(tmp)
        os.replace(tmp, folder / name)
        written.append(folder / name)

    save(lambda p: table.to_csv(p, index=False), "stress_vs_dod.csv")
    save(lambda p: stress_vs_dod_figure(table).savefig(p, format="png"), "stress_vs_dod.png")
    for rate, c in profiles.items():
        save(lambda p, c=c, rate=rate: concentration_figure(c, c_max, f"{rate:g} C").savefig(p, format="png"),
             f"concentration_{rate:g}C.png")
        save(lambda p, c=c: c.drop_attrs().to_netcdf(p, engine="h5netcdf"), f"concentration_{rate:g}C.nc")
    return written


def dod_table(c: xr.DataArray, stress: xr.Dataset, rate: float) -> pd.DataFrame:
    """Peak stresses versus depth of discharge (%) for one C-rate run."""
    dod = 100.0 * c.time.values * rate / 3600.0
    return pd.DataFrame({"c_rate": rate, "time_s": c.time.values, "dod_pct": dod,
                         "peak_hoop_pa": np.abs(stress.hoop_pa).max("r").values,
                         "peak_von_mises_pa": stress.von_mises_pa.max("r").values})
