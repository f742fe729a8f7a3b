"""Spectro-tomography jobs (Liu et al., Nat. Nanotechnol. (2024), Methods): reconstruction of a
projection file, element densities from volumes below and above an edge, composition classes,
pores and cracks, and 3D XANES voxel by voxel."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from redoxmap.errors import ConfigError, FormatError, RedoxmapWarning
from redoxmap.history import with_history
from redoxmap.pipeline.execution import ExecutionSettings
from redoxmap.pipeline.jobs import JobConfig, JobResult, Progress
from redoxmap.pipeline.xanes2d import fraction_summary

if TYPE_CHECKING:
    from collections.abc import Callable

    import xarray as xr

# The stages (numpy, xarray, dask, scipy …) are imported inside each job, not with the module: a
# configuration is checked, and a mistake reported, in a fraction of a second (pipeline.xanes2d).

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


class TomoReconConfig(JobConfig, ExecutionSettings):
    """Settings of ``redoxmap tomo recon``: one projection file (one energy) to one volume.

    With ``memory_limit``, or a scheduler of processes or a ``tcp://`` cluster, the volume is
    reconstructed out of core as a multi-energy scan is (:mod:`redoxmap.pipeline.tomo_series`): the
    projections read in slabs of detector rows, each slab reconstructed in one task, stored and
    marked complete (a killed run resumes), the OME-Zarr written from that store; the same numbers as
    in memory. Jitter alignment, the visual hull and the report need every projection or the whole
    volume at once, and are refused there.

    ``method="gridrec"`` (the default) for full scans: filtered back-projection in Fourier space,
    measured ~50× faster than ``"fbp"`` (scikit-image ``iradon``) at 1024² × 1000 views with an
    RMSE within 4 % of it; ``"tv"`` with ``hull=True`` for limited-angle tilt series (the
    measured choices of the tomography issues, docs/tomography.md). The iterative methods run on
    the sparse system matrix for small slices and few angles and on the matrix-free Fourier
    projector beyond (:func:`redoxmap.tomo.make_projector`).

    Parameters
    ----------
    projections : pathlib.Path
        dxchange projection file of one energy (``PROJECTIONS``), with flats and darks
        (:func:`redoxmap.io.read_projections_dxchange`).
    voxel_size_nm : float
        Voxel (detector pixel) size (nm).
    method : {"gridrec", "fbp", "sirt", "cgls", "sirt-tv", "tv"}
        The reconstruction (:func:`redoxmap.tomo.reconstruct`).
    center_px : float, optional
        Rotation axis on the detector (px); default: found (:func:`redoxmap.tomo.find_center`).
    align_jitter : bool
        Correct projection jitter by reprojection (:func:`redoxmap.tomo.align_projections`).
    iterations : int
        Iterations of the iterative methods.
    tv_weight : float, optional
        TV weight: ``sirt-tv`` relative to the volume's 99th percentile (default 0.005), ``tv``
        relative to the mean attenuation in the support (default 0.5).
    hull : bool
        Hold voxels outside the visual hull at zero (:func:`redoxmap.tomo.visual_hull`).
    slices_per_chunk : int, optional
        Reconstruct slabs of this many slices at a time (bounded memory); default: all at once in
        memory, sized from ``memory_limit`` out of core (:func:`redoxmap.pipeline.execution.chunk_bytes`).
    energy_ev : float, optional
        Energy of the projections (eV), if the file states none; stored with the volume.
    scheduler : str
        ``threads`` (default), ``processes``, ``synchronous`` or the ``tcp://host:port`` address of
        a running dask.distributed scheduler (:mod:`redoxmap.pipeline.execution`).
    memory_limit : str, optional
        Memory the job may hold at once (per worker on a cluster), e.g. ``"1GB"``; with it, or with
        processes or a cluster, the reconstruction runs out of core.
    output : pathlib.Path
        The volume (``.zarr``, OME-Zarr); required.
    report : pathlib.Path, optional
        Folder for the slices and the settings.
    overwrite : bool
        Replace an existing volume or report.

    Examples
    --------
    >>> TomoReconConfig(projections="missing.h5", voxel_size_nm=50.0, output="v.zarr")
    Traceback (most recent call last):
    ...
    redoxmap.errors.ConfigError: missing.h5: no such file (given as PROJECTIONS)
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

    def check(self) -> None:
        """Inputs and outputs (:meth:`JobConfig.check`), the steps that cannot run out of core, then
        the rotation axis against the detector width in the file's header, before any projection is
        read."""
        super().check()
        if self.out_of_core:
            unused = [flag for flag, given in (("--align-jitter", self.align_jitter), ("--hull", self.hull),
                                               ("--report", self.report is not None)) if given]
            if unused:
                how = (f"--memory-limit {self.memory_limit}" if self.memory_limit is not None
                       else f"--scheduler {self.scheduler}")
                raise ConfigError(f"{', '.join(unused)}: not available out of core ({how}): jitter "
                                  "alignment and the visual hull need every projection at once, the report "
                                  "the whole volume; expected them without --memory-limit and with "
                                  "--scheduler threads or synchronous")
        if self.center_px is not None:
            from redoxmap.io.projections import projections_shape

            width = projections_shape(self.projections)[2]
            if not 0 <= self.center_px <= width - 1:
                raise ConfigError(f"--center-px {self.center_px:g} lies outside the detector "
                                  f"(0–{width - 1} px of {self.projections})")


def run_tomo_recon(config: TomoReconConfig, progress: Progress | None = None) -> JobResult:
    """Reconstruct one energy: flat/dark and −ln (Beer–Lambert, :func:`redoxmap.preprocess.optical_density`),
    rotation centre, optional jitter alignment and visual hull, reconstruction
    (:func:`redoxmap.tomo.reconstruct`), OME-Zarr volume in attenuation per voxel with its energy.

    Parameters
    ----------
    config : TomoReconConfig
        The settings.
    progress : callable, optional
        Called as ``progress(stage, done, total)`` as the job advances (the command line draws
        bars from it).

    Returns
    -------
    JobResult
        ``values`` hold ``volume`` (``(z, y, x)``, 1/voxel, ``energy_ev`` in its attributes when
        known) and ``center_px`` (the rotation axis used, px); ``written`` lists the volume and
        report.

    Raises
    ------
    ConfigError
        If ``center_px`` lies outside the detector.
    FormatError
        If the projection file cannot be read, or holds several energies.
    """
    from redoxmap.io.projections import projection_energies

    scan = projection_energies(config.projections)
    if scan:
        raise FormatError(f"{config.projections}: /exchange/data holds {scan} energies (energy, angle, y, "
                          "x); expected projections of one energy: a multi-energy scan is reconstructed by "
                          "run_tomo_series (TomoSeriesConfig), as tomo recon does with such a file")
    if config.out_of_core:
        return _tomo_recon_out_of_core(config, progress)
    from redoxmap.io.omezarr import read_ome_zarr, write_ome_zarr
    from redoxmap.io.projections import read_projections_dxchange
    from redoxmap.preprocess.flatfield import optical_density
    from redoxmap.tomo import align_projections, find_center, reconstruct
    from redoxmap.tomo.support import visual_hull

    step = _step(progress)
    proj = optical_density(read_projections_dxchange(config.projections, energy_ev=config.energy_ev))
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


def _tomo_recon_out_of_core(config: TomoReconConfig, progress: Progress | None) -> JobResult:
    """:func:`run_tomo_recon` out of core: the projections read in slabs of detector rows, the rotation
    axis found as in memory (:func:`redoxmap.pipeline.tomo_series._center`), every slab reconstructed
    in one task into a resumable store (:func:`redoxmap.pipeline.tomo_series._reconstruct_slabs`,
    one energy), the OME-Zarr written from it; ``values`` also hold ``blocks`` (slabs reconstructed
    and found stored)."""
    from redoxmap.io.omezarr import read_ome_zarr, write_ome_zarr
    from redoxmap.io.projections import projections_shape, read_projections_dxchange
    from redoxmap.pipeline.execution import execution
    from redoxmap.pipeline.outofcore import _OutOfCore
    from redoxmap.pipeline.tomo_series import _center, _reconstruct_slabs, _slab
    from redoxmap.preprocess.flatfield import optical_density

    step = _step(progress)
    with execution(config) as run:
        parts = _OutOfCore(config, "tomo-recon", run, progress)
        step("read", 0)
        _, height, width = projections_shape(config.projections)
        slab = config.slices_per_chunk or _slab(1, width, run.chunk_bytes(), height)
        proj = optical_density(read_projections_dxchange(config.projections, energy_ev=config.energy_ev,
                                                         chunks=(-1, slab, -1)))
        step("read")
        axis = _center(proj) if config.center_px is None else float(config.center_px)
        step("center")
        stored = _reconstruct_slabs(proj.expand_dims("energy"), [axis], slab, parts, config.method,
                                    config.iterations, config.tv_weight)
        volume = stored.isel(energy=0)
        volume.attrs = with_history(proj.attrs, "reconstruct", method=config.method, center_px=axis,
                                    slices_per_chunk=slab, tv_weight=config.tv_weight)
        volume.attrs.update(units="1/voxel", long_name="linear attenuation per voxel",
                            rotation_axis_px=axis, method=config.method)
        if "energy" in proj.coords:
            volume.attrs["energy_ev"] = float(proj["energy"])
        written = [write_ome_zarr(volume, config.output, config.voxel_size_nm, overwrite=config.overwrite)]
        shape, blocks = volume.shape, dict(parts.counts)
        summary = [("rotation axis (px)", f"{axis:.2f}"), ("volume (z, y, x)", str(shape)),
                   ("out of core", f"slabs of {slab} slices, scheduler {run.scheduler}"),
                   *parts.summary()[1:]]
        parts.finish()
    return JobResult(title=f"reconstruction ({config.method}, out of core)", summary=summary,
                     written=written, values={"volume": read_ome_zarr(config.output), "center_px": axis,
                                              "blocks": blocks})


class DualEnergyConfig(JobConfig, ExecutionSettings):
    """Settings of ``redoxmap tomo dual-energy``: an element's partial density from volumes
    reconstructed below and above its absorption edge (Wang et al. 2021, Methods), read and written
    chunk by chunk.

    Parameters
    ----------
    below, above : pathlib.Path
        Volumes (OME-Zarr, attenuation per voxel, from ``tomo recon``) below and above the edge
        (``BELOW``, ``ABOVE``), on the same grid. Or ``below`` alone: the ``(energy, z, y, x)``
        OME-Zarr of ``tomo recon`` over several energies, of which ``below_ev`` and ``above_ev``
        choose the nearest stored energies.
    element : str
        Element symbol of the edge, e.g. ``"Mn"``.
    below_ev, above_ev : float, optional
        Energies of the two volumes (eV); default: the ``energy_ev`` each volume stores
        (``tomo recon`` writes it). Given energies must agree with stored ones within 1 eV
        (:data:`ENERGY_AGREEMENT_EV`), and are used. With one ``(energy, z, y, x)`` store both are
        required: they choose the stored energies nearest them (within 1 eV), and those are used.
    formula : str, optional
        Nominal composition, e.g. ``"LiNi0.8Mn0.1Co0.1O2"``, to remove the other elements' change
        of attenuation across the edge (:func:`redoxmap.tomo.matrix_slope`); default: none.
    scheduler : str
        ``threads`` (default), ``processes``, ``synchronous`` or ``tcp://host:port``
        (:mod:`redoxmap.pipeline.execution`).
    memory_limit : str, optional
        Memory of the workers of ``processes`` (shared among them), e.g. ``"1GB"``; the chunks are
        the stored ones (docs/cluster.md).
    output : pathlib.Path
        The partial-density volume (``.zarr``); required.
    report : pathlib.Path, optional
        Folder for its slices and the settings.
    overwrite : bool
        Replace an existing volume or report.

    Raises
    ------
    ConfigError
        If ``element`` is not an element symbol, ``below_ev`` is not below ``above_ev``, the
        same volume is given twice, or one store is given without both energies.

    Examples
    --------
    The inputs are checked first, then the energies, then the element (xraydb loads slowly):

    >>> DualEnergyConfig(below="b.zarr", above="a.zarr", element="Xx", output="d.zarr")
    Traceback (most recent call last):
    ...
    redoxmap.errors.ConfigError: b.zarr: no such file (given as BELOW)
    """

    below: Path
    above: Path | None = None
    element: str
    below_ev: float | None = Field(None, gt=0)
    above_ev: float | None = Field(None, gt=0)
    formula: str | None = None

    INPUTS: ClassVar[tuple[str, ...]] = ("below", "above")
    ARGUMENTS: ClassVar[tuple[str, ...]] = ("below", "above")
    OUTPUT_SUFFIXES: ClassVar[tuple[str, ...]] = (".zarr",)
    OUTPUT_REQUIRED: ClassVar[bool] = True

    def check(self) -> None:
        """Check the inputs and outputs (:meth:`JobConfig.check`), the order of the energies, that
        two different volumes — or one multi-energy store and both energies — are given and that
        the element is known (after the outputs: xraydb takes a second or two to load).

        Raises
        ------
        ConfigError
            If ``below_ev`` is not below ``above_ev``, the same volume is given twice, one store
            is given without ``below_ev`` and ``above_ev``, or ``element`` is not an element symbol.
        """
        super().check()
        if self.below_ev is not None and self.above_ev is not None and self.below_ev >= self.above_ev:
            raise ConfigError(f"--below-ev {self.below_ev:g} is not below --above-ev {self.above_ev:g}; "
                              "expected the energies on either side of the edge, below first")
        if self.above is None and (self.below_ev is None or self.above_ev is None):
            raise ConfigError(f"{self.below} is given alone (no ABOVE) without --below-ev and --above-ev; "
                              "expected two volumes BELOW ABOVE, or the (energy, z, y, x) OME-Zarr of tomo "
                              "recon over several energies with --below-ev and --above-ev choosing two of "
                              "its energies")
        if self.above is not None and self.below.resolve() == self.above.resolve():
            raise ConfigError(f"{self.below} is given as both BELOW and ABOVE; expected two volumes")
        import xraydb

        try:
            xraydb.atomic_number(self.element)
        except Exception as exc:  # xraydb raises plain errors on unknown symbols
            raise ConfigError(f"--element {self.element!r}: not an element symbol; expected one such as Mn, "
                              "Ni or Co") from exc


#: Largest difference (eV) between an energy given on the command line and the one a volume stores.
ENERGY_AGREEMENT_EV = 1.0


def _volume_energy(volume: xr.DataArray, path: Path, given: float | None, flag: str, role: str,
                   other_given: float | None) -> float:
    """The energy of one dual-energy volume: the one given, checked against the stored
    ``energy_ev``, or the stored one."""
    stored = volume.attrs.get("energy_ev")
    if given is None:
        if stored is None:
            raise ConfigError(f"{path}: no energy_ev stored with the volume ({role}); expected {flag}")
        return float(stored)
    if stored is not None and abs(float(stored) - given) > ENERGY_AGREEMENT_EV:
        hint = (f"; {path} looks like the {'above' if role == 'BELOW' else 'below'}-edge volume: "
                "expected BELOW first, then ABOVE" if other_given is not None
                and abs(float(stored) - other_given) <= ENERGY_AGREEMENT_EV else "")
        raise ConfigError(f"{flag} {given:g} but {path} ({role}) was measured at {float(stored):g} eV "
                          f"(its energy_ev){hint}")
    return float(given)


def _store_volumes(path: Path, below_ev: float, above_ev: float,
                   keep: Callable[[xr.DataArray], xr.DataArray]) -> tuple[xr.DataArray, xr.DataArray]:
    """The volumes at the stored energies nearest ``below_ev`` and ``above_ev`` of one
    ``(energy, z, y, x)`` OME-Zarr, each with its stored energy as ``energy_ev``: the two energies
    copied in one pass over the store by ``keep`` (returning them lazily from a store of their own,
    so that the later passes read two energies, not all of them)."""
    import numpy as np

    from redoxmap.io.omezarr import read_ome_zarr

    stack = read_ome_zarr(path)
    if "energy" not in stack.dims:
        raise FormatError(f"{path}: one volume of one energy given alone; expected ABOVE as well, or the "
                          "(energy, z, y, x) OME-Zarr of tomo recon over several energies")
    energies = np.asarray(stack["energy"].values, float)
    listed = ", ".join(f"{e:g}" for e in energies)
    chosen = []
    for given, flag in ((below_ev, "--below-ev"), (above_ev, "--above-ev")):
        nearest = int(np.argmin(np.abs(energies - given)))
        if abs(energies[nearest] - given) > ENERGY_AGREEMENT_EV:
            raise ConfigError(f"{flag} {given:g}: {path} stores no energy within {ENERGY_AGREEMENT_EV:g} eV "
                              f"(its energies: {listed} eV); expected one of them")
        chosen.append(nearest)
    if chosen[0] == chosen[1]:
        raise ConfigError(f"--below-ev {below_ev:g} and --above-ev {above_ev:g} both choose {path} at "
                          f"{energies[chosen[0]]:g} eV; expected two stored energies on either side of the "
                          "edge")
    pair = keep(stack.isel(energy=chosen).rename("pair"))
    return tuple(pair.isel(energy=k).drop_vars("energy").assign_attrs({**stack.attrs,
                                                                       "energy_ev": float(energies[i])})
                 for k, i in enumerate(chosen))


def run_dual_energy(config: DualEnergyConfig, progress: Progress | None = None) -> JobResult:
    """Partial density of the element, ρ_X = (μ_above − μ_below − Δμ_matrix) / (voxel · Δ(μ/ρ)_X)
    in g/cm³ (Wang et al. 2021, Methods; :func:`redoxmap.tomo.element_density`), written as a
    volume whose attributes and history record the element, both energies, the formula and the
    input volumes.

    The volumes are read lazily and the density computed and written chunk by chunk (the stored
    chunks; with ``scheduler``); of a multi-energy store, the two energies are first copied chunk by
    chunk into ``.<output>.parts/pair.zarr`` (removed at the end). The checks and the summary
    reduce the volumes to a few numbers chunk by chunk: whether the two differ, Otsu's threshold
    of the above-edge volume from its histogram (:func:`redoxmap.preprocess.otsu_threshold`, the
    same as in memory), and the particle's voxels, negative voxels and density sum. No step holds a
    whole volume.

    Parameters
    ----------
    config : DualEnergyConfig
        The settings.
    progress : callable, optional
        Called as ``progress(stage, done, total)`` as the job advances.

    Returns
    -------
    JobResult
        ``values`` hold ``density`` (``(z, y, x)``, g/cm³, read back lazily from the output) and
        ``energies_ev`` (below, above); the summary lists the element, the energies, the formula and
        the mean density over the particle (voxels above Otsu's threshold of the above-edge volume).

    Raises
    ------
    ConfigError
        If an energy is neither given nor stored, disagrees with the stored one by more than
        :data:`ENERGY_AGREEMENT_EV` (or no stored energy of a multi-energy store lies that close),
        or the energies are not below then above.
    FormatError
        If the volumes differ in shape, hold the same values, or give a density that is negative
        over the particle (swapped volumes: more than half of its voxels below 0, i.e. a negative
        median).
    """
    import dask
    import dask.array as da

    from redoxmap.io.omezarr import read_ome_zarr, write_ome_zarr
    from redoxmap.pipeline.execution import execution
    from redoxmap.pipeline.outofcore import _OutOfCore
    from redoxmap.preprocess.mask import otsu_threshold
    from redoxmap.tomo.dual_energy import element_density

    step = _step(progress)
    with execution(config) as run:
        parts = _OutOfCore(config, "dual-energy", run, progress)
        if config.above is None:
            low, high = _store_volumes(config.below, config.below_ev, config.above_ev,
                                       lambda pair: parts.store("pair", "copy", pair))
            below_ev, above_ev = low.attrs["energy_ev"], high.attrs["energy_ev"]  # the volumes chosen
            names = (f"{config.below} at {below_ev:g} eV", f"{config.below} at {above_ev:g} eV")
        else:
            low, high = read_ome_zarr(config.below), read_ome_zarr(config.above)
            if low.shape != high.shape:
                raise FormatError(f"{config.below} has shape {low.shape} but {config.above} has "
                                  f"{high.shape}; expected volumes on the same grid")
            below_ev = _volume_energy(low, config.below, config.below_ev, "--below-ev", "BELOW",
                                      config.above_ev)
            above_ev = _volume_energy(high, config.above, config.above_ev, "--above-ev", "ABOVE",
                                      config.below_ev)
            names = (str(config.below), str(config.above))
        if below_ev >= above_ev:
            raise ConfigError(f"BELOW {names[0]} is at {below_ev:g} eV, not below ABOVE {names[1]} at "
                              f"{above_ev:g} eV; expected the below-edge volume first")
        step("read")
        voxel = low.attrs["voxel_size_nm"]
        density = element_density(below=low, above=high, element=config.element, below_ev=below_ev,
                                  above_ev=above_ev, voxel_size_nm=voxel, formula=config.formula)
        if bool(da.allclose(high.data, low.data).compute()):
            raise FormatError(f"{names[0]} and {names[1]} hold the same values; expected volumes "
                              "measured below and above the edge")
        level = otsu_threshold(high.data, "above-edge volume")
        values = density.data.astype(float)
        inside = da.isfinite(values) if level is None else high.data > level
        voxels, negative, total = dask.compute(inside.sum(), (inside & (values < 0)).sum(),
                                               da.where(inside, values, 0.0).sum())
        voxels, negative = int(voxels), int(negative)
        step("checks")
        if voxels and negative > voxels / 2:  # the median is negative (exact but for a tie at one half)
            raise FormatError(f"the {config.element} density is negative over the particle ({negative} of "
                              f"its {voxels} voxels below 0: a negative median): {names[0]} looks like the "
                              f"above-edge volume; expected BELOW ({below_ev:g} eV) first, then ABOVE")
        settings = {"element": config.element, "below_ev": below_ev, "above_ev": above_ev,
                    "formula": config.formula or "none", "below": str(config.below.resolve()),
                    "above": str((config.above or config.below).resolve())}
        # only what describes the density: not the above-edge volume's energy, centre or method
        density.attrs = {**with_history({"history": density.attrs.get("history", [])}, "dual_energy",
                                        **settings),
                         "units": "g/cm^3", "long_name": f"{config.element} partial density",
                         "voxel_size_nm": voxel, **settings}
        written = [write_ome_zarr(density, config.output, voxel, overwrite=config.overwrite)]
        parts.finish()
        step("write")
        density = read_ome_zarr(config.output)
        if config.report is not None:
            from redoxmap.report.volumes import write_volume_report

            written.append(write_volume_report(density, config.report,
                                               title=f"{config.element} partial density",
                                               settings={**config.settings(), **settings}))
    summary = [("element", config.element),
               ("energies (eV)", f"{below_ev:g} below, {above_ev:g} above the edge"),
               ("matrix correction (formula)", config.formula or "none"),
               (f"mean {config.element} density in the particle (g/cm³)",
                f"{float(total) / voxels:.4g}" if voxels else "n/a")]
    return JobResult(title=f"{config.element} density", summary=summary, written=written,
                     values={"density": density, "energies_ev": (below_ev, above_ev)})


class ClassifyConfig(JobConfig, ExecutionSettings):
    """Settings of ``redoxmap tomo classify``: voxels by a composition ratio against a target
    (± a relative tolerance, Liu et al. 2024, Fig. 2: ±5 %), with proportions per equal-volume shell,
    read and written chunk by chunk.

    Parameters
    ----------
    numerator, denominator : pathlib.Path
        Volumes (OME-Zarr) of the ratio numerator/denominator, e.g. Ni and Mn densities from
        ``tomo dual-energy`` (``NUMERATOR``, ``DENOMINATOR``), on the same grid.
    target : float
        Target ratio numerator/denominator, in the volumes' units (g/cm³ over g/cm³ for
        densities: a mass ratio).
    tolerance : float
        Relative deviation still counted as the target (0.05 = ±5 %).
    below_name, above_name : str, optional
        Names of the classes below and above the band, e.g. ``"Ni-poor"``; default: what they
        are, ``"more than 5 % below target"`` and ``"more than 5 % above target"``
        (:func:`redoxmap.segment.class_labels`).
    mask_threshold : float, optional
        The particle: voxels whose denominator exceeds this (the denominator's units); default:
        Otsu's threshold of the denominator.
    smooth_sigma_vox : float
        Gaussian averaging (voxels) of the ratio inside the particle before classifying.
    shells : int
        Equal-volume shells of the particle from the surface (1) to the centre.
    scheduler : str
        ``threads`` (default), ``processes``, ``synchronous`` or ``tcp://host:port``
        (:mod:`redoxmap.pipeline.execution`).
    memory_limit : str, optional
        Memory of the workers of ``processes`` (shared among them), e.g. ``"1GB"``; the chunks are
        the stored ones (docs/cluster.md).
    output : pathlib.Path
        The class volume (``.zarr``: 0 outside, 1 within the band, 2 below, 3 above); required.
    report : pathlib.Path, optional
        Folder for class slices, proportions and counts per shell, a rendering and the settings.
    overwrite : bool
        Replace an existing class volume or report.

    Examples
    --------
    >>> ClassifyConfig(numerator="ni.zarr", denominator="mn.zarr", target=0.24, tolerance=1.5,
    ...                output="c.zarr")
    Traceback (most recent call last):
    ...
    redoxmap.errors.ConfigError: --tolerance = 1.5: input should be less than 1
    """

    numerator: Path
    denominator: Path
    target: float = Field(gt=0)
    tolerance: float = Field(0.05, gt=0, lt=1)
    below_name: str | None = None
    above_name: str | None = None
    mask_threshold: float | None = None
    smooth_sigma_vox: float = Field(0.7, ge=0)
    shells: int = Field(5, ge=1)

    INPUTS: ClassVar[tuple[str, ...]] = ("numerator", "denominator")
    ARGUMENTS: ClassVar[tuple[str, ...]] = ("numerator", "denominator")
    OUTPUT_SUFFIXES: ClassVar[tuple[str, ...]] = (".zarr",)
    OUTPUT_REQUIRED: ClassVar[bool] = True


def run_classify(config: ClassifyConfig, progress: Progress | None = None) -> JobResult:
    """Classes of the particle's voxels by their ratio r = numerator / denominator: 1 where
    |r / target − 1| ≤ tolerance, 2 below, 3 above, 0 outside (Liu et al. 2024, Fig. 2;
    :func:`redoxmap.segment.classify_stoichiometry`), with the voxels and percent of each class
    overall and per equal-volume shell. Every class is reported, a class no voxel falls in as
    empty with 0 voxels.

    The volumes are read lazily; the particle threshold (Otsu's, from the denominator's histogram
    summed chunk by chunk: the same as in memory), the ratio and the classes (the Gaussian
    smoothing with a halo of its radius) are computed and written chunk by chunk, and the counts
    summed over the chunks of the written classes. The shells are the one whole-volume step: the
    particle's envelope and distance map (:func:`redoxmap.stats.equal_volume_shells`) are computed
    in this process from the particle mask (docs/cluster.md: about 30 bytes per voxel).

    Parameters
    ----------
    config : ClassifyConfig
        The settings.
    progress : callable, optional
        Called as ``progress(stage, done, total)`` as the job advances.

    Returns
    -------
    JobResult
        ``values`` hold ``classes`` (int volume read back lazily from the output; ``class_names``,
        ``class_bounds``, the inputs and settings in its attributes and history), ``ratio`` (lazy),
        ``table`` (percent per class, overall and per shell) and ``counts`` (voxels per class, the
        same layout); the summary gives each class's voxels and percent, then the percent per shell.

    Raises
    ------
    FormatError
        If the volumes differ in shape.
    MaskError
        If the particle mask selects no voxel.
    """
    import dask.array as da

    from redoxmap.io.omezarr import read_ome_zarr, write_ome_zarr
    from redoxmap.pipeline.execution import execution
    from redoxmap.preprocess.mask import otsu_threshold
    from redoxmap.report.volumes import class_names, counts_table, proportions_table
    from redoxmap.segment.classes import class_counts, class_proportions, classify_stoichiometry
    from redoxmap.segment.pores import particle_envelope
    from redoxmap.stats.shells import equal_volume_shells
    from redoxmap.tomo.dual_energy import ratio_volume

    step = _step(progress)
    with execution(config) as _:
        top, bottom = read_ome_zarr(config.numerator), read_ome_zarr(config.denominator)
        if top.shape != bottom.shape:
            raise FormatError(f"{config.numerator} has shape {top.shape} but {config.denominator} has "
                              f"{bottom.shape}; expected volumes on the same grid")
        top = top.chunk(dict(zip(bottom.dims, bottom.data.chunks, strict=True)))
        voxel = bottom.attrs["voxel_size_nm"]
        if config.mask_threshold is None:
            level = otsu_threshold(bottom.data, "denominator volume")
            level = float(da.nanmin(bottom.data).compute()) - 1.0 if level is None else level
        else:
            level = config.mask_threshold
        step("threshold")
        particle = bottom > level
        ratio = ratio_volume(top, bottom, particle)
        renamed = {k: v for k, v in ((2, config.below_name), (3, config.above_name)) if v}
        classes = classify_stoichiometry(ratio, config.target, particle, tolerance=config.tolerance,
                                         smooth_sigma_vox=config.smooth_sigma_vox, names=renamed)
        names = class_names(classes)
        overall = class_counts(classes)
        step("classes")
        settings = {"numerator": str(config.numerator.resolve()),
                    "denominator": str(config.denominator.resolve()), "target": config.target,
                    "tolerance": config.tolerance, "mask_threshold": float(level),
                    "smooth_sigma_vox": config.smooth_sigma_vox}
        classes.attrs = {**with_history({"history": list(bottom.attrs.get("history", []))}, "classify",
                                        **settings),
                         **classes.attrs, **settings, "voxel_size_nm": voxel,
                         "class_counts": [int(overall.sel({"class": k})) for k in names]}
        written = [write_ome_zarr(classes, config.output, voxel, overwrite=config.overwrite, labels=True)]
        step("write")
        classes = read_ome_zarr(config.output)
        # the one whole-volume step: shells of the envelope (voids are not surface), counted over the
        # solid's voxels, from the particle mask held as booleans
        solid = particle.compute().astype(bool)
        layers = equal_volume_shells(particle_envelope(solid), n=config.shells).where(solid, 0)
        counts = counts_table(overall, class_counts(classes, layers), names)
        table = proportions_table(class_proportions(classes), class_proportions(classes, layers), names)
        step("shells")
        if config.report is not None:
            from redoxmap.report.volumes import write_volume_report

            bounds = " | ".join(f"{b:.4g}" for b in classes.attrs["class_bounds"])
            written.append(write_volume_report(
                ratio.assign_attrs(units="ratio", voxel_size_nm=voxel), config.report,
                title=f"classes of {config.numerator.name} / {config.denominator.name}",
                classes=classes, shells=layers, solid=solid,
                settings={"target": config.target, "tolerance": config.tolerance,
                          "class bounds (ratio)": bounds, "particle threshold": f"{level:.4g}",
                          "smoothing σ (voxels)": config.smooth_sigma_vox}))
    total = max(int(overall.sum()), 1)
    voxels = {k: int(overall.sel({"class": k})) for k in names}
    summary = [(f"{name} (voxels)", f"{voxels[k]} ({100 * voxels[k] / total:.1f} %)" if voxels[k]
                else "0 (empty)") for k, name in names.items()]
    summary += [(f"{row[0]} (%)", ", ".join(f"{c} {v:.1f}" for c, v in zip(table.columns[1:], row[1:],
                                                                           strict=True)))
                for row in table.itertuples(index=False) if row[0] != "all"]
    low, high = classes.attrs["class_bounds"]
    return JobResult(title=f"classes by ratio, target {config.target:g} ± {100 * config.tolerance:g} % "
                     f"({low:.4g}–{high:.4g})", summary=summary, written=written,
                     values={"classes": classes, "ratio": ratio, "table": table, "counts": counts,
                             "shells": layers})


#: Bytes ``tomo pores`` holds per voxel of the volume at its peak: the attenuation, the solid, the
#: envelope and its fill, the void labels, distance maps for the shells and the local thickness
#: (tracemalloc peak of run_pores on cathode phantoms: 78 at 64³, 61 at 128³; rounded up).
PORES_BYTES_PER_VOXEL = 80


class PoresConfig(JobConfig, ExecutionSettings):
    """Settings of ``redoxmap tomo pores``: isolated pores and cracks of a particle, porosity per
    shell and the pore-size distribution (local thickness).

    The analysis holds the whole volume in this process: telling a pore (enclosed by the particle's
    envelope) from a crack (reaching its surface) is a question about connected components and the
    envelope of the entire particle, and the shells and local thickness are distance transforms of
    it; chunking them would change the answer at the chunk borders. The volume is read through
    dask with ``scheduler``; ``memory_limit`` is checked before it is read: a volume that needs more
    (:data:`PORES_BYTES_PER_VOXEL` per voxel) is refused, naming the memory it needs.

    Parameters
    ----------
    volume : pathlib.Path
        Attenuation volume (OME-Zarr, from ``tomo recon``; ``VOLUME``).
    mask_threshold : float, optional
        The solid: voxels whose attenuation (1/voxel) exceeds this; default: Otsu's threshold.
    shells : int
        Equal-volume shells of the particle, for porosity from the surface (1) to the centre.
    scheduler : str
        Where the volume is read: ``threads`` (default), ``processes``, ``synchronous`` or
        ``tcp://host:port`` (:mod:`redoxmap.pipeline.execution`); the analysis runs in this process.
    memory_limit : str, optional
        Memory the job may hold, e.g. ``"4GB"``: a larger volume is refused before it is read.
    output : pathlib.Path
        The void table (``.csv``, one row per pore or crack); required.
    report : pathlib.Path, optional
        Folder for the void figures, porosity per shell, pore sizes and a rendering.
    overwrite : bool
        Replace an existing table or report.

    Examples
    --------
    >>> PoresConfig(volume="v.zarr", shells=0, output="voids.csv")
    Traceback (most recent call last):
    ...
    redoxmap.errors.ConfigError: --shells = 0: input should be greater than or equal to 1
    """

    volume: Path
    mask_threshold: float | None = None
    shells: int = Field(5, ge=1)

    INPUTS: ClassVar[tuple[str, ...]] = ("volume",)
    ARGUMENTS: ClassVar[tuple[str, ...]] = ("volume",)
    OUTPUT_SUFFIXES: ClassVar[tuple[str, ...]] = (".csv",)
    OUTPUT_REQUIRED: ClassVar[bool] = True


def run_pores(config: PoresConfig, progress: Progress | None = None) -> JobResult:
    """The internal voids of a particle: the solid by a threshold of the attenuation, voids as the
    holes of its envelope, each an isolated pore or a crack (:func:`redoxmap.segment.analyze_pores`),
    porosity per equal-volume shell (:func:`redoxmap.stats.porosity`) and the pore-size
    distribution by local thickness (Hildebrand & Rüegsegger 1997;
    :func:`redoxmap.segment.pore_size_distribution`).

    Parameters
    ----------
    config : PoresConfig
        The settings.
    progress : callable, optional
        Called as ``progress(stage, done, total)`` as the job advances.

    Returns
    -------
    JobResult
        ``values`` hold ``table`` (one row per void), ``labels`` (void labels), ``porosity``
        (per shell, overall in its attributes) and ``sizes`` (None without voids).

    Raises
    ------
    ConfigError
        If the volume needs more memory than ``memory_limit`` (:class:`PoresConfig`).
    FormatError
        If the volume cannot be read.
    """
    import numpy as np

    from redoxmap.io.omezarr import read_ome_zarr
    from redoxmap.pipeline.execution import execution
    from redoxmap.preprocess.mask import otsu_threshold
    from redoxmap.report.files import save_table
    from redoxmap.segment.pores import analyze_pores, pore_size_distribution
    from redoxmap.stats.porosity import porosity

    lazy = read_ome_zarr(config.volume)
    needed, limit = lazy.size * PORES_BYTES_PER_VOXEL, config.memory_limit_bytes
    if limit is not None and needed > limit:
        from dask.utils import format_bytes

        raise ConfigError(f"--memory-limit {config.memory_limit}: {config.volume} {lazy.shape} needs about "
                          f"{format_bytes(needed)} ({PORES_BYTES_PER_VOXEL} bytes per voxel): pores and "
                          "cracks are found in the whole volume at once, not chunk by chunk; expected a "
                          "memory limit of at least that, or a cropped or binned volume")
    with execution(config):
        mu = lazy.compute()
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
    processes, out of core and resumable (:mod:`redoxmap.pipeline.outofcore`).

    Parameters
    ----------
    volumes : list of pathlib.Path
        One ``(energy, z, y, x)`` OME-Zarr (``tomo recon`` of several projection files), or volumes
        (OME-Zarr, attenuation per voxel) one per energy on one grid (``VOLUMES``); more energies
        than fitted parameters (references, plus one for ``sum1-scaled``'s background).
    references : list of pathlib.Path
        Reference spectra (energy, absorption), one file each (``--ref``).
    names : list of str, optional
        Name of each reference, in order (``--name``); default: the file stems.
    energy_ev : list of float, optional
        Energy of each volume (eV), in order; default: the ``energy_ev`` each volume stores.
    mode : {"nnls", "lsq", "sum1", "sum1-scaled"}
        The fit (:func:`redoxmap.fit.lincomb`); ``nnls`` for attenuation of varying amount, as
        ``xanes2d``.
    mask_threshold : float, optional
        Edge jump (1/voxel) above which a voxel is fitted; default: Otsu's threshold
        (:func:`redoxmap.preprocess.particle_mask`; with fewer than 8 energies the jump is the
        step from the lowest to the highest energy).
    scheduler : str
        Where the job computes: ``threads`` (default), ``processes``, ``synchronous`` or the
        ``tcp://host:port`` address of a running dask.distributed scheduler
        (:mod:`redoxmap.pipeline.execution`).
    memory_limit : str, optional
        Memory the job may hold at once (``"1GB"``, per worker on a cluster); with it, or with
        processes or a cluster, the fit runs chunk by chunk and a killed run resumes.
    output : pathlib.Path
        The maps (``.nc`` or ``.zarr``: fractions, errors, R per voxel); required.
    report : pathlib.Path, optional
        Folder for slices of the last component's fraction and the settings.
    overwrite : bool
        Replace existing maps or report.

    Raises
    ------
    ConfigError
        If ``energy_ev`` does not give one energy per volume, or there are too few volumes for the
        references.
    """

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
        """Check the inputs and outputs (:meth:`JobConfig.check`), one energy per volume and
        enough energies for the fit.

        Raises
        ------
        ConfigError
            If ``energy_ev`` does not give one energy per volume, or the volumes are not more
            than the fitted parameters.
        """
        super().check()
        if len(self.volumes) > 1:  # one volume is a multi-energy store: its energies are counted on reading
            self.check_energies(len(self.volumes))

    def check_energies(self, n_energies: int) -> None:
        """Check that ``energy_ev`` gives one energy per volume and that the ``n_energies`` volumes
        are more than the fitted parameters.

        Raises
        ------
        ConfigError
            If they are not.
        """
        if self.energy_ev and len(self.energy_ev) != n_energies:
            raise ConfigError(f"{len(self.energy_ev)} --energy-ev values for {n_energies} volumes; "
                              "expected one energy per volume, in order")
        fitted = len(self.references) + (self.mode == "sum1-scaled")
        if n_energies <= fitted:
            raise ConfigError(
                f"{n_energies} volumes (energies) for {len(self.references)} --ref spectra: the "
                f"{self.mode} fit has {fitted} parameters per voxel; expected at least {fitted + 1} "
                "energies across the edge. Two volumes below and above an edge give the element's "
                "density instead: redoxmap tomo dual-energy")


def run_tomo_xanes(config: TomoXanesConfig, progress: Progress | None = None) -> JobResult:
    """3D XANES: the volumes stacked by energy into one spectrum per voxel, the particle mask by the
    edge jump, and every masked voxel fitted as μ(E) = Σ_k w_k μ_k(E), fractions f_k = w_k / Σ_j w_j
    (Wang et al. 2021, Methods, Eqs. 2–3; :func:`redoxmap.fit.lincomb`).

    Parameters
    ----------
    config : TomoXanesConfig
        The settings.
    progress : callable, optional
        Called as ``progress(stage, done, total)`` as the job advances.

    Returns
    -------
    JobResult
        ``values`` hold ``maps`` (``fraction``, ``fraction_err``, ``r_factor``, ``mask`` … over
        ``(z, y, x)``; settings in its attributes and history) and ``stack`` (``(energy, z, y,
        x)``, the spectra fitted).

    Raises
    ------
    ConfigError
        If a volume has no stored energy and ``energy_ev`` is not given.
    FormatError
        If the volumes differ in shape.
    """
    import numpy as np

    from redoxmap.fit.lincomb import lincomb
    from redoxmap.io.writers import write_dataset
    from redoxmap.pipeline.execution import execution
    from redoxmap.pipeline.outofcore import _OutOfCore
    from redoxmap.pipeline.tomo_series import _energy_stack
    from redoxmap.preprocess.mask import particle_mask
    from redoxmap.spectra.references import load_references

    step = _step(progress)
    with execution(config) as run:
        chunked = _OutOfCore(config, "tomo-xanes", run, progress) if config.out_of_core else None
        stack = _energy_stack(config.volumes, config.energy_ev)
        config.check_energies(stack.sizes["energy"])
        energies = [float(e) for e in np.asarray(stack["energy"].values)]
        step("read")
        refs = load_references(config.references, energy=stack["energy"].values, names=config.names)
        if chunked is None:
            mask = particle_mask(stack, threshold_od=config.mask_threshold)
            step("mask")
            maps = lincomb(stack, refs, mode=config.mode, mask=mask).compute()
        else:  # one read of the stack: the edge jump, E0 and the fit in one pass, written chunk by chunk
            one_pass = chunked.fit_and_mask(stack, threshold_od=config.mask_threshold)
            maps = lincomb(stack, refs, mode=config.mode, store=one_pass.store, mask=one_pass)
            mask = one_pass.made
        step("fit")
        maps.attrs.update(mask_threshold=mask.attrs["threshold_od"], mask_edge_jump=mask.attrs["edge_jump"],
                          voxel_size_nm=stack.attrs["voxel_size_nm"])
        maps.attrs = with_history(maps.attrs, "tomo_xanes",
                                  volumes=[str(Path(v).resolve()) for v in config.volumes],
                                  energies_ev=energies,
                                  references=[str(Path(r).resolve()) for r in config.references],
                                  mode=config.mode, mask_threshold=mask.attrs["threshold_od"])
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
