"""The operando XRD job: patterns → cycler synchronisation → peak fits → R-3m cell → tables, figures.

:func:`run_xrd_series` is the pipeline job behind a future ``redoxmap xrd-series`` command; every
default lives once in :class:`XrdSeriesConfig`.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from redoxmap.diffraction.lattice import fit_cubic_cell, fit_hexagonal_cell, layered_windows
from redoxmap.diffraction.peaks import fit_reflections
from redoxmap.echem.readers import read_cycler
from redoxmap.echem.sync import attach_cycler
from redoxmap.errors import FormatError
from redoxmap.io.writers import write_dataset
from redoxmap.io.xrd import read_xrd_series
from redoxmap.report.operando import operando_contour_figure, quantity_vs_cycler_figure

SCAN_COLUMNS = ("file", "time", "time_s", "cycler_time_s", "voltage_v", "current_a", "capacity_ah", "cycle",
                "step_type", "in_range")


@dataclass
class XrdSeriesConfig:
    """Settings of an operando XRD run (one field per future CLI option).

    ``windows`` maps reflection names to axis ranges (2θ in degrees or q in Å⁻¹); by default the
    layered-oxide windows of :data:`redoxmap.diffraction.LAYERED_WINDOWS_D` at the series' wavelength.
    Names that read as hkl (``"003"``) give the cell: ``cell = "hexagonal"`` (layered R-3m: a, c),
    ``"cubic"`` (e.g. spinel: a) or None. Scan times come from
    the files' headers; ``scan_time_s`` (one per file) or ``scan_interval_s`` (scan i at
    ``first_scan_s + i · scan_interval_s``) place them on the cycler's clock instead.
    """

    patterns: list[Path]
    out: Path
    cycler: Path | None = None
    windows: dict[str, tuple[float, float]] | None = None
    cell: str | None = "hexagonal"
    wavelength_a: float | None = None
    unit: str | None = None
    ka2: bool = False
    scan_time_s: list[float] | None = None
    scan_interval_s: float | None = None
    first_scan_s: float = 0.0
    offset_s: float = 0.0
    exposure_s: float | None = None
    contour_window: tuple[float, float] | None = None
    overwrite: bool = False
    extra: dict = field(default_factory=dict)

    def settings(self) -> dict:
        """Plain, printable settings (paths as strings) for the summary."""
        out = {}
        for key, value in asdict(self).items():
            if key == "extra":
                continue
            if key in ("patterns", "scan_time_s") and value is not None:
                value = [str(p) for p in value[:3]] + ([f"… {len(value)} in all"] if len(value) > 3 else [])
            out[key] = str(value) if isinstance(value, Path) else value
        return out


def _save_figure(fig: Figure, folder: Path, name: str) -> str:
    tmp = folder / f".{name}.tmp.png"
    fig.savefig(tmp, dpi=150)
    os.replace(tmp, folder / name)
    return name


def _save_text(text: str, folder: Path, name: str) -> str:
    tmp = folder / f".{name}.tmp"
    tmp.write_text(text)
    os.replace(tmp, folder / name)
    return name


def run_xrd_series(config: XrdSeriesConfig,
                   cycler: pd.DataFrame | None = None) -> tuple[xr.DataArray, xr.Dataset, xr.Dataset | None]:
    """Run the job; return ``(series, peaks, cell)`` and write into ``config.out``:

    ``scans.csv`` (time, voltage, capacity, cycle, in_range per scan), ``peaks.csv`` (long table of
    centre, FWHM, area, η with 1σ), ``cell.csv`` (a, c, V with 1σ), ``xrd_fits.nc`` (peaks and cell),
    ``contour.png``, ``<peak>_vs_cycler.png``, ``c_vs_cycler.png`` and ``summary.json``.

    ``cycler`` (a standard table) replaces ``config.cycler`` when the record is not in a cycler file.
    """
    out = Path(config.out)
    if out.exists() and any(out.iterdir()) and not config.overwrite:
        raise FormatError(f"{out}: output folder exists and is not empty; pass overwrite=True")
    out.mkdir(parents=True, exist_ok=True)
    time_s = config.scan_time_s
    if time_s is None and config.scan_interval_s is not None:
        time_s = config.first_scan_s + config.scan_interval_s * np.arange(len(config.patterns))
    series = read_xrd_series(config.patterns, time_s=time_s, unit=config.unit,
                             wavelength_a=config.wavelength_a)
    if time_s is not None and "time" in series.coords:
        series = series.drop_vars("time")  # the interval places scans on the cycler clock directly
    table = cycler if cycler is not None else read_cycler(config.cycler) if config.cycler else None
    if table is not None:
        series = attach_cycler(series, table, offset_s=config.offset_s, exposure_s=config.exposure_s)
    windows = config.windows
    if windows is None:
        if series.dims[-1] != "two_theta" or "wavelength_a" not in series.attrs:
            raise FormatError("run_xrd_series: default windows need 2θ patterns with a wavelength; "
                              "give windows")
        windows = layered_windows(series.attrs["wavelength_a"])
    peaks = fit_reflections(series, windows, ka2=config.ka2)
    for name in SCAN_COLUMNS:
        if name in series.coords and name not in peaks.coords:
            peaks = peaks.assign_coords({name: ("scan", series[name].values)})
    cell = None
    if config.cell not in (None, "hexagonal", "cubic"):
        raise FormatError(f"run_xrd_series: cell={config.cell!r}; expected 'hexagonal', 'cubic' or None")
    if config.cell and all(str(n).isdigit() and len(str(n)) == 3 for n in peaks.peak.values):
        fit_cell = fit_hexagonal_cell if config.cell == "hexagonal" else fit_cubic_cell
        cell = fit_cell(peaks, wavelength_a=config.wavelength_a)
    scans = pd.DataFrame({name: series[name].values for name in SCAN_COLUMNS if name in series.coords},
                         index=pd.Index(series.scan.values, name="scan"))
    _save_text(scans.to_csv(), out, "scans.csv")
    fields = ["center", "center_err", "fwhm", "fwhm_err", "area", "area_err", "eta", "eta_err", "chi2_red",
              "converged"]
    long = peaks[fields].to_dataframe()[fields]
    _save_text(long.to_csv(), out, "peaks.csv")
    results = peaks
    if cell is not None:
        names = [n for n in ("a", "a_err", "c", "c_err", "volume", "volume_err", "chi2_red") if n in cell]
        cell_table = cell[names].reset_coords(drop=True)
        _save_text(cell_table.to_dataframe().to_csv(), out, "cell.csv")
        results = peaks.merge(cell_table.drop_vars("chi2_red").rename(volume="cell_volume",
                                                                      volume_err="cell_volume_err"))
    write_dataset(results, out / "xrd_fits.nc", overwrite=True)
    figures = []
    first = str(peaks.peak.values[0])
    contour = config.contour_window or windows[first]
    figures.append(_save_figure(operando_contour_figure(series, table, contour), out, "contour.png"))
    if table is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN scans outside the record
            centre = peaks.center.sel(peak=first).assign_attrs(units=peaks.center.attrs.get("units", ""))
            figures.append(_save_figure(quantity_vs_cycler_figure(
                centre.rename(f"({first}) centre"), peaks.center_err.sel(peak=first)), out,
                f"{first}_vs_cycler.png"))
            if cell is not None:
                key = "c" if "c" in cell else "a"
                figure = quantity_vs_cycler_figure(cell[key].rename(key), cell[f"{key}_err"])
                figures.append(_save_figure(figure, out, f"{key}_vs_cycler.png"))
    summary = {
        "settings": config.settings(), "scans": int(series.sizes["scan"]),
        "scans_outside_cycler": int((~series.in_range.values).sum()) if "in_range" in series.coords else None,
        "wavelength_a": series.attrs.get("wavelength_a"),
        "peaks": {str(p): {"center_min": float(peaks.center.sel(peak=p).min()),
                           "center_max": float(peaks.center.sel(peak=p).max()),
                           "center_err_median": float(peaks.center_err.sel(peak=p).median()),
                           "converged": int(peaks.converged.sel(peak=p).sum())} for p in peaks.peak.values},
        "cell": None if cell is None else {k: [float(np.nanmin(cell[k])), float(np.nanmax(cell[k]))]
                                           for k in ("a", "c", "volume") if k in cell},
        "figures": figures,
    }
    _save_text(json.dumps(summary, indent=1, default=str) + "\n", out, "summary.json")
    return series, peaks, cell
