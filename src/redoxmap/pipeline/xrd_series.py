"""Operando XRD (Wang et al. 2021, Fig. 6; Csernica et al. 2021): patterns → synchronisation with the
cycler → peak fits (pseudo-Voigt, all patterns at once) → layered R-3m (or cubic) cell → tables,
figures and a results file."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from redoxmap.diffraction.lattice import fit_cubic_cell, fit_hexagonal_cell, layered_windows
from redoxmap.diffraction.peaks import fit_reflections
from redoxmap.echem.readers import read_cycler
from redoxmap.echem.sync import attach_cycler
from redoxmap.errors import ConfigError
from redoxmap.io.writers import write_dataset
from redoxmap.io.xrd import read_xrd_series
from redoxmap.pipeline.jobs import JobConfig, JobResult, Progress

__all__ = ["XrdSeriesConfig", "run_xrd_series"]

SCAN_COLUMNS = ("file", "time", "time_s", "cycler_time_s", "voltage_v", "current_a", "capacity_ah", "cycle",
                "step_type", "in_range")


class XrdSeriesConfig(JobConfig):
    """Settings of ``redoxmap xrd-series``: ``output`` is the fitted peaks and cell (``.nc``),
    ``report`` the folder for the scan, peak and cell tables, the figures and ``summary.json``.

    ``windows`` maps reflection names to axis ranges (2θ in degrees or q in Å⁻¹); by default the
    layered-oxide windows of :data:`redoxmap.diffraction.LAYERED_WINDOWS_D` at the series' wavelength.
    Names that read as hkl (``"003"``) give the cell: ``cell = "hexagonal"`` (layered R-3m: a, c),
    ``"cubic"`` (e.g. spinel: a) or None. Scan times come from the files' headers; ``scan_time_s``
    (one per file) or ``scan_interval_s`` (scan i at ``first_scan_s + i · scan_interval_s``) place
    them on the cycler's clock instead.

    Parameters
    ----------
    patterns : list of pathlib.Path
        Diffraction patterns in time order (``PATTERNS``): ``.xy``, ``.xye``, ``.chi``, ``.dat``,
        GSAS ``.fxye``/``.gsas``, pyFAI (:func:`redoxmap.io.read_xrd_series`).
    cycler : pathlib.Path, optional
        Cycler file to synchronise with (any format :func:`redoxmap.echem.read_cycler` reads).
    windows : dict of str to (float, float), optional
        Reflection name → (low, high) on the patterns' axis (2θ in °, or q in Å⁻¹).
    cell : {"hexagonal", "cubic"} or None
        The cell fitted to the reflections named as hkl.
    wavelength_a : float, optional
        X-ray wavelength (Å), if the files state none.
    unit : str, optional
        Axis of text patterns: ``2th_deg``, ``q_A^-1`` or ``q_nm^-1``.
    ka2 : bool
        Fit the Cu Kα1/Kα2 doublet.
    scan_time_s : list of float, optional
        Time (s) of each scan on the cycler's clock, instead of the files' times.
    scan_interval_s : float, optional
        Scan i at ``first_scan_s + i · scan_interval_s`` (s) on the cycler's clock, instead of the
        files' times.
    first_scan_s : float
        Cycler time (s) of the first scan, with ``scan_interval_s``.
    offset_s : float
        Added to the scans' times before they are matched to the cycler (s).
    exposure_s : float, optional
        Duration (s) of each scan: its middle is matched.
    contour_window : (float, float), optional
        Axis range (2θ in ° or q in Å⁻¹) of the contour figure; default: the first reflection's
        window.
    output : pathlib.Path, optional
        The fitted peaks and cell (``.nc``).
    report : pathlib.Path, optional
        Folder for the tables, figures and ``summary.json``.
    overwrite : bool
        Replace an existing results file or report.

    Raises
    ------
    ConfigError
        If ``scan_time_s`` does not give one time per pattern.
    """

    patterns: list[Path] = Field(min_length=1)
    cycler: Path | None = None
    windows: dict[str, tuple[float, float]] | None = None
    cell: Literal["hexagonal", "cubic"] | None = "hexagonal"
    wavelength_a: float | None = Field(None, gt=0)
    unit: str | None = None
    ka2: bool = False
    scan_time_s: list[float] | None = None
    scan_interval_s: float | None = Field(None, gt=0)
    first_scan_s: float = 0.0
    offset_s: float = 0.0
    exposure_s: float | None = Field(None, ge=0)
    contour_window: tuple[float, float] | None = None

    INPUTS: ClassVar[tuple[str, ...]] = ("patterns", "cycler")
    ARGUMENTS: ClassVar[tuple[str, ...]] = ("patterns",)
    OUTPUT_SUFFIXES: ClassVar[tuple[str, ...]] = (".nc",)

    def check(self) -> None:
        super().check()
        if self.scan_time_s is not None and len(self.scan_time_s) != len(self.patterns):
            raise ConfigError(f"{len(self.scan_time_s)} --scan-time-s values for {len(self.patterns)} "
                              "patterns; expected one time per pattern")


def run_xrd_series(config: XrdSeriesConfig, progress: Progress | None = None, *,
                   cycler: pd.DataFrame | None = None) -> JobResult:
    """Read, synchronise and fit the series; write ``output`` and the report.

    The report holds ``scans.csv`` (time, voltage, capacity, cycle, in_range per scan), ``peaks.csv``
    (long table of centre, FWHM, area, η with 1σ), ``cell.csv`` (a, c, V with 1σ), ``contour.png``,
    ``<peak>_vs_cycler.png``, ``c_vs_cycler.png`` and ``summary.json``.

    Each reflection is fitted by a pseudo-Voigt, η L + (1 − η) G, over all patterns at once
    (:func:`redoxmap.diffraction.fit_reflections`); the cell follows from Bragg's law and
    1/d² = 4/3 (h² + hk + k²)/a² + l²/c² (hexagonal) or (h² + k² + l²)/a² (cubic).

    Parameters
    ----------
    config : XrdSeriesConfig
        The settings.
    progress : callable, optional
        Called as ``progress(stage, done, total)`` as the job advances (the command line draws
        bars from it).
    cycler : pandas.DataFrame, optional
        A standard cycler table (:func:`redoxmap.echem.read_cycler`) that replaces
        ``config.cycler`` when the record is not in a cycler file.

    Returns
    -------
    JobResult
        ``values`` hold ``series`` (the patterns with the cycler coordinates), ``peaks`` (centre,
        FWHM, area, η with 1σ per scan) and ``cell`` (a, c in Å, V in Å³, or None).

    Raises
    ------
    ConfigError
        If no windows are given and the patterns are not 2θ with a known wavelength.
    FormatError
        If a pattern or the cycler file cannot be read.

    Examples
    --------
    >>> import tempfile
    >>> from redoxmap.io import write_fxye
    >>> from redoxmap.simulate import galvanostatic_cycle, simulate_xrd_series
    >>> series, truth = simulate_xrd_series(galvanostatic_cycle(), [0.0, 20000.0])
    >>> folder = Path(tempfile.mkdtemp())
    >>> paths = [write_fxye(series.isel(scan=i), folder / f"scan{i}.fxye") for i in range(2)]
    >>> result = run_xrd_series(XrdSeriesConfig(patterns=paths))
    >>> bool(abs(result.cell.c.values - truth.c.values).max() < 0.01)  # c (Å) of both scans
    True
    """
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
            raise ConfigError("the default windows need 2θ patterns with a wavelength; give --windows "
                              "or --wavelength-a")
        windows = layered_windows(series.attrs["wavelength_a"])
    peaks = fit_reflections(series, windows, ka2=config.ka2)
    for name in SCAN_COLUMNS:
        if name in series.coords and name not in peaks.coords:
            peaks = peaks.assign_coords({name: ("scan", series[name].values)})
    cell = None
    if config.cell and all(str(n).isdigit() and len(str(n)) == 3 for n in peaks.peak.values):
        fit_cell = fit_hexagonal_cell if config.cell == "hexagonal" else fit_cubic_cell
        cell = fit_cell(peaks, wavelength_a=config.wavelength_a)
    scans = pd.DataFrame({name: series[name].values for name in SCAN_COLUMNS if name in series.coords},
                         index=pd.Index(series.scan.values, name="scan"))
    results, cell_table = peaks, None
    if cell is not None:
        names = [n for n in ("a", "a_err", "c", "c_err", "volume", "volume_err", "chi2_red") if n in cell]
        cell_table = cell[names].reset_coords(drop=True)
        results = peaks.merge(cell_table.drop_vars("chi2_red").rename(volume="cell_volume",
                                                                      volume_err="cell_volume_err"))
    written = []
    if config.output is not None:
        written.append(write_dataset(results, config.output, overwrite=config.overwrite))
    if config.report is not None:
        written += _write_report(config, series, peaks, cell, scans, cell_table, table, windows)
    summary = [("scans", str(int(series.sizes["scan"])))]
    if "in_range" in series.coords:
        summary.append(("scans outside the cycler's record", str(int((~series.in_range.values).sum()))))
    for p in peaks.peak.values:
        summary.append((f"({p}) centre", f"{float(peaks.center.sel(peak=p).min()):.4f}–"
                        f"{float(peaks.center.sel(peak=p).max()):.4f} ± "
                        f"{float(peaks.center_err.sel(peak=p).median()):.4f}"))
    if cell is not None:
        summary += [(k, f"{float(np.nanmin(cell[k])):.5f}–{float(np.nanmax(cell[k])):.5f} Å")
                    for k in ("a", "c") if k in cell]
    return JobResult(title=f"operando XRD: {int(series.sizes['scan'])} patterns", summary=summary,
                     written=written, values={"series": series, "peaks": peaks, "cell": cell})


def _write_report(config: XrdSeriesConfig, series, peaks, cell, scans, cell_table, table,
                  windows) -> list[Path]:
    from redoxmap.report.files import save_figure, save_table, save_text
    from redoxmap.report.operando import operando_contour_figure, quantity_vs_cycler_figure

    out = config.report
    written = [save_table(scans, out, "scans.csv", index=True)]
    fields = ["center", "center_err", "fwhm", "fwhm_err", "area", "area_err", "eta", "eta_err", "chi2_red",
              "converged"]
    written.append(save_table(peaks[fields].to_dataframe()[fields], out, "peaks.csv", index=True))
    if cell_table is not None:
        written.append(save_table(cell_table.to_dataframe(), out, "cell.csv", index=True))
    first = str(peaks.peak.values[0])
    contour = config.contour_window or windows[first]
    written.append(save_figure(operando_contour_figure(series, table, contour), out, "contour.png"))
    if table is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN scans outside the record
            centre = peaks.center.sel(peak=first).assign_attrs(units=peaks.center.attrs.get("units", ""))
            written.append(save_figure(quantity_vs_cycler_figure(
                centre.rename(f"({first}) centre"), peaks.center_err.sel(peak=first)), out,
                f"{first}_vs_cycler.png"))
            if cell is not None:
                key = "c" if "c" in cell else "a"
                figure = quantity_vs_cycler_figure(cell[key].rename(key), cell[f"{key}_err"])
                written.append(save_figure(figure, out, f"{key}_vs_cycler.png"))
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
        "figures": [p.name for p in written if p.suffix == ".png"],
    }
    written.append(save_text(json.dumps(summary, indent=1, default=str) + "\n", out, "summary.json"))
    return written
