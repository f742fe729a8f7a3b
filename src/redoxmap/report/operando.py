"""Figures of operando series against the cycler: intensity contour beside the voltage curve (as in
Wang et al. 2021, Fig. 6) and a fitted quantity versus voltage and capacity.

Each function takes labelled arrays and returns a :class:`matplotlib.figure.Figure` (no pyplot state).
Series carry the cycler columns as ``scan`` coordinates (:func:`redoxmap.echem.attach_cycler`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from redoxmap.errors import FormatError

__all__ = ["fractions_time_figure", "operando_contour_figure", "quantity_vs_cycler_figure"]

_STEP_COLOURS = {"charge": "C3", "discharge": "C0", "rest": "0.5"}
_AXIS_LABELS = {"two_theta": "2θ (°)", "q": "q (Å⁻¹)", "energy": "energy (eV)"}


def _scan_hours(series: xr.DataArray | xr.Dataset) -> tuple[np.ndarray, str]:
    """Scan times in hours on the cycler clock (``cycler_time_s``), else ``time_s``, else ``time``."""
    if "cycler_time_s" in series.coords:
        return series.cycler_time_s.values / 3600.0, "time on the cycler clock (h)"
    if "time_s" in series.coords:
        return series.time_s.values / 3600.0, "time (h)"
    if "time" in series.coords:
        t = series.time.values
        return (t - t[0]) / np.timedelta64(1, "s") / 3600.0, "time since the first scan (h)"
    raise FormatError("the series has no time coordinate (cycler_time_s, time_s or time) along 'scan'")


def operando_contour_figure(series: xr.DataArray, cycler: pd.DataFrame | None = None,
                            window: tuple[float, float] | None = None, log: bool = False,
                            colour_label: str | None = None) -> Figure:
    """Intensity as a colour map of 2θ (or q, or energy) and time, with the voltage curve beside it on the
    same time axis (as in Wang et al. 2021, Fig. 6).

    Time is the cycler clock (``cycler_time_s``) when the series was synchronised, else ``time_s``,
    else the ``time`` coordinate since the first scan, in hours.

    Parameters
    ----------
    series : xarray.DataArray
        ``(scan, two_theta)`` or ``(scan, q)`` counts, or ``(scan, energy)`` XAS spectra (eV), with
        a time coordinate.
    cycler : pandas.DataFrame, optional
        The cycler table; its voltage is drawn against ``time_s`` in hours.
    window : (float, float), optional
        Axis range shown, e.g. around (003).
    log : bool
        Colour by log10 of the intensity.
    colour_label : str, optional
        Colour-bar label; default the counts' (``log10 intensity`` with ``log``).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.

    Raises
    ------
    FormatError
        If the series has no time coordinate.

    Examples
    --------
    >>> from redoxmap.simulate import galvanostatic_cycle, simulate_xrd_series
    >>> cycler = galvanostatic_cycle()
    >>> series, _ = simulate_xrd_series(cycler, [0.0, 10000.0, 20000.0])
    >>> len(operando_contour_figure(series, cycler, window=(17.5, 20.0)).axes) >= 2
    True
    """
    dim = series.dims[-1]
    shown = series if window is None else series.sel({dim: slice(*sorted(window))})
    hours, label = _scan_hours(shown)
    order = np.argsort(hours)
    values = shown.values[order]
    if log:
        values = np.log10(np.clip(values, 1.0, None))
    fig = Figure(figsize=(7.0, 4.6), dpi=150, layout="constrained")
    grid = fig.add_gridspec(1, 2, width_ratios=(3, 1))
    ax = fig.add_subplot(grid[0])
    mesh = ax.pcolormesh(shown[dim].values, hours[order], values, shading="nearest", cmap="viridis",
                         rasterized=True)
    fig.colorbar(mesh, ax=ax, label=colour_label or ("log10 intensity" if log else "intensity (counts)"),
                 pad=0.01)
    ax.set_xlabel(_AXIS_LABELS.get(dim, dim))
    ax.set_ylabel(label)
    side = fig.add_subplot(grid[1], sharey=ax)
    if cycler is not None:
        side.plot(cycler.voltage_v, cycler.time_s / 3600.0, "k-", lw=1)
        side.set_xlabel("voltage (V)")
    if "in_range" in shown.coords and not shown.in_range.values.all():
        off = ~shown.in_range.values
        side.plot(np.full(off.sum(), np.nanmin(cycler.voltage_v) if cycler is not None else 0.0), hours[off],
                  "rx", ms=4, label="outside cycler record")
        side.legend(fontsize=7, frameon=False)
    side.tick_params(labelleft=False)
    ax.set_ylim(hours.min(), hours.max())
    return fig


def quantity_vs_cycler_figure(quantity: xr.DataArray, error: xr.DataArray | None = None,
                              label: str | None = None) -> Figure:
    """A fitted quantity per scan (e.g. the (003) centre or c) against voltage and against capacity,
    coloured by charge / discharge / rest; scans outside the cycler record are left out.

    Parameters
    ----------
    quantity : xarray.DataArray
        Values along ``scan`` with the ``voltage_v``, ``capacity_ah`` (and ``step_type``,
        ``in_range``) coordinates of :func:`redoxmap.echem.attach_cycler`.
    error : xarray.DataArray, optional
        1σ error bars along ``scan``.
    label : str, optional
        Axis label; default the quantity's name and units.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.

    Raises
    ------
    FormatError
        If the quantity has no ``voltage_v`` or ``capacity_ah`` coordinate.
    """
    missing = [c for c in ("voltage_v", "capacity_ah") if c not in quantity.coords]
    if missing:
        raise FormatError(f"quantity_vs_cycler_figure: no {missing} coordinate; synchronise with "
                          "redoxmap.echem.attach_cycler first")
    n_scans = quantity.sizes["scan"]
    keep = quantity.in_range.values if "in_range" in quantity.coords else np.ones(n_scans, bool)
    kinds = quantity.step_type.values if "step_type" in quantity.coords else np.full(keep.size, "charge")
    fig = Figure(figsize=(7.2, 3.4), dpi=150, layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    units = quantity.attrs.get("units", "")
    name = label or f"{quantity.name or 'value'}{f' ({units})' if units else ''}"
    for kind, colour in _STEP_COLOURS.items():
        pick = keep & (kinds == kind)
        if not pick.any():
            continue
        err = None if error is None else error.values[pick]
        axes[0].errorbar(quantity.voltage_v.values[pick], quantity.values[pick], yerr=err, fmt="o", ms=3,
                         color=colour, label=kind, elinewidth=0.8)
        axes[1].errorbar(1e3 * quantity.capacity_ah.values[pick], quantity.values[pick], yerr=err, fmt="o",
                         ms=3, color=colour, elinewidth=0.8)
    axes[0].set_xlabel("voltage (V)")
    axes[0].set_ylabel(name)
    axes[1].set_xlabel("capacity (mAh)")
    axes[0].legend(frameon=False, fontsize=8)
    return fig


def fractions_time_figure(fraction: xr.DataArray, error: xr.DataArray | None = None,
                          cycler: pd.DataFrame | None = None) -> Figure:
    """Fractions of each standard per scan against time, with the voltage curve beside them on the same
    time axis (the layout of :func:`operando_contour_figure`, so the two can be read side by side).

    Parameters
    ----------
    fraction : xarray.DataArray
        ``(component, scan)`` fractions (dimensionless) with a time coordinate along ``scan``
        (``cycler_time_s`` or ``time_s`` in s, or ``time``).
    error : xarray.DataArray, optional
        Their 1σ errors, drawn as bars.
    cycler : pandas.DataFrame, optional
        The cycler table (:mod:`redoxmap.echem`); its voltage (V) is drawn against ``time_s`` in
        hours.

    Returns
    -------
    matplotlib.figure.Figure
        Fractions versus time, the voltage beside them on the same time axis.

    Raises
    ------
    FormatError
        If ``fraction`` has no time coordinate along ``scan``.

    Examples
    --------
    >>> fraction = xr.DataArray([[0.9, 0.5], [0.1, 0.5]], dims=("component", "scan"),
    ...                         coords={"component": ["Ni3+", "Ni4+"], "time_s": ("scan", [0.0, 7200.0])})
    >>> fractions_time_figure(fraction).axes[0].get_ylabel()
    'time (h)'
    """
    hours, label = _scan_hours(fraction)
    fig = Figure(figsize=(7.0, 4.6), dpi=150, layout="constrained")
    grid = fig.add_gridspec(1, 2, width_ratios=(3, 1))
    ax = fig.add_subplot(grid[0])
    order = np.argsort(hours)
    for k, name in enumerate(fraction.component.values):
        err = None if error is None else error.sel(component=name).values[order]
        ax.errorbar(fraction.sel(component=name).values[order], hours[order], xerr=err, fmt="o-", ms=3, lw=1,
                    color=f"C{k}", label=str(name), elinewidth=0.8)
    ax.set_xlabel("fraction")
    ax.set_ylabel(label)
    ax.legend(frameon=False, fontsize=8)
    side = fig.add_subplot(grid[1], sharey=ax)
    if cycler is not None:
        side.plot(cycler.voltage_v, cycler.time_s / 3600.0, "k-", lw=1)
        side.set_xlabel("voltage (V)")
    side.tick_params(labelleft=False)
    ax.set_ylim(hours.min(), hours.max())
    return fig
