"""Operando and ex-situ bulk XAS (Wang et al. 2021, Nat. Commun., Fig. 5d): scans → synchronisation
with the cycler → Athena/Larch normalization → edge energy per scan → linear combination of standards
with known valence, all scans at once → tables, figures and a results file.

Normalization frame, as measured on simulated series of mixtures of the XAS Data Library Mn
standards (MnO, Mn2O3, MnO2; 31 scans over a charge and discharge, 1 eV steps over 6520–6630 eV,
Gaussian noise of 0.2 % of the edge step on top of the standards' own, 10 noise draws; worst
|valence error| over every scan, ``sum1`` over E0 − 20 … E0 + 40 eV):

- ``e0="series"`` (default): every scan and every standard is normalized with one E0 (that of the
  series' mean spectrum) and the same Larch windows, as Athena does when one set of normalization
  parameters is applied to all marked groups. Normalization is then the same linear map for every
  spectrum, so a mixture normalizes to the mixture of the normalized standards: worst 0.025, RMS
  0.012 (0.017 without noise, from the standards' edge steps in the shared frame differing by up to
  3 %; 0.033 with 0.3 % noise, and 0.042 at 0.3 % fitting the whole scan instead of the window).
- ``e0="each"``: each scan with its own E0 and windows, each standard with its own (Athena's default
  for single spectra). The E0 of a mixture jumps between the edges of its components (6544 → 6552 eV
  for MnO → MnO2), moving its windows and edge step by up to 4 %, and a ``sum1`` fit, which cannot
  rescale, turns that into valence errors up to 0.19 (0.14 without noise); ``nnls`` gives 0.08.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
import pandas as pd
import xarray as xr
from pydantic import Field

from redoxmap.echem.readers import read_cycler
from redoxmap.echem.sync import attach_cycler
from redoxmap.errors import ConfigError, FormatError
from redoxmap.fit.valence import valence_map
from redoxmap.io.writers import write_dataset
from redoxmap.io.xas_series import read_xas_scans, read_xas_series
from redoxmap.pipeline.jobs import JobConfig, JobResult, Progress
from redoxmap.preprocess.normalize import normalize_stack
from redoxmap.spectra.edges import calibrate_edge, edge_energy_map
from redoxmap.spectra.library import load_library, make_library, resample_library

__all__ = ["FIT_WINDOW_EV", "XasSeriesConfig", "run_xas_series"]

#: Default fit window relative to the series' E0 (eV): the edge and white line, where the standards
#: differ most and the pre-edge line's extrapolation matters least (module doc).
FIT_WINDOW_EV = (-20.0, 40.0)
SCAN_COLUMNS = ("file", "label", "time", "time_offset_s", "time_s", "cycler_time_s", "voltage_v", "current_a",
                "capacity_ah", "cycle", "step_type", "in_range")


class XasSeriesConfig(JobConfig):
    """Settings of ``redoxmap xas-series``: ``output`` is the results file (``.nc``), ``report`` the
    folder for the scan and fraction tables, the figures and ``summary.json``.

    Standards come from ``library`` (a reference library with valences) or from ``references`` (one
    scan per file, any format the series is read in) with one ``valences`` entry each; without
    either, only the edge energies are measured. Scan times come from the files; ``scan_time_s``
    (one per scan) or ``scan_interval_s`` (scan i at ``first_scan_s + i · scan_interval_s``) place
    them on the cycler's clock instead. A scan stands for its start plus ``time_offset_s`` where the
    file states one (the middle of the scan), else its start plus half of ``exposure_s``.

    Parameters
    ----------
    spectra : list of pathlib.Path
        Files of XAS scans in time order (``SPECTRA``): XDI, column text, NeXus NXxas, Athena
        ``.prj`` (:func:`redoxmap.io.read_xas_series`).
    library : pathlib.Path, optional
        Reference library (``.csv`` or ``.h5``) of standards with valences.
    references : list of pathlib.Path, optional
        Standards, one scan per file (``--ref``).
    valences : list of float, optional
        Valence of each reference, in order (``--valence``).
    names : list of str, optional
        Name of each reference, in order (``--name``); default: the file stems.
    cycler : pathlib.Path, optional
        Cycler file to synchronise with (any format :func:`redoxmap.echem.read_cycler` reads).
    column : str, optional
        μ column(s) of text files: a name, a 1-based number or a pattern (``mu_*``).
    match : str, optional
        Keep the scans whose label matches this shell pattern (``"NiO.0*"``).
    mode : {"sum1", "nnls", "sum1-scaled", "lsq"}
        The fit of the normalized spectra (:func:`redoxmap.fit.lincomb`).
    e0 : {"series", "each"}
        One E0 and one set of normalization windows for every scan and standard (Athena's
        constrained parameters), or every spectrum its own.
    min_ev, max_ev : float, optional
        Fit window (eV); default E0 − 20 eV to E0 + 40 eV (:data:`FIT_WINDOW_EV`).
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
    output : pathlib.Path, optional
        The results (``.nc``: normalized spectra, fractions, valence, edge energies per scan).
    report : pathlib.Path, optional
        Folder for the tables, figures and ``summary.json``.
    overwrite : bool
        Replace an existing results file or report.

    Raises
    ------
    ConfigError
        If standards are given both ways, valences or names do not match the references, or the
        fit window is empty.
    """

    spectra: list[Path] = Field(min_length=1)
    library: Path | None = None
    references: list[Path] | None = None
    valences: list[float] | None = None
    names: list[str] | None = None
    cycler: Path | None = None
    column: str | None = None
    match: str | None = None
    mode: Literal["sum1", "nnls", "sum1-scaled", "lsq"] = "sum1"
    e0: Literal["series", "each"] = "series"
    min_ev: float | None = None
    max_ev: float | None = None
    scan_time_s: list[float] | None = None
    scan_interval_s: float | None = Field(None, gt=0)
    first_scan_s: float = 0.0
    offset_s: float = 0.0
    exposure_s: float | None = Field(None, ge=0)

    INPUTS: ClassVar[tuple[str, ...]] = ("spectra", "library", "references", "cycler")
    ARGUMENTS: ClassVar[tuple[str, ...]] = ("spectra",)
    RENAMED: ClassVar[dict[str, str]] = {"references": "--ref", "names": "--name", "valences": "--valence"}
    OUTPUT_SUFFIXES: ClassVar[tuple[str, ...]] = (".nc",)

    def check(self) -> None:
        super().check()
        if self.library is not None and self.references:
            raise ConfigError("give standards either as --library or as --ref files, not both")
        if self.references and (self.valences is None or len(self.valences) != len(self.references)):
            given = 0 if self.valences is None else len(self.valences)
            raise ConfigError(f"{given} --valence values for {len(self.references)} --ref files; expected "
                              "one valence per standard")
        if self.names is not None and len(self.names) != len(self.references or []):
            raise ConfigError(f"{len(self.names)} --name values for {len(self.references or [])} --ref files")
        if self.min_ev is not None and self.max_ev is not None and self.min_ev >= self.max_ev:
            raise ConfigError(f"--min-ev {self.min_ev:g} is not below --max-ev {self.max_ev:g}")


def _standards(config: XasSeriesConfig) -> xr.DataArray | None:
    """The standards as a library ``(component, energy)`` with valences, on the first reference's
    energies inside the range every reference covers."""
    if config.library is not None:
        return load_library(config.library)
    if not config.references:
        return None
    scans = []
    for path in config.references:
        found = read_xas_scans(path, column=config.column)
        if len(found) != 1:
            raise FormatError(f"{path}: holds {len(found)} scans ({[s.label for s in found][:6]}); expected "
                              "one standard per --ref file")
        scans.append(found[0])
    names = config.names or [Path(p).stem for p in config.references]
    lo = max(float(s.energy_ev[0]) for s in scans)
    hi = min(float(s.energy_ev[-1]) for s in scans)
    grid = scans[0].energy_ev[(scans[0].energy_ev >= lo) & (scans[0].energy_ev <= hi)]
    spectra = {n: np.interp(grid, s.energy_ev, s.mu) for n, s in zip(names, scans, strict=True)}
    return make_library(grid, spectra, dict(zip(names, config.valences, strict=True)), "")


def _common_range(series: xr.DataArray, library: xr.DataArray) -> xr.DataArray:
    """The scans cut to the energies the standards cover (they are never extrapolated), with a warning."""
    lo, hi = float(library.energy.min()), float(library.energy.max())
    energy = series.energy.values
    inside = (energy >= lo - 1e-6) & (energy <= hi + 1e-6)
    if inside.all():
        return series
    if inside.sum() < 8:
        raise FormatError(f"the standards cover {lo:g}–{hi:g} eV and the scans {energy[0]:g}–"
                          f"{energy[-1]:g} eV; "
                          "expected standards measured over the scans' edge region")
    warnings.warn(f"the scans are cut from {energy[0]:g}–{energy[-1]:g} eV to {energy[inside][0]:g}–"
                  f"{energy[inside][-1]:g} eV, the range the standards cover", stacklevel=3)
    return series.isel(energy=np.flatnonzero(inside))


def _scan_times(config: XasSeriesConfig, n_files: int) -> list[float] | None:
    if config.scan_time_s is not None:
        return config.scan_time_s
    if config.scan_interval_s is not None:
        return list(config.first_scan_s + config.scan_interval_s * np.arange(n_files))
    return None


def _edges(normalized: xr.DataArray) -> xr.Dataset:
    """Half-jump and steepest-slope edge energies of each normalized spectrum."""
    return xr.Dataset({"edge_ev": edge_energy_map(normalized, "half_jump"),
                       "e0_ev": edge_energy_map(normalized, "derivative")})


def run_xas_series(config: XasSeriesConfig, progress: Progress | None = None, *,
                   cycler: pd.DataFrame | None = None) -> JobResult:
    """Read, synchronise, normalize and fit the series; write ``output`` and the report.

    The report holds ``scans.csv`` (time, cycler values, edge energies, valence ± σ, R per scan),
    ``fractions.csv`` (long table of fraction ± σ per scan and standard), ``contour.png``
    (normalized μ versus energy and time beside the voltage curve), ``fractions_vs_time.png``,
    ``valence_vs_cycler.png``, ``edge_vs_cycler.png`` and ``summary.json``.

    Each scan is normalized to a unit edge step (Athena/Larch pre- and post-edge lines; Ravel &
    Newville 2005), its edge energies measured (half jump and steepest slope) and, with standards,
    fitted as μ(E) = Σ_k f_k μ_k(E) with valence v = Σ_k f_k v_k (Wang et al. 2021, Fig. 5d).

    Parameters
    ----------
    config : XasSeriesConfig
        The settings.
    progress : callable, optional
        Called as ``progress(stage, done, total)`` as the job advances (the command line draws
        bars from it).
    cycler : pandas.DataFrame, optional
        A standard cycler table (:func:`redoxmap.echem.read_cycler`) that replaces
        ``config.cycler``.

    Returns
    -------
    JobResult
        ``values`` hold ``series`` (μ with the cycler coordinates), ``results`` (the Dataset
        written to ``output``) and ``library``.

    Raises
    ------
    ConfigError
        If ``scan_time_s`` does not give one time per scan.
    FormatError
        If a file cannot be read, or the standards do not cover the scans' edge.
    """
    def report(stage: str, done: int = 1, total: int = 1) -> None:
        if progress is not None:
            progress(stage, done, total)

    report("read", 0)
    series = read_xas_series(config.spectra, column=config.column, match=config.match)
    time_s = _scan_times(config, series.sizes["scan"])
    if time_s is not None:
        if len(time_s) != series.sizes["scan"]:
            raise ConfigError(f"{len(time_s)} --scan-time-s values for {series.sizes['scan']} scans; "
                              "expected one time per scan")
        series = series.drop_vars("time", errors="ignore").assign_coords(
            time_s=("scan", np.asarray(time_s, float), {"units": "s"}))
    report("read")
    table = cycler if cycler is not None else read_cycler(config.cycler) if config.cycler else None
    if table is not None:
        exposure = config.exposure_s
        if exposure is None and "time_offset_s" in series.coords:
            exposure = np.nan_to_num(2.0 * series.time_offset_s.values)
        series = attach_cycler(series, table, offset_s=config.offset_s, exposure_s=exposure)
    library = _standards(config)
    if library is not None:
        series = _common_range(series, library)
    report("fit", 0)
    frame = "mean" if config.e0 == "series" else "each"
    norm = normalize_stack(series, e0_ev=frame)
    e0_series = float(norm.e0_ev.mean())
    results = xr.Dataset({"mu": series, "normalized": norm.normalized, "edge_step": norm.edge_step,
                          **_edges(norm.normalized)})
    maps = None
    if library is not None:
        window = (config.min_ev if config.min_ev is not None else e0_series + FIT_WINDOW_EV[0],
                  config.max_ev if config.max_ev is not None else e0_series + FIT_WINDOW_EV[1])
        everything = xr.ones_like(series.isel(energy=0, drop=True), dtype=bool).reset_coords(drop=True)
        maps = valence_map(series, library, mode=config.mode, window_ev=window, normalize=True,
                           mask=everything, standards="shared" if config.e0 == "series" else "own",
                           e0_ev=frame)
        for name in ("fraction", "fraction_err", "valence", "valence_err", "r_factor", "fit_status"):
            if name in maps:
                results[name] = maps[name]
        results = results.assign_coords(standard_valence=("component", library.valence.values))
        results.attrs["fit_window_ev"] = [float(v) for v in window]
        edge_valence = _edge_valence(library, norm, results.edge_ev, config.e0)
        results = results.merge(edge_valence)
        results.attrs.update(edge_valence.attrs)
    history = (maps if maps is not None else norm.normalized).attrs["history"]
    results.attrs.update(e0_frame=config.e0, e0_series_ev=e0_series, fit_mode=config.mode, history=history)
    report("fit")
    written = []
    if config.output is not None:
        written.append(write_dataset(results, config.output, overwrite=config.overwrite))
    if config.report is not None:
        written += _write_report(config, results, table)
    return JobResult(title=f"operando XAS: {int(series.sizes['scan'])} scans", summary=_summary(results),
                     written=written, values={"series": series, "results": results, "library": library})


def _edge_valence(library: xr.DataArray, norm: xr.Dataset, edge_ev: xr.DataArray, e0: str) -> xr.Dataset:
    """Valence from the half-jump edge energy, calibrated linearly on the standards normalized in the
    scans' frame (Athena's edge-shift method); empty with fewer than two valences."""
    if np.unique(library.valence.values).size < 2:
        return xr.Dataset()
    energy = norm.normalized["energy"].values
    refs = resample_library(library, energy, library.attrs.get("source", "standards")) \
        if e0 == "series" else library
    if e0 == "series":
        windows = {k: float(norm[k].values.flat[0]) for k in ("pre1_ev", "pre2_ev", "norm1_ev", "norm2_ev")}
        refs_norm = normalize_stack(refs, e0_ev=float(norm.e0_ev.values.flat[0]),
                                    nnorm=int(norm.nnorm.values.flat[0]), **windows)["normalized"]
    else:
        refs_norm = normalize_stack(refs, e0_ev="each")["normalized"]
    standard_edges = edge_energy_map(refs_norm, "half_jump").values
    calibration = calibrate_edge(standard_edges, library.valence.values)
    valence, err = calibration.valence(edge_ev)
    return xr.Dataset({"valence_edge": valence.assign_attrs(units="1", long_name="valence from the edge "
                                                             "energy (linear calibration on the standards)"),
                       "valence_edge_err": err.assign_attrs(units="1"),
                       "standard_edge_ev": ("component", standard_edges, {"units": "eV"})},
                      attrs={"edge_slope_ev_per_valence": calibration.slope_ev})


def _summary(results: xr.Dataset) -> list[tuple[str, str]]:
    edge = results.edge_ev.values
    rows = [("scans", str(results.sizes["scan"])),
            ("normalization E0", f"{results.attrs['e0_series_ev']:.2f} eV ({results.attrs['e0_frame']})"),
            ("edge at half jump, first → last", f"{edge[0]:.2f} → {edge[-1]:.2f} eV "
             f"(range {np.nanmin(edge):.2f}–{np.nanmax(edge):.2f})")]
    if "in_range" in results.coords:
        rows.append(("scans outside the cycler's record", str(int((~results.in_range.values).sum()))))
    if "valence" in results:
        v = results.valence.values
        rows += [("valence (LCF), first → last", f"{v[0]:.3f} → {v[-1]:.3f} (range {np.nanmin(v):.3f}–"
                  f"{np.nanmax(v):.3f}; median σ {np.nanmedian(results.valence_err.values):.3f})"),
                 ("R factor, median", f"{np.nanmedian(results.r_factor.values):.2e}"),
                 ("scans not fitted", str(int((results.fit_status.values != 0).sum())))]
    if "valence_edge" in results:
        v = results.valence_edge.values
        rows.append(("valence (edge shift), first → last", f"{v[0]:.3f} → {v[-1]:.3f}"))
    return rows


def _scan_table(results: xr.Dataset) -> pd.DataFrame:
    columns = {name: results[name].values for name in SCAN_COLUMNS if name in results.coords}
    for name in ("e0_ev", "edge_ev", "edge_step", "valence", "valence_err", "valence_edge",
                 "valence_edge_err", "r_factor", "fit_status"):
        if name in results:
            columns[name] = results[name].values
    return pd.DataFrame(columns, index=pd.Index(results.scan.values, name="scan"))


def _write_report(config: XasSeriesConfig, results: xr.Dataset, table: pd.DataFrame | None) -> list[Path]:
    from redoxmap.report.files import save_figure, save_table, save_text
    from redoxmap.report.operando import (
        fractions_time_figure,
        operando_contour_figure,
        quantity_vs_cycler_figure,
    )

    out = config.report
    written = [save_table(_scan_table(results), out, "scans.csv", index=True)]
    window = results.attrs.get("fit_window_ev") or (results.attrs["e0_series_ev"] + FIT_WINDOW_EV[0],
                                                     results.attrs["e0_series_ev"] + FIT_WINDOW_EV[1])
    written.append(save_figure(operando_contour_figure(results.normalized, table, tuple(window),
                                                       colour_label="normalized μ(E)"), out, "contour.png"))
    if "fraction" in results:
        long = results[["fraction", "fraction_err"]].reset_coords(drop=True).to_dataframe()
        written.append(save_table(long.reorder_levels(["scan", "component"]).sort_index(), out,
                                  "fractions.csv", index=True))
        written.append(save_figure(fractions_time_figure(results.fraction, results.fraction_err, table), out,
                                   "fractions_vs_time.png"))
    if table is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN scans outside the record
            if "valence" in results:
                valence = results.valence.rename("valence").assign_attrs(units="")
                written.append(save_figure(quantity_vs_cycler_figure(valence, results.valence_err), out,
                                           "valence_vs_cycler.png"))
            edge = results.edge_ev.rename("edge at half jump").assign_attrs(units="eV")
            written.append(save_figure(quantity_vs_cycler_figure(edge), out, "edge_vs_cycler.png"))
    summary = {"settings": config.settings(), "scans": int(results.sizes["scan"]),
               "scans_outside_cycler": int((~results.in_range.values).sum()) if "in_range" in results.coords
               else None,
               "e0_frame": config.e0, "e0_series_ev": results.attrs["e0_series_ev"],
               "edge_ev": [float(np.nanmin(results.edge_ev)), float(np.nanmax(results.edge_ev))],
               "valence": None if "valence" not in results else
               [float(np.nanmin(results.valence)), float(np.nanmax(results.valence))],
               "fit_window_ev": results.attrs.get("fit_window_ev"),
               "figures": [p.name for p in written if p.suffix == ".png"]}
    written.append(save_text(json.dumps(summary, indent=1, default=str) + "\n", out, "summary.json"))
    return written
