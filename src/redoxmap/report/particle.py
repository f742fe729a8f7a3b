"""Figures and files of the particle model, like Liu et al. 2024, Fig. 5d–g (Figure objects, no
pyplot).

- :func:`hoop_profiles_figure`: hoop stress versus radius at increasing depth of discharge (Fig. 5d,e);
- :func:`von_mises_history_figure`: von Mises stress at the void versus time through discharge and
  charge, one panel per C-rate (Fig. 5f,g);
- :func:`concentration_figure`, :func:`stress_vs_dod_figure`, :func:`fem_fields_figure`;
- :func:`write_particle_report`: CSV tables, NetCDF runs and PNG figures, written atomically.

Example
-------
>>> from redoxmap.models import liu2024_parameters, simulate_rates
>>> runs = simulate_rates(liu2024_parameters(), [10.0], n_r=40, n_t=20)
>>> hoop_profiles_figure(runs[10.0]).axes[0].get_xlabel()
'r (µm)'
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.tri import Triangulation

from redoxmap.io.atomic import atomic_output
from redoxmap.models.mechanics import peak_hoop, summary_table


def _discharge(run: xr.Dataset) -> xr.Dataset:
    return run.isel(time=slice(0, int(np.argmax(run.dod_pct.values)) + 1))


def _profiles_figure(run: xr.Dataset, values: xr.DataArray, n_curves: int, cmap: str, ylabel: str,
                     zero_line: bool = False) -> Figure:
    """``values`` (time, r) against r (µm) at ``n_curves`` depths of discharge up to the deepest
    reached, one colour per depth."""
    fig = Figure(figsize=(5.0, 3.6), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    part = _discharge(run)
    values = values.isel(time=slice(0, part.sizes["time"]))
    targets = np.linspace(0, float(part.dod_pct[-1]), n_curves + 1)[1:]
    colours = colormaps[cmap]
    for i, dod in enumerate(targets):
        k = int(np.argmin(np.abs(part.dod_pct.values - dod)))
        ax.plot(part.r * 1e6, values[k], color=colours(i / max(n_curves - 1, 1)),
                label=f"{float(part.dod_pct[k]):.1f} % DOD")
    if zero_line:
        ax.axhline(0, color="0.6", lw=0.5)
    ax.set_xlabel("r (µm)")
    ax.set_ylabel(ylabel)
    ax.set_title(f"{run.attrs['c_rate']:g} C")
    ax.legend(frameon=False, fontsize=7)
    return fig


def hoop_profiles_figure(run: xr.Dataset, n_curves: int = 6) -> Figure:
    """Hoop stress σ_θ(r) (Pa) at ``n_curves`` depths of discharge up to the deepest reached (Liu et al.
    2024, Fig. 5d,e).

    Parameters
    ----------
    run : xarray.Dataset
        A run of :func:`redoxmap.models.simulate_particle`.
    n_curves : int
        Number of depths shown.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    return _profiles_figure(run, run.hoop_pa, n_curves, "plasma", "hoop stress σ_θ (Pa)", zero_line=True)


def von_mises_history_figure(runs: dict[float, xr.Dataset]) -> Figure:
    """Von Mises stress at the void (and at the surface) versus time, discharge then charge, one panel
    per C-rate (Liu et al. 2024, Fig. 5f,g).

    Parameters
    ----------
    runs : dict of float to xarray.Dataset
        Runs of :func:`redoxmap.models.simulate_particle` by C-rate.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig = Figure(figsize=(4.0 * len(runs), 3.4), dpi=150, layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(runs), squeeze=False)[0])
    for ax, (rate, run) in zip(axes, runs.items(), strict=True):
        minutes = run.time / 60
        ax.plot(minutes, run.core_von_mises_pa, label="void" if run.attrs["void_radius_m"] > 0 else "centre")
        ax.plot(minutes, run.von_mises_pa.isel(r=-1), "--", label="surface")
        turn = float(minutes[int(np.argmax(run.dod_pct.values))])
        ax.axvline(turn, color="0.6", lw=0.5)
        ax.set_xlabel("time (min)")
        ax.set_title(f"{rate:g} C (discharge | charge)")
        ax.legend(frameon=False, fontsize=7)
    axes[0].set_ylabel("von Mises stress (Pa)")
    return fig


def concentration_figure(run: xr.Dataset, n_curves: int = 6) -> Figure:
    """Concentration c(r)/c_max at ``n_curves`` depths of discharge.

    Parameters
    ----------
    run : xarray.Dataset
        A run of :func:`redoxmap.models.simulate_particle`.
    n_curves : int
        Number of depths shown.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    return _profiles_figure(run, run.concentration_mol_m3 / run.attrs["c_max_mol_m3"], n_curves, "viridis",
                            "c / c_max")


def stress_vs_dod_figure(runs: dict[float, xr.Dataset]) -> Figure:
    """Hoop stress at the void and peak von Mises stress versus depth of discharge, per C-rate.

    Parameters
    ----------
    runs : dict of float to xarray.Dataset
        Runs of :func:`redoxmap.models.simulate_particle` by C-rate.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig = Figure(figsize=(5.0, 3.6), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    for i, (rate, run) in enumerate(runs.items()):
        part = _discharge(run).isel(time=slice(1, None))
        ax.semilogy(
            part.dod_pct, np.abs(part.core_hoop_pa), "-", color=f"C{i}", label=f"{rate:g} C |σ_θ| void"
        )
        ax.semilogy(
            part.dod_pct, part.von_mises_pa.max("r"), "--", color=f"C{i}", label=f"{rate:g} C max σ_vM"
        )
    ax.set_xlabel("depth of discharge (%)")
    ax.set_ylabel("stress (Pa)")
    ax.legend(frameon=False, fontsize=7)
    return fig


def fem_fields_figure(result: xr.Dataset, zoom_nm: float = 1500.0) -> Figure:
    """Hoop and von Mises stress on the axisymmetric (r, z) mesh of :func:`redoxmap.models.solve_fem` at
    its last time: the whole quarter plane and a zoom on the void and pore (bridge point A marked +).

    Parameters
    ----------
    result : xarray.Dataset
        Output of :func:`redoxmap.models.solve_fem`.
    zoom_nm : float
        Side of the zoomed panel (nm; the axes are drawn in µm).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig = Figure(figsize=(11.0, 3.6), dpi=150, layout="constrained")
    tri = Triangulation(result.node_r.values * 1e6, result.node_z.values * 1e6, result.triangles.values)
    hoop = result.hoop_pa.isel(time=-1).values
    vm = result.von_mises_pa.isel(time=-1).values
    limit = float(np.abs(hoop).max()) or 1.0
    panels = (
        ("hoop σ_θ", hoop, "coolwarm", (-limit, limit), None),
        ("von Mises", vm, "viridis", (0.0, float(vm.max()) or 1.0), None),
        ("hoop σ_θ (zoom)", hoop, "coolwarm", (-limit, limit), zoom_nm / 1000.0),
    )
    for ax, (label, values, cmap, (lo, hi), zoom) in zip(fig.subplots(1, 3), panels, strict=True):
        m = ax.tripcolor(tri, values, shading="gouraud", cmap=cmap, vmin=lo, vmax=hi)
        fig.colorbar(m, ax=ax, label=f"{label} (Pa)")
        ax.plot(result.attrs["bridge_r_m"] * 1e6, result.attrs["bridge_z_m"] * 1e6, "k+")
        if zoom:
            ax.set_xlim(0, zoom)
            ax.set_ylim(0, zoom)
        ax.set_aspect("equal")
        ax.set_xlabel("r (µm)")
        ax.set_ylabel("z (µm)")
    dod = float(result.dod_pct[-1])
    fig.suptitle(f"FEM {result.attrs['c_rate']:g} C, {dod:.0f} % DOD (+ = bridge point A)")
    return fig


def run_table(run: xr.Dataset) -> pd.DataFrame:
    """Stress, concentration and overpotential versus time for one run, one row per time step.

    Parameters
    ----------
    run : xarray.Dataset
        A run of :func:`redoxmap.models.simulate_particle`.

    Returns
    -------
    pandas.DataFrame
        Columns ``c_rate``, ``time_s``, ``dod_pct``, ``void_hoop_pa``, ``void_von_mises_pa``,
        ``peak_hoop_pa``, ``peak_von_mises_pa``, ``surface_hoop_pa``,
        ``surface_concentration_mol_m3``, ``overpotential_v``.

    Examples
    --------
    >>> from redoxmap.models import liu2024_parameters, simulate_particle
    >>> run = simulate_particle(liu2024_parameters(), 10.0, n_r=40, n_t=20)
    >>> len(run_table(run)) == run.sizes["time"]
    True
    """
    return pd.DataFrame(
        {
            "c_rate": run.attrs["c_rate"],
            "time_s": run.time.values,
            "dod_pct": run.dod_pct.values,
            "void_hoop_pa": run.core_hoop_pa.values,
            "void_von_mises_pa": run.core_von_mises_pa.values,
            "peak_hoop_pa": peak_hoop(run),
            "peak_von_mises_pa": run.von_mises_pa.max("r").values,
            "surface_hoop_pa": run.hoop_pa.isel(r=-1).values,
            "surface_concentration_mol_m3": run.surface_concentration_mol_m3.values,
            "overpotential_v": run.overpotential_v.values,
        }
    )


def concentration_table(run: xr.Dataset) -> pd.DataFrame:
    """c(r, t) as a wide table: ``time_s``, ``dod_pct``, then one column per shell centre
    ``c_<r in µm>um`` (mol/m³).

    Parameters
    ----------
    run : xarray.Dataset
        A run of :func:`redoxmap.models.simulate_particle`.

    Returns
    -------
    pandas.DataFrame
        One row per time step.
    """
    wide = pd.DataFrame(run.concentration_mol_m3.values, columns=[f"c_{r * 1e6:.4f}um" for r in run.r.values])
    wide.insert(0, "dod_pct", run.dod_pct.values)
    wide.insert(0, "time_s", run.time.values)
    return wide


def write_particle_report(runs: dict[float, xr.Dataset], folder: str | Path,
                          fem: dict[float, xr.Dataset] | None = None) -> list[Path]:
    """Write the particle simulation's tables, fields and figures into ``folder``; each file is written
    under a temporary name and renamed when complete.

    Parameters
    ----------
    runs : dict of float to xarray.Dataset
        1D results of :func:`redoxmap.models.simulate_particle` by C-rate.
    folder : str or pathlib.Path
        The report folder (created if missing).
    fem : dict of float to xarray.Dataset, optional
        2D axisymmetric results of :func:`redoxmap.models.solve_fem` by C-rate.

    Returns
    -------
    list of pathlib.Path
        The paths written: ``summary.csv``, ``stress_vs_dod.csv``, per C-rate
        ``concentration_<C>C.csv`` (c(r, t)) and ``particle_<C>C.nc``, the figures
        (``hoop_profiles_<C>C.png``, ``concentration_<C>C.png``, ``von_mises_history.png``,
        ``stress_vs_dod.png``) and with ``fem`` also ``fem_<C>C.nc``, ``fem_fields_<C>C.png`` and
        ``fem_bridge.csv``.
    """
    folder = Path(folder)
    written: list[Path] = []

    def save(write: Callable[[Path], None], name: str) -> None:
        with atomic_output(folder / name, overwrite=True) as tmp:
            write(tmp)
        written.append(folder / name)

    def png(fig: Figure) -> Callable[[Path], None]:
        return lambda p: fig.savefig(p, format="png")
    save(lambda p: summary_table(runs).to_csv(p, index=False), "summary.csv")
    save(
        lambda p: pd.concat([run_table(r) for r in runs.values()]).to_csv(p, index=False), "stress_vs_dod.csv"
    )
    save(png(stress_vs_dod_figure(runs)), "stress_vs_dod.png")
    save(png(von_mises_history_figure(runs)), "von_mises_history.png")
    for rate, run in runs.items():
        tag = f"{rate:g}C"
        save(lambda p, run=run: concentration_table(run).to_csv(p, index=False), f"concentration_{tag}.csv")
        save(lambda p, run=run: run.to_netcdf(p, engine="h5netcdf"), f"particle_{tag}.nc")
        save(png(hoop_profiles_figure(run)), f"hoop_profiles_{tag}.png")
        save(png(concentration_figure(run)), f"concentration_{tag}.png")
    if fem:
        rows = []
        for rate, result in fem.items():
            tag = f"{rate:g}C"
            save(lambda p, result=result: result.to_netcdf(p, engine="h5netcdf"), f"fem_{tag}.nc")
            save(png(fem_fields_figure(result)), f"fem_fields_{tag}.png")
            rows.append(
                pd.DataFrame(
                    {
                        "c_rate": rate,
                        "time_s": result.time.values,
                        "dod_pct": result.dod_pct.values,
                        "bridge_hoop_pa": result.bridge_hoop_pa.values,
                        "bridge_von_mises_pa": result.bridge_von_mises_pa.values,
                    }
                )
            )
        save(lambda p: pd.concat(rows).to_csv(p, index=False), "fem_bridge.csv")
    return written
