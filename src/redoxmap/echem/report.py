"""Electrochemistry figures (Figure objects, no pyplot state) and the report folder writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from redoxmap.echem.cycling import CycleError
from redoxmap.echem.dqdv import cycle_dqdv, dqdv_peaks
from redoxmap.errors import FitError
from redoxmap.report.files import save_figure, save_table


def capacity_figure(cycles: pd.DataFrame) -> Figure:
    """Charge and discharge capacity and Coulombic efficiency versus cycle (specific capacity when the
    table has it).

    Parameters
    ----------
    cycles : pandas.DataFrame
        The per-cycle table of :func:`redoxmap.echem.cycle_table`.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.

    Examples
    --------
    >>> from redoxmap.echem import cycle_table
    >>> from redoxmap.simulate import galvanostatic_cycle
    >>> fig = capacity_figure(cycle_table(galvanostatic_cycle(n_cycles=2), mass_mg=10.0))
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['capacity (mAh/g)', 'Coulombic efficiency (%)']
    """
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
    """Voltage versus capacity for every cycle, coloured by cycle number (Wang et al. 2021, Fig. 1b).

    Parameters
    ----------
    data : pandas.DataFrame
        The standard table.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig = Figure(figsize=(5.5, 3.8), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    cycles = np.unique(data.cycle)
    cmap = colormaps["viridis"]
    for i, cycle in enumerate(cycles):
        part = data[(data.cycle == cycle) & (data.step_type != "rest")]
        q = part.capacity_ah.to_numpy()
        if q.size == 0:  # a cycle of rests only (e.g. the trailing cycle a cycler opens at the end)
            continue
        ax.plot((q - q.min()) * 1e3, part.voltage_v, lw=0.8, color=cmap(i / max(len(cycles) - 1, 1)))
    ax.set_xlabel("capacity (mAh)")
    ax.set_ylabel("voltage (V)")
    ax.set_title(f"{len(cycles)} cycles (dark → light)")
    return fig


def retention_figure(cycles: pd.DataFrame) -> Figure:
    """Capacity retention (%) and voltage decay (mV) of the mean discharge voltage versus cycle.

    Parameters
    ----------
    cycles : pandas.DataFrame
        The per-cycle table of :func:`redoxmap.echem.cycle_table`.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig = Figure(figsize=(5.5, 3.8), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    ax.plot(cycles.cycle, 100 * cycles.capacity_retention, "o-", ms=3, color="C0")
    ax.set_xlabel("cycle")
    ax.set_ylabel(f"retention vs cycle {cycles.attrs.get('reference_cycle', '')} (%)", color="C0")
    twin = ax.twinx()
    twin.plot(cycles.cycle, 1e3 * cycles.voltage_decay_v, "s-", ms=3, color="C3")
    twin.set_ylabel("mean discharge voltage change (mV)", color="C3")
    return fig


def _pick_cycles(cycles: pd.DataFrame, most: int = 6) -> np.ndarray:
    """Up to ``most`` cycles with a discharge, evenly spread from the first to the last."""
    full = cycles.cycle[cycles.discharge_capacity_ah > 0].to_numpy()
    if full.size <= most:
        return full
    return np.unique(full[np.linspace(0, full.size - 1, most).round().astype(int)])


def dqdv_table(data: pd.DataFrame, cycles: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """dQ/dV curves and their peaks for a spread of up to six cycles with a discharge, charge and
    discharge; segments too short for dQ/dV are skipped.

    Parameters
    ----------
    data : pandas.DataFrame
        The standard table.
    cycles : pandas.DataFrame
        The per-cycle table of :func:`redoxmap.echem.cycle_table`.

    Returns
    -------
    curves : pandas.DataFrame
        ``voltage_v``, ``dqdv_ah_v``, ``cycle``, ``kind`` (long table).
    peaks : pandas.DataFrame
        ``voltage_v``, ``dqdv_ah_v``, ``prominence``, ``cycle``, ``kind``.
    """
    curves, peaks = [], []
    for cycle in _pick_cycles(cycles):
        for kind in ("charge", "discharge"):
            try:
                curve = cycle_dqdv(data, int(cycle), kind)
            except (CycleError, FitError):
                continue
            curves.append(curve.assign(cycle=cycle, kind=kind))
            peaks.append(dqdv_peaks(curve).assign(cycle=cycle, kind=kind))
    empty = pd.DataFrame(columns=["voltage_v", "dqdv_ah_v", "cycle", "kind"])
    return (pd.concat(curves, ignore_index=True) if curves else empty,
            pd.concat(peaks, ignore_index=True) if peaks else empty)


def dqdv_figure(curves: pd.DataFrame) -> Figure:
    """dQ/dV of charge (solid, positive) and discharge (dashed, drawn negative), coloured by cycle.

    Parameters
    ----------
    curves : pandas.DataFrame
        The curves of :func:`dqdv_table`.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig = Figure(figsize=(5.5, 3.8), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    cmap = colormaps["viridis"]
    numbers = np.unique(curves.cycle) if len(curves) else []
    for n, cycle in enumerate(numbers):
        color = cmap(n / max(len(numbers) - 1, 1))
        for kind, style, sign in (("charge", "-", 1), ("discharge", "--", -1)):
            part = curves[(curves.cycle == cycle) & (curves.kind == kind)]
            if len(part):
                ax.plot(part.voltage_v, sign * part.dqdv_ah_v * 1e3, style, lw=0.8, color=color,
                        label=f"cycle {cycle}" if kind == "charge" else None)
    ax.axhline(0, color="0.6", lw=0.5)
    ax.set_xlabel("voltage (V)")
    ax.set_ylabel("dQ/dV (mAh/V)")
    if len(numbers):
        ax.legend(frameon=False, fontsize=6)
    return fig


def gitt_figure(table: pd.DataFrame) -> Figure:
    """GITT diffusivity and overpotential versus capacity, charge and discharge pulses in two colours,
    flagged pulses hollow (reason in the table's ``flag``) (Wang et al. 2021, Fig. 7c–d).

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`redoxmap.echem.gitt`.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig = Figure(figsize=(5.5, 5.0), dpi=150, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    for kind, color in (("charge", "C0"), ("discharge", "C1")):
        part = table[table.kind == kind]
        q = part.capacity_ah * 1e3
        for valid in (True, False):
            sel = (part.valid == valid).to_numpy()
            if sel.any():
                top.semilogy(q[sel], part.diffusivity_cm2_s[sel], "o", mfc=color if valid else "none",
                             mec=color, ms=4, label=f"{kind}" + ("" if valid else ", flagged"))
        bottom.plot(q, part.overpotential_v * 1e3, "s", ms=3, color=color)
    top.set_ylabel("D (cm²/s)")
    top.legend(frameon=False, fontsize=7)
    bottom.axhline(0, color="0.6", lw=0.5)
    bottom.set_xlabel("capacity (mAh)")
    bottom.set_ylabel("η (mV)")
    return fig


def write_echem_report(cycles: pd.DataFrame, folder: str | Path, *, data: pd.DataFrame,
                       gitt_table: pd.DataFrame | None = None) -> list[Path]:
    """Write figures (PNG) and tables (CSV) of a cycler file's analysis into ``folder``; each file is
    written under a temporary name and renamed when complete.

    Parameters
    ----------
    cycles : pandas.DataFrame
        The per-cycle table of :func:`redoxmap.echem.cycle_table`.
    folder : str or pathlib.Path
        The report folder (created if missing).
    data : pandas.DataFrame
        The standard table the cycles came from.
    gitt_table : pandas.DataFrame, optional
        The pulses of :func:`redoxmap.echem.gitt`, if analysed.

    Returns
    -------
    list of pathlib.Path
        The paths written: cycles.csv, capacity.png, retention.png, profiles.png, dqdv.csv,
        dqdv_peaks.csv, dqdv.png and, with a GITT table, gitt.csv and gitt.png.
    """
    folder = Path(folder)
    written = []

    def save(obj, name: str) -> None:
        if isinstance(obj, Figure):
            written.append(save_figure(obj, folder, name))
        else:
            written.append(save_table(obj, folder, name))

    curves, peaks = dqdv_table(data, cycles)
    save(cycles, "cycles.csv")
    save(capacity_figure(cycles), "capacity.png")
    save(retention_figure(cycles), "retention.png")
    save(profiles_figure(data), "profiles.png")
    save(curves, "dqdv.csv")
    save(peaks, "dqdv_peaks.csv")
    save(dqdv_figure(curves), "dqdv.png")
    if gitt_table is not None:
        save(gitt_table, "gitt.csv")
        save(gitt_figure(gitt_table), "gitt.png")
    return written
