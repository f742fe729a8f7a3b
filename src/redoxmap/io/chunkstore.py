"""Zarr stores written block by block that remember which blocks are complete, so that a run killed
part-way resumes where it stopped (:class:`ChunkStore`).

A store holds one array (``<name>`` in a Zarr v2 group, coordinates and attributes beside it) and a
folder ``.redoxmap-done`` with one empty marker file per written block, created only after the
block's data are stored. The group's attribute ``redoxmap_key`` names what the array is (a hash
of the settings and inputs that made it): a store whose key differs is removed and written anew,
one whose key matches keeps every marked block and computes only the others. The blocks are
computed in one computation with the scheduler in force (threads, processes or a dask.distributed cluster,
whose workers must see the store's folder).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import numpy as np
import xarray as xr
import zarr
from dask.callbacks import Callback

from redoxmap.errors import OutputError

__all__ = ["ChunkStore"]

MARKERS = ".redoxmap-done"
COMPLETE = "complete"


def _plain(value: Any) -> Any:
    """JSON form of NumPy scalars and arrays held in attributes."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def _write_block(block: np.ndarray, path: str, variable: str, block_info=None) -> np.ndarray:
    """Store one block at its place in the array, then mark it complete (run on a worker)."""
    info = block_info[0]
    region = tuple(slice(start, stop) for start, stop in info["array-location"])
    target = zarr.open_array(store=path, path=variable, mode="r+", zarr_format=2)
    target[region] = block
    marker = Path(path) / MARKERS / ".".join(str(i) for i in info["chunk-location"])
    marker.touch()
    return np.ones((1,) * block.ndim, np.uint8)


class _Stored(Callback):
    """Counts the stored blocks as dask's local schedulers finish them (in the calling thread)."""

    def __init__(self, keys: set, tell: Callable[[], None]) -> None:
        super().__init__()
        self.keys, self.tell = keys, tell

    def _posttask(self, key, result, dsk, state, worker_id) -> None:
        if key in self.keys:
            self.tell()


def _compute(blocks: list, tell: Callable[[], None], along: tuple = ()) -> tuple:
    """Compute the delayed block writes with the scheduler in force, calling ``tell()`` per block: on a
    dask.distributed client as their futures complete, else through a local-scheduler callback.
    ``along`` (dask collections) are computed in the same graph and returned: not optimized, so that
    tasks they share with the blocks (reads of the input) run once."""
    if not blocks and not along:
        return ()
    optimize = not along
    if dask.config.get("scheduler", None) in ("dask.distributed", "distributed"):
        from distributed import as_completed, default_client

        futures = default_client().compute([*blocks, *along], optimize_graph=optimize)
        for future in as_completed(futures[:len(blocks)]):
            future.result()
            tell()
        return tuple(future.result() for future in futures[len(blocks):])
    with _Stored({block.key for block in blocks}, tell):
        return dask.compute(*blocks, *along, optimize_graph=optimize)[len(blocks):]


class ChunkStore:
    """One array in a Zarr store, written block by block and resumable (module doc).

    Parameters
    ----------
    path : str or pathlib.Path
        The store (a ``.zarr`` folder).
    key : str
        What the array is: a store holding another key is replaced.

    Examples
    --------
    >>> import tempfile
    >>> array = xr.DataArray(np.arange(12.0).reshape(3, 4), dims=("y", "x"), name="a")
    >>> store = ChunkStore(Path(tempfile.mkdtemp()) / "a.zarr", key="example")
    >>> stored = store.write(array.chunk({"y": 1}), chunks={"y": 1, "x": 4})
    >>> stored.values.sum(), store.computed, store.complete
    (np.float64(66.0), 3, True)
    >>> _ = ChunkStore(store.path, key="example").write(array.chunk({"y": 1}))  # nothing to redo
    """

    def __init__(self, path: str | Path, key: str) -> None:
        self.path = Path(path)
        self.key = key
        #: Blocks computed by the last :meth:`write` and blocks it found complete already.
        self.computed = 0
        self.resumed = 0
        #: The values of the last :meth:`write`'s ``along`` and ``derive``.
        self.along: tuple = ()
        self.derived: tuple = ()

    def _attrs(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.path / ".zattrs").read_text())
        except (OSError, ValueError):
            return None

    @property
    def matches(self) -> bool:
        """True if the store exists and holds this key."""
        attrs = self._attrs()
        return attrs is not None and attrs.get("redoxmap_key") == self.key

    @property
    def complete(self) -> bool:
        """True if the store holds this key and every block is written."""
        return self.matches and (self.path / MARKERS / COMPLETE).exists()

    def coords(self) -> xr.Dataset | None:
        """The coordinates stored with the array when the store was made (before any block was
        written), or None if the store does not hold this key."""
        if not self.matches:
            return None
        with xr.open_zarr(self.path, consolidated=True, chunks=None) as ds:
            return self._restored(ds).coords.to_dataset().load()

    def _restored(self, ds: xr.Dataset) -> xr.Dataset:
        for name in ds.attrs.get("redoxmap_bool_coords", []):
            ds = ds.assign_coords({name: ds[name].astype(bool)})
        return ds

    def open(self) -> xr.DataArray:
        """The stored array, dask-backed in the store's chunks, with its coordinates and attributes."""
        ds = self._restored(xr.open_zarr(self.path, consolidated=True, chunks={}))
        name = ds.attrs["redoxmap_name"]
        out = ds[name]
        for coord in ds.attrs.get("redoxmap_bool_coords", []):
            out = out.assign_coords({coord: out[coord].compute()})
        out.attrs = json.loads(ds.attrs["redoxmap_attrs"])
        out.encoding = {}  # the store's chunks must not follow what is derived from it into other files
        for coord in out.coords.values():
            coord.encoding = {}
        return out

    def _create(self, array: xr.DataArray, name: str, chunks: tuple[int, ...]) -> None:
        if self.path.exists():
            shutil.rmtree(self.path)
        coords = {}
        bools = []
        for coord, values in array.coords.items():
            values = values.reset_coords(drop=True)
            values = values.compute() if values.chunks else values
            if values.dtype == bool:
                bools.append(coord)
                values = values.astype(np.uint8)
            values.encoding = {}
            coords[coord] = values
        empty = da.empty(array.shape, chunks=array.data.chunks, dtype=array.dtype)  # no graph of the array's
        template = xr.DataArray(empty, dims=array.dims).to_dataset(name=name).assign_coords(coords)
        template.attrs = {"redoxmap_key": self.key, "redoxmap_name": name, "redoxmap_bool_coords": bools,
                          "redoxmap_attrs": json.dumps(array.attrs, default=_plain)}
        template.to_zarr(self.path, mode="w", compute=False, zarr_format=2, consolidated=True,
                         safe_chunks=False, encoding={name: {"chunks": chunks, "compressors": None}})
        (self.path / MARKERS).mkdir()

    def _source(self, array: xr.DataArray, pending: list[tuple[int, ...]]) -> xr.DataArray:
        """``array`` with each block not ``pending`` read from the store instead of computed."""
        if len(pending) == np.prod(array.data.numblocks):
            return array
        stored = self.open().data.rechunk(array.data.chunks)
        grid = np.empty(array.data.numblocks, dtype=object)
        todo = set(pending)
        for index in np.ndindex(*grid.shape):
            grid[index] = (array.data if index in todo else stored).blocks[index]
        return array.copy(data=da.block(grid.tolist()))

    def write(self, array: xr.DataArray, blocks: dict[str, int] | None = None,
              chunks: dict[str, int] | None = None,
              progress: Callable[[int, int], None] | None = None, along: tuple = (),
              derive: Callable[[xr.DataArray], tuple] | None = None) -> xr.DataArray:
        """Compute the blocks of ``array`` not yet in the store and return the stored array.

        Parameters
        ----------
        array : xarray.DataArray
            The (dask-backed) array; its coordinates are computed and stored first.
        blocks : dict of str to int, optional
            Block sizes by dimension: the unit of work and of resumption (default the array's chunks).
        chunks : dict of str to int, optional
            Chunk sizes of the store by dimension (default the blocks); each must divide its block
            size so that no two blocks write into one chunk.
        progress : callable, optional
            Called as ``progress(blocks done, blocks in all)``, first with the blocks found complete,
            then as each block is stored.
        along : tuple of dask collections
            Computed in the same pass as the blocks, into :attr:`along` (e.g. a reduction of the
            input the blocks are computed from: the input is read once for both). The reads of
            blocks found complete are made again for them.
        derive : callable, optional
            Given the array as it will be stored (dask-backed, in the blocks: each block computed in
            this pass as it is computed, each block found complete read from the store, so that no
            stored block is computed again), returns dask collections computed in the same pass into
            :attr:`derived` (e.g. a summary of the results taken while they are in memory).

        Returns
        -------
        xarray.DataArray
            The stored array (:meth:`open`).

        Raises
        ------
        OutputError
            If a store chunk does not divide its block.
        """
        name = str(array.name or "data")
        array = array.chunk(blocks) if blocks else array.chunk()
        store_chunks = tuple(int((chunks or {}).get(dim, array.chunks[i][0]))
                             for i, dim in enumerate(array.dims))
        for dim, size, block in zip(array.dims, store_chunks, array.chunks, strict=True):
            if any(b % size for b in block[:-1]):
                raise OutputError(f"{self.path}: chunks of {size} along {dim!r} do not divide the blocks "
                                  f"{block[:3]}…; expected chunks that each belong to one block")
        if not self.matches:
            self._create(array, name, store_chunks)
        done_dir = self.path / MARKERS
        every = list(np.ndindex(*array.data.numblocks))
        done = {p.name for p in done_dir.iterdir()}
        pending = [idx for idx in every if ".".join(map(str, idx)) not in done]
        self.resumed, self.computed = len(every) - len(pending), 0

        def tell(count: int = 1) -> None:
            self.computed += count
            if progress is not None:
                progress(self.resumed + self.computed, len(every))

        tell(0)
        written = da.map_blocks(_write_block, array.data, path=str(self.path), variable=name, dtype=np.uint8,
                                chunks=tuple((1,) * len(c) for c in array.data.chunks),
                                meta=np.empty((0,) * array.ndim, np.uint8))
        derived = () if derive is None else tuple(derive(self._source(array, pending)))
        blocks = written.to_delayed(optimize_graph=not (along or derived))  # shared tasks stay shared
        values = _compute([blocks[idx] for idx in pending], tell, (*along, *derived))
        self.along, self.derived = values[:len(along)], values[len(along):]
        (done_dir / COMPLETE).touch()
        return self.open()
