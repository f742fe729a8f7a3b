"""The ``redoxmap`` command line. Each command parses its options into a job configuration and
calls one job of :mod:`redoxmap.pipeline`; defaults live in the configurations.

Shared conventions: every command that writes has ``-o/--output``, ``--overwrite`` and
``--report``; lengths are in nm and energies in eV, with the unit in the option's name; every
on/off option has its ``--no-`` form.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from redoxmap.errors import RedoxmapError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Quantitative chemical maps from X-ray spectromicroscopy of battery cathodes.")
tomo_app = typer.Typer(no_args_is_help=True, help="Tomography: reconstruction, dual-energy chemistry, "
                       "composition classes, pores, 3D XANES.")
app.add_typer(tomo_app, name="tomo")
console = Console()
errors = Console(stderr=True, soft_wrap=True)

OVERWRITE = typer.Option(False, help="Replace existing outputs (never an input)")
REPORT = typer.Option(None, "--report", help="Folder for figures, tables and index.html")
SCHEDULER = typer.Option("threads", help="Where dask computes: threads | processes | synchronous | "
                         "tcp://host:port of a running dask scheduler (docs/cluster.md)")
MEMORY_LIMIT = typer.Option(None, help="Memory the job may use, e.g. 1GB: sizes the chunks and the workers "
                            "of --scheduler processes; runs out of core")
CHUNKS_PX = typer.Option(None, help="Process out of core in strips of this many image rows, every energy "
                         "in each (default with --memory-limit: from the limit)")


class _PlainProgress:
    """Progress as plain lines (every 10 % of a stage) when the output is not a terminal, so a
    log file shows what is happening while it happens."""

    def __init__(self) -> None:
        self.shown: dict[str, int] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        tenth = int(10 * done / max(total, 1))
        if self.shown.get(stage, -1) < tenth:
            self.shown[stage] = tenth
            print(f"{stage}: {done}/{total}", flush=True)


def _run(job, config):
    """Run one job with progress, print its summary and the files it wrote."""
    start = time.perf_counter()
    if console.is_terminal:
        bars = Progress(TextColumn("{task.description:<8}"), BarColumn(), TaskProgressColumn(),
                        TimeElapsedColumn(), console=console, transient=False)
        tasks: dict[str, int] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total)
            bars.update(tasks[stage], completed=done, total=total)

        with bars:
            result = job(config, update)
    else:
        result = job(config, _PlainProgress())
    table = Table(title=result.title, show_header=False)
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for label, value in result.summary:
        table.add_row(escape(label), escape(value))
    console.print(table)
    for path in result.written:
        console.print(f"written: [bold]{escape(str(path))}[/]")
    console.print(f"done in {time.perf_counter() - start:.1f} s")
    return result


@app.command()
def info(path: Path = typer.Argument(..., help="Stack file: HDF5 (dxchange, FXI, NXstxm, generic), "
                                     "TIFF, Xradia .xrm/.txrm or ALS STXM .hdr"),
         energies: Path | None = typer.Option(None, help="Energy list file (TIFF stacks)"),
         flats: str | None = typer.Option(None, help="Flats: TIFF or Xradia reference file, or dataset"),
         darks: str | None = typer.Option(None, help="Darks: TIFF file or dataset name"),
         data_dataset: str | None = typer.Option(None, help="Generic HDF5: dataset of the images"),
         energy_dataset: str | None = typer.Option(None, help="Generic HDF5: dataset of the energies"),
         ) -> None:
    """Describe a stack file: layout, datasets, image size, energies, flats and darks."""
    from redoxmap.io.describe import describe_stack

    rows = describe_stack(path, energies=energies, flats=flats, darks=darks, data=data_dataset,
                          energy=energy_dataset)
    table = Table(title=str(path), show_header=False)
    for label, value in rows:
        table.add_row(escape(label), escape(value))
    console.print(table)


@app.command()
def xanes2d(
    stack: Path = typer.Argument(..., help="Stack: dxchange/FXI/generic HDF5, TIFF, Xradia, ALS STXM, "
                                 "NXstxm"),
    ref: list[Path] = typer.Option(..., "--ref", "-r",
                                   help="Reference spectrum (energy, absorption); repeat"),
    name: list[str] | None = typer.Option(None, "--name", "-n", help="Name of each reference, in order"),
    output: Path | None = typer.Option(None, "--output", "-o", help="Output file (.nc or .zarr maps)"),
    report: Path | None = REPORT,
    overwrite: bool = OVERWRITE,
    mode: str = typer.Option("nnls", help="lsq | nnls | sum1 | sum1-scaled (nnls: OD of varying thickness)"),
    energies: Path | None = typer.Option(None, help="Energy list file (TIFF stacks)"),
    flats: str | None = typer.Option(None, help="Flats: TIFF path, or dataset name in generic HDF5"),
    darks: str | None = typer.Option(None, help="Darks: TIFF path, or dataset name in generic HDF5"),
    data_dataset: str | None = typer.Option(None, help="Generic HDF5: dataset of the images"),
    energy_dataset: str | None = typer.Option(None, help="Generic HDF5: dataset of the energies"),
    i0: Path | None = typer.Option(None, help="I0 spectrum file (energy, counts) of a scanning microscope"),
    i0_fraction: float = typer.Option(0.05, help="Without flats or --i0: share of brightest pixels as I0"),
    min_ev: float | None = typer.Option(None, help="Energy window start (eV)"),
    max_ev: float | None = typer.Option(None, help="Energy window end (eV)"),
    bin_px: int = typer.Option(1, help="Average bin × bin pixels"),
    align: bool = typer.Option(True, help="Correct the drift between energies"),
    align_energy_ev: float | None = typer.Option(None, help="Alignment reference energy (eV); default: "
                                                 "the white line"),
    max_shift_px: float = typer.Option(10.0, help="Reject drift shifts larger than this (px)"),
    mask_threshold: float | None = typer.Option(None, help="Edge-jump threshold of the particle mask "
                                                   "(OD); default: Otsu"),
    pixel_size_nm: float | None = typer.Option(None, help="Pixel size (nm) for scale bars"),
    chunks_px: int | None = CHUNKS_PX,
    scheduler: str = SCHEDULER,
    memory_limit: str | None = MEMORY_LIMIT,
) -> None:
    """Map phase fractions: fit each pixel's spectrum with the references (Wang et al. 2021)."""
    from redoxmap.pipeline.xanes2d import Xanes2DConfig, run_xanes2d

    _run(run_xanes2d, Xanes2DConfig(
        stack=stack, references=list(ref), names=list(name) if name else None, output=output, report=report,
        overwrite=overwrite, mode=mode, energies=energies, flats=flats, darks=darks,
        data_dataset=data_dataset,
        energy_dataset=energy_dataset, i0=i0, i0_fraction=i0_fraction, min_ev=min_ev, max_ev=max_ev,
        bin_px=bin_px, align=align, align_energy_ev=align_energy_ev, max_shift_px=max_shift_px,
        mask_threshold=mask_threshold, pixel_size_nm=pixel_size_nm, chunks_px=chunks_px, scheduler=scheduler,
        memory_limit=memory_limit))


@app.command()
def valence(
    stack: Path = typer.Argument(..., help="Stack: ALS STXM .hdr, NXstxm, dxchange/FXI HDF5, TIFF (with "
                                 "--energies), Xradia .xrm/.txrm"),
    library: Path = typer.Option(..., "--library", "-l",
                                 help="Reference library (.csv or .h5) with valences"),
    output: Path | None = typer.Option(None, "--output", "-o", help="Output file (.nc or .zarr maps)"),
    report: Path | None = REPORT,
    overwrite: bool = OVERWRITE,
    mode: str = typer.Option("auto", help="auto | lsq | nnls | sum1 | sum1-scaled; auto: sum1 on normalized "
                             "spectra for hard-X-ray scans, sum1-scaled on OD for short soft-X-ray scans"),
    normalize: bool | None = typer.Option(None, help="Normalize stack and standards (Athena/Larch); "
                                          "default: for hard-X-ray scans, not for short soft-X-ray scans"),
    standards: str = typer.Option("own", help="own | shared: normalize each standard with its own "
                                  "parameters (Athena) or with the stack's"),
    energies: Path | None = typer.Option(None, help="Energy list file (TIFF stacks)"),
    i0: Path | None = typer.Option(None, help="I0 spectrum file (energy, counts); default: empty region"),
    i0_fraction: float = typer.Option(0.05, help="Share of brightest pixels taken as the I0 region"),
    min_ev: float | None = typer.Option(None, help="Fit window start (eV); default: the edge's window"),
    max_ev: float | None = typer.Option(None, help="Fit window end (eV)"),
    align: bool = typer.Option(True, help="Correct the drift between energies"),
    max_shift_px: float = typer.Option(10.0, help="Reject drift shifts larger than this (px)"),
    pixel_size_nm: float | None = typer.Option(None, help="Pixel size (nm), if the file has none"),
    chunks_px: int | None = CHUNKS_PX,
    scheduler: str = SCHEDULER,
    memory_limit: str | None = MEMORY_LIMIT,
) -> None:
    """Map oxidation state: fractions of standards of known valence and the effective valence."""
    from redoxmap.pipeline.valence import ValenceConfig, run_valence

    _run(run_valence, ValenceConfig(
        stack=stack, library=library, output=output, report=report, overwrite=overwrite, mode=mode,
        normalize="auto" if normalize is None else normalize, standards=standards, energies=energies, i0=i0,
        i0_fraction=i0_fraction, min_ev=min_ev, max_ev=max_ev, align=align, max_shift_px=max_shift_px,
        pixel_size_nm=pixel_size_nm, chunks_px=chunks_px, scheduler=scheduler, memory_limit=memory_limit))


@app.command()
def demo(output: Path = typer.Option(Path("demo-output"), "--output", "-o",
                                     help="Folder for the simulated files, maps and reports"),
         overwrite: bool = typer.Option(True, help="Replace the demo's own earlier outputs (never an input)"),
         size_px: int = typer.Option(256, help="Image size (pixels per side)"),
         tomo_size_px: int = typer.Option(64, help="Grid of the tilt series' particle (voxels per side)"),
         seed: int = typer.Option(0, help="Random seed")) -> None:
    """Simulate a Mn K-edge TXM-XANES scan, a Mn L3 STXM particle and a ±65° dual-energy tilt series,
    run the jobs on the files and print recovered-versus-true numbers."""
    from redoxmap.pipeline.demo import DemoConfig, run_demo

    _run(run_demo, DemoConfig(output=output, overwrite=overwrite, size_px=size_px,
                              tomo_size_px=tomo_size_px, seed=seed))


@app.command()
def echem(
    file: Path = typer.Argument(..., help="Cycler file: Arbin CSV/.res, BioLogic .mpr/.mpt, Neware "
                                ".nda/.ndax/CSV, MACCOR text or raw, Novonix CSV (recognised from the "
                                "content)"),
    output: Path | None = typer.Option(None, "--output", "-o", help="Output file (.csv cycle table)"),
    report: Path | None = REPORT,
    overwrite: bool = OVERWRITE,
    mass_mg: float | None = typer.Option(None, help="Active mass (mg) for specific capacity"),
    gitt: bool = typer.Option(False, help="Analyse current pulses as GITT"),
    radius_nm: float | None = typer.Option(None, help="Particle radius (nm) for GITT (V/S = R/3)"),
) -> None:
    """Cycling metrics, dQ/dV and (with --gitt) diffusion coefficients from a cycler file."""
    from redoxmap.pipeline.echem import EchemConfig, run_echem

    _run(run_echem, EchemConfig(file=file, output=output, report=report, overwrite=overwrite, mass_mg=mass_mg,
                                gitt=gitt, radius_nm=radius_nm))


@app.command()
def profile(
    maps: Path = typer.Argument(..., help="Maps file (.nc or .zarr) from xanes2d or valence"),
    output: Path | None = typer.Option(None, "--output", "-o", help="Output file (.csv profile table)"),
    report: Path | None = REPORT,
    overwrite: bool = OVERWRITE,
    var: str = typer.Option("fraction", help="Variable to profile, e.g. fraction or valence"),
    component: str | None = typer.Option(None, help="Component of a per-component variable"),
    pixel_size_nm: float | None = typer.Option(None, help="Pixel size (nm); default: stored in the maps"),
    bin_nm: float = typer.Option(10.0, help="Bin width (nm)"),
    model: list[str] = typer.Option(["diffusion", "core-shell"],
                                    help="diffusion | core-shell | diffusion-mask (on the mask); repeat"),
    geometry: str = typer.Option("sphere", help="Shape of the series models: sphere | cylinder | slab"),
    view: str = typer.Option("section", help="section (thin slice) | projection (through the particle)"),
    radius_nm: float | None = typer.Option(None, help="Particle radius (nm) for the model fits"),
    time_s: float | None = typer.Option(None, help="Time at high state of charge (s)"),
    per_particle: bool = typer.Option(False, help="Also one profile per particle (watershed labels)"),
) -> None:
    """Value versus distance from the particle edge, with diffusion / core–shell fits
    (Csernica et al. 2021)."""
    from redoxmap.pipeline.profile import ProfileConfig, run_profile

    _run(run_profile, ProfileConfig(
        maps=maps, output=output, report=report, overwrite=overwrite, var=var, component=component,
        pixel_size_nm=pixel_size_nm, bin_nm=bin_nm, model=list(model), geometry=geometry, view=view,
        radius_nm=radius_nm, time_s=time_s, per_particle=per_particle))


@app.command("simulate-particle")
def simulate_particle(
    c_rate: list[float] = typer.Option(..., "--c-rate", help="C-rate; repeat for several"),
    output: Path | None = typer.Option(None, "--output", "-o",
                                       help="Output file (.csv stresses at the deepest discharge)"),
    report: Path | None = REPORT,
    overwrite: bool = OVERWRITE,
    radius_nm: float = typer.Option(8000.0, help="Particle radius (nm); Liu et al. 2024: 8000"),
    void_radius_nm: float = typer.Option(500.0, help="Central void radius (nm); Liu et al. 2024: 500"),
    pore_radius_nm: float = typer.Option(200.0, help="Pore radius (nm) next to the void (FEM only); "
                                         "Liu et al. 2024: 200"),
    dod_pct: float = typer.Option(20.0, help="Discharge to this depth of discharge (%), then charge back"),
    stress_coupled: bool = typer.Option(False, help="Stress-driven flux J = −D(∇c − (Ωc/RT)∇σ_h)"),
    volume_change: Path | None = typer.Option(
        None, help="CSV with columns li_fraction, dv_v0: tabulated ΔV/V0 instead of a constant Ω"),
    fem: bool = typer.Option(False, help="Also run the 2D axisymmetric FEM (void + pore)"),
) -> None:
    """Li diffusion and diffusion-induced stress in a (hollow, porous) spherical particle."""
    from redoxmap.pipeline.particle import ParticleConfig, run_particle

    _run(run_particle, ParticleConfig(
        c_rate=list(c_rate), output=output, report=report, overwrite=overwrite, radius_nm=radius_nm,
        void_radius_nm=void_radius_nm, pore_radius_nm=pore_radius_nm, dod_pct=dod_pct,
        stress_coupled=stress_coupled, volume_change=volume_change, fem=fem))


@app.command("xrd-series")
def xrd_series(
    patterns: list[Path] = typer.Argument(..., help="Diffraction patterns in time order (.xy, .xye, .chi, "
                                          ".dat, GSAS .fxye/.gsas, pyFAI; gzip allowed)"),
    cycler: Path | None = typer.Option(None, help="Cycler file to synchronise with (any format echem reads)"),
    output: Path | None = typer.Option(None, "--output", "-o",
                                       help="Output file (.nc fitted peaks and cell)"),
    report: Path | None = REPORT,
    overwrite: bool = OVERWRITE,
    window: list[str] | None = typer.Option(
        None, help="Reflection window NAME=LOW:HIGH on the patterns' axis (2θ in ° or q); repeat; "
        "default: layered-oxide (003), (104), (113)"),
    cell: str = typer.Option("hexagonal", help="hexagonal (layered R-3m: a, c) | cubic | none"),
    wavelength_a: float | None = typer.Option(None, help="X-ray wavelength (Å), if the files state none"),
    unit: str | None = typer.Option(None, help="Axis of text patterns: 2th_deg | q_A^-1 | q_nm^-1"),
    ka2: bool = typer.Option(False, help="Fit the Cu Kα1/Kα2 doublet"),
    scan_interval_s: float | None = typer.Option(None, help="Scan i at FIRST + i × this on the cycler's "
                                                 "clock (s), instead of the files' times"),
    first_scan_s: float = typer.Option(0.0, help="Cycler time of the first scan (s), with --scan-interval-s"),
    offset_s: float = typer.Option(0.0, help="Add this to the scans' times before matching (s)"),
    exposure_s: float | None = typer.Option(None, help="Exposure per scan (s): match its middle"),
) -> None:
    """Operando XRD: peak positions, widths and areas per pattern, the layered cell, synchronised with the
    cycler's voltage and capacity (Wang et al. 2021, Fig. 6)."""
    from redoxmap.errors import ConfigError
    from redoxmap.pipeline.xrd_series import XrdSeriesConfig, run_xrd_series

    windows = None
    if window:
        windows = {}
        for item in window:
            name, _, span = item.partition("=")
            low, _, high = span.partition(":")
            try:
                windows[name.strip()] = (float(low), float(high))
            except ValueError as exc:
                raise ConfigError(f"--window {item!r}: expected NAME=LOW:HIGH, e.g. 003=18.2:19.4") from exc
    _run(run_xrd_series, XrdSeriesConfig(
        patterns=list(patterns), cycler=cycler, output=output, report=report, overwrite=overwrite,
        windows=windows, cell=None if cell == "none" else cell, wavelength_a=wavelength_a, unit=unit, ka2=ka2,
        scan_interval_s=scan_interval_s, first_scan_s=first_scan_s, offset_s=offset_s, exposure_s=exposure_s))


@app.command("xas-series")
def xas_series(
    spectra: list[Path] = typer.Argument(..., help="XAS scans in time order: XDI, column text (one or "
                                         "several scans), NeXus NXxas (.h5/.nxs), Athena .prj (larch extra)"),
    library: Path | None = typer.Option(None, "--library", "-l", help="Reference library (.csv or .h5) with "
                                        "valences"),
    ref: list[Path] | None = typer.Option(None, "--ref", "-r", help="Standard (one scan per file, any format "
                                          "above); repeat, with --valence each"),
    valence: list[float] | None = typer.Option(None, "--valence", help="Valence of each --ref, in order"),
    name: list[str] | None = typer.Option(None, "--name", "-n", help="Name of each --ref, in order"),
    cycler: Path | None = typer.Option(None, help="Cycler file to synchronise with (any format echem reads)"),
    output: Path | None = typer.Option(None, "--output", "-o", help="Output file (.nc spectra, fractions, "
                                       "valence, edge energies)"),
    report: Path | None = REPORT,
    overwrite: bool = OVERWRITE,
    mode: str = typer.Option("sum1", help="sum1 | nnls | sum1-scaled | lsq (fit of the normalized spectra)"),
    e0_frame: str = typer.Option("series", help="How E0 is set: series: one E0 and one set of windows for "
                                 "every scan and standard (Athena's constrained parameters) | each: every "
                                 "spectrum its own"),
    min_ev: float | None = typer.Option(None, help="Fit window start (eV); default E0 − 20 eV"),
    max_ev: float | None = typer.Option(None, help="Fit window end (eV); default E0 + 40 eV"),
    column: str | None = typer.Option(None, help="μ column(s) of text files: name, number or pattern (mu_*)"),
    match: str | None = typer.Option(None, help="Keep scans whose label matches this pattern, e.g. 'NiO.0*'"),
    scan_interval_s: float | None = typer.Option(None, help="Scan i at FIRST + i × this on the cycler's "
                                                 "clock (s), instead of the files' times"),
    first_scan_s: float = typer.Option(0.0, help="Cycler time of the first scan (s), with --scan-interval-s"),
    offset_s: float = typer.Option(0.0, help="Add this to the scans' times before matching (s)"),
    exposure_s: float | None = typer.Option(None, help="Duration of each scan (s): match its middle"),
) -> None:
    """Operando bulk XAS: edge energy, fractions of standards and valence per scan, synchronised with the
    cycler's voltage and capacity (Wang et al. 2021, Fig. 5d)."""
    from redoxmap.pipeline.xas_series import XasSeriesConfig, run_xas_series

    _run(run_xas_series, XasSeriesConfig(
        spectra=list(spectra), library=library, references=list(ref) if ref else None,
        valences=list(valence) if valence else None, names=list(name) if name else None, cycler=cycler,
        output=output, report=report, overwrite=overwrite, mode=mode, e0_frame=e0_frame, min_ev=min_ev,
        max_ev=max_ev,
        column=column, match=match, scan_interval_s=scan_interval_s, first_scan_s=first_scan_s,
        offset_s=offset_s, exposure_s=exposure_s))


@app.command("run")
def run_experiment(
    experiment: Path = typer.Argument(..., help="Experiment file (.yaml, .yml or .toml): samples, states, "
                                      "files, jobs and the summary; see init-experiment"),
    output: Path | None = typer.Option(None, "--output", "-o", help="Results folder; default: the file's "
                                       "output, else <file>-results beside it"),
    report: Path | None = REPORT,
    overwrite: bool = typer.Option(False, help="Write into a results folder that holds other files (never an "
                                   "input); an earlier run's folder is always reused"),
    scheduler: str | None = typer.Option(None, help="Where the jobs' dask computes: threads | processes | "
                                         "synchronous (also: samples one at a time) | tcp://host:port of a "
                                         "running dask scheduler; default: the file's, else threads"),
    memory_limit: str | None = typer.Option(None, help="Memory each heavy job may use, e.g. 1GB (runs them "
                                            "out of core); default: the file's"),
    workers: int | None = typer.Option(None, help="Samples run at once; default: the file's, else up to 4"),
    force: bool = typer.Option(False, help="Rerun every step, also those whose inputs and settings are "
                               "unchanged"),
) -> None:
    """Run a whole experiment: each sample's jobs (only what changed since the last run), then one table
    with a row per particle per sample and a comparison report."""
    from redoxmap.pipeline.experiment import ExperimentConfig, run_experiment

    _run(run_experiment, ExperimentConfig(experiment=experiment, output=output, report=report,
                                          overwrite=overwrite, scheduler=scheduler, workers=workers,
                                          memory_limit=memory_limit, force=force))


@app.command("init-experiment")
def init_experiment(
    folder: Path = typer.Argument(..., help="Folder holding the experiment's files"),
    output: Path | None = typer.Option(None, "--output", "-o", help="Experiment file to write (.yaml); "
                                       "default: FOLDER/experiment.yaml"),
    report: Path | None = REPORT,
    overwrite: bool = OVERWRITE,
) -> None:
    """Write a commented experiment file from the stacks, libraries, references and cycler files found."""
    from redoxmap.pipeline.experiment_init import InitExperimentConfig, run_init_experiment

    _run(run_init_experiment, InitExperimentConfig(folder=folder, output=output, report=report,
                                                   overwrite=overwrite))


@tomo_app.command("recon")
def tomo_recon(
    projections: list[Path] = typer.Argument(
        ..., help="dxchange projection file: one, or one per energy of a multi-energy scan, or one whose "
        "/exchange/data is (energy, angle, y, x) (a scan: one (energy, z, y, x) OME-Zarr, reconstructed "
        "slab by slab and resumable)"),
    output: Path = typer.Option(..., "--output", "-o", help="Output file (.zarr OME-Zarr volume)"),
    report: Path | None = REPORT,
    overwrite: bool = OVERWRITE,
    voxel_size_nm: float = typer.Option(..., help="Voxel (detector pixel) size in nm"),
    method: str | None = typer.Option(
        None, help="gridrec | fbp | sirt | cgls | sirt-tv | tv; default gridrec (filtered back-projection "
        "in Fourier space) for full scans; tv with --hull for limited-angle tilt series"),
    center_px: float | None = typer.Option(None, help="Rotation axis (px); default: found"),
    align_jitter: bool = typer.Option(False, help="Correct projection jitter by reprojection"),
    iterations: int = typer.Option(200, help="Iterations (iterative methods)"),
    tv_weight: float | None = typer.Option(
        None, help="TV weight: sirt-tv relative to the volume's 99th percentile (default 0.005), tv "
        "relative to the mean attenuation in the support (default 0.5)"),
    hull: bool = typer.Option(False, help="Hold voxels outside the visual hull at zero"),
    slices_per_chunk: int | None = typer.Option(None, help="Stream slabs of this many slices"),
    energy_ev: list[float] | None = typer.Option(
        None, "--energy-ev", help="Energy of each projection file (eV), in order, if the files have none"),
    scheduler: str = SCHEDULER,
    memory_limit: str | None = MEMORY_LIMIT,
) -> None:
    """Reconstruct a volume: flat/dark, −ln, centre, optional jitter alignment, reconstruction; or
    the volumes of every energy of a multi-energy scan into one OME-Zarr with an energy axis."""
    from redoxmap.errors import ConfigError

    chosen = {} if method is None else {"method": method}
    config = None
    if len(projections) == 1:  # the settings (and outputs) checked before the file's header is read
        from redoxmap.pipeline.tomo import TomoReconConfig

        config = TomoReconConfig(
            projections=projections[0], output=output, report=report, overwrite=overwrite,
            voxel_size_nm=voxel_size_nm, **chosen, center_px=center_px, align_jitter=align_jitter,
            iterations=iterations, tv_weight=tv_weight, hull=hull, slices_per_chunk=slices_per_chunk,
            energy_ev=energy_ev[0] if energy_ev and len(energy_ev) == 1 else None, scheduler=scheduler,
            memory_limit=memory_limit)
        from redoxmap.io.projections import projection_energies

        scan = projection_energies(projections[0])
    if len(projections) > 1 or scan:
        from redoxmap.pipeline.tomo_series import TomoSeriesConfig, run_tomo_series

        what = f"{len(projections)} projection files" if len(projections) > 1 else \
            f"{projections[0]}, which holds {scan} energies"
        unused = [flag for flag, given in (("--align-jitter", align_jitter), ("--hull", hull),
                                           ("--tv-weight", tv_weight is not None), ("--report", report))
                  if given]
        if unused:
            raise ConfigError(f"{', '.join(unused)}: not available for {what} (a multi-energy "
                              "reconstruction); expected one file of one energy")
        _run(run_tomo_series, TomoSeriesConfig(
            projections=list(projections), output=output, overwrite=overwrite, voxel_size_nm=voxel_size_nm,
            **chosen, center_px=center_px, iterations=iterations, slices_per_chunk=slices_per_chunk,
            energy_ev=list(energy_ev) if energy_ev else None, scheduler=scheduler, memory_limit=memory_limit))
        return
    from redoxmap.pipeline.tomo import run_tomo_recon

    if energy_ev and len(energy_ev) > 1:
        raise ConfigError(f"{len(energy_ev)} --energy-ev values for {projections[0]}, projections of one "
                          "energy; expected one")
    _run(run_tomo_recon, config)


@tomo_app.command("dual-energy")
def tomo_dual_energy(
    below: Path = typer.Argument(..., help="Volume below the edge (OME-Zarr), or the (energy, z, y, x) "
                                 "OME-Zarr of tomo recon over several energies (then no ABOVE)"),
    above: Path | None = typer.Argument(None, help="Volume above the edge (OME-Zarr)"),
    output: Path = typer.Option(..., "--output", "-o", help="Output file (.zarr partial-density volume)"),
    report: Path | None = REPORT,
    overwrite: bool = OVERWRITE,
    element: str = typer.Option(..., help="Element of the edge, e.g. Mn"),
    below_ev: float | None = typer.Option(None, help="Energy of the below-edge volume (eV); default: stored "
                                          "by tomo recon; of a multi-energy store: the nearest stored one"),
    above_ev: float | None = typer.Option(None, help="Energy of the above-edge volume (eV); default: stored "
                                          "by tomo recon; of a multi-energy store: the nearest stored one"),
    formula: str | None = typer.Option(None, help="Nominal composition, e.g. LiNi0.8Mn0.1Co0.1O2, to remove "
                                       "the other elements' change across the edge; default: none"),
    scheduler: str = SCHEDULER,
    memory_limit: str | None = MEMORY_LIMIT,
) -> None:
    """Element partial density (g/cm³) from the above- minus below-edge volumes (Wang et al. 2021),
    chunk by chunk; the element, energies and formula are kept with the result."""
    from redoxmap.pipeline.tomo import DualEnergyConfig, run_dual_energy

    _run(run_dual_energy, DualEnergyConfig(below=below, above=above, output=output, report=report,
                                           overwrite=overwrite, element=element, below_ev=below_ev,
                                           above_ev=above_ev, formula=formula, scheduler=scheduler,
                                           memory_limit=memory_limit))


@tomo_app.command("xanes")
def tomo_xanes(
    volumes: list[Path] = typer.Argument(
        ..., help="The (energy, z, y, x) OME-Zarr of tomo recon over several energies, or one volume per "
        "energy"),
    ref: list[Path] = typer.Option(..., "--ref", "-r",
                                   help="Reference spectrum (energy, absorption); repeat"),
    name: list[str] | None = typer.Option(None, "--name", "-n", help="Name of each reference, in order"),
    output: Path = typer.Option(..., "--output", "-o", help="Output file (.nc or .zarr maps per voxel)"),
    report: Path | None = REPORT,
    overwrite: bool = OVERWRITE,
    energy_ev: list[float] | None = typer.Option(
        None, "--energy-ev", help="Energy of each volume (eV), in order; default: stored by tomo recon"),
    mode: str = typer.Option("nnls", help="lsq | nnls | sum1 | sum1-scaled (nnls: OD, as xanes2d)"),
    mask_threshold: float | None = typer.Option(None, help="Edge-jump threshold of the particle mask "
                                                   "(1/voxel); default: Otsu"),
    scheduler: str = SCHEDULER,
    memory_limit: str | None = MEMORY_LIMIT,
) -> None:
    """3D XANES: fit every voxel's spectrum with the references (same engine as xanes2d); needs more
    energies than fitted parameters (two volumes across an edge: tomo dual-energy)."""
    from redoxmap.pipeline.tomo import TomoXanesConfig, run_tomo_xanes

    _run(run_tomo_xanes, TomoXanesConfig(
        volumes=list(volumes), references=list(ref), names=list(name) if name else None, output=output,
        report=report, overwrite=overwrite, energy_ev=list(energy_ev) if energy_ev else None, mode=mode,
        mask_threshold=mask_threshold, scheduler=scheduler, memory_limit=memory_limit))


@tomo_app.command("classify")
def tomo_classify(
    numerator: Path = typer.Argument(..., help="Numerator volume, e.g. Ni density (OME-Zarr)"),
    denominator: Path = typer.Argument(..., help="Denominator volume, e.g. Mn density (OME-Zarr)"),
    output: Path = typer.Option(..., "--output", "-o",
                                help="Output file (.zarr classes: 0 outside, 1 within the band, 2 below, "
                                "3 above)"),
    report: Path | None = REPORT,
    overwrite: bool = OVERWRITE,
    target: float = typer.Option(..., help="Target ratio numerator/denominator (same units as the volumes)"),
    tolerance: float = typer.Option(0.05, help="Relative deviation still counted as target (Liu et al. "
                                    "2024: 0.05)"),
    below_name: str | None = typer.Option(None, help="Name of the class below the band, e.g. Ni-poor; "
                                          "default: more than <tolerance> below target"),
    above_name: str | None = typer.Option(None, help="Name of the class above the band, e.g. Ni-rich; "
                                          "default: more than <tolerance> above target"),
    mask_threshold: float | None = typer.Option(
        None, help="Particle mask: denominator above this (the denominator's units, e.g. g/cm³); default: "
        "Otsu"),
    smooth_sigma_vox: float = typer.Option(0.7, help="Gaussian averaging of the ratio inside the particle "
                                           "(voxels)"),
    shells: int = typer.Option(5, help="Equal-volume shells of the particle from the surface to the centre"),
    scheduler: str = SCHEDULER,
    memory_limit: str | None = MEMORY_LIMIT,
) -> None:
    """Classify voxels by a composition ratio against a target (± tolerance, Liu et al. 2024), chunk by
    chunk: voxels and proportions of each class overall and per shell, an empty class reported as 0."""
    from redoxmap.pipeline.tomo import ClassifyConfig, run_classify

    _run(run_classify, ClassifyConfig(
        numerator=numerator, denominator=denominator, output=output, report=report, overwrite=overwrite,
        target=target, tolerance=tolerance, below_name=below_name, above_name=above_name,
        mask_threshold=mask_threshold, smooth_sigma_vox=smooth_sigma_vox, shells=shells,
        scheduler=scheduler, memory_limit=memory_limit))


@tomo_app.command("pores")
def tomo_pores(
    volume: Path = typer.Argument(..., help="Attenuation volume (OME-Zarr)"),
    output: Path = typer.Option(..., "--output", "-o", help="Output file (.csv table of voids)"),
    report: Path | None = REPORT,
    overwrite: bool = OVERWRITE,
    mask_threshold: float | None = typer.Option(None, help="Solid mask: attenuation above this (1/voxel); "
                                                   "default: Otsu"),
    shells: int = typer.Option(5, help="Equal-volume shells for porosity versus radius"),
    scheduler: str = SCHEDULER,
    memory_limit: str | None = typer.Option(
        None, help="Memory the job may use, e.g. 4GB: the analysis holds the whole volume (about 80 bytes "
        "per voxel); a larger volume is refused before it is read"),
) -> None:
    """Find internal pores and cracks; print counts and porosity, write one row per void. The whole
    volume is analysed at once (docs/cluster.md)."""
    from redoxmap.pipeline.tomo import PoresConfig, run_pores

    _run(run_pores, PoresConfig(volume=volume, output=output, report=report, overwrite=overwrite,
                                mask_threshold=mask_threshold, shells=shells, scheduler=scheduler,
                                memory_limit=memory_limit))


def main() -> None:
    """Console entry point: bad input ends with its message and exit code 2, not a traceback. Output
    to a file or pipe is line-buffered, so a log shows each line as it is written."""
    if not sys.stdout.isatty():
        sys.stdout.reconfigure(line_buffering=True)
    try:
        app()
    except RedoxmapError as exc:
        errors.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(2)
