"""Multi-energy spectro-tomography out of core (Liu et al., Nat. Nanotechnol. (2024), Methods): the
projections of every energy of a scan reconstructed slab by slab into one ``(energy, z, y, x)``
OME-Zarr, and the 4D stack that ``tomo xanes`` fits voxel by voxel from it.

The projections come as one dxchange file per energy, or one file of every energy whose
``/exchange/data`` is ``(energy, angle, y, x)`` (:func:`redoxmap.io.read_projection_series_dxchange`).
The reconstruction reads them in slabs of detector rows (a dxchange file stored without compression
is read through a memory map: only those rows), reconstructs the slab's slices of every energy and
stores them as one chunk ``energy × slab × y × x`` in ``.<output>.parts/volumes.zarr``, marked
complete slab by slab (:class:`redoxmap.io.ChunkStore`): a run that is killed and started again
reconstructs only the missing slabs. The OME-Zarr is then written from that store under a temporary
name and renamed (:func:`redoxmap.io.write_ome_zarr`): chunked over space, every energy in each
chunk, so the per-voxel stages read whole spectra. ``tomo recon`` of one energy out of core
(:func:`redoxmap.pipeline.run_tomo_recon` with a memory limit or a cluster) is the same machinery
with one energy (:func:`_reconstruct_slabs`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from redoxmap.errors import ConfigError, FormatError
from redoxmap.pipeline.execution import ExecutionSettings
from redoxmap.pipeline.jobs import JobConfig, JobResult, Progress

if TYPE_CHECKING:
    import numpy as np
    import xarray as xr

# The stages are imported inside the functions: a configuration is checked first (pipeline.xanes2d).

__all__ = ["TomoSeriesConfig", "run_tomo_series"]

class TomoSeriesConfig(JobConfig, ExecutionSettings):
    """Settings of ``redoxmap tomo recon`` given the projection files of several energies: every
    energy reconstructed into one ``(energy, z, y, x)`` OME-Zarr, out of core and resumable.

    Parameters
    ----------
    projections : list of pathlib.Path
        One dxchange projection file per energy (``PROJECTIONS``), the same angles and detector; or
        one file (or several) holding every energy, ``/exchange/data`` ``(energy, angle, y, x)``
        (:func:`redoxmap.io.read_projection_series_dxchange`).
    voxel_size_nm : float
        Voxel size (nm).
    method : {"gridrec", "fbp", "sirt", "cgls", "sirt-tv", "tv"}
        Reconstruction of every slice (:func:`redoxmap.tomo.reconstruct`).
    center_px : float, optional
        Rotation axis on the detector (px), the same for every energy; default found for each energy
        as ``tomo recon`` of that energy alone finds it (:func:`redoxmap.tomo.find_center`), reading
        only two opposing projections, or the projections' column sums (:func:`_center`).
    iterations : int
        Iterations of the iterative methods.
    energy_ev : list of float, optional
        The energy of each file (of each energy of a multi-energy file) in eV, in order, when the
        files do not state it.
    slices_per_chunk : int, optional
        Slices per slab (the unit of work, storage and resumption); default sized from
        ``memory_limit`` (:func:`redoxmap.pipeline.execution.chunk_bytes`).
    scheduler : str
        ``threads``, ``processes``, ``synchronous`` or ``tcp://host:port``
        (:mod:`redoxmap.pipeline.execution`).
    memory_limit : str, optional
        Memory the job may hold at once (per worker on a cluster), e.g. ``"1GB"``.
    output : pathlib.Path
        The OME-Zarr to write (``.zarr``).
    report : pathlib.Path, optional
        Not used (a report of one volume: ``tomo recon`` of one file).
    overwrite : bool
        Replace an existing output.

    Examples
    --------
    >>> TomoSeriesConfig(projections=["a.h5", "b.h5"], voxel_size_nm=50.0, output="v.zarr")
    Traceback (most recent call last):
    ...
    redoxmap.errors.ConfigError: a.h5: no such file (given as PROJECTIONS)
    """

    projections: list[Path] = Field(min_length=1)
    voxel_size_nm: float = Field(gt=0)
    method: Literal["gridrec", "fbp", "sirt", "cgls", "sirt-tv", "tv"] = "gridrec"
    center_px: float | None = None
    iterations: int = Field(200, ge=1)
    energy_ev: list[float] | None = None
    slices_per_chunk: int | None = Field(None, ge=1)

    INPUTS: ClassVar[tuple[str, ...]] = ("projections",)
    ARGUMENTS: ClassVar[tuple[str, ...]] = ("projections",)
    OUTPUT_SUFFIXES: ClassVar[tuple[str, ...]] = (".zarr",)
    OUTPUT_REQUIRED: ClassVar[bool] = True

    def check(self) -> None:
        """Inputs and outputs (:meth:`JobConfig.check`), then, from the files' headers, that they hold
        several energies and ``energy_ev`` one value for each.

        Raises
        ------
        ConfigError
            If one file of one energy is given, or ``energy_ev`` does not give one energy per energy
            of the files.
        """
        super().check()
        from redoxmap.io.projections import projection_energies  # after the outputs: loads h5py

        counts = [None if p.suffix.lower() == ".txrm" else projection_energies(p) for p in self.projections]
        total = sum(n or 1 for n in counts)
        if total < 2:
            raise ConfigError(f"{self.projections[0]}: projections of one energy; expected one file per "
                              "energy, or one file whose /exchange/data is (energy, angle, y, x) (one "
                              "energy: TomoReconConfig)")
        if self.energy_ev and len(self.energy_ev) != total:
            per_file = zip(self.projections, counts, strict=True)
            within = "" if all(n is None for n in counts) else \
                f" ({', '.join(f'{p.name}: {n or 1}' for p, n in per_file)})"
            raise ConfigError(f"{len(self.energy_ev)} --energy-ev values for {total} energies in "
                              f"{len(self.projections)} projection file(s){within}; expected one energy per "
                              "energy, in order")


def _slab(n_energy: int, width: int, budget_bytes: int, height: int) -> int:
    """Slices per slab: the slab of every energy, ``n_energy × slices × width²`` float32, within the
    chunk budget (at least one slice, at most all)."""
    return int(min(max(budget_bytes // (n_energy * width * width * 4), 1), height))


def run_tomo_series(config: TomoSeriesConfig, progress: Progress | None = None) -> JobResult:
    """Reconstruct the projections of every energy slab by slab into one ``(energy, z, y, x)``
    OME-Zarr (module doc): flat/dark and −ln per energy, its rotation axis, the slices of each slab
    at every energy (:func:`redoxmap.tomo.reconstruct`), stored slab by slab and resumable.

    Parameters
    ----------
    config : TomoSeriesConfig
        The settings.
    progress : callable, optional
        Called as ``progress(stage, done, total)``: ``read``, ``center`` (energies), ``recon`` (slabs).

    Returns
    -------
    JobResult
        ``values`` hold ``volumes`` (the written OME-Zarr read back lazily), ``center_px`` (one per
        energy) and ``blocks`` (slabs reconstructed and found stored); ``written`` the OME-Zarr.

    Raises
    ------
    FormatError
        If a file cannot be read, states no energy, or the files differ in angles or detector.
    """
    from redoxmap.io.omezarr import read_ome_zarr, write_ome_zarr
    from redoxmap.io.projections import projection_energies, projections_shape
    from redoxmap.pipeline.execution import execution
    from redoxmap.pipeline.outofcore import _OutOfCore
    from redoxmap.preprocess.stacks import open_projections

    def report(stage: str, done: int = 1, total: int = 1) -> None:
        if progress is not None:
            progress(stage, done, total)

    with execution(config) as run:
        parts = _OutOfCore(config, "tomo-series", run, progress)
        report("read", 0)
        _, height, width = projections_shape(config.projections[0])
        n_energy = sum(1 if p.suffix.lower() == ".txrm" else projection_energies(p) or 1
                       for p in config.projections)
        slab = config.slices_per_chunk or _slab(n_energy, width, run.chunk_bytes(), height)
        proj = open_projections(config.projections, config.energy_ev, chunks=(-1, slab, -1))
        report("read")
        centers = []
        for i in range(n_energy):
            centers.append(float(config.center_px) if config.center_px is not None
                           else _center(proj.isel(energy=i)))
            report("center", i + 1, n_energy)
        stored = _reconstruct_slabs(proj, centers, slab, parts, config.method, config.iterations)
        stored.attrs = {"units": "1/voxel", "method": config.method, "rotation_axis_px": centers}
        written = [write_ome_zarr(stored, config.output, config.voxel_size_nm, overwrite=config.overwrite)]
    span = f"{float(stored.energy.min()):g}–{float(stored.energy.max()):g} eV"
    summary = [("energies", f"{n_energy} ({span})"),
               ("volume (energy, z, y, x)", str(stored.shape)),
               ("rotation axis (px)", f"{min(centers):.2f}–{max(centers):.2f}")]
    summary += [("slab (slices)", str(slab))] + parts.summary()[1:]
    counts = dict(parts.counts)
    parts.finish()
    return JobResult(title=f"reconstruction of {n_energy} energies ({config.method})", summary=summary,
                     written=written, values={"volumes": read_ome_zarr(config.output), "center_px": centers,
                                              "blocks": counts})


def _center(projections: xr.DataArray) -> float:
    """The rotation axis of one energy's projections ``(angle, y, x)`` as
    :func:`redoxmap.tomo.find_center` finds it from all of them in memory, reading only what it
    uses: the two opposing projections when the scan has them, else the projections summed over
    their rows, ``(angle, x)`` (the centre-of-mass sinusoid), computed chunk by chunk."""
    import numpy as np

    from redoxmap.tomo import find_center
    from redoxmap.tomo.center import _opposing_pair

    pair = _opposing_pair(np.asarray(projections["angle"].values, float))
    if pair is not None:
        return find_center(projections.isel(angle=list(pair)).compute())
    columns = projections.astype(np.float64).clip(min=0).sum("y").expand_dims(y=1)
    return find_center(columns.transpose("angle", "y", "x").compute())


def _reconstruct_slabs(projections: xr.DataArray, centers: list[float], slab: int, parts,
                       method: str, iterations: int, tv_weight: float | None = None) -> xr.DataArray:
    """Volumes ``(energy, z, y, x)`` of projections ``(energy, angle, y, x)`` (dask, read lazily),
    reconstructed slab by slab (``slab`` slices of every energy per task, each energy about its own
    axis in ``centers``) into the resumable store ``volumes.zarr`` of ``parts``
    (:class:`redoxmap.pipeline.outofcore._OutOfCore`); the stored array, read back lazily."""
    import dask.array as da
    import numpy as np
    import xarray as xr

    width = projections.sizes["x"]
    data = da.asarray(projections.transpose("energy", "angle", "y", "x").data)
    data = data.rechunk({0: -1, 1: -1, 2: slab, 3: -1})
    volumes = data.map_blocks(  # one task per slab: every energy's slices, reconstructed and stacked
        _reconstruct_slab, angles=np.asarray(projections["angle"].values, float), centers=centers,
        method=method, iterations=iterations, tv_weight=tv_weight, drop_axis=1, new_axis=3,
        chunks=(data.chunks[0], data.chunks[2], (width,), (width,)), dtype=np.float32,
        meta=np.empty((0, 0, 0, 0), np.float32))
    coords = {"energy": projections["energy"].values} if "energy" in projections.coords else {}
    stacked = xr.DataArray(volumes, dims=("energy", "z", "y", "x"), coords=coords, name="volumes")
    return parts.store("volumes", "recon", stacked)


def _reconstruct_slab(block: np.ndarray, angles: np.ndarray, centers: list[float], method: str,
                      iterations: int, tv_weight: float | None = None) -> np.ndarray:
    """The slices of one slab at every energy: projections ``(energy, angle, rows, x)`` → volumes
    ``(energy, rows, x, x)``, each energy about its own rotation axis (:func:`redoxmap.tomo.reconstruct`)."""
    import numpy as np
    import xarray as xr

    from redoxmap.tomo import reconstruct

    out = np.empty((block.shape[0], block.shape[2], block.shape[3], block.shape[3]), np.float32)
    for i, center in enumerate(centers):
        slab = xr.DataArray(block[i], dims=("angle", "y", "x"), coords={"angle": angles})
        out[i] = reconstruct(slab, method, center_px=center, iterations=iterations, tv_weight=tv_weight,
                             threads=1).values
    return out


def _energy_stack(paths: list[Path], energies_ev: list[float] | None) -> xr.DataArray:
    """The spectra ``(energy, z, y, x)`` that ``tomo xanes`` fits: one OME-Zarr of a multi-energy scan
    read lazily (chunks hold every energy), or volumes of one energy each stacked by energy.

    Parameters
    ----------
    paths : list of pathlib.Path
        One ``(energy, z, y, x)`` OME-Zarr, or at least two ``(z, y, x)`` OME-Zarr volumes.
    energies_ev : list of float, optional
        The energy of each volume (eV), when the volumes do not state it.

    Returns
    -------
    xarray.DataArray
        Attenuation per voxel ``(energy, z, y, x)``, energies ascending, one chunk along energy.

    Raises
    ------
    ConfigError
        If a volume has no energy and none is given.
    FormatError
        If the volumes differ in shape, or one volume holds a single energy.
    """
    import numpy as np
    import xarray as xr

    from redoxmap.io.omezarr import read_ome_zarr

    loaded = [read_ome_zarr(p) for p in paths]
    if len(loaded) == 1:
        stack = loaded[0]
        if "energy" not in stack.dims:
            raise FormatError(f"{paths[0]}: one volume of one energy; expected the volumes of a multi-energy "
                              "scan (tomo recon of several projection files) or one volume per energy")
        if energies_ev:
            if len(energies_ev) != stack.sizes["energy"]:
                raise ConfigError(f"{len(energies_ev)} --energy-ev values for the {stack.sizes['energy']} "
                                  f"energies of {paths[0]}; expected one energy per volume, in order")
            stack = stack.assign_coords(energy=np.asarray(energies_ev, float))
        stack = stack.sortby("energy").chunk({"energy": -1})
    else:
        energies = energies_ev
        if not energies:
            missing = [str(p) for p, v in zip(paths, loaded, strict=True) if "energy_ev" not in v.attrs]
            if missing:
                raise ConfigError(f"{', '.join(missing)}: no energy_ev stored with the volume; expected "
                                  "--energy-ev for each volume")
            energies = [float(v.attrs["energy_ev"]) for v in loaded]
        shapes = {v.shape for v in loaded}
        if len(shapes) != 1:
            raise FormatError(f"volumes of different shapes {sorted(shapes)}; expected one grid")
        order = np.argsort(energies)
        stack = xr.concat([loaded[i].drop_attrs() for i in order], dim="energy")
        stack = stack.assign_coords(energy=np.asarray(energies, float)[order]).chunk({"energy": -1})
    stack["energy"].attrs["units"] = "eV"
    stack.attrs = {"voxel_size_nm": loaded[0].attrs.get("voxel_size_nm"), "units": "1/voxel"}
    return stack
