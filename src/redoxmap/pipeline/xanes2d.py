"""2D XANES phase mapping (Wang et al., Nat. Commun. 12, 5370 (2021), Methods): read → optical
density → energy window and binning → drift alignment → particle mask → linear-combination fit
→ maps file and report."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from redoxmap.errors import EnergyError
from redoxmap.pipeline.execution import ExecutionSettings
from redoxmap.pipeline.jobs import JobConfig, JobResult, Progress

__all__ = ["Xanes2DConfig", "run_xanes2d"]


class Xanes2DConfig(JobConfig, ExecutionSettings):
    """Settings of a 2D TXM-XANES phase-mapping run; each is a ``redoxmap xanes2d`` option.

    ``mode="nnls"`` by default: the stack is optical density, whose thickness varies from pixel to
    pixel, so the weights are free in size and only kept non-negative (Wang et al. 2021); use
    ``sum1-scaled`` to fit a constant background too, ``sum1`` only for normalized spectra.

    Parameters
    ----------
    stack : pathlib.Path
        The stack (``STACK``): dxchange/FXI/generic HDF5, TIFF, Xradia, ALS STXM or NXstxm
        (:func:`redoxmap.preprocess.open_stack`).
    references : list of pathlib.Path
        Reference spectra (energy in eV or keV, absorption), one file each (``--ref``).
    names : list of str, optional
        Name of each reference, in order (``--name``); default: the file stems.
    mode : {"nnls", "lsq", "sum1", "sum1-scaled"}
        The fit (:func:`redoxmap.fit.lincomb`).
    energies : pathlib.Path, optional
        Energy list file (eV or keV) of a TIFF stack.
    flats, darks : str, optional
        Flat and dark images: TIFF paths, or dataset names in generic HDF5.
    data_dataset, energy_dataset : str, optional
        Generic HDF5: the datasets of the images and of the energies.
    i0 : pathlib.Path, optional
        I0 spectrum file (energy, counts) of a scanning microscope.
    i0_fraction : float
        Without flats or ``i0``: share (0–1) of the brightest pixels taken as the I0 region.
    min_ev, max_ev : float, optional
        Energy window (eV) kept for the fit.
    bin_px : int
        Average ``bin_px`` × ``bin_px`` pixels (px).
    align : bool
        Correct the drift between energies (:func:`redoxmap.preprocess.align_stack`).
    align_energy_ev : float, optional
        Alignment reference energy (eV); default: the white line.
    max_shift_px : float
        Drift shifts larger than this (px) are rejected.
    mask_threshold : float, optional
        Edge-jump threshold (OD) of the particle mask; default: Otsu.
    pixel_size_nm : float, optional
        Pixel size (nm) for scale bars and statistics, if the file states none.
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

    Examples
    --------
    >>> Xanes2DConfig(stack="missing.h5", references=["a.csv", "b.csv"])
    Traceback (most recent call last):
    ...
    redoxmap.errors.ConfigError: missing.h5: no such file (given as STACK)
    """

    stack: Path
    references: list[Path] = Field(min_length=1)
    names: list[str] | None = None
    mode: Literal["lsq", "nnls", "sum1", "sum1-scaled"] = "nnls"
    energies: Path | None = None
    flats: str | None = None
    darks: str | None = None
    data_dataset: str | None = None
    energy_dataset: str | None = None
    i0: Path | None = None
    i0_fraction: float = Field(0.05, gt=0, lt=1)
    min_ev: float | None = None
    max_ev: float | None = None
    bin_px: int = Field(1, ge=1)
    align: bool = True
    align_energy_ev: float | None = None
    max_shift_px: float = Field(10.0, gt=0)
    mask_threshold: float | None = None
    pixel_size_nm: float | None = Field(None, gt=0)
    chunks_px: int | None = Field(None, ge=16)

    INPUTS: ClassVar[tuple[str, ...]] = ("stack", "references", "energies", "i0")
    ARGUMENTS: ClassVar[tuple[str, ...]] = ("stack",)
    OUTPUT_SUFFIXES: ClassVar[tuple[str, ...]] = (".nc", ".zarr")


#: Settings that change the fit but not the prepared stack (left out of the stack store's key).
_FIT_SETTINGS = ("references", "names", "mode", "mask_threshold")


def run_xanes2d(config: Xanes2DConfig, progress: Progress | None = None) -> JobResult:
    """Run the 2D XANES job: read → optical density → energy window and binning → drift alignment
    → particle mask → linear-combination fit of every pixel, OD(E) = Σ_k w_k μ_k(E), fractions
    f_k = w_k / Σ_j w_j (Wang et al. 2021, Methods, Eqs. 2–3) → maps file and report.
    In memory, or with ``chunks_px``, ``memory_limit`` or a scheduler of processes out of core and
    resumable (:mod:`redoxmap.pipeline.outofcore`).

    Parameters
    ----------
    config : Xanes2DConfig
        The settings.
    progress : callable, optional
        Called as ``progress(stage, done, total)`` as the job advances (the command line draws
        bars from it).

    Returns
    -------
    JobResult
        ``values`` hold ``maps`` (the fitted Dataset: ``fraction``, ``fraction_err``,
        ``r_factor``, ``mask`` …), ``stack`` (the optical density that was fitted;
        None after an out-of-core run with an output, whose stores are removed), ``refs`` and
        ``blocks`` (chunks computed and reused, out of core); ``written`` lists the maps file and
        report.

    Raises
    ------
    EnergyError
        If the stack holds fewer than 8 energies, or the references do not cover them.
    ConfigError
        If ``scheduler`` names no reachable dask.distributed scheduler.
    FormatError
        If the stack or a reference cannot be read.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from redoxmap.io import write_dxchange
    >>> from redoxmap.simulate import demo_dataset
    >>> folder = Path(tempfile.mkdtemp())
    >>> sim = demo_dataset(shape=(24, 24))
    >>> write_dxchange(sim.raw, folder / "scan.h5")
    >>> refs = []
    >>> for name in sim.refs.component.values:
    ...     refs.append(folder / f"{name}.csv")
    ...     np.savetxt(refs[-1], np.column_stack([sim.refs.energy, sim.refs.sel(component=name)]),
    ...                delimiter=",")
    >>> result = run_xanes2d(Xanes2DConfig(stack=folder / "scan.h5", references=refs, align=False))
    >>> result.maps.component.values.tolist()
    ['pristine', 'cycled']
    >>> inside = sim.truth.edge_jump.values > 0.3  # recovered versus true Mn3+ fraction
    >>> error = result.maps.fraction.sel(component="cycled").values - sim.truth.fraction.values
    >>> bool(np.sqrt(np.mean(error[inside] ** 2)) < 0.05)
    True
    """
    # the stages are imported here, not with the module: a configuration is checked (and a mistake
    # reported) in a fraction of a second, before xarray, dask and scipy are loaded
    from redoxmap.fit.lincomb import lincomb
    from redoxmap.io.writers import write_dataset
    from redoxmap.pipeline.execution import execution
    from redoxmap.pipeline.outofcore import _OutOfCore
    from redoxmap.preprocess.align import align_stack
    from redoxmap.preprocess.mask import particle_mask
    from redoxmap.preprocess.resample import bin_pixels, energy_window
    from redoxmap.preprocess.stacks import open_stack
    from redoxmap.spectra.references import load_references

    def report(stage: str, done: int = 1, total: int = 1) -> None:
        if progress is not None:
            progress(stage, done, total)

    lazy = config.chunks_px is not None or config.out_of_core
    with execution(config) as run:
        chunked = _OutOfCore(config, "xanes2d", run, progress) if lazy else None

        def prepare(chunks=None):
            report("read", 0)
            stack = open_stack(config.stack, energies=config.energies, flats=config.flats,
                               darks=config.darks, data=config.data_dataset, energy=config.energy_dataset,
                               chunks=chunks, i0_spectrum=config.i0, i0_fraction=config.i0_fraction)
            if stack.sizes["energy"] < 8:
                n_energy = stack.sizes["energy"]
                raise EnergyError(f"{config.stack} holds {n_energy} energ{'y' if n_energy == 1 else 'ies'}; "
                                  "expected a spectral stack (at least 8 energies across the edge) for XANES "
                                  "mapping")
            if config.pixel_size_nm is not None:
                stack.attrs["pixel_size_nm"] = float(config.pixel_size_nm)
            report("read")
            if config.min_ev is not None or config.max_ev is not None:
                stack = energy_window(stack, config.min_ev, config.max_ev)
            return bin_pixels(stack, config.bin_px)

        align = {"ref_energy_ev": config.align_energy_ev, "max_shift_px": config.max_shift_px} \
            if config.align else None
        if chunked is not None:
            stack = chunked.stack(prepare, align, leave_out=_FIT_SETTINGS)
        else:
            stack = prepare()
            if align is not None:
                stack = align_stack(stack, **align, progress=lambda done, total: report("align", done, total))
        mask = particle_mask(stack, threshold_od=config.mask_threshold)
        refs = load_references(config.references, energy=stack["energy"].values, names=config.names)
        report("fit", 0)
        maps = lincomb(stack, refs, mode=config.mode, mask=mask,
                       store=None if chunked is None else chunked.fit_store())
        maps = maps.compute() if chunked is None else maps  # out of core: written chunk by chunk
        report("fit")
        maps.attrs["mask_threshold"] = mask.attrs["threshold_od"]
        maps.attrs["e0_ev"] = mask.attrs["e0_ev"]
        maps.attrs["job"] = config.record("xanes2d")  # to fit one pixel again (pipeline.refit)
        written = []
        if config.output is not None:
            written.append(write_dataset(maps, config.output, overwrite=config.overwrite))
            if chunked is not None:
                maps = chunked.reopen(config.output)
        if config.report is not None:
            from redoxmap.report import write_report

            written.append(write_report(maps, config.report, stack=stack, refs=refs,
                                        settings=config.settings(), maps_file=config.output))
    summary = fraction_summary(maps)
    if chunked is not None:
        summary += chunked.summary()
        chunked.finish()
        if chunked.keep:
            stack = None
    return JobResult(title=f"fit ({maps.attrs['fit_mode']}) over {int(maps['mask'].sum())} masked pixels",
                     summary=summary, written=written,
                     values={"maps": maps, "stack": stack, "refs": refs,
                             "blocks": {} if chunked is None else dict(chunked.counts)})


def fraction_summary(maps) -> list[tuple[str, str]]:
    """Rows for people of a maps Dataset: mean fraction and median 1σ error per component over the
    mask, mean R, and the pixels whose fit failed (the summary the ``xanes2d`` job prints).

    Parameters
    ----------
    maps : xarray.Dataset
        Maps of :func:`redoxmap.fit.lincomb` (``mean_fraction``, ``fraction_err``, ``r_factor``,
        ``mask``).

    Returns
    -------
    list of (str, str)
        (label, value) rows; fractions are dimensionless.
    """
    mask = maps["mask"]
    rows = [(f"{comp}: mean fraction ± median 1σ",
             f"{float(maps.mean_fraction.sel(component=comp)):.4f} ± "
             f"{float(maps.fraction_err.sel(component=comp).where(mask).compute().median()):.4f}")
            for comp in maps.component.values]
    rows.append(("mean R over the mask", f"{float(maps.r_factor.where(mask).mean()):.2e}"))
    rows += [(f"rejected: {key.removeprefix('pixels_rejected_').replace('_', ' ')}", str(value))
             for key, value in maps.attrs.items() if key.startswith("pixels_rejected_") and value]
    return rows
