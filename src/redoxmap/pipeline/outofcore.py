"""Out-of-core runs of the 2D jobs (xanes2d, valence): the prepared stack and the fit are computed
chunk by chunk into Zarr stores beside the output, so memory stays bounded and a killed run resumes.

Layout, in the folder ``.<output name>.parts`` beside the output (a temporary folder when there is no
output), removed once the maps are written:

- ``stack.zarr``: the optical density after energy window, binning and drift correction, in strips
  of whole rows that hold every energy (``energy × rows × x``, one file each; chunked over space,
  never over energy). Each strip is read from the input in one task (an unfiltered HDF5 file
  through a memory map, :func:`redoxmap.io.read_hdf5`), shifted with a halo of rows and stored: the
  unit of work and of resumption. Drift registration reads the input a second time, image by
  image, before.
- ``fit.zarr``: what the fit solves per pixel (:func:`redoxmap.fit.lincomb`: the weights, the
  residual sum of squares and dᵀd, from which the maps are derived as they are read), one strip at
  a time.

The strips' size follows the memory limit (:func:`redoxmap.pipeline.execution.chunk_bytes`, dask's
``"auto"`` chunks) or ``chunks_px`` (rows per strip). The maps are derived from ``fit.zarr`` lazily
and written to the output chunk by chunk, then read back lazily from it: no step holds the stack or
the maps whole (the 2D maps of the mask, edge jump and fit status are held: one value per pixel).

Each store remembers its complete blocks (:class:`redoxmap.io.ChunkStore`) under a key made of the
job's settings (without the output and execution settings that do not change the numbers), the
inputs' sizes and modification times and the chunk layout; rerunning the same job after a kill
computes only the blocks that are not stored. Passes that reduce the whole stack to a few numbers
(the ``valid`` pixels, E0 of the mean spectrum, the edge-jump map) are cheap and are made again.

``tomo xanes`` (:meth:`_OutOfCore.fit_and_mask`) reads its 4D stack once: the edge-jump map of the
particle mask and the mean spectrum are computed from the blocks the fit reads, in the same pass.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import xarray as xr

from redoxmap._version import __version__
from redoxmap.io.chunkstore import ChunkStore
from redoxmap.io.writers import spill_folder
from redoxmap.pipeline.execution import Execution
from redoxmap.pipeline.jobs import JobConfig, Progress
from redoxmap.preprocess.align import align_stack, apply_shifts, estimate_shifts
from redoxmap.preprocess.mask import edge_jump_mask, edge_jump_weights
from redoxmap.preprocess.normalize import MIN_EDGE_ENERGIES, find_e0

__all__ = ["IMAGES"]

#: Chunks of ``(energy, y, x)`` in which drift registration reads the input: one whole image each.
IMAGES = (1, -1, -1)

#: Blocks of the stack whose mean spectrum gives the E0 the one-pass edge jump is taken at first
#: (:meth:`_OutOfCore.fit_and_mask_store`), evenly spaced through the stack.
SAMPLE_BLOCKS = 8

#: Settings that never change a job's numbers: left out of the stores' keys.
_NOT_IN_KEY = ("output", "overwrite", "report", "scheduler", "memory_limit")


def _chunked(stack: xr.DataArray, chunks: tuple) -> xr.DataArray:
    """``stack`` as a dask array in ``chunks`` of ``(energy, y, x)`` (readers that load the file
    whole return NumPy arrays)."""
    return stack if stack.chunks is not None else stack.chunk(dict(zip(("energy", "y", "x"), chunks,
                                                                        strict=True)))


def _parts_folder(output: Path | None) -> tuple[Path, bool]:
    """The folder of the intermediate stores and whether it is kept for a rerun (beside an
    output) or temporary (removed when the process exits)."""
    if output is None:
        return spill_folder(), False
    return output.parent / f".{output.name}.parts", True


@dataclass
class _OutOfCore:
    """The out-of-core run of one job: where its stores live, the chunk size (from the job's
    ``chunks_px`` in rows or, without it, from the memory limit: :meth:`Execution.chunk_bytes`), and
    the blocks computed and resumed per stage."""

    config: JobConfig
    job: str
    run: Execution
    progress: Progress | None = None
    rows: int | None = field(default=None, init=False)
    folder: Path = field(init=False)
    keep: bool = field(init=False)
    counts: dict[str, tuple[int, int]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.folder, self.keep = _parts_folder(self.config.output)

    def key(self, stage: str, leave_out: tuple[str, ...] = ()) -> str:
        """The key of a stage's store: settings (minus ``leave_out``), inputs and what sets the chunk
        layout."""
        settings = json.loads(self.config.record(self.job))["settings"]
        for name in (*_NOT_IN_KEY, *leave_out):
            settings.pop(name, None)
        inputs = {str(path.resolve()): [path.stat().st_size, path.stat().st_mtime_ns]
                  for _, path in self.config.input_paths() if path.is_file()}
        layout = (getattr(self.config, "chunks_px", None) or getattr(self.config, "slices_per_chunk", None)
                  or self.run.chunk_bytes())  # rows or slices given: the layout whatever the scheduler
        text = json.dumps({"stage": stage, "job": self.job, "version": __version__, "settings": settings,
                           "inputs": inputs, "layout": layout}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def _tell(self, stage: str) -> Callable[[int, int], None]:
        def tell(done: int, total: int) -> None:
            if self.progress is not None:
                self.progress(stage, done, total)
        return tell

    def _write(self, stage: str, store: ChunkStore, array: xr.DataArray, **layout) -> xr.DataArray:
        out = store.write(array, progress=self._tell(stage), **layout)
        self.counts[stage] = (store.computed, store.resumed)
        return out

    def stack(self, prepare: Callable[[tuple], xr.DataArray], align: dict | None,
              leave_out: tuple[str, ...] = ()) -> xr.DataArray:
        """The prepared stack from ``stack.zarr``: stored already, or ``prepare(chunks)`` (the lazy
        optical density after windowing and binning, read in chunks of the shape ``chunks`` of the
        input's ``(energy, y, x)``) aligned with ``align`` (the keyword arguments of
        :func:`redoxmap.preprocess.align_stack`, None for no alignment) and stored strip by strip.
        An interrupted store keeps its shifts: they are applied again, not estimated again."""
        store = ChunkStore(self.folder / "stack.zarr", self.key("stack", leave_out))
        if store.complete:
            stack = store.open()
            self.rows = stack.chunks[stack.dims.index("y")][0]
            self.counts["stack"] = (0, len(stack.chunks[stack.dims.index("y")]))
            return stack
        rows = getattr(self.config, "chunks_px", None)
        with dask.config.set({"array.chunk-size": self.run.chunk_bytes()}):
            strips = (-1, "auto" if rows is None else rows, -1)
            stack = _chunked(prepare(strips), strips)
        if align is not None and store.matches:
            previous = store.open()
            shifts = previous.coords.to_dataset()[["shift_y", "shift_x"]]
            stack = apply_shifts(stack, shifts).assign_attrs(previous.attrs)
        elif align is not None:
            images = _chunked(prepare(IMAGES), IMAGES)
            shifts = estimate_shifts(images, **align, progress=self._tell("align"))
            stack = align_stack(stack, **align, shifts=shifts)
        rows = stack.chunks[stack.dims.index("y")]
        if len(set(rows[:-1])) > 1 or rows[-1] > rows[0]:  # binning may leave uneven strips
            stack = stack.chunk({"y": max(rows)})
        self.rows = max(rows)
        return self._write("stack", store, stack.transpose("energy", "y", "x").rename("od"))

    def store(self, name: str, stage: str, array: xr.DataArray) -> xr.DataArray:
        """``array`` computed block by block (its chunks) into ``<name>.zarr``, resumable; progress
        and counts under ``stage``."""
        return self._write(stage, ChunkStore(self.folder / f"{name}.zarr", self.key(name)), array)

    def fit_store(self) -> Callable[[xr.DataArray, Callable], tuple[xr.DataArray, tuple]]:
        """The ``store`` of :func:`redoxmap.fit.lincomb`: the per-pixel solutions into ``fit.zarr``."""
        store = ChunkStore(self.folder / "fit.zarr", self.key("fit"))

        def write(packed: xr.DataArray, derive: Callable) -> tuple[xr.DataArray, tuple]:
            return self._write("fit", store, packed, derive=derive), store.derived

        return write

    def fit_and_mask(self, stack: xr.DataArray, threshold_od: float | None = None) -> _FitAndMask:
        """The ``store`` and ``mask`` of :func:`redoxmap.fit.lincomb` for a particle mask made in the
        fit's pass (:class:`_FitAndMask`): the stack is read once for the fit, the edge jump and E0.

        Parameters
        ----------
        stack : xarray.DataArray
            The spectra ``(energy, ...)``, dask-backed with one chunk along energy and no ``valid``
            coordinate.
        threshold_od : float, optional
            Edge jump (OD) above which a voxel is on the particle; default Otsu's threshold.

        Returns
        -------
        _FitAndMask
            Its ``store`` and itself (the ``mask``) go to :func:`redoxmap.fit.lincomb`; ``made`` is
            the mask after.
        """
        energy = np.asarray(stack["energy"].values, float)
        spatial = [d for d in stack.dims if d != "energy"]
        e0 = _sample_e0(stack, spatial) if energy.size >= MIN_EDGE_ENERGIES else float("nan")
        fit = ChunkStore(self.folder / "fit.zarr", self.key("fit"))
        return _FitAndMask(self, fit, stack, threshold_od, e0)

    def reopen(self, path: Path) -> xr.Dataset:
        """The maps just written to ``path``, read back lazily (the stores they were computed from go
        at :meth:`finish`); the mask as booleans again."""
        maps = xr.open_zarr(path) if path.suffix.lower() == ".zarr" else \
            xr.open_dataset(path, engine="h5netcdf", chunks={})
        return maps.assign(mask=maps["mask"].astype(bool))

    def finish(self) -> None:
        """Remove the stores once the outputs are written (a temporary folder goes at exit)."""
        if self.keep:
            shutil.rmtree(self.folder, ignore_errors=True)

    def summary(self) -> list[tuple[str, str]]:
        """Rows for people: chunk size and the blocks computed and resumed per stage."""
        rows = [("out of core", f"strips of {self.rows} rows, scheduler {self.run.scheduler}")]
        rows += [(f"{stage} blocks computed / resumed", f"{computed} / {resumed}")
                 for stage, (computed, resumed) in self.counts.items()]
        return rows


@dataclass
class _FitAndMask:
    """A particle mask made in the pass of the fit (:meth:`_OutOfCore.fit_and_mask`): the stack is
    read once for the fit, the edge-jump map and the mean spectrum.

    The edge jump J is linear in each spectrum at a given E0
    (:func:`redoxmap.preprocess.mask.edge_jump_weights`), so every block's J is computed from the
    block the fit reads, at ``e0_ev``: the E0 of the mean spectrum of :data:`SAMPLE_BLOCKS` blocks.
    The J map (one value per voxel, float64 as :func:`redoxmap.preprocess.edge_jump` gives it) and
    the sum of the spectra are computed in the same pass as the fit's blocks
    (:meth:`redoxmap.io.ChunkStore.write` ``along``). Where the E0 of the whole stack's mean spectrum
    (:func:`redoxmap.preprocess.find_e0`, one of the measured energies) differs from the sample's,
    calling the object (the ``mask`` of :func:`redoxmap.fit.lincomb`) computes the edge jump again
    at it, in a second pass. The mask is :func:`redoxmap.preprocess.mask.edge_jump_mask` of the J
    map: the same as :func:`redoxmap.preprocess.particle_mask` of the stack. Every voxel is fitted
    (the fit never depended on the mask); the mask selects the voxels of the statistics. With a
    given threshold, the mask at the sampled E0 is its :attr:`guess`: the fit's statistics are taken
    over it in the same pass, and again from the stored results only if the E0 differed.
    """

    parts: _OutOfCore
    fit: ChunkStore
    stack: xr.DataArray
    threshold_od: float | None
    e0_ev: float
    #: The mask, once made (called).
    made: xr.DataArray | None = field(default=None, init=False)

    @property
    def _spatial(self) -> list[str]:
        return [d for d in self.stack.dims if d != "energy"]

    def _jump(self, e0_ev: float) -> da.Array:
        """The lazy edge-jump map at ``e0_ev``, block by block from the stack's blocks."""
        weights, offset, _ = edge_jump_weights(np.asarray(self.stack["energy"].values, float), e0_ev)
        chunks = ((1,), *self.stack.data.chunks[1:])  # not dropped: dask would copy the block first
        return da.map_blocks(_edge_jump, self.stack.data, weights, offset, chunks=chunks, dtype=float,
                             meta=np.empty((0,) * self.stack.ndim))[0]

    @property
    def guess(self) -> xr.DataArray | None:
        """The mask to be made, lazily, with the threshold given and if the whole stack's E0 is the
        sampled blocks' (:func:`redoxmap.fit.lincomb` takes its statistics over it in the fit's pass
        and checks it against the mask made); None for Otsu's threshold, known only from the whole
        map."""
        if self.threshold_od is None:
            return None
        jump = self._jump(self.e0_ev)
        if np.isnan(self.e0_ev):
            jump = jump.astype(self.stack.dtype)
        return xr.DataArray(jump > self.threshold_od, dims=self._spatial)

    def store(self, packed: xr.DataArray, derive: Callable) -> tuple[xr.DataArray, tuple]:
        """The fit's per-voxel solutions ``packed`` computed into ``fit.zarr`` block by block
        (resumable), with the edge-jump map, the sum of the spectra and ``derive`` of the results
        (:meth:`redoxmap.io.ChunkStore.write`) from the same reads. The results are stored in the
        stack's precision (float32 for float32 data), rows first (as the fit computes them: no
        transposing copy), one file per block."""
        rows = packed.transpose("out", *self._spatial)
        rows = rows.astype(np.result_type(self.stack.dtype, np.float32))
        along = [self._jump(self.e0_ev)]
        if not np.isnan(self.e0_ev):
            along.append(_spectra_sums(self.stack.data))
        stored = self.parts._write("fit", self.fit, rows, along=tuple(along), derive=derive)
        return stored.transpose(*self._spatial, "out"), self.fit.derived

    def __call__(self, stored: xr.DataArray) -> xr.DataArray:
        """The particle mask from the edge-jump map of :meth:`store` (``stored``, what it returned,
        is not read)."""
        energy = np.asarray(self.stack["energy"].values, float)
        edge, jump = self.e0_ev, self.fit.along[0]
        if not np.isnan(edge):
            total, count = self.fit.along[1]
            mean = self.stack.isel({d: 0 for d in self._spatial}, drop=True).reset_coords(drop=True)
            edge = float(find_e0(mean.copy(data=total / np.maximum(count, 1))))
            if edge != self.e0_ev:  # the sample's E0 was not the stack's: the edge jump again at it
                jump = self._jump(edge).compute()
        _, _, how = edge_jump_weights(energy, edge)
        if np.isnan(edge):  # the two-point step in the data's precision, as particle_mask takes it
            jump = jump.astype(self.stack.dtype)
        jump = xr.DataArray(jump, dims=self._spatial)
        self.made = edge_jump_mask(jump, threshold_od=self.threshold_od, e0_ev=edge, how=how)
        return self.made


def _sample_e0(stack: xr.DataArray, spatial: list[str]) -> float:
    """E0 (:func:`redoxmap.preprocess.find_e0`) of the mean spectrum of :data:`SAMPLE_BLOCKS` blocks
    of ``stack`` evenly spaced in block order (all blocks when there are fewer)."""
    grid = stack.data.numblocks
    picked = np.unique(np.linspace(0, np.prod(grid) - 1, SAMPLE_BLOCKS).round().astype(int))
    blocks = [stack.data.blocks[index] for index in zip(*np.unravel_index(picked, grid), strict=True)]
    total, count = np.sum(dask.compute(*[_spectra_sums(block) for block in blocks]), axis=0)
    mean = stack.isel({d: 0 for d in spatial}, drop=True).reset_coords(drop=True)
    return float(find_e0(mean.copy(data=total / np.maximum(count, 1))))


def _spectra_sums(data: da.Array) -> da.Array:
    """Lazily, ``(2, energy)``: the sum of the finite values of ``data`` ``(energy, ...)`` per energy
    and their count, block by block (:func:`_spectra_sum`)."""
    grid = [(1,) * n for n in data.numblocks[1:]]
    sums = da.map_blocks(_spectra_sum, data, new_axis=0, dtype=float, chunks=((2,), (data.shape[0],), *grid))
    return sums.sum(axis=tuple(range(2, sums.ndim)))


def _spectra_sum(block: np.ndarray) -> np.ndarray:
    """The sum over a block ``(energy, ...)`` of its finite values and their count, per energy:
    ``(2, energy)`` float64 (the mean spectrum over every voxel with data, as ``mean`` skips NaN)."""
    flat = block.reshape(block.shape[0], -1)
    total = flat.sum(axis=1, dtype=float)
    count = np.full(total.shape, float(flat.shape[1]))
    if not np.isfinite(total).all():
        finite = np.isfinite(flat)
        total = np.where(finite, flat, 0).sum(axis=1, dtype=float)
        count = finite.sum(axis=1).astype(float)
    return np.stack([total, count]).reshape(2, block.shape[0], *[1] * (block.ndim - 1))


def _edge_jump(block: np.ndarray, weights: np.ndarray, offset: float) -> np.ndarray:
    """The edge jump Σ_E a(E) OD(E) + b of each spectrum of a block ``(energy, ...)``, in float64
    (one energy at a time: no float64 copy of the block; each product is made in float64), with the
    energy axis kept (of length 1)."""
    jump = np.full((1, *block.shape[1:]), offset)
    term = np.empty(block.shape[1:])
    for weight, image in zip(weights, block, strict=True):
        jump[0] += np.multiply(image, weight, out=term)
    return jump
