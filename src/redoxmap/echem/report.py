"""Electrochemistry figures (Figure objects, no pyplot state) and the report folder writer."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from redoxmap.echem.dqdv import dqdv


def capacity_figure(cycles: pd.DataFrame) -> Figure:
    """Charge/discharge capacity and Coulombic efficiency versus cycle."""
    fig = Figure(figsize=(5.5, 3.8), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    unit, scale = ("mAh/g", 1.0) if "discharge_capacity_mah_g" in cycles else ("mAh", 1e3)
    key = "_capacity_mah_g" if unit == "mAh/g" else "_capacity_ah"
    ax.plot(cycles.cycle, cycles["charge" + key] * scale, "o-", ms=3, label="charge")
    ax.plot(cycles.cycle, cycles["discharge" + key] * scale, "s-", ms=3, label="discharge")
    ax.set_xlabel("cycle")
    ax.set_ylabel(f"capacity ({unit})")
    twin = ax.twinx()
    twin.plot(cycles.cycle, 100 * cycles.coulombic_efficiency, "k.", ms=3)
    twin.set_ylabel("Coulombic efficiency (%)")
    ax.legend(frameon=False)
    return fig


def profiles_figure(data: pd.DataFrame) -> Figure:
    """Voltage versus capacity for every cycle, coloured by cycle number (seed 000 Fig. 1b)."""
    fig = Figure(figsize=(5.5, 3.8), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    cycles = np.unique(data.cycle)
    cmap = colormaps["viridis"]
    for i, cycle in enumerate(cycles):
        part = data[(data.cycle == cycle) & (data.step_type != "rest")]
        q = part.capacity_ah.to_numpy()
        ax.plot((q - q.min()) * 1e3, part.voltage_v, lw=0.8, color=cmap(i / max(len(cycles) - 1, 1)))
    ax.set_xlabel("capacity (mAh)")
    ax.set_ylabel("voltage (V)")
    ax.set_title(f"{len(cycles)} cycles (dark → light)")
    return fig


def dqdv_figure(data: pd.DataFrame) -> Figure:
    """dQ/dV of each cycle's charge and discharge."""
    fig = Figure(figsize=(5.5, 3.8), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    for cycle in np.unique(data.cycle)[:10]:
        for kind, style in (("charge", "-"), ("discharge", "--")):
            part = data[(data.cycle == cycle) & (data.step_type == kind)]
            if len(part) > 50:
                curve = dqdv(part.capacity_ah.to_numpy(), part.voltage_v.to_numpy())
                ax.plot(curve.voltage_v, curve.dqdv_ah_v * 1e3, style, lw=0.8, label=f"{cycle} {kind}")
    ax.set_xlabel("voltage (V)")
    ax.set_ylabel("dQ/dV (mAh/V)")
    ax.legend(frameon=False, fontsize=6)
    return fig


def gitt_figure(table: pd.DataFrame) -> Figure:
    """GITT diffusivity and overpotential versus capacity; invalid pulses hollow (seed 000 Fig. 7c–d)."""
    fig = Figure(figsize=(5.5, 5.0), dpi=150, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    q = table.capacity_ah * 1e3
    for valid, face in ((True, "C0"), (False, "none")):
        sel = table.valid == valid
        top.semilogy(q[sel], table.diffusivity_cm2_s[sel], "o", mfc=face, mec="C0", ms=4,
                     label="valid" if valid else "τ not ≪ L²/D")
    top.set_ylabel("D (cm²/s)")
    top.legend(frameon=False)
    bottom.plot(q, table.overpotential_v * 1e3, "s", ms=4, color="C1")
    bottom.set_xlabel("capacity (mAh)")
    bottom.set_ylabel("η (mV)")
    return fig


def write_echem_report(out_dir: str | Path, data: pd.DataFrame, cycles: pd.DataFrame,
                       gitt_table: pd.DataFrame | None = None) -> list[Path]:
    """Write the figures and a CSV of each table into ``out_dir`` (temporary names, renamed)."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = []

    def save(obj, name: str) -> None:
        tmp = folder / f".{name}.tmp"
        if isinstance(obj, Figure):
            obj.savefig(tmp, dpi=150, format="png")
        else:
            obj.to_csv(tmp, index=False)
        os.replace(tmp, folder / name)
        written.append(folder / name)

    save(cycles, "cycles.csv")
    save(capacity_figure(cycles), "capacity.png")
    save(profiles_figure(data), "profiles.png")
    save(dqdv_figure(data), "dqdv.png")
    if gitt_table is not None:
        save(gitt_table, "gitt.csv")
        save(gitt_figure(gitt_table), "gitt.png")
    return written
