"""Spectro-tomography jobs (Liu et al., Nat. Nanotechnol. (2024), Methods): reconstruction of a
projection file, element densities from volumes below and above an edge, composition classes,
pores and cracks, and 3D XANES voxel by voxel."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator

from redoxmap.errors import ConfigError, FormatError, RedoxmapWarning
from redoxmap.fit.lincomb import lincomb
from redoxmap.io.omezarr import read_ome_zarr, write_ome_zarr
from redoxmap.io.projections import read_projections_dxchange
from redoxmap.io.writers import write_dataset
from redoxmap.pipeline.execution import ExecutionSettings, execution
from redoxmap.pipeline.jobs import JobConfig, JobResult, Progress
from redoxmap.pipeline.outofcore import _OutOfCore
from redoxmap.pipeline.tomo_series import _energy_stack
from redoxmap.pipeline.xanes2d import fraction_summary
from redoxmap.preprocess.flatfield import optical_density
from redoxmap.preprocess.mask import otsu_threshold, particle_mask
from redoxmap.spectra.references import load_references

__all__ = [
    "ClassifyConfig", "DualEnergyConfig", "PoresConfig", "TomoReconConfig", "TomoXanesConfig",
    "run_classify", "run_dual_energy", "run_pores", "run_tomo_recon", "run_tomo_xanes",
]

METHOD = Literal["gridrec", "fbp", "sirt", "cgls", "sirt-tv", "tv"]


def _step(progress: Progress | None):
    def report(stage: str, done: int = 1, total: int = 1) -> None:
        if progress is not None:
            progress(stage, done, total)

    return report


class TomoReconConfig(JobConfig):
    """Settings of ``redoxmap tomo recon``: one projection file (one energy) to one volume.

    ``method="gridrec"`` (the default) for full scans: filtered back-projection in Fourier space,
    measured ~50× faster than ``"fbp"`` (scikit-image ``iradon``) at 1024² × 1000 views with an
    RMSE within 4 % of it; ``"tv"`` with ``hull=True`` for limited-angle tilt series (the
    measured choices of the tomography issues, docs/tomography.md). The iterative methods run on
    the sparse system matrix for small slices and few angles and on the matrix-free Fourier
    projector beyond (:func:`redoxmap.tomo.make_projector`).
    """

    projections: Path
    voxel_size_nm: float = Field(gt=0)
    method: METHOD = "gridrec"
    center_px: float | None = None
    align_jitter: bool = False
    iterations: int = Field(200, ge=1)
    tv_weight: float | None = Field(None, ge=0)
    hull: bool = False
    slices_per_chunk: int | None = Field(None, ge=1)
    energy_ev: float | None = Field(None, gt=0)

    INPUTS: ClassVar[tuple[str, ...]] = ("projections",)
    ARGUMENTS: ClassVar[tuple[str, ...]] = ("projections",)
    OUTPUT_SUFFIXES: ClassVar[tuple[str, ...]] = (".zarr",)
    OUTPUT_REQUIRED: ClassVar[bool] = True


def run_tomo_recon(config: TomoReconConfig, progress: Progress | None = None) -> JobResult:
    """Flat/dark, −ln, rotation centre, optional jitter alignment, reconstruction, OME-Zarr.

    Returns
    -------
    A :class:`JobResult` with ``volume`` and ``center_px`` in its values.
    """
    from redoxmap.tomo import align_projections, find_center, reconstruct
    from redoxmap.tomo.support import visual_hull

    step = _step(progress)
    proj = optical_density(read_projections_dxchange(config.projections, energy_ev=config.energy_ev))
    width = proj.sizes["x"]
    if config.center_px is not None and not 0 <= config.center_px <= width - 1:
        raise ConfigError(f"--center-px {config.center_px:g} lies outside the detector "
                          f"(0–{width - 1} px of {config.projections})")
    step("read")
    axis = find_center(proj) if config.center_px is None else config.center_px
    if config.align_jitter:
        proj = align_projections(proj, center_px=axis, progress=lambda d, t: step("align", d, t))
    support = visual_hull(proj, center_px=axis) if config.hull else None
    volume = reconstruct(proj, config.method, center_px=axis, iterations=config.iterations,
                         tv_weight=config.tv_weight, slices_per_chunk=config.slices_per_chunk,
                         support=support, progress=lambda d, t: step("recon", d, t))
    if "energy" in proj.coords:
        volume.attrs["energy_ev"] = float(proj["energy"])
    volume.attrs.update(units="1/voxel", rotation_axis_px=float(axis), method=config.method)
    written = [write_ome_zarr(volume, config.output, config.voxel_size_nm, overwrite=config.overwrite)]
    if config.report is not None:
        from redoxmap.report.volumes import write_volume_report

        written.append(write_volume_report(
            read_ome_zarr(config.output).compute(), config.report,
            title=f"reconstruction of {config.projections.name}",
            settings={"method": config.method, "rotation axis (px)": f"{axis:.2f}",
                      "voxel (nm)": config.voxel_size_nm, "jitter aligned": config.align_jitter}))
    summary = [("rotation axis (px)", f"{axis:.2f}"), ("volume (z, y, x)", str(volume.shape))]
    return JobResult(title=f"reconstruction ({config.method})", summary=summary, written=written,
                     values={"volume": volume, "center_px": float(axis)})


class DualEnergyConfig(JobConfig):
    """Settings of ``redoxmap tomo dual-energy``: an element's partial density from volumes
    reconstructed below and above its absorption edge."""

    below: Path
    above: Path
    element: str
    below_ev: float = Field(gt=0)
    above_ev: float = Field(gt=0)
    formula: str | None = None

    INPUTS: ClassVar[tuple[str, ...]] = ("below", "above")
    ARGUMENTS: ClassVar[tuple[str, ...]] = ("below", "above")
    OUTPUT_SUFFIXES: ClassVar[tuple[str, ...]] = (".zarr",)
    OUTPUT_REQUIRED: ClassVar[bool] = True

    @field_validator("element")
    @classmethod
    def _known_element(cls, value: str) -> str:
        import xraydb

        try:
            xraydb.atomic_number(value)
        except Exception as exc:  # xraydb raises plain errors on unknown symbols
            raise ValueError(f"not an element symbol (e.g. Mn, Ni, Co): {exc}") from exc
        return value

    def check(self) -> None:
        super().check()
        if self.below_ev >= self.above_ev:
            raise ConfigError(f"--below-ev {self.below_ev:g} is not below --above-ev {self.above_ev:g}; "
                              "expected the energies on either side of the edge, below first")
        if self.below.resolve() == self.above.resolve():
            raise ConfigError(f"{self.below} is given as both BELOW and ABOVE; expected two volumes")


def run_dual_energy(config: DualEnergyConfig, progress: Progress | None = None) -> JobResult:
    """Partial density (g/cm³) of the element; refuses volumes whose edge difference is negative
    over the particle (swapped) or zero (the same data twice).

    Returns
    -------
    A :class:`JobResult` with ``density`` in its values.
    """
    from redoxmap.tomo.dual_energy import element_density

    low, high = read_ome_zarr(config.below), read_ome_zarr(config.above)
    if low.shape != high.shape:
        raise FormatError(f"{config.below} has shape {low.shape} but {config.above} has {high.shape}; "
                          "expected volumes on the same grid")
    voxel = low.attrs["voxel_size_nm"]
    density = element_density(below=low, above=high, element=config.element, below_ev=config.below_ev,
                              above_ev=config.above_ev, voxel_size_nm=voxel,
                              formula=config.formula).compute()
    if np.allclose(np.asarray(high.values), np.asarray(low.values)):
        raise FormatError(f"{config.below} and {config.above} hold the same values; expected volumes "
                          "measured below and above the edge")
    level = otsu_threshold(np.asarray(high.values), "above-edge volume")
    values = np.asarray(density.values)
    inside = values if level is None else values[np.asarray(high.values) > level]
    if inside.size and float(np.median(inside)) < 0:
        raise FormatError(f"the {config.element} density is negative over the particle (median "
                          f"{float(np.median(inside)):.3g} g/cm³): {config.below} looks like the above-edge "
                          f"volume; expected BELOW ({config.below_ev:g} eV) first, then ABOVE")
    density.attrs.update(element=config.element, below_ev=config.below_ev, above_ev=config.above_ev,
                         formula=config.formula or "")
    history = list(density.attrs.get("history", []))
    history.append(f"dual_energy(element={config.element!r}, below_ev={config.below_ev}, "
                   f"above_ev={config.above_ev}, formula={config.formula!r}, below={str(config.below)!r}, "
                   f"above={str(config.above)!r})")
    density.attrs["history"] = history
    written = [write_ome_zarr(density, config.output, voxel, overwrite=config.overwrite)]
    if config.report is not None:
        from redoxmap.report.volumes import write_volume_report

        written.append(write_volume_report(density, config.report,
                                           title=f"{config.element} partial density",
                                           settings=config.settings()))
    summary = [(f"mean {config.element} density in the particle (g/cm³)",
                f"{float(np.mean(inside)):.4g}" if inside.size else "n/a")]
    return JobResult(title=f"{config.element} density", summary=summary, written=written,
                     values={"density": density})


class ClassifyConfig(JobConfig):
    """Settings of ``redoxmap tomo classify``: voxels by a composition ratio against a target
    (± a relative tolerance, Liu et al. 2024: ±5 %), with proportions per equal-volume shell."""

    numerator: Path
    denominator: Path
    target: float = Field(gt=0)
    tolerance: float = Field(0.05, gt=0, lt=1)
    below_name: str = "below target"
    above_name: str = "above target"
    mask_threshold: float | None = None
    smooth_sigma_vox: float = Field(0.7, ge=0)
    shells: int = Field(5, ge=1)

    INPUTS: ClassVar[tuple[str, ...]] = ("numerator", "denominator")
    ARGUMENTS: ClassVar[tuple[str, ...]] = ("numerator", "denominator")
    OUTPUT_SUFFIXES: ClassVar[tuple[str, ...]] = (".zarr",)
    OUTPUT_REQUIRED: ClassVar[bool] = True


def run_classify(config: ClassifyConfig, progress: Progress | None = None) -> JobResult:
    """Class volume (0 outside, 1 target, 2 below, 3 above) and the proportions table.

    Returns
    -------
    A :class:`JobResult` with ``classes``, ``ratio`` and ``table`` (percent per class, overall
    and per shell) in its values.
    """
    from redoxmap.report.volumes import class_names, proportions_table
    from redoxmap.segment.classes import class_proportions, classify_stoichiometry
    from redoxmap.segment.pores import particle_envelope
    from redoxmap.stats.shells import equal_volume_shells
    from redoxmap.tomo.dual_energy import ratio_volume

    top, bottom = read_ome_zarr(config.numerator).compute(), read_ome_zarr(config.denominator).compute()
    if top.shape != bottom.shape:
        raise FormatError(f"{config.numerator} has shape {top.shape} but {config.denominator} has "
                          f"{bottom.shape}; expected volumes on the same grid")
    voxel = bottom.attrs["voxel_size_nm"]
    if config.mask_threshold is None:
        level = otsu_threshold(np.asarray(bottom.values), "denominator volume")
        level = float(np.nanmin(bottom.values)) - 1.0 if level is None else level
    else:
        level = config.mask_threshold
    particle = bottom > level
    ratio = ratio_volume(top, bottom, particle)
    classes = classify_stoichiometry(ratio, config.target, particle, tolerance=config.tolerance,
                                     smooth_sigma_vox=config.smooth_sigma_vox,
                                     names={2: config.below_name, 3: config.above_name})
    classes.attrs["voxel_size_nm"] = voxel
    written = [write_ome_zarr(classes, config.output, voxel, overwrite=config.overwrite, labels=True)]
    layers = equal_volume_shells(particle_envelope(particle), n=config.shells)  # voids are not surface
    table = proportions_table(class_proportions(classes),
                              class_proportions(classes, layers.where(particle, 0)), class_names(classes))
    if config.report is not None:
        from redoxmap.report.volumes import write_volume_report

        written.append(write_volume_report(
            ratio.assign_attrs(units="ratio", voxel_size_nm=voxel), config.report,
            title=f"classes of {config.numerator.name} / {config.denominator.name}",
            classes=classes, shells=layers, solid=particle,
            settings={"target": config.target, "tolerance": config.tolerance,
                      "particle threshold": f"{level:.4g}", "smoothing σ (voxels)": config.smooth_sigma_vox}))
    summary = [(str(row[0]), ", ".join(f"{c} {v:.1f}" for c, v in zip(table.columns[1:], row[1:],
                                                                      strict=True)))
               for row in table.itertuples(index=False)]
    return JobResult(title=f"class proportions (%), target {config.target:g} ± {100 * config.tolerance:g} %",
                     summary=summary, written=written,
                     values={"classes": classes, "ratio": ratio, "table": table})


class PoresConfig(JobConfig):
    """Settings of ``redoxmap tomo pores``: isolated pores and cracks of a particle, porosity per
    shell and the pore-size distribution (local thickness)."""

    volume: Path
    mask_threshold: float | None = None
    shells: int = Field(5, ge=1)

    INPUTS: ClassVar[tuple[str, ...]] = ("volume",)
    ARGUMENTS: ClassVar[tuple[str, ...]] = ("volume",)
    OUTPUT_SUFFIXES: ClassVar[tuple[str, ...]] = (".csv",)
    OUTPUT_REQUIRED: ClassVar[bool] = True


def run_pores(config: PoresConfig, progress: Progress | None = None) -> JobResult:
    """The void table (one row per pore or crack), porosity per shell and pore sizes.

    Returns
    -------
    A :class:`JobResult` with ``table``, ``labels``, ``porosity`` and ``sizes`` in its values.
    """
    from redoxmap.report.files import save_table
    from redoxmap.segment.pores import analyze_pores, pore_size_distribution
    from redoxmap.stats.porosity import porosity

    mu = read_ome_zarr(config.volume).compute()
    voxel = mu.attrs["voxel_size_nm"]
    if config.mask_threshold is None:
        level = otsu_threshold(np.asarray(mu.values), "attenuation volume")
        level = float(np.nanmin(mu.values)) - 1.0 if level is None else level
    else:
        level = config.mask_threshold
    solid = (mu > level).assign_attrs(voxel_size_nm=voxel)
    table, labels = analyze_pores(solid, voxel)
    if table.empty:
        warnings.warn(f"{config.volume}: no internal void found with the solid threshold {level:.4g}; "
                      "cracks that reach the surface or voids thinner than a voxel are not seen: try "
                      "--mask-threshold above Otsu's", RedoxmapWarning, stacklevel=2)
    by_shell = porosity(solid, n_shells=config.shells)
    sizes = pore_size_distribution(labels > 0, voxel) if (labels > 0).any() else None
    written = [save_table(table, config.output.parent, config.output.name)]
    if config.report is not None:
        from redoxmap.report.volumes import write_volume_report

        written.append(write_volume_report(mu, config.report,
                                           title=f"pores and cracks in {config.volume.name}",
                                           solid=solid, pores=table, porosity=by_shell, voids=labels > 0,
                                           pore_sizes=sizes, settings={"solid threshold": f"{level:.4g}"}))
    summary = [("isolated pores", str(int((table.kind == "pore").sum())) if not table.empty else "0"),
               ("cracks", str(int((table.kind == "crack").sum())) if not table.empty else "0"),
               ("porosity", f"{by_shell.attrs['porosity']:.4f}")]
    summary += [(f"porosity, shell {shell} (1 = surface)", f"{value:.4f}")
                for shell, value in zip(by_shell.shell.values, by_shell.porosity_by_shell.values,
                                        strict=True)]
    if sizes is not None:
        summary.append(("median local thickness of the voids (nm)",
                        f"{sizes.attrs['median_thickness_nm']:.0f}"))
    return JobResult(title=f"voids in {config.volume}", summary=summary, written=written,
                     values={"table": table, "labels": labels, "porosity": by_shell, "sizes": sizes})


class TomoXanesConfig(JobConfig, ExecutionSettings):
    """Settings of ``redoxmap tomo xanes``: volumes at several energies — one ``(energy, z, y, x)``
    OME-Zarr of ``tomo recon`` over a multi-energy scan, or one volume per energy — fitted voxel by
    voxel with the references (the engine of ``xanes2d``); with ``memory_limit`` or a scheduler of
    processes out of core and resumable (:mod:`redoxmap.pipeline.outofcore`)."""

    volumes: list[Path] = Field(min_length=1)
    references: list[Path] = Field(min_length=1)
    names: list[str] | None = None
    energy_ev: list[float] | None = None
    mode: Literal["lsq", "nnls", "sum1", "sum1-scaled"] = "nnls"
    mask_threshold: float | None = None

    INPUTS: ClassVar[tuple[str, ...]] = ("volumes", "references")
    ARGUMENTS: ClassVar[tuple[str, ...]] = ("volumes",)
    OUTPUT_SUFFIXES: ClassVar[tuple[str, ...]] = (".nc", ".zarr")
    OUTPUT_REQUIRED: ClassVar[bool] = True

    def check(self) -> None:
        super().check()
        if self.energy_ev and len(self.energy_ev) != len(self.volumes):
            raise ConfigError(f"{len(self.energy_ev)} --energy-ev values for {len(self.volumes)} volumes; "
                              "expected one energy per volume, in order")


def run_tomo_xanes(config: TomoXanesConfig, progress: Progress | None = None) -> JobResult:
    """Stack the volumes by energy, mask by the edge jump, fit every voxel.

    Returns
    -------
    A :class:`JobResult` with ``maps`` and ``stack`` (energy, z, y, x) in its values.
    """
    with execution(config) as run:
        chunked = _OutOfCore(config, "tomo-xanes", run, progress) if config.out_of_core else None
        stack = _energy_stack(config.volumes, config.energy_ev)
        mask = particle_mask(stack, threshold_od=config.mask_threshold)
        refs = load_references(config.references, energy=stack["energy"].values, names=config.names)
        maps = lincomb(stack, refs, mode=config.mode, mask=mask,
                       store=None if chunked is None else chunked.fit_store())
        maps = maps.compute() if chunked is None else maps  # out of core: written chunk by chunk
        maps.attrs.update(mask_threshold=mask.attrs["threshold_od"],
                          voxel_size_nm=stack.attrs["voxel_size_nm"])
        written = [write_dataset(maps, config.output, overwrite=config.overwrite)]
        blocks = {}
        if chunked is not None:
            maps = chunked.reopen(config.output)
            blocks = dict(chunked.counts)
            chunked.finish()
    if config.report is not None:
        from redoxmap.report.volumes import write_volume_report

        last = str(maps.component.values[-1])
        written.append(write_volume_report(
            maps.fraction.sel(component=last).fillna(0).assign_attrs(units="fraction",
                                                                    voxel_size_nm=stack.attrs["voxel_size_nm"]),
            config.report, title=f"{last} fraction per voxel", settings=config.settings()))
    return JobResult(title=f"3D fit ({config.mode}) over {int(maps['mask'].sum())} masked voxels",
                     summary=fraction_summary(maps), written=written,
                     values={"maps": maps, "stack": stack, "blocks": blocks})
