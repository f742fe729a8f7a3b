"""Oxidation-state mapping (Csernica et al., Nat. Energy 6, 642 (2021); Liu et al., Nat.
Nanotechnol. (2024), Methods): read (I0 for scanning microscopes) → optical density → optional
drift alignment → valence map from standards of known valence → maps file and report."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from redoxmap.pipeline.execution import ExecutionSettings
from redoxmap.pipeline.jobs import JobConfig, JobResult, Progress

__all__ = ["ValenceConfig", "run_valence"]


class ValenceConfig(JobConfig, ExecutionSettings):
    """Settings of an oxidation-state mapping run; each is a ``redoxmap valence`` option.

    ``mode`` and ``normalize`` default to ``"auto"``: normalized spectra fitted with ``sum1``
    (Larch/Athena) for hard-X-ray scans, the optical density fitted with ``sum1-scaled`` for short
    soft-X-ray scans, as measured in :func:`redoxmap.fit.valence_map`.

    Parameters
    ----------
    stack : pathlib.Path
        The stack (``STACK``): ALS STXM ``.hdr``, NXstxm, HDF5, TIFF
        (:func:`redoxmap.preprocess.open_stack`).
    library : pathlib.Path
        Reference library (``.csv`` or ``.h5``) of standards with their valences
        (:func:`redoxmap.spectra.load_library`).
    mode : {"auto", "lsq", "nnls", "sum1", "sum1-scaled"}
        The fit (:func:`redoxmap.fit.lincomb`); ``auto`` as above.
    normalize : bool or "auto"
        Normalize stack and standards to a unit edge step (Athena/Larch); ``auto`` as above.
    standards : {"own", "shared"}
        Normalize each standard with its own parameters (Athena) or with the stack's.
    energies : pathlib.Path, optional
        Energy list file (eV or keV) of a TIFF stack.
    i0 : pathlib.Path, optional
        I0 spectrum file (energy, counts); default: the brightest pixels (an empty region).
    i0_fraction : float
        Share (0–1) of the brightest pixels taken as the I0 region.
    min_ev, max_ev : float, optional
        Fit window (eV); default: the edge's window of the library.
    align : bool
        Correct the drift between energies.
    max_shift_px : float
        Drift shifts larger than this (px) are rejected.
    pixel_size_nm : float, optional
        Pixel size (nm), if the file states none.
    chunks_px : int, optional
        Process out of core in strips of this many rows of the input images (px, ≥ 16), every
        energy in each; default with ``memory_limit``: sized from the limit.
    scheduler : str
        Where the job computes: ``threads`` (default), ``processes``, ``synchronous`` or the
        ``tcp://host:port`` address of a running dask.distributed scheduler
        (:mod:`redoxmap.pipeline.execution`).
    memory_limit : str, optional
        Memory the job may hold at once (``"1GB"``, per worker on a cluster); with it, with
        processes or a cluster, or with ``chunks_px`` the job runs out of core, chunk by chunk, and
        a killed run resumes where it stopped (:mod:`redoxmap.pipeline.outofcore`).
    output : pathlib.Path, optional
        The maps file (``.nc`` or ``.zarr``).
    report : pathlib.Path, optional
        Folder for the HTML report of the maps.
    overwrite : bool
        Replace an existing maps file or report.
    """

    stack: Path
    library: Path
    mode: Literal["auto", "lsq", "nnls", "sum1", "sum1-scaled"] = "auto"
    normalize: bool | Literal["auto"] = "auto"
    standards: Literal["own", "shared"] = "own"
    energies: Path | None = None
    i0: Path | None = None
    i0_fraction: float = Field(0.05, gt=0, lt=1)
    min_ev: float | None = None
    max_ev: float | None = None
    align: bool = True
    max_shift_px: float = Field(10.0, gt=0)
    pixel_size_nm: float | None = Field(None, gt=0)
    chunks_px: int | None = Field(None, ge=16)

    INPUTS: ClassVar[tuple[str, ...]] = ("stack", "library", "energies", "i0")
    ARGUMENTS: ClassVar[tuple[str, ...]] = ("stack",)
    OUTPUT_SUFFIXES: ClassVar[tuple[str, ...]] = (".nc", ".zarr")


#: Settings that change the fit but not the prepared stack (left out of the stack store's key).
_FIT_SETTINGS = ("library", "mode", "normalize", "standards", "min_ev", "max_ev")


def run_valence(config: ValenceConfig, progress: Progress | None = None) -> JobResult:
    """Run the valence job: read → optical density → drift alignment → fractions of standards of
    known valence in every pixel and the effective valence v = Σ_k f_k v_k with its 1σ error from
    the fractions' covariance (Csernica et al. 2021, Methods; :func:`redoxmap.fit.valence_map`).
    In memory, or with ``chunks_px``, ``memory_limit`` or a scheduler of processes out of core and
    resumable (:mod:`redoxmap.pipeline.outofcore`).

    Parameters
    ----------
    config : ValenceConfig
        The settings.
    progress : callable, optional
        Called as ``progress(stage, done, total)`` as the job advances (the command line draws
        bars from it).

    Returns
    -------
    JobResult
        ``values`` hold ``maps`` (``valence``, ``valence_err``, ``fraction`` …), ``stack``
        (optical density; None after an out-of-core run with an output, whose stores are removed),
        ``library`` and ``blocks`` (chunks computed and reused, out of core); ``written`` lists
        the maps file and report.

    Raises
    ------
    FormatError
        If the stack or the library cannot be read.
    EnergyError
        If the standards do not cover the stack's energies.
    """
    # imported here so that a configuration is checked before the stages load (pipeline.xanes2d)
    from redoxmap.fit.valence import valence_inputs, valence_map
    from redoxmap.io.writers import write_dataset
    from redoxmap.pipeline.execution import execution
    from redoxmap.pipeline.outofcore import _OutOfCore
    from redoxmap.preprocess.align import align_stack
    from redoxmap.preprocess.stacks import open_stack
    from redoxmap.spectra.library import load_library

    def report(stage: str, done: int = 1, total: int = 1) -> None:
        if progress is not None:
            progress(stage, done, total)

    lazy = config.chunks_px is not None or config.out_of_core
    with execution(config) as run:
        chunked = _OutOfCore(config, "valence", run, progress) if lazy else None

        def prepare(chunks=None):
            report("read", 0)
            stack = open_stack(config.stack, energies=config.energies, i0_spectrum=config.i0,
                               i0_fraction=config.i0_fraction,
                               chunks=chunks)
            if config.pixel_size_nm is not None:
                stack.attrs["pixel_size_nm"] = float(config.pixel_size_nm)
            report("read")
            return stack

        align = {"max_shift_px": config.max_shift_px} if config.align else None
        if chunked is not None:
            stack = chunked.stack(prepare, align, leave_out=_FIT_SETTINGS)
        else:
            stack = prepare()
            if align is not None:
                stack = align_stack(stack, **align, progress=lambda done, total: report("align", done, total))
        library = load_library(config.library)
        window = None if config.min_ev is None or config.max_ev is None else (config.min_ev, config.max_ev)
        report("fit", 0)
        maps = valence_map(stack, library, mode=config.mode, window_ev=window, normalize=config.normalize,
                           standards=config.standards,
                           store=None if chunked is None else chunked.fit_store())
        maps = maps.compute() if chunked is None else maps  # out of core: written chunk by chunk
        report("fit")
        maps.attrs["job"] = config.record("valence")  # to fit one pixel again (pipeline.refit)
        if config.align:  # the drift correction of every energy read (normalization uses them all)
            shifts = {name: stack[name].reset_coords(drop=True).assign_attrs(maps[name].attrs)
                      for name in ("shift_y", "shift_x")}
            maps = maps.drop_dims("energy").assign(shifts)
        written = []
        if config.output is not None:
            written.append(write_dataset(maps, config.output, overwrite=config.overwrite))
            if chunked is not None:
                maps = chunked.reopen(config.output)
        if config.report is not None:
            from redoxmap.report import write_report

            fitted, refs, _ = valence_inputs(stack, library, window, bool(maps.attrs["normalized"]),
                                             config.standards)
            written.append(write_report(maps, config.report, stack=fitted, refs=refs,
                                        settings=config.settings(), maps_file=config.output))
    summary = _valence_summary(maps)
    if chunked is not None:
        summary += chunked.summary()
        chunked.finish()
        if chunked.keep:
            stack = None
    return JobResult(title=f"valence ({maps.attrs['fit_mode']}) over {int(maps['mask'].sum())} valid pixels",
                     summary=summary, written=written,
                     values={"maps": maps, "stack": stack, "library": library,
                             "blocks": {} if chunked is None else dict(chunked.counts)})


def _valence_summary(maps) -> list[tuple[str, str]]:
    """Rows for people: mean valence of the valid pixels, median 1σ, mean R, rejected pixels."""
    mask = maps["mask"]
    rows = [("mean valence of valid pixels", f"{float(maps.valence.where(mask).mean()):.3f}"),
            ("median 1σ error", f"{float(maps.valence_err.where(mask).compute().median()):.3f}"),
            ("mean R", f"{float(maps.r_factor.where(mask).mean()):.2e}")]
    rows += [(f"rejected: {key.removeprefix('pixels_rejected_').replace('_', ' ')}", str(value))
             for key, value in maps.attrs.items() if key.startswith("pixels_rejected_") and value]
    return rows
