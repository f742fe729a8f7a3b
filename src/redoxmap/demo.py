"""``redoxmap demo``: simulate a scan, write it as a user's files, run the pipeline on those
files, and score the result against the truth."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from redoxmap.io.dxchange import write_dxchange
from redoxmap.io.writers import write_dataset
from redoxmap.pipeline import Progress, Xanes2DConfig, run_xanes2d
from redoxmap.simulate.demo import demo_dataset
from redoxmap.simulate.score import score_fraction, score_shifts

#: Simulated pixel size (nm): ~30 nm output pixels as in Wang et al. 2021, Methods.
DEMO_PIXEL_SIZE_NM = 30.0


def run_demo(out: Path, size: int = 256, seed: int = 0,
             progress: Progress | None = None) -> dict[str, float]:
    """Simulate the Mn K-edge demo (drift ±3 px, ~4000 counts), write ``scan.h5`` (dxchange),
    ``pristine.csv`` and ``cycled.csv``, fit with ``nnls``, write ``maps.nc`` and ``report/``.
    Returns recovered-versus-true numbers."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sim = demo_dataset(shape=(size, size), drift_max_px=3.0, seed=seed)
    scan = out / "scan.h5"
    tmp = out / ".scan.h5.tmp"
    write_dxchange(sim.raw, tmp)
    os.replace(tmp, scan)
    refs = []
    for comp in sim.refs.component.values:
        path = out / f"{comp}.csv"
        spectrum = np.column_stack([sim.refs.energy.values, sim.refs.sel(component=comp).values])
        np.savetxt(path, spectrum, delimiter=",", fmt="%.5f",
                   header=f"simulated pure-phase OD per unit edge jump: {comp}\nenergy_eV,od")
        refs.append(path)
    config = Xanes2DConfig(stack=scan, references=refs, mode="nnls",
                           pixel_size_nm=DEMO_PIXEL_SIZE_NM)
    maps, stack, fitted_refs = run_xanes2d(config, progress)
    write_dataset(maps, out / "maps.nc", overwrite=True)
    ref_energy = maps.attrs.get("align_reference_energy_ev")
    score = score_fraction(maps, sim.truth, "cycled", reference_energy_ev=ref_energy)
    shift_err = score_shifts(maps.shift_y.values, maps.shift_x.values, sim.truth, ref_energy)
    summary = {
        "fraction RMSE": score["rmse"],
        "mean fraction, recovered": score["mean_recovered"],
        "mean fraction, true": score["mean_true"],
        "mean reported 1σ error": score["mean_reported_err"],
        "pixels scored": score["pixels"],
        "shifts within 0.25 px": f"{int((shift_err < 0.25).sum())} of {shift_err.size} energies",
        "median shift error (px)": float(np.median(shift_err)),
    }
    from redoxmap.report import write_report

    write_report(maps, stack, fitted_refs, out / "report", settings=config.settings(),
                 summary=summary)
    summary.update(run_valence_demo(out / "report-valence", seed=seed))
    summary.update(run_tomo_demo(out / "tomo", seed=seed))
    return summary


def run_tomo_demo(out: Path, n: int = 64, seed: int = 0) -> dict[str, float]:
    """Dual-energy Mn K-edge tomography of a 64³ particle on a ±65° tilt series (131 views):
    SIRT-TV volumes at 6530 and 6565 eV and the Mn partial density, written as OME-Zarr
    volumes, with an orthogonal-slice figure, and a report page (``report/index.html``) of the
    particle's pores and cracks with a 3D rendering."""
    from skimage.filters import threshold_otsu

    from redoxmap.io.omezarr import write_ome_zarr
    from redoxmap.preprocess.flatfield import optical_density
    from redoxmap.report.figures import orthogonal_slices
    from redoxmap.report.volumes import write_volume_report
    from redoxmap.segment.pores import analyze_pores, pore_size_distribution
    from redoxmap.simulate.phantom3d import COMPOSITION, attenuation_volume, cathode_phantom
    from redoxmap.simulate.tomography import acquire_projections
    from redoxmap.stats.porosity import porosity
    from redoxmap.tomo import find_center, reconstruct
    from redoxmap.tomo.dual_energy import element_density

    out.mkdir(parents=True, exist_ok=True)
    voxel_nm = 200.0
    phantom = cathode_phantom(n, seed=seed, n_pores=4)
    angles = np.arange(-65.0, 65.5, 1.0)
    volumes = {}
    for energy in (6530.0, 6565.0):
        raw, _ = acquire_projections(attenuation_volume(phantom, energy, voxel_nm), angles,
                                     flat_counts=1e6, center_offset_px=1.2, seed=seed + int(energy))
        proj = optical_density(raw)
        volumes[energy] = reconstruct(proj, "sirt-tv", center_px=find_center(proj), iterations=200,
                                      tv_weight=0.005)
        write_ome_zarr(volumes[energy], out / f"mu_{energy:.0f}eV.zarr", voxel_nm, overwrite=True)
    mn = element_density(volumes[6565.0], volumes[6530.0], "Mn", 6530.0, 6565.0, voxel_nm,
                         formula=COMPOSITION)
    write_ome_zarr(mn, out / "Mn_density.zarr", voxel_nm, overwrite=True)
    fig = orthogonal_slices(mn, "Mn partial density, ±65° tilt series (SIRT-TV)", "g/cm³",
                            cmap="viridis", voxel_size_nm=voxel_nm)
    fig.savefig(out / "Mn_density_slices.png", dpi=150)
    material = volumes[6565.0] > threshold_otsu(volumes[6565.0].values)
    voids_table, void_labels = analyze_pores(material, voxel_nm)
    write_volume_report(out / "report", "demo: 64³ particle, ±65° tilt series", volume=volumes[6565.0],
                        solid=material.assign_attrs(voxel_size_nm=voxel_nm), pores=voids_table,
                        porosity=porosity(material), voids=void_labels > 0,
                        pore_sizes=pore_size_distribution(void_labels > 0, voxel_nm),
                        settings={"projections": "131, −65° to +65°", "method": "SIRT-TV, 200 iterations"})
    solid = (phantom.particle & ~phantom.void).values
    return {"tomo Mn density, recovered (g/cm³)": float(mn.values[solid].mean()),
            "tomo Mn density, true (g/cm³)": float(phantom.density_Mn.values[solid].mean()),
            "tomo porosity, recovered": porosity(material).attrs["porosity"],
            "tomo porosity, true": float(phantom.void.sum() / phantom.particle.sum())}


def run_valence_demo(out: Path, seed: int = 0) -> dict[str, float]:
    """Mn L3-edge particle with a reduced surface: valence map, edge map and report in ``out``."""
    from redoxmap.fit.valence import valence_inputs, valence_map
    from redoxmap.preprocess.normalize import normalize_stack
    from redoxmap.report import write_report
    from redoxmap.simulate.valence import reduced_surface_particle
    from redoxmap.spectra.edges import edge_energy_map

    sim = reduced_surface_particle(shape=(128, 128), seed=seed)
    stack = sim.stack
    stack.attrs["pixel_size_nm"] = 10.0
    maps = valence_map(stack, sim.refs)
    maps["edge_energy"] = edge_energy_map(normalize_stack(stack)["normalized"])
    thick = sim.truth.edge_jump.values > 0.3 * sim.truth.edge_jump.values.max()
    error = maps.valence.values[thick] - sim.truth.valence.values[thick]
    summary = {
        "valence RMSE (Mn L3)": float(np.sqrt(np.mean(error**2))),
        "valence mean reported 1σ": float(maps.valence_err.values[thick].mean()),
    }
    fitted, refs, _ = valence_inputs(stack, sim.refs)
    write_report(maps, fitted, refs, out,
                 settings={"scene": "simulated Mn L3 particle, reduced surface layer"}, summary=summary)
    return summary
