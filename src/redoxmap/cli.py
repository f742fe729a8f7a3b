"""The ``redoxmap`` command line: each command is a few lines that call the API."""

from __future__ import annotations

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
console = Console()
errors = Console(stderr=True, soft_wrap=True)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description:<8}"), BarColumn(), TaskProgressColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


def _pipeline_progress(bar: Progress):
    tasks: dict[str, int] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, total=total)

    return update


@app.command()
def info(path: Path = typer.Argument(..., help="Stack file (HDF5 or TIFF)"),
         energies: Path | None = typer.Option(None, help="Energy list file (TIFF stacks)")) -> None:
    """Describe a stack file: layout, datasets, image size, energies, flats and darks."""
    from redoxmap.io.hdf5 import list_datasets, open_h5
    from redoxmap.io.stack import detect_format, read_raw

    kind = detect_format(path)
    table = Table(title=str(path), show_header=False)
    table.add_row("layout", kind)
    if kind != "tiff":
        with open_h5(path) as h5:
            for name in list_datasets(h5):
                table.add_row(name, f"{h5[name].shape} {h5[name].dtype}")
    if kind in ("dxchange", "fxi") or (kind == "tiff" and energies is not None):
        raw = read_raw(path, energies=energies, chunks=256)
        e = raw.energy_ev
        table.add_row("images", f"{raw.counts.sizes['energy']} × {raw.counts.sizes['y']} × "
                                f"{raw.counts.sizes['x']} (energy × y × x)")
        table.add_row("energy", f"{e[0]:.2f}–{e[-1]:.2f} eV, median step {float(_median_step(e)):.3g} eV")
        for label, frames in (("flats", raw.flats), ("darks", raw.darks)):
            table.add_row(label, "none" if frames is None else
                          ("per energy" if "energy" in frames.dims else "single image"))
        for note in raw.notes:
            table.add_row("note", note)
    console.print(table)


def _median_step(energy):
    import numpy as np

    return np.median(np.diff(energy)) if energy.size > 1 else 0.0


@app.command()
def xanes2d(
    stack: Path = typer.Argument(..., help="Stack: dxchange/FXI/generic HDF5 or multi-page TIFF"),
    ref: list[Path] = typer.Option(..., "--ref", "-r",
                                   help="Reference spectrum (energy, absorption); repeat"),
    name: list[str] | None = typer.Option(None, "--name", "-n", help="Name of each reference, in order"),
    output: Path | None = typer.Option(None, "--output", "-o", help="Result file: .nc or .zarr"),
    report: Path | None = typer.Option(None, "--report", help="Folder for figures and index.html"),
    mode: str = typer.Option("nnls", help="lsq | nnls | sum1 | sum1-scaled"),
    energies: Path | None = typer.Option(None, help="Energy list file (TIFF stacks)"),
    flats: str | None = typer.Option(None, help="Flats: TIFF path, or dataset name in generic HDF5"),
    darks: str | None = typer.Option(None, help="Darks: TIFF path, or dataset name in generic HDF5"),
    data: str | None = typer.Option(None, help="Generic HDF5: dataset of the images"),
    energy_dataset: str | None = typer.Option(None, help="Generic HDF5: dataset of the energies"),
    min_ev: float | None = typer.Option(None, help="Energy window start (eV)"),
    max_ev: float | None = typer.Option(None, help="Energy window end (eV)"),
    bin_factor: int = typer.Option(1, "--bin", help="Average bin × bin pixels"),
    align: bool = typer.Option(True, help="Correct per-energy drift"),
    ref_energy: float | None = typer.Option(None, help="Alignment reference energy (eV)"),
    max_shift: float = typer.Option(10.0, help="Reject drift shifts larger than this (px)"),
    mask_threshold: float | None = typer.Option(
        None, help="Edge-jump OD threshold of the particle mask (default: Otsu)"),
    pixel_size_nm: float | None = typer.Option(None, help="Pixel size (nm) for scale bars"),
    chunks: int | None = typer.Option(
        None, help="Process out of core in chunks of this many pixels per side"),
    overwrite: bool = typer.Option(False, help="Replace an existing output file"),
) -> None:
    """Map phase fractions: fit each pixel's spectrum with the references (Wang et al. 2021)."""
    from redoxmap.io.writers import write_dataset
    from redoxmap.pipeline import Xanes2DConfig, run_xanes2d

    _refuse_overwriting_inputs(output, [stack, *ref, energies])
    config = Xanes2DConfig(stack=stack, references=list(ref), names=list(name) if name else None,
                           mode=mode, energies=energies, flats=flats, darks=darks,
                           data_dataset=data, energy_dataset=energy_dataset, min_ev=min_ev,
                           max_ev=max_ev, bin_factor=bin_factor, align=align,
                           ref_energy_ev=ref_energy, max_shift_px=max_shift,
                           mask_threshold_od=mask_threshold, pixel_size_nm=pixel_size_nm,
                           chunks=chunks)
    with _progress() as bar:
        maps, od, refs = run_xanes2d(config, _pipeline_progress(bar))
    _print_summary(maps)
    if output is not None:
        write_dataset(maps, output, overwrite=overwrite)
        console.print(f"maps written to [bold]{output}[/]")
    if report is not None:
        from redoxmap.report import write_report

        index = write_report(maps, od, refs, report, settings=config.settings())
        console.print(f"report written to [bold]{index}[/]")


def _refuse_overwriting_inputs(output: Path | None, inputs: list[Path | None]) -> None:
    if output is None:
        return
    for path in inputs:
        if path is not None and Path(path).resolve() == output.resolve():
            raise RedoxmapError(f"{output}: the output would overwrite an input file; choose another name")


def _print_summary(maps) -> None:
    mask = maps["mask"]
    table = Table(title=f"fit ({maps.attrs.get('fit_mode')}) over {int(mask.sum())} masked pixels")
    for col in ("component", "mean fraction", "median 1σ error", "mean R"):
        table.add_column(col)
    r_mean = float(maps.r_factor.where(mask).mean())
    for comp in maps.component.values:
        table.add_row(str(comp), f"{float(maps.mean_fraction.sel(component=comp)):.4f}",
                      f"{float(maps.fraction_err.sel(component=comp).where(mask).median()):.4f}",
                      f"{r_mean:.2e}")
    console.print(table)


@app.command()
def valence(
    stack: Path = typer.Argument(..., help="Stack: ALS .hdr, NXstxm, dxchange/FXI HDF5 or TIFF"),
    library: Path = typer.Option(..., "--library", "-l",
                                 help="Reference library (.csv or .h5) with valences"),
    output: Path | None = typer.Option(None, "--output", "-o", help="Result file: .nc or .zarr"),
    mode: str = typer.Option("auto", help="auto | lsq | nnls | sum1 | sum1-scaled; auto: sum1 for "
                             "hard-X-ray scans, sum1-scaled for short soft-X-ray scans"),
    energies: Path | None = typer.Option(None, help="Energy list file (TIFF stacks)"),
    i0: Path | None = typer.Option(None, help="I0 spectrum file (energy, counts); default: empty region"),
    i0_fraction: float = typer.Option(0.05, help="Fraction of brightest pixels taken as the I0 region"),
    min_ev: float | None = typer.Option(None, help="Fit window start (eV); default: the edge's window"),
    max_ev: float | None = typer.Option(None, help="Fit window end (eV)"),
    normalize: bool | None = typer.Option(None, help="Pre/post-edge normalize stack and standards; "
                                          "default: yes for hard-X-ray scans, no for short soft-X-ray scans"),
    align: bool = typer.Option(False, help="Correct per-energy drift"),
    overwrite: bool = typer.Option(False, help="Replace an existing output file"),
) -> None:
    """Map oxidation state: fractions of standards of known valence and the effective valence."""
    from redoxmap.io.writers import write_dataset
    from redoxmap.pipeline import ValenceConfig, run_valence

    _refuse_overwriting_inputs(output, [stack, library, energies, i0])
    window = None if min_ev is None or max_ev is None else (min_ev, max_ev)
    config = ValenceConfig(stack=stack, library=library, mode=mode, energies=energies, i0_spectrum=i0,
                           i0_fraction=i0_fraction, window_ev=window,
                           normalize="auto" if normalize is None else normalize, align=align)
    with _progress() as bar:
        maps, _, _ = run_valence(config, _pipeline_progress(bar))
    mask = maps["mask"]
    table = Table(title=f"valence ({maps.attrs['fit_mode']}) over {int(mask.sum())} valid pixels")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_row("mean valence of valid pixels", f"{float(maps.valence.where(mask).mean()):.3f}")
    for key, value in maps.attrs.items():
        if key.startswith("pixels_rejected_") and value:
            table.add_row(f"rejected: {key.removeprefix('pixels_rejected_').replace('_', ' ')}", str(value))
    table.add_row("median 1σ error", f"{float(maps.valence_err.where(mask).median()):.3f}")
    table.add_row("mean R", f"{float(maps.r_factor.where(mask).mean()):.2e}")
    console.print(table)
    if output is not None:
        write_dataset(maps, output, overwrite=overwrite)
        console.print(f"maps written to [bold]{output}[/]")


@app.command()
def demo(out: Path = typer.Option(Path("demo-output"), help="Folder for the simulated scan, maps and report"),
         size: int = typer.Option(256, help="Image size (pixels per side)"),
         seed: int = typer.Option(0, help="Random seed")) -> None:
    """Simulate an Mn K-edge TXM-XANES scan (6519–6639 eV, 1 eV, drift ±3 px, ~4000 counts),
    run the whole pipeline on it and print recovered-versus-true numbers."""
    from redoxmap.demo import run_demo

    start = time.perf_counter()
    with _progress() as bar:
        result = run_demo(out, size=size, seed=seed, progress=_pipeline_progress(bar))
    table = Table(title="recovered versus true (where the true edge jump > 0.3 OD)")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for key, value in result.items():
        table.add_row(key, f"{value:.4g}" if isinstance(value, float) else str(value))
    console.print(table)
    console.print(f"demo finished in {time.perf_counter() - start:.1f} s; open "
                  f"[bold]{out / 'report' / 'index.html'}[/]")


@app.command()
def echem(
    file: Path = typer.Argument(..., help="Cycler file: Arbin CSV/.res, BioLogic .mpr/.mpt, Neware "
                                ".nda/.ndax/CSV, MACCOR text or raw (recognised from the content)"),
    mass_mg: float | None = typer.Option(None, help="Active mass (mg) for specific capacity"),
    gitt: bool = typer.Option(False, "--gitt", help="Analyse current pulses as GITT"),
    radius_um: float | None = typer.Option(None, help="Particle radius (µm) for GITT (V/S = R/3)"),
    report: Path | None = typer.Option(None, "--report", help="Folder for figures and CSV tables"),
) -> None:
    """Cycling metrics, dQ/dV and (with --gitt) diffusion coefficients from a cycler file."""
    import pandas as pd

    from redoxmap.echem import cycle_table, read_cycler
    from redoxmap.echem import gitt as gitt_analysis
    from redoxmap.echem.report import write_echem_report

    if gitt and radius_um is None:
        raise RedoxmapError("--gitt needs --radius-um (the particle radius in µm, for V/S = R/3)")
    data = read_cycler(file)
    cycles = cycle_table(data, mass_mg=mass_mg)
    specific = mass_mg is not None
    unit = "mAh/g" if specific else "mAh"
    table = Table(title=f"{file.name}: {len(data)} rows, {cycles.shape[0]} cycles")
    for column in ("cycle", f"charge ({unit})", f"discharge ({unit})", "CE", "retention", "mean V dis"):
        table.add_column(column, justify="right")
    shown = cycles if len(cycles) <= 20 else pd.concat([cycles.head(5), cycles.tail(5)])
    for row in shown.itertuples():
        charge = row.charge_capacity_mah_g if specific else row.charge_capacity_ah * 1e3
        discharge = row.discharge_capacity_mah_g if specific else row.discharge_capacity_ah * 1e3
        table.add_row(str(row.cycle), f"{charge:.3f}", f"{discharge:.3f}", f"{row.coulombic_efficiency:.4f}",
                      f"{row.capacity_retention:.3f}", f"{row.mean_discharge_voltage_v:.3f}")
    console.print(table)
    pulses = None
    if gitt:
        pulses = gitt_analysis(data, radius_um=radius_um)
        valid = pulses[pulses.valid]
        median = f"{valid.diffusivity_cm2_s.median():.3g} cm²/s" if len(valid) else "n/a"
        console.print(f"GITT: {len(pulses)} pulses, {len(valid)} valid, median D {median}")
        for reason, count in pulses.loc[~pulses.valid, "flag"].value_counts().items():
            console.print(f"  flagged {count}×: {escape(str(reason))}")
    if report is not None:
        written = write_echem_report(report, data, cycles, pulses)
        console.print(f"{len(written)} files written to [bold]{report}[/]")


@app.command()
def profile(
    maps_path: Path = typer.Argument(..., help="Maps file (.nc or .zarr) from xanes2d or valence"),
    var: str = typer.Option("fraction", help="Variable to profile, e.g. fraction or valence"),
    component: str | None = typer.Option(None, help="Component of a per-component variable"),
    pixel_size_nm: float = typer.Option(..., help="Pixel size (nm)"),
    bin_nm: float = typer.Option(10.0, help="Bin width (nm)"),
    model: list[str] = typer.Option(["diffusion", "core-shell"],
                                    help="diffusion | core-shell | diffusion-mask (on the mask); repeat"),
    geometry: str = typer.Option("sphere", help="Shape of the series models: sphere | cylinder | slab"),
    view: str = typer.Option("section", help="section (thin slice) | projection (through the particle)"),
    radius_nm: float | None = typer.Option(None, help="Particle radius (nm) for the model fits"),
    time_s: float | None = typer.Option(None, help="Time at high state of charge (s)"),
    per_particle: bool = typer.Option(False, help="Also one profile per particle (watershed labels)"),
    report: Path | None = typer.Option(None, "--report", help="Folder for the CSVs and the figure"),
) -> None:
    """Value versus distance from the particle edge, with diffusion / core–shell fits."""
    import numpy as np
    import pandas as pd
    import xarray as xr

    from redoxmap.models.transport import fit_profile
    from redoxmap.report.profiles import profile_figure
    from redoxmap.stats.profiles import edge_distance_profile

    maps = xr.open_zarr(maps_path) if maps_path.suffix == ".zarr" else xr.open_dataset(maps_path)
    if var not in maps:
        raise RedoxmapError(f"{maps_path}: no variable {var!r}; variables: {', '.join(maps.data_vars)}")
    values = maps[var]
    if "component" in values.dims:
        if component is None:
            raise RedoxmapError(f"{var} has components {list(maps.component.values)}; pass --component")
        values = values.sel(component=component)
    mask = maps["mask"].astype(bool)
    labels = None
    if per_particle:
        from redoxmap.segment.particles import label_particles

        labels = label_particles(mask, pixel_size_nm)
    depth_max = float(np.max(np.asarray(mask).shape)) * pixel_size_nm / 2
    bins = np.arange(0, depth_max + bin_nm, bin_nm)
    full = edge_distance_profile(values, mask, pixel_size_nm, bins, labels=labels)
    prof = full[["mean", "stderr", "count"]]
    prof = prof.where(prof["count"] > 1, drop=True)
    table = Table(title=f"{var} versus distance from the edge")
    for column in ("distance (nm)", "mean", "std. error", "pixels"):
        table.add_column(column, justify="right")
    for d, m, e, n in zip(prof.distance_nm.values, prof["mean"].values, prof.stderr.values,
                          prof["count"].values, strict=True):
        table.add_row(f"{d:.0f}", f"{m:.4f}", f"{e:.4f}", str(int(n)))
    console.print(table)
    fits = []
    if radius_nm is not None and time_s is not None:
        mask_table = None
        if "diffusion-mask" in model:
            from redoxmap.models.diffusion_fd import mask_profile_table

            mask_table = mask_profile_table(mask, pixel_size_nm, bins)
        fits = sorted((fit_profile(prof.distance_nm.values, prof["mean"].values, prof.stderr.values, m,
                                   radius_nm, time_s, view=view, geometry=geometry, mask_table=mask_table)
                       for m in model), key=lambda f: f.aic)
        for fit in fits:
            shown = {k: f"{v:.3g}" for k, v in fit.params.items()}
            console.print(f"{fit.model}: {shown}, reduced χ² {fit.chi2_red:.2f}, AIC {fit.aic:.1f}")
    elif "diffusion-mask" in model and (radius_nm is None) != (time_s is None):
        raise RedoxmapError("model fits need both --radius-nm and --time-s")
    if report is not None:
        import os

        report.mkdir(parents=True, exist_ok=True)

        def save(write, name: str) -> None:
            tmp = report / f".{name}.tmp"
            write(tmp)
            os.replace(tmp, report / name)

        save(lambda p: prof.to_dataframe().to_csv(p), "profile.csv")
        if labels is not None:
            per = full[["particle_mean", "particle_stderr", "particle_count"]].to_dataframe().reset_index()
            save(lambda p: per[per.particle_count > 0].to_csv(p, index=False), "profile_per_particle.csv")
        if fits:
            rows = [{"model": f.model, "geometry": geometry, "view": view, **f.params, "chi2_red": f.chi2_red,
                     "aic": f.aic, "bic": f.bic} for f in fits]
            save(lambda p: pd.DataFrame(rows).to_csv(p, index=False), "fits.csv")
            figure = profile_figure(prof, fits, radius_nm, time_s, var, view=view, geometry=geometry)
            save(lambda p: figure.savefig(p, format="png"), "profile.png")
        console.print(f"written to [bold]{report}[/]")


@app.command("simulate-particle")
def simulate_particle(
    c_rate: list[float] = typer.Option(..., "--c-rate", help="C-rate; repeat for several"),
    radius_um: float = typer.Option(8.0, help="Particle radius (µm), seed 001: 8"),
    void_um: float = typer.Option(0.5, help="Central void radius (µm), seed 001: 0.5"),
    pore_um: float = typer.Option(0.2, help="Pore radius (µm) next to the void (FEM only), seed 001: 0.2"),
    dod_pct: float = typer.Option(20.0, help="Discharge to this depth of discharge (%), then charge back"),
    stress_coupled: bool = typer.Option(False, help="Stress-driven flux J = −D(∇c − (Ωc/RT)∇σ_h)"),
    volume_change: Path | None = typer.Option(
        None, help="CSV with columns li_fraction, dv_v0: tabulated ΔV/V0 instead of a constant Ω"),
    fem: bool = typer.Option(False, "--fem", help="Also run the 2D axisymmetric FEM (void + pore)"),
    report: Path | None = typer.Option(None, "--report", help="Folder for CSV, NetCDF and figures"),
) -> None:
    """Li diffusion and diffusion-induced stress in a (hollow, porous) spherical particle."""
    from redoxmap.models.mechanics import simulate_particle as run_particle
    from redoxmap.models.mechanics import summary_table
    from redoxmap.models.mechanics_report import write_simulation_report
    from redoxmap.models.particle_params import seed001_parameters

    changes = {}
    if volume_change is not None:
        import pandas as pd

        table = pd.read_csv(volume_change)
        missing = {"li_fraction", "dv_v0"} - set(table.columns)
        if missing:
            raise RedoxmapError(f"{volume_change}: no column(s) {', '.join(sorted(missing))}; expected a CSV "
                                "with columns li_fraction (0–1, increasing) and dv_v0 (ΔV/V0)")
        changes = {"volume_change_x": tuple(table.li_fraction.astype(float)),
                   "volume_change_dv_v0": tuple(table.dv_v0.astype(float))}
    params = seed001_parameters(radius_m=radius_um * 1e-6, void_radius_m=void_um * 1e-6,
                                pore_radius_m=pore_um * 1e-6, stress_coupled=stress_coupled, **changes)
    runs, fem_runs = {}, {}
    with _progress() as bar:
        task = bar.add_task("1D", total=len(c_rate))
        for rate in c_rate:
            runs[float(rate)] = run_particle(params, float(rate), dod_pct, cycle=True, n_r=300, n_t=300)
            bar.advance(task)
        if fem:
            from redoxmap.models.mechanics_fem import solve_fem

            task = bar.add_task("FEM", total=len(c_rate))
            for rate in c_rate:
                fem_runs[float(rate)] = solve_fem(params, float(rate), dod_pct, n_t=60, n_out=5)
                bar.advance(task)
    summary = summary_table(runs)
    out = Table(title=f"stresses at {dod_pct:g} % DOD (R {radius_um:g} µm, void {void_um:g} µm)")
    for column in ("C-rate", "DOD %", "hoop at void (Pa)", "peak hoop (Pa)", "peak von Mises (Pa)", "η (V)"):
        out.add_column(column, justify="right")
    for row in summary.itertuples():
        out.add_row(f"{row.c_rate:g}", f"{row.dod_pct:.1f}", f"{row.void_hoop_pa:.3g}",
                    f"{row.peak_hoop_pa:.3g}", f"{row.peak_von_mises_pa:.3g}", f"{row.overpotential_v:.3f}")
    console.print(out)
    for rate, result in fem_runs.items():
        console.print(f"FEM {rate:g} C: hoop stress at the void–pore bridge "
                      f"{float(result.bridge_hoop_pa[-1]):.3g} Pa at {float(result.dod_pct[-1]):.1f} % DOD")
    if report is not None:
        written = write_simulation_report(report, runs, fem_runs or None)
        console.print(f"{len(written)} files written to [bold]{report}[/]")


tomo_app = typer.Typer(no_args_is_help=True, help="Tomography: reconstruction, dual-energy chemistry, pores.")
app.add_typer(tomo_app, name="tomo")


@tomo_app.command("recon")
def tomo_recon(
    projections: Path = typer.Argument(..., help="dxchange projection file (one energy)"),
    output: Path = typer.Option(..., "--output", "-o", help="OME-Zarr volume (.zarr)"),
    voxel_nm: float = typer.Option(..., help="Voxel (detector pixel) size in nm"),
    method: str = typer.Option("gridrec", help="gridrec | fbp | sirt | cgls | sirt-tv | tv (tilt series)"),
    center: float | None = typer.Option(None, help="Rotation axis (px); default: found"),
    align: bool = typer.Option(False, help="Correct projection jitter by reprojection"),
    iterations: int = typer.Option(200, help="Iterations (iterative methods)"),
    tv_weight: float | None = typer.Option(
        None, help="TV weight: sirt-tv relative to the volume's 99th percentile (default 0.005), tv "
        "relative to the mean attenuation in the support (default 0.5)"),
    hull: bool = typer.Option(False, "--hull", help="Hold voxels outside the visual hull at zero"),
    slices_per_chunk: int | None = typer.Option(None, help="Stream slabs of this many slices"),
    report: Path | None = typer.Option(None, "--report", help="Folder for slices and index.html"),
    overwrite: bool = typer.Option(False, help="Replace an existing output"),
) -> None:
    """Reconstruct a volume: flat/dark, −ln, centre, optional jitter alignment, reconstruction."""
    from redoxmap.io.omezarr import write_ome_zarr
    from redoxmap.io.projections import read_projections_dxchange
    from redoxmap.preprocess.flatfield import optical_density
    from redoxmap.tomo import align_projections, find_center, reconstruct

    _refuse_overwriting_inputs(output, [projections])
    with _progress() as bar:
        step = _pipeline_progress(bar)
        proj = optical_density(read_projections_dxchange(projections))
        step("read", 1, 1)
        axis = find_center(proj) if center is None else center
        if align:
            proj = align_projections(proj, center_px=axis, progress=lambda d, t: step("align", d, t))
        if tv_weight is None and method == "sirt-tv":
            tv_weight = 0.005
        support = None
        if hull:
            from redoxmap.tomo.support import visual_hull

            support = visual_hull(proj, center_px=axis)
        volume = reconstruct(proj, method, center_px=axis, iterations=iterations, tv_weight=tv_weight,
                             slices_per_chunk=slices_per_chunk, support=support,
                             progress=lambda d, t: step("recon", d, t))
        if "energy" in proj.coords:
            volume.attrs["energy_ev"] = float(proj["energy"])
        volume.attrs.update(units="1/voxel", rotation_axis_px=float(axis), method=method)
        write_ome_zarr(volume, output, voxel_nm, overwrite=overwrite)
    console.print(f"rotation axis {axis:.2f} px; volume {volume.shape} written to [bold]{output}[/]")
    if report is not None:
        from redoxmap.io.omezarr import read_ome_zarr
        from redoxmap.report.volumes import write_volume_report

        index = write_volume_report(report, f"reconstruction of {projections.name}",
                                    volume=read_ome_zarr(output).compute(),
                                    settings={"method": method, "rotation axis (px)": f"{axis:.2f}",
                                              "voxel (nm)": voxel_nm, "aligned": align})
        console.print(f"report written to [bold]{index}[/]")


@tomo_app.command("dual-energy")
def tomo_dual_energy(
    below: Path = typer.Argument(..., help="Volume below the edge (OME-Zarr)"),
    above: Path = typer.Argument(..., help="Volume above the edge (OME-Zarr)"),
    element: str = typer.Option(..., help="Element of the edge, e.g. Mn"),
    below_ev: float = typer.Option(..., help="Energy of the below-edge volume (eV)"),
    above_ev: float = typer.Option(..., help="Energy of the above-edge volume (eV)"),
    output: Path = typer.Option(..., "--output", "-o", help="Partial-density volume (.zarr)"),
    formula: str | None = typer.Option(None, help="Nominal composition, to remove the matrix's change"),
    overwrite: bool = typer.Option(False, help="Replace an existing output"),
) -> None:
    """Element partial density (g/cm³) from the above- minus below-edge volumes."""
    from redoxmap.io.omezarr import read_ome_zarr, write_ome_zarr
    from redoxmap.tomo.dual_energy import element_density

    _refuse_overwriting_inputs(output, [below, above])
    low, high = read_ome_zarr(below), read_ome_zarr(above)
    density = element_density(high, low, element, below_ev, above_ev, low.attrs["voxel_size_nm"],
                              formula=formula)
    write_ome_zarr(density, output, low.attrs["voxel_size_nm"], overwrite=overwrite)
    console.print(f"{element} density written to [bold]{output}[/]")


@tomo_app.command("xanes")
def tomo_xanes(
    volumes: list[Path] = typer.Argument(..., help="Volumes at each energy (OME-Zarr from tomo recon)"),
    ref: list[Path] = typer.Option(..., "--ref", "-r", help="Reference spectrum (energy, absorption)"),
    name: list[str] | None = typer.Option(None, "--name", "-n", help="Name of each reference, in order"),
    energy: list[float] | None = typer.Option(
        None, "--energy", help="Energy of each volume (eV), in order; default: stored by tomo recon"),
    mode: str = typer.Option("nnls", help="lsq | nnls | sum1 | sum1-scaled"),
    mask_threshold: float | None = typer.Option(None, help="Edge-jump threshold (default: Otsu)"),
    output: Path = typer.Option(..., "--output", "-o", help="Maps per voxel: .nc or .zarr"),
    overwrite: bool = typer.Option(False, help="Replace an existing output"),
) -> None:
    """3D XANES: fit every voxel's spectrum with the references (same engine as xanes2d)."""
    from redoxmap.io.omezarr import read_ome_zarr
    from redoxmap.io.writers import write_dataset
    from redoxmap.pipeline import run_xanes3d

    _refuse_overwriting_inputs(output, [*volumes, *ref])
    loaded = [read_ome_zarr(v) for v in volumes]
    if not energy:
        missing = [str(p) for p, v in zip(volumes, loaded, strict=True) if "energy_ev" not in v.attrs]
        if missing:
            raise RedoxmapError(f"{', '.join(missing)}: no energy_ev stored; "
                                "expected --energy for each volume")
        energy = [float(v.attrs["energy_ev"]) for v in loaded]
    with _progress() as bar:
        task = bar.add_task("fit", total=1)
        maps, _ = run_xanes3d(loaded, energy, ref, names=list(name) if name else None, mode=mode,
                              mask_threshold=mask_threshold)
        bar.advance(task)
    _print_summary(maps)
    write_dataset(maps, output, overwrite=overwrite)
    console.print(f"maps written to [bold]{output}[/]")


@tomo_app.command("classify")
def tomo_classify(
    numerator: Path = typer.Argument(..., help="Numerator volume, e.g. Ni density (OME-Zarr)"),
    denominator: Path = typer.Argument(..., help="Denominator volume, e.g. Mn density (OME-Zarr)"),
    target: float = typer.Option(..., help="Target ratio numerator/denominator (same units as the volumes)"),
    tolerance: float = typer.Option(0.05, help="Relative deviation still counted as target (0.05 = 5 %)"),
    output: Path = typer.Option(..., "--output", "-o", help="Class volume (.zarr, 0 outside, 1 target, …)"),
    below_name: str = typer.Option("below target", help="Name of the class below the band"),
    above_name: str = typer.Option("above target", help="Name of the class above the band"),
    mask_threshold: float | None = typer.Option(
        None, help="Particle: denominator above this (default: Otsu of the denominator)"),
    smooth_sigma_vox: float = typer.Option(0.7, help="Gaussian averaging of the ratio inside the particle"),
    shells: int = typer.Option(5, help="Equal-volume shells of the particle from the surface to the centre"),
    report: Path | None = typer.Option(None, "--report", help="Folder for tables, figures, index.html"),
    overwrite: bool = typer.Option(False, help="Replace an existing output"),
) -> None:
    """Classify voxels by a composition ratio against a target (± tolerance); proportions per shell."""
    import numpy as np
    from skimage.filters import threshold_otsu

    from redoxmap.io.omezarr import read_ome_zarr, write_ome_zarr
    from redoxmap.report.volumes import class_names, proportions_table, write_volume_report
    from redoxmap.segment.classes import class_proportions, classify_stoichiometry
    from redoxmap.segment.pores import particle_envelope
    from redoxmap.stats.shells import equal_volume_shells
    from redoxmap.tomo.dual_energy import ratio_volume

    _refuse_overwriting_inputs(output, [numerator, denominator])
    top, bottom = read_ome_zarr(numerator).compute(), read_ome_zarr(denominator).compute()
    if top.shape != bottom.shape:
        raise RedoxmapError(f"{numerator} has shape {top.shape} but {denominator} has {bottom.shape}; "
                            "expected volumes on the same grid")
    voxel = bottom.attrs["voxel_size_nm"]
    level = threshold_otsu(np.asarray(bottom.values)) if mask_threshold is None else mask_threshold
    particle = bottom > level
    ratio = ratio_volume(top, bottom, particle)
    classes = classify_stoichiometry(ratio, target, particle, tolerance=tolerance,
                                     smooth_sigma_vox=smooth_sigma_vox,
                                     names={2: below_name, 3: above_name})
    classes.attrs["voxel_size_nm"] = voxel
    write_ome_zarr(classes, output, voxel, overwrite=overwrite, labels=True)
    layers = equal_volume_shells(particle_envelope(particle), n=shells)  # internal voids are not surface
    table = proportions_table(class_proportions(classes),
                              class_proportions(classes, layers.where(particle, 0)), class_names(classes))
    out = Table(title=f"class proportions (%), target {target:g} ± {100 * tolerance:g} %")
    for column in table.columns:
        out.add_column(str(column), justify="right")
    for row in table.itertuples(index=False):
        out.add_row(row[0], *(f"{v:.1f}" for v in row[1:]))
    console.print(out)
    if report is not None:
        index = write_volume_report(report, f"classes of {numerator.name} / {denominator.name}",
                                    volume=ratio.assign_attrs(units="ratio", voxel_size_nm=voxel),
                                    classes=classes, shells=layers, solid=particle,
                                    settings={"target": target, "tolerance": tolerance,
                                              "particle threshold": f"{level:.4g}",
                                              "smoothing σ (voxels)": smooth_sigma_vox})
        console.print(f"report written to [bold]{index}[/]")


@tomo_app.command("pores")
def tomo_pores(
    volume: Path = typer.Argument(..., help="Attenuation volume (OME-Zarr)"),
    output: Path = typer.Option(..., "--output", "-o", help="CSV table of voids"),
    threshold: float | None = typer.Option(None, help="Solid threshold (default: Otsu)"),
    shells: int = typer.Option(5, help="Equal-volume shells for porosity versus radius"),
    report: Path | None = typer.Option(None, "--report", help="Folder for tables, figures, index.html"),
) -> None:
    """Find internal pores and cracks; print counts and porosity, write one row per void."""
    import numpy as np
    from skimage.filters import threshold_otsu

    from redoxmap.io.omezarr import read_ome_zarr
    from redoxmap.segment.pores import analyze_pores, pore_size_distribution
    from redoxmap.stats.porosity import porosity

    _refuse_overwriting_inputs(output, [volume])
    mu = read_ome_zarr(volume).compute()
    level = threshold_otsu(np.asarray(mu.values)) if threshold is None else threshold
    solid = (mu > level).assign_attrs(voxel_size_nm=mu.attrs["voxel_size_nm"])
    table, labels = analyze_pores(solid, mu.attrs["voxel_size_nm"])
    by_shell = porosity(solid, n_shells=shells)
    sizes = pore_size_distribution(labels > 0, mu.attrs["voxel_size_nm"]) if (labels > 0).any() else None
    tmp = output.with_name(f".{output.name}.tmp")
    table.to_csv(tmp, index=False)
    tmp.replace(output)
    summary = Table(title=f"voids in {volume}")
    summary.add_column("quantity")
    summary.add_column("value", justify="right")
    summary.add_row("isolated pores", str(int((table.kind == "pore").sum())))
    summary.add_row("cracks", str(int((table.kind == "crack").sum())))
    summary.add_row("porosity", f"{by_shell.attrs['porosity']:.4f}")
    for shell, value in zip(by_shell.shell.values, by_shell.porosity_by_shell.values, strict=True):
        summary.add_row(f"porosity, shell {shell} (1 = surface)", f"{value:.4f}")
    if sizes is not None:
        summary.add_row("median local thickness of the voids (nm)",
                        f"{sizes.attrs['median_thickness_nm']:.0f}")
    console.print(summary)
    if report is not None:
        from redoxmap.report.volumes import write_volume_report

        index = write_volume_report(report, f"pores and cracks in {volume.name}", volume=mu, solid=solid,
                                    pores=table, porosity=by_shell, voids=labels > 0, pore_sizes=sizes,
                                    settings={"solid threshold": f"{level:.4g}"})
        console.print(f"report written to [bold]{index}[/]")


def main() -> None:
    """Console entry point: bad input ends with its message and exit code 2, not a traceback."""
    try:
        app()
    except RedoxmapError as exc:
        errors.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise SystemExit(2) from None
