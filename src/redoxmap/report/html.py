"""A report folder: PNG figures and an ``index.html`` with the fit settings and summary numbers."""

from __future__ import annotations

import html
import os
import shlex
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from redoxmap.report import figures
from redoxmap.report.files import save_figure, save_text


def _save(fig: Figure, folder: Path, name: str) -> str:
    save_figure(fig, folder, name)
    return name


def _rows(items: dict) -> str:
    return "\n".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>"
                     for k, v in items.items())


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def summary_numbers(maps: xr.Dataset) -> dict[str, object]:
    """Summary numbers of a maps Dataset: per component the masked mean fraction and median 1σ error;
    the mean R and pixel count; the mean valence and its median 1σ error when mapped.

    Parameters
    ----------
    maps : xarray.Dataset
        Output of :func:`redoxmap.fit.lincomb` or :func:`redoxmap.fit.valence_map`.

    Returns
    -------
    dict of str to object
        Label → number, in the order a report lists them.

    Examples
    --------
    >>> from redoxmap.fit import lincomb
    >>> from redoxmap.simulate import demo_dataset
    >>> sim = demo_dataset(shape=(32, 32))
    >>> list(summary_numbers(lincomb(sim.stack, sim.refs)))[:3]
    ['masked pixels', 'mean R over mask', 'pristine: mean fraction']
    """
    mask = np.asarray(maps["mask"], bool)
    out: dict[str, object] = {"masked pixels": int(mask.sum()),
                              "mean R over mask": float(maps.r_factor.values[mask].mean())}
    for comp in maps.component.values:
        out[f"{comp}: mean fraction"] = float(maps.mean_fraction.sel(component=comp))
        out[f"{comp}: median 1σ error"] = float(np.median(maps.fraction_err.sel(component=comp).values[mask]))
    if "valence" in maps:
        out["mean valence"] = float(maps.valence.values[mask].mean())
        out["median valence 1σ error"] = float(np.median(maps.valence_err.values[mask]))
    return out


def _napari_command(maps_file: str | Path, folder: str | Path) -> str:
    """The shell command, run in the report ``folder``, that opens ``maps_file`` in napari (with
    the ``redoxmap[napari]`` plugin: named, scaled, masked layers).

    >>> _napari_command("/data/run/maps.nc", "/data/run/report")
    'napari ../maps.nc'
    """
    relative = Path(os.path.relpath(Path(maps_file).resolve(), Path(folder).resolve()))
    return f"napari {shlex.quote(relative.as_posix())}"


def write_report(maps: xr.Dataset, folder: str | Path, *, stack: xr.DataArray, refs: xr.DataArray,
                 settings: dict | None = None, summary: dict | None = None,
                 maps_file: str | Path | None = None) -> Path:
    """Write the figures of a maps Dataset (fractions, differences from the mean, R, histograms, pixel
    fits, drift shifts, valence) and an ``index.html`` with the settings and summary numbers into
    ``folder``; every file is written under a temporary name and renamed.

    Parameters
    ----------
    maps : xarray.Dataset
        Output of :func:`redoxmap.fit.lincomb` or :func:`redoxmap.fit.valence_map`.
    folder : str or pathlib.Path
        The report folder (created if missing).
    stack : xarray.DataArray
        The spectra that were fitted (for the pixel-fit figure).
    refs : xarray.DataArray
        The references or standards that were fitted, on the stack's energies.
    settings : dict, optional
        Job settings to list.
    summary : dict, optional
        Recovered-versus-true numbers to list (simulations).
    maps_file : str or pathlib.Path, optional
        Where the maps were written: each map then names the napari command and layer that show it
        interactively.

    Returns
    -------
    pathlib.Path
        The path of ``index.html``.

    Examples
    --------
    >>> import tempfile
    >>> from redoxmap.fit import lincomb
    >>> from redoxmap.simulate import demo_dataset
    >>> sim = demo_dataset(shape=(32, 32))
    >>> maps = lincomb(sim.stack, sim.refs)
    >>> page = write_report(maps, tempfile.mkdtemp(), stack=sim.stack, refs=sim.refs)  # doctest: +SKIP
    >>> page.name  # eight figures at 150 dpi take seconds  # doctest: +SKIP
    'index.html'
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pixel = maps.attrs.get("pixel_size_nm") or stack.attrs.get("pixel_size_nm")
    images: list[tuple[str, str]] = []
    layers: dict[str, str] = {}  # figure file -> the napari layer showing the same map
    for comp in maps.component.values:
        images.append((_save(figures.fraction_map(maps, comp, pixel), folder, f"fraction_{comp}.png"),
                       f"{comp} fraction"))
        layers[f"fraction_{comp}.png"] = f"fraction {comp}"
        images.append((_save(figures.difference_map(maps, comp, pixel), folder, f"difference_{comp}.png"),
                       f"{comp}: difference from the mean state"))
        images.append((_save(figures.fraction_histogram(maps, comp), folder, f"histogram_{comp}.png"),
                       f"{comp}: histogram over the mask"))
    images.append((_save(figures.r_factor_map(maps, pixel), folder, "r_factor.png"), "misfit R"))
    layers["r_factor.png"] = "r_factor"
    if "valence" in maps:
        layers["valence.png"] = "valence"
        images.append((_save(figures.valence_map_figure(maps, pixel), folder, "valence.png"),
                       "effective valence"))
        images.append((_save(figures.valence_histogram(maps), folder, "valence_histogram.png"),
                       "effective valence: histogram over the mask"))
    if "edge_energy" in maps:
        images.append((_save(figures.edge_energy_figure(maps, pixel), folder, "edge_energy.png"),
                       "edge energy (half jump)"))
    images.append((_save(figures.pixel_fits(stack, refs, maps), folder, "pixel_fits.png"),
                   "spectra and fits of a few pixels"))
    if "shift_y" in maps:
        images.append((_save(figures.shifts_plot(maps), folder, "shifts.png"), "drift correction"))
    energy = stack["energy"].values
    fit_settings = {
        "mode": maps.attrs.get("fit_mode", ""),
        "references": [str(c) for c in maps.component.values],
        "energies": f"{len(energy)} from {energy.min():.2f} to {energy.max():.2f} eV",
        "image size": f"{stack.sizes.get('y')} × {stack.sizes.get('x')} pixels",
        "pixel size": f"{pixel:g} nm" if pixel else "not given",
        **(settings or {}),
    }
    history = maps.attrs.get("history", [])
    history = history.split("\n") if isinstance(history, str) else list(history)
    body = [
        "<!doctype html><html><head><meta charset='utf-8'><title>redoxmap report</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
        "table{border-collapse:collapse;margin-bottom:1.5em}th,td{border:1px solid #ccc;padding:3px 8px;"
        "text-align:left}figure{display:inline-block;margin:0.5em;width:48%}img{width:100%}</style>",
        "</head><body><h1>redoxmap report</h1>",
        f"<p>Source: {html.escape(str(maps.attrs.get('source', stack.attrs.get('source', ''))))}</p>",
        "<h2>Summary</h2><table>", _rows(summary_numbers(maps)), "</table>",
    ]
    if summary:
        body += ["<h2>Recovered versus true</h2><table>", _rows(summary), "</table>"]
    body += ["<h2>Fit settings</h2><table>", _rows(fit_settings), "</table>"]
    command = None if maps_file is None else _napari_command(maps_file, folder)
    if command is not None:
        body += ["<h2>Open in napari</h2><p>Click any pixel to see its spectrum fitted again, draw a "
                 "region for its mean (plugin: <code>pip install 'redoxmap[napari]'</code>). From this "
                 f"report's folder:</p><pre>{html.escape(command)}</pre>"]
    body += ["<h2>Figures</h2>"]
    for name, caption in images:
        link = ""
        if command is not None and name in layers:
            link = (f"<br><small>napari: <code>{html.escape(command)}</code>, layer "
                    f"<code>{html.escape(layers[name])}</code></small>")
        body.append(f"<figure><img src='{html.escape(name)}' alt='{html.escape(caption)}'>"
                    f"<figcaption>{html.escape(caption)}{link}</figcaption></figure>")
    body += ["<h2>History</h2><ol>", *(f"<li><code>{html.escape(line)}</code></li>" for line in history),
             "</ol></body></html>"]
    return save_text("\n".join(body), folder, "index.html")
