"""The comparison report of an experiment: every sample's map on one colour scale, statistics versus
state with error bars, and the profiles of all samples overlaid (the comparisons of Csernica et al.,
Nat. Energy 6, 642 (2021), Fig. 2–3, and Liu et al., Nat. Nanotechnol. (2024), Fig. 3).

Each figure function takes tables or labelled arrays and returns a :class:`matplotlib.figure.Figure`
(no pyplot state); :func:`write_experiment_report` saves them with ``index.html``.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from redoxmap.report.figures import _scale_bar
from redoxmap.report.files import save_figure, save_text

__all__ = ["experiment_maps_figure", "experiment_profiles_figure", "experiment_trend_figure",
           "write_experiment_report"]


def _plane(values: xr.DataArray) -> xr.DataArray:
    """A 2D map as it is; a volume's middle slice in z."""
    return values.isel(z=values.sizes["z"] // 2) if "z" in values.dims else values


def experiment_maps_figure(maps: dict[str, xr.DataArray], masks: dict[str, xr.DataArray], label: str,
                           pixel_size_nm: dict[str, float | None] | None = None) -> Figure:
    """One panel per sample on one colour scale (the 1st–99th percentile of all masked values of all
    samples), grey outside the masks, one colour bar (the side-by-side maps of Csernica et al. 2021,
    Fig. 2).

    Parameters
    ----------
    maps : dict of str to xarray.DataArray
        Per sample (in order), the map ``(y, x)``, or a volume ``(z, y, x)`` shown by its middle slice;
        values in the unit ``label`` states.
    masks : dict of str to xarray.DataArray
        Per sample, its boolean particle mask, the shape of the map.
    label : str
        The colour bar's label (quantity and unit).
    pixel_size_nm : dict of str to float, optional
        Per sample, the pixel size (nm) for scale bars; None draws none.

    Returns
    -------
    matplotlib.figure.Figure
        Up to four panels per row.

    Examples
    --------
    >>> maps = {"pristine": xr.DataArray(np.full((8, 8), 3.9), dims=("y", "x")),
    ...         "cycled": xr.DataArray(np.full((8, 8), 3.5), dims=("y", "x"))}
    >>> masks = {name: xr.DataArray(np.ones((8, 8), bool), dims=("y", "x")) for name in maps}
    >>> [ax.get_title() for ax in experiment_maps_figure(maps, masks, "valence").axes[:2]]
    ['pristine', 'cycled']
    """
    names = list(maps)
    planes = {n: np.asarray(_plane(maps[n]), float) for n in names}
    inside = {n: np.asarray(_plane(masks[n]), bool) & np.isfinite(planes[n]) for n in names}
    pooled = np.concatenate([planes[n][inside[n]] for n in names]) if names else np.array([0.0])
    low, high = np.percentile(pooled, [1, 99]) if pooled.size else (0.0, 1.0)
    cols = min(len(names), 4)
    rows = int(np.ceil(len(names) / cols))
    fig = Figure(figsize=(3.2 * cols + 0.8, 3.1 * rows), dpi=150, layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    image = None
    for ax, name in zip(axes, names, strict=False):
        ax.set_facecolor("0.25")
        shown = np.ma.masked_where(~inside[name], planes[name])
        image = ax.imshow(shown, cmap="viridis", vmin=low, vmax=high, interpolation="nearest")
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
        _scale_bar(ax, planes[name].shape[-1], (pixel_size_nm or {}).get(name))
    for ax in axes[len(names):]:
        ax.set_visible(False)
    if image is not None:
        fig.colorbar(image, ax=list(axes[:len(names)]), label=label, shrink=0.85)
    return fig


def _x(states: pd.DataFrame, state: str | None) -> tuple[np.ndarray, list[str], str]:
    column = f"state_{state}" if state else None
    if column in states and pd.api.types.is_numeric_dtype(states[column]):
        return states[column].to_numpy(float), list(states["sample"]), state or ""
    return np.arange(len(states), dtype=float), list(states["sample"]), "sample"


def experiment_trend_figure(table: pd.DataFrame, states: pd.DataFrame, columns: list[tuple[str, str]],
                            state: str | None) -> Figure:
    """Statistics versus state: per sample the mean over particles with the standard deviation as
    error bars (thick) and the standard error (thin caps), every particle as a small dot; D on a
    log scale as the geometric mean with the spread of log10 D.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per particle: a ``sample`` column and the statistics (units in the column names).
    states : pandas.DataFrame
        One row per sample (the experiment's state table): ``sample``, ``state_<key>``, and per
        statistic its mean, ``_std`` and ``_sem``; ``d_geomean_cm2_s`` and ``log10_d_std`` for D.
    columns : list of (str, str)
        (column, axis label) of each panel; ``d_cm2_s`` (cm²/s) is drawn on a log scale.
    state : str or None
        The state key on the x axis (``cycle``, ``voltage_v`` …), or None for sample order.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per column, side by side.
    """
    x, names, xlabel = _x(states, state)
    fig = Figure(figsize=(4.0 * len(columns), 3.4), dpi=150, layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(columns)))
    position = dict(zip(names, x, strict=True))
    for ax, (column, label) in zip(axes, columns, strict=True):
        particles = table[table[column].notna()] if column in table else table.iloc[:0]
        ax.plot([position[s] for s in particles["sample"]], particles[column], ".", color="0.6", ms=4,
                label="particles")
        if column == "d_cm2_s":
            centre = states["d_geomean_cm2_s"].to_numpy(float)
            spread = states["log10_d_std"].to_numpy(float)
            lower, upper = centre - centre / 10**spread, centre * 10**spread - centre
            ax.errorbar(x, centre, yerr=[np.nan_to_num(lower), np.nan_to_num(upper)], fmt="o-", color="C0",
                        capsize=4, label="geometric mean ± spread")
            ax.set_yscale("log")
        elif column in states:
            ax.errorbar(x, states[column], yerr=states[f"{column}_std"].fillna(0), fmt="o-", color="C0",
                        capsize=4, label="mean ± s.d.")
            ax.errorbar(x, states[column], yerr=states[f"{column}_sem"].fillna(0), fmt="none", color="k",
                        capsize=2, lw=2)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(label)
        if xlabel == "sample":
            ax.set_xticks(x, names, rotation=30)
    axes[0].legend(frameon=False, fontsize=7)
    return fig


def experiment_profiles_figure(profiles: dict[str, pd.DataFrame], label: str) -> Figure:
    """The pooled profile of each sample (mean ± standard error versus distance from the particle
    edge, as in Csernica et al. 2021, Fig. 2d–g), overlaid.

    Parameters
    ----------
    profiles : dict of str to pandas.DataFrame
        Per sample, columns ``distance_nm`` (nm), ``mean`` and ``stderr`` (unit of ``label``).
    label : str
        The y axis label (quantity and unit).

    Returns
    -------
    matplotlib.figure.Figure
        One axis, a curve per sample.

    Examples
    --------
    >>> profile = pd.DataFrame({"distance_nm": [0.0, 20.0], "mean": [3.4, 3.8], "stderr": [0.02, 0.02]})
    >>> experiment_profiles_figure({"cycled": profile}, "valence").axes[0].get_xlabel()
    'distance from particle edge (nm)'
    """
    fig = Figure(figsize=(5.2, 3.8), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    for name, profile in profiles.items():
        ax.errorbar(profile["distance_nm"], profile["mean"], yerr=profile["stderr"], fmt="o-", ms=3,
                    capsize=2, label=name)
    ax.set_xlabel("distance from particle edge (nm)")
    ax.set_ylabel(label)
    ax.legend(frameon=False, fontsize=7)
    return fig


def _table_html(table: pd.DataFrame) -> str:
    return table.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0)


def write_experiment_report(folder: str | Path, table: pd.DataFrame, states: pd.DataFrame,
                            maps: dict[str, Path], profiles: dict[str, pd.DataFrame], *, state: str | None,
                            variable: str, component: str | None, shells: int, title: str) -> Path:
    """Write the comparison figures and ``index.html`` into ``folder``.

    Parameters
    ----------
    folder : str or pathlib.Path
        The report folder (created if missing).
    table : pandas.DataFrame
        The particle table (one row per particle), as for :func:`experiment_trend_figure`.
    states : pandas.DataFrame
        The per-sample table, as for :func:`experiment_trend_figure`.
    maps : dict of str to pathlib.Path
        Per sample, the maps file (.nc) whose ``variable`` is drawn.
    profiles : dict of str to pandas.DataFrame
        Per sample, the pooled profile (``distance_nm`` in nm, ``mean``, ``stderr``).
    state : str or None
        The state key on the x axes, or None for sample order.
    variable : str
        The map variable compared (``valence``, ``fraction`` …).
    component : str or None
        The component of ``fraction``-like variables, else None.
    shells : int
        Number of shells (shell 1 is the surface, ``shells`` the centre).
    title : str
        The experiment's name.

    Returns
    -------
    pathlib.Path
        The path of ``index.html``.
    """
    folder = Path(folder)
    label = variable if component is None else f"{variable} ({component})"
    column = variable if component is None else f"{variable}_{component}"
    values, masks, pixels = {}, {}, {}
    for name, path in maps.items():
        with xr.open_dataset(path) as data:
            picked = data[variable].sel(component=component) if component is not None else data[variable]
            values[name], masks[name] = picked.load(), data["mask"].load()
            pixels[name] = data.attrs.get("pixel_size_nm")
    figures = [(save_figure(experiment_maps_figure(values, masks, label, pixels), folder, "maps.png"),
                f"{label} of every sample on one colour scale")]
    panels = [(c, text) for c, text in ((f"{column}_shell1_mean", f"{label}, surface shell"),
                                        (f"{column}_shell{shells}_mean", f"{label}, central shell"),
                                        ("d_cm2_s", "D (cm²/s)")) if c in table]
    if panels:
        figures.append((save_figure(experiment_trend_figure(table, states, panels, state), folder,
                                    "trend.png"), f"{label} and D versus {state or 'sample'}"))
    if profiles:
        figures.append((save_figure(experiment_profiles_figure(profiles, label), folder, "profiles.png"),
                        f"{label} versus distance from the particle edge"))
    body = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}: redoxmap experiment</title>",
        "<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto}table{border-collapse:collapse;"
        "margin-bottom:1.5em;font-size:85%}th,td{border:1px solid #ccc;padding:2px 6px}"
        "figure{margin:0.5em 0}img{max-width:100%}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><h2>Per sample</h2>", _table_html(states), "<h2>Figures</h2>",
    ]
    body += [f"<figure><img src='{html.escape(p.name)}' alt='{html.escape(c)}'><figcaption>{html.escape(c)}"
             "</figcaption></figure>" for p, c in figures]
    body += ["<h2>Particles</h2><p>One row per particle: the full table is particles.csv in the results "
             "folder.</p>", _table_html(table.iloc[:, : min(12, table.shape[1])]), "</body></html>"]
    return save_text("\n".join(body), folder, "index.html")
