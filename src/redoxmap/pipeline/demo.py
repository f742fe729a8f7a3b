"""``redoxmap demo``: simulate acquisitions with known truth, write them as a user's files, run the
same jobs as the commands on those files, and score the results against the truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from redoxmap.io.atomic import atomic_output
from redoxmap.io.dxchange import write_dxchange
from redoxmap.pipeline.jobs import JobConfig, JobResult, Progress
from redoxmap.pipeline.tomo import (
    DualEnergyConfig,
    PoresConfig,
    TomoReconConfig,
    run_dual_energy,
    run_pores,
    run_tomo_recon,
)
from redoxmap.pipeline.valence import ValenceConfig, run_valence
from redoxmap.pipeline.xanes2d import Xanes2DConfig, run_xanes2d

__all__ = ["DemoConfig", "run_demo"]

#: Simulated pixel size (nm): ~30 nm output pixels as in Wang et al. 2021, Methods.
DEMO_PIXEL_SIZE_NM = 30.0
#: Pixel size (nm) of the simulated STXM particle (Csernica et al. 2021 scan at ~30–50 nm; finer here).
VALENCE_PIXEL_SIZE_NM = 10.0
#: Voxel size (nm) of the simulated tilt series.
TOMO_VOXEL_NM = 200.0


class DemoConfig(JobConfig):
    """Settings of ``redoxmap demo``. Its folder holds only what the demo writes, so a rerun
    replaces it (``overwrite`` is on by default).

    Parameters
    ----------
    output : pathlib.Path
        Folder for the simulated files, maps and reports.
    overwrite : bool
        Replace the demo's own earlier outputs (never an input).
    size_px : int
        Image size of the 2D scan (px per side).
    seed : int
        Random seed of the simulations.
    """

    output: Path = Path("demo-output")
    overwrite: bool = True
    size_px: int = 256
    seed: int = 0


def run_demo(config: DemoConfig, progress: Progress | None = None) -> JobResult:
    """The 2D XANES, valence and ±65° dual-energy tomography cases, each simulated with known
    truth (:mod:`redoxmap.simulate`), written to files and run through its job.

    Parameters
    ----------
    config : DemoConfig
        The settings.
    progress : callable, optional
        Called as ``progress(stage, done, total)`` as the job advances (the command line draws
        bars from it).

    Returns
    -------
    JobResult
        The summary lists recovered-versus-true numbers (fraction RMSE, valence RMSE, drift error
        in px, densities in g/cm³); ``values["scores"]`` holds them.
    """
    out = Path(config.output)
    rows = _xanes2d_case(out, config, progress)
    rows.update(_valence_case(out / "valence", config))
    rows.update(_tomo_case(out / "tomo", config))
    summary = [(key, f"{value:.4g}" if isinstance(value, float) else str(value))
               for key, value in rows.items()]
    return JobResult(title="recovered versus true (where the true edge jump > 0.3 OD)", summary=summary,
                     written=[out / "report" / "index.html"], values={"scores": rows})


def _xanes2d_case(out: Path, config: DemoConfig, progress: Progress | None) -> dict:
    """Mn K-edge TXM-XANES scan (6519–6639 eV, 1 eV, drift ±3 px, ~4000 counts), fitted with nnls."""
    from redoxmap.simulate.demo import demo_dataset
    from redoxmap.simulate.score import score_fraction, score_shifts

    sim = demo_dataset(shape=(config.size_px, config.size_px), drift_max_px=3.0, seed=config.seed)
    scan = out / "scan.h5"
    write_dxchange(sim.raw, scan)
    refs = [_write_reference(out / f"{comp}.csv", sim.refs.energy.values, sim.refs.sel(component=comp).values,
                             f"simulated pure-phase OD per unit edge jump: {comp}")
            for comp in sim.refs.component.values]
    job = Xanes2DConfig(stack=scan, references=refs, pixel_size_nm=DEMO_PIXEL_SIZE_NM,
                        output=out / "maps.nc", report=out / "report", overwrite=True)
    maps = run_xanes2d(job, progress).maps
    reference = maps.attrs.get("align_reference_energy_ev")
    score = score_fraction(maps, sim.truth, "cycled", reference_energy_ev=reference)
    shift_err = score_shifts(maps.shift_y.values, maps.shift_x.values, sim.truth, reference)
    return {
        "fraction RMSE": score["rmse"],
        "mean fraction, recovered": score["mean_recovered"],
        "mean fraction, true": score["mean_true"],
        "mean reported 1σ error": score["mean_reported_err"],
        "pixels scored": score["pixels"],
        "shifts within 0.25 px": f"{int((shift_err < 0.25).sum())} of {shift_err.size} energies",
        "median shift error (px)": float(np.median(shift_err)),
    }


def _write_reference(path: Path, energy_ev: np.ndarray, values: np.ndarray, header: str) -> Path:
    with atomic_output(path, overwrite=True) as tmp:
        np.savetxt(tmp, np.column_stack([energy_ev, values]), delimiter=",", fmt="%.5f",
                   header=f"{header}\nenergy_eV,od")
    return path


def _valence_case(out: Path, config: DemoConfig) -> dict:
    """Mn L3-edge particle with a reduced surface, written as an ALS STXM stack (I0 from its empty
    region) with a library file, mapped by the valence job."""
    from redoxmap.io.raw import RawStack
    from redoxmap.io.stxm import write_stxm
    from redoxmap.simulate.valence import reduced_surface_particle
    from redoxmap.spectra.library import write_library

    sim = reduced_surface_particle(shape=(128, 128), seed=config.seed)
    transmitted = (np.exp(-sim.stack.values) * 20000.0).astype(np.float32)
    x_um = np.arange(128) * VALENCE_PIXEL_SIZE_NM / 1000.0
    write_stxm(RawStack(counts=sim.raw.counts.copy(data=transmitted)), out / "particle.hdr", x_um=x_um,
               y_um=x_um)
    library = write_library(sim.refs, out / "mn_l3_standards.csv", overwrite=True)
    job = ValenceConfig(stack=out / "particle.hdr", library=library, output=out / "valence.nc",
                        report=out / "report", overwrite=True)
    maps = run_valence(job).maps
    thick = sim.truth.edge_jump.values > 0.3 * sim.truth.edge_jump.values.max()
    error = maps.valence.values[thick] - sim.truth.valence.values[thick]
    return {"valence RMSE (Mn L3)": float(np.sqrt(np.nanmean(error**2))),
            "valence mean reported 1σ": float(np.nanmean(maps.valence_err.values[thick]))}


def _tomo_case(out: Path, config: DemoConfig, n: int = 64) -> dict:
    """Dual-energy Mn K-edge tomography of a 64³ particle on a ±65° tilt series (131 views):
    projection files at 6530 and 6565 eV, SIRT-TV volumes (OME-Zarr), the Mn partial density,
    and the pores-and-cracks report with a 3D rendering."""
    from redoxmap.io.projections import write_projections_dxchange
    from redoxmap.simulate.phantom3d import COMPOSITION, attenuation_volume, cathode_phantom
    from redoxmap.simulate.tomography import acquire_projections

    phantom = cathode_phantom(n, seed=config.seed, n_pores=4)
    angles = np.arange(-65.0, 65.5, 1.0)
    volumes = {}
    for energy in (6530.0, 6565.0):
        raw, _ = acquire_projections(attenuation_volume(phantom, energy, TOMO_VOXEL_NM), angles,
                                     flat_counts=1e6, center_offset_px=1.2, seed=config.seed + int(energy))
        projections = out / f"projections_{energy:.0f}eV.h5"
        write_projections_dxchange(raw, projections)
        volumes[energy] = out / f"mu_{energy:.0f}eV.zarr"
        run_tomo_recon(TomoReconConfig(projections=projections, output=volumes[energy], method="sirt-tv",
                                       voxel_size_nm=TOMO_VOXEL_NM, overwrite=True))
    density = run_dual_energy(DualEnergyConfig(
        below=volumes[6530.0], above=volumes[6565.0], element="Mn", below_ev=6530.0, above_ev=6565.0,
        formula=COMPOSITION, output=out / "Mn_density.zarr", report=out / "report-Mn",
        overwrite=True)).density
    pores = run_pores(PoresConfig(volume=volumes[6565.0], output=out / "voids.csv", report=out / "report",
                                  overwrite=True))
    solid = (phantom.particle & ~phantom.void).values
    return {"tomo Mn density, recovered (g/cm³)": float(density.values[solid].mean()),
            "tomo Mn density, true (g/cm³)": float(phantom.density_Mn.values[solid].mean()),
            "tomo porosity, recovered": pores.porosity.attrs["porosity"],
            "tomo porosity, true": float(phantom.void.sum() / phantom.particle.sum())}
