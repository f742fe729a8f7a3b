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
- ``fit.zarr``: the per-pixel fit results (:func:`redoxmap.fit.lincomb`), one strip at a time.

The strips' size follows the memory limit (:func:`redoxmap.pipeline.execution.chunk_bytes`, dask's
``"auto"`` chunks) or ``chunks_px`` (rows per strip). The maps are derived from ``fit.zarr`` lazily
and written to the output chunk by chunk, then read back lazily from it: no step holds the stack or
the maps whole (the 2D maps of the mask, edge jump and fit status are held: one value per pixel).

Each store remembers its complete blocks (:class:`redoxmap.io.ChunkStore`) under a key made of the
job's settings (without the output and execution settings that do not change the numbers), the
inputs' sizes and modification times and the chunk layout; rerunning the same job after a kill
computes only the blocks that are not stored. Passes that reduce the whole stack to a few numbers
(the ``valid`` pixels, E0 of the mean spectrum, the edge-jump map) are cheap and are made again.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dask
import xarray as xr

from redoxmap._version import __version__
from redoxmap.io.chunkstore import ChunkStore
from redoxmap.io.writers import spill_folder
from redoxmap.pipeline.execution import Execution
from redoxmap.pipeline.jobs import JobConfig, Progress
from redoxmap.preprocess.align import align_stack, apply_shifts, estimate_shifts

__all__ = ["IMAGES"]

#: Chunks of ``(energy, y, x)`` in which drift registration reads the input: one whole image each.
IMAGES = (1, -1, -1)

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

    def fit_store(self) -> Callable[[xr.DataArray], xr.DataArray]:
        """The ``store`` of :func:`redoxmap.fit.lincomb`: the per-pixel results into ``fit.zarr``."""
        store = ChunkStore(self.folder / "fit.zarr", self.key("fit"))
        return lambda packed: self._write("fit", store, packed)

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
