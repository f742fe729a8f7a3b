"""Generic HDF5 stacks: the user names the datasets that hold images, flats, darks and energies.

The dxchange and NSLS-II FXI readers are this reader with their layout's dataset names.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dask.array as da
import h5py
import numpy as np
import xarray as xr

from redoxmap.errors import FormatError, RedoxmapError
from redoxmap.io.atomic import atomic_output
from redoxmap.io.energies import check_increasing, to_ev
from redoxmap.io.raw import RawStack, _average_repeats


def _open_h5(path: str | Path) -> h5py.File:
    """Open an HDF5 file read-only, with an error that names the file if it is not HDF5."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: file not found")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise FormatError(f"{path}: not a readable HDF5 file ({exc})") from exc


#: What h5py raises on a damaged file: the HDF5 library's errors (OSError, RuntimeError, KeyError) and
#: ValueError, TypeError or UnicodeDecodeError from damaged types, names and attributes.
_H5_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError)


@contextmanager
def _h5_errors(path: str | Path) -> Iterator[None]:
    """Turn the errors h5py raises inside the block on a damaged file into a :class:`FormatError`
    naming the file (a :class:`RedoxmapError` passes unchanged)."""
    try:
        yield
    except RedoxmapError:
        raise
    except _H5_ERRORS as exc:
        raise FormatError(f"{path}: damaged HDF5 file ({type(exc).__name__}: {exc}); expected a complete, "
                          "readable HDF5 file") from exc


def _require_dataset(h5: h5py.File, name: str, what: str) -> h5py.Dataset:
    """Return ``h5[name]`` or raise :class:`FormatError` naming the file, dataset and its role."""
    obj = h5.get(name)
    if not isinstance(obj, h5py.Dataset):
        found = "a group" if obj is not None else "nothing"
        raise FormatError(
            f"{h5.filename}: dataset {name!r} ({what}) is missing (found {found}); "
            f"datasets present: {', '.join(_list_datasets(h5)) or 'none'}"
        )
    return obj


def _list_datasets(h5: h5py.File) -> list[str]:
    """Paths of every dataset in the file, for error messages and ``redoxmap info``."""
    names: list[str] = []
    h5.visititems(lambda name, obj: names.append("/" + name) if isinstance(obj, h5py.Dataset) else None)
    return names


@functools.lru_cache(maxsize=8)
def _open_for_reading(path: str, modified_ns: int) -> h5py.File:
    """A read-only handle kept open per process (and per version of the file) for lazy reads."""
    return h5py.File(path, "r")


@functools.lru_cache(maxsize=8)
def _raw_file(path: str, modified_ns: int) -> int:
    """A read-only file descriptor kept open per process (and per version of the file)."""
    return os.open(path, os.O_RDONLY)


def _image_offsets(dset: h5py.Dataset) -> tuple[int, ...] | None:
    """Byte offset in the file of each image (the last two axes) of a dataset stored without filters
    whose images each lie in one contiguous run of bytes (contiguous layout, or one chunk per image),
    else None (then h5py reads it)."""
    plist = dset.id.get_create_plist()
    if plist.get_nfilters() or dset.ndim < 2 or dset.dtype.kind not in "biuf":
        return None
    n_images = int(np.prod(dset.shape[:-2], dtype=np.int64))
    layout = plist.get_layout()
    if layout == h5py.h5d.CONTIGUOUS:
        start = dset.id.get_offset()
        size = dset.dtype.itemsize * dset.shape[-2] * dset.shape[-1]
        return None if start is None else tuple(start + i * size for i in range(n_images))
    if layout != h5py.h5d.CHUNKED or dset.chunks != (*(1,) * (dset.ndim - 2), *dset.shape[-2:]):
        return None
    offsets = []
    for index in np.ndindex(*dset.shape[:-2]):
        info = dset.id.get_chunk_info_by_coord((*index, 0, 0))
        if info.byte_offset is None:  # a chunk never written: h5py knows its fill value
            return None
        offsets.append(int(info.byte_offset))
    return tuple(offsets)


class _LazyDataset:
    """An HDF5 dataset read on demand, by path: unlike an ``h5py.Dataset`` it can be pickled, so the
    dask arrays made from it run on worker processes and cluster nodes that see the same file.
    Images stored unfiltered in one run of bytes each are read directly from the file (one ``pread``
    of the rows asked for, per image): a strip of rows of every image then reads those rows only
    (HDF5 reads a whole chunk for any part of it)."""

    def __init__(self, dset: h5py.Dataset) -> None:
        self.path = str(Path(dset.file.filename).resolve())
        self.name = dset.name
        self.shape = dset.shape
        self.dtype = dset.dtype
        self.ndim = dset.ndim
        self.modified_ns = Path(self.path).stat().st_mtime_ns
        self.offsets = _image_offsets(dset)

    def __getitem__(self, key):
        if self.offsets is None:
            return _open_for_reading(self.path, self.modified_ns)[self.name][key]
        key = key if isinstance(key, tuple) else (key,)
        key = key + (slice(None),) * (self.ndim - len(key))
        images = np.arange(len(self.offsets)).reshape(self.shape[:-2])[key[:-2]]
        rows, cols = key[-2:]
        first, stop, step = rows.indices(self.shape[-2]) if isinstance(rows, slice) else (rows, rows + 1, 1)
        stop = max(stop, first)
        row_bytes = self.shape[-1] * self.dtype.itemsize
        fd = _raw_file(self.path, self.modified_ns)
        picked = (slice(None, None, step) if isinstance(rows, slice) else 0, cols)
        out = None
        for index, image in np.ndenumerate(images):
            data = os.pread(fd, (stop - first) * row_bytes, self.offsets[image] + first * row_bytes)
            block = np.frombuffer(data, self.dtype).reshape(stop - first, self.shape[-1])[picked]
            if out is None:
                out = np.empty((*images.shape, *block.shape), self.dtype)
            out[index] = block
        return out if out is not None else np.empty((*images.shape, 0, 0), self.dtype)[..., :0, :0]

    def __dask_tokenize__(self):
        return (self.path, self.name, self.modified_ns)


#: Chunks of a lazy read: the side (px) of square tiles of one image each, or the chunk shape.
Chunks = int | tuple[int | str, ...]


def _images(dset: h5py.Dataset, chunks: Chunks | None) -> np.ndarray | da.Array:
    """Images as a NumPy array, or as a dask array read on demand: in tiles of ``chunks`` × ``chunks``
    pixels of one image each, or in chunks of the shape ``chunks`` (−1 a whole axis, ``"auto"`` as
    :func:`dask.array.from_array` sizes it), e.g. strips of rows holding every energy."""
    if chunks is None:
        return dset[()]
    shape = (*(1,) * (dset.ndim - 2), chunks, chunks) if isinstance(chunks, int) else tuple(chunks)
    return da.from_array(_LazyDataset(dset), chunks=shape, meta=np.empty((0,) * dset.ndim, dset.dtype))


def _read_frames(h5: h5py.File, name: str | None, what: str, shape_yx: tuple[int, int],
             n_energy: int, chunks: Chunks | None) -> xr.DataArray | None:
    """Read flats or darks: one image, a stack of repeats (averaged), or one per energy
    (``n_energy`` images; pass -1 to always average)."""
    if name is None or name not in h5:
        return None
    dset = _require_dataset(h5, name, what)
    if dset.shape[-2:] != shape_yx:
        raise FormatError(
            f"{h5.filename}: {what} {name!r} has image shape {dset.shape[-2:]}, expected "
            f"{shape_yx} to match the sample images"
        )
    if chunks is not None and dset.ndim == 3 and dset.shape[0] == n_energy and n_energy > 1:
        return xr.DataArray(_images(dset, chunks), dims=("energy", "y", "x")).astype(np.float32)
    data = np.asarray(dset[()], dtype=np.float32)
    if data.ndim == 2:
        return xr.DataArray(data, dims=("y", "x"))
    if data.ndim != 3:
        raise FormatError(f"{h5.filename}: {what} {name!r} has {data.ndim} dims, expected 2 or 3")
    if data.shape[0] == n_energy and n_energy > 1:
        return xr.DataArray(data, dims=("energy", "y", "x"))
    return xr.DataArray(_average_repeats(data, n_energy, what, str(h5.filename)), dims=("y", "x"))


def read_hdf5(path: str | Path, data: str, energy: str, flats: str | None = None,
              darks: str | None = None, chunks: Chunks | None = None,
              transmission: bool = False) -> RawStack:
    """Read a spectral stack from an HDF5 file whose dataset names the caller gives.

    ``flats``/``darks`` may be one image, repeats of one image (averaged) or one image per energy.
    With ``chunks`` the images (and flats or darks given per energy) stay on disk as a dask array of
    tiles, read on demand; the array can be pickled (dask.distributed workers read the file by path).

    Parameters
    ----------
    path : str or pathlib.Path
        The HDF5 file.
    data : str
        Dataset of the images ``(energy, y, x)``.
    energy : str
        Dataset of the energies (eV or keV, recognised).
    flats, darks : str, optional
        Datasets of the flat-field and dark images.
    chunks : int or tuple, optional
        Keep the images on disk as a dask array read on demand: in square tiles of this side (px)
        of one energy each, or in chunks of this shape (−1 a whole axis, ``"auto"`` sized by dask),
        e.g. ``(-1, "auto", -1)`` for strips of rows holding every energy.
    transmission : bool
        The images already hold I/I0.

    Returns
    -------
    RawStack
        Counts ``(energy, y, x)`` with energies in eV, flats and darks.

    Raises
    ------
    FormatError
        If a dataset is missing, the images are not 3D, or the energies do not match the images.

    Examples
    --------
    >>> import tempfile
    >>> from redoxmap.simulate import demo_raw_stack
    >>> path = Path(tempfile.mkdtemp()) / "stack.h5"
    >>> write_hdf5(demo_raw_stack(shape=(16, 16)), path, data="img", energy="e", flats="f", darks="d")
    >>> read_hdf5(path, data="img", energy="e", flats="f", darks="d").counts.shape
    (121, 16, 16)
    """
    h5 = _open_h5(path)
    try:
        with _h5_errors(path):
            raw = _read_hdf5(h5, path, data, energy, flats, darks, chunks, transmission)
    finally:
        h5.close()  # lazy arrays read the file by path
    return raw


def _read_hdf5(h5: h5py.File, path: str | Path, data: str, energy: str, flats: str | None,
               darks: str | None, chunks: Chunks | None, transmission: bool) -> RawStack:
    images = _require_dataset(h5, data, "sample images")
    if images.ndim != 3:
        raise FormatError(
            f"{path}: dataset {data!r} has shape {images.shape}; expected (energy, y, x)"
        )
    energy_ev, note = to_ev(_require_dataset(h5, energy, "energies")[()], f"{path}:{energy}")
    if energy_ev.size != images.shape[0]:
        raise FormatError(
            f"{path}: {energy!r} holds {energy_ev.size} energies but {data!r} holds "
            f"{images.shape[0]} images; expected one energy per image"
        )
    check_increasing(energy_ev, f"{path}:{energy}")
    shape_yx = images.shape[1:]
    counts = xr.DataArray(_images(images, chunks), dims=("energy", "y", "x"),
                          coords={"energy": energy_ev},
                          attrs={"source": str(path), "history": []})
    counts["energy"].attrs["units"] = "eV"
    raw = RawStack(
        counts=counts,
        flats=_read_frames(h5, flats, "flat-field images", shape_yx, energy_ev.size, chunks),
        darks=_read_frames(h5, darks, "dark images", shape_yx, energy_ev.size, chunks),
        counts_are_transmission=transmission,
        notes=[note] if note else [],
    )
    return raw


def write_hdf5(raw: RawStack, path: str | Path, data: str, energy: str, flats: str,
               darks: str, energy_scale: float = 1.0) -> None:
    """Write a raw stack with the given dataset names, under a temporary name, then renamed.

    Parameters
    ----------
    raw : RawStack
        Counts, flats and darks.
    path : str or pathlib.Path
        The HDF5 file to write.
    data, energy, flats, darks : str
        Dataset names of the images, energies, flats and darks.
    energy_scale : float
        Energies are divided by it (e.g. 1000 for a layout that stores keV).
    """
    with atomic_output(path, overwrite=True) as tmp, h5py.File(tmp, "w") as h5:
        h5.create_dataset(data, data=np.asarray(raw.counts.values), chunks=True)
        h5.create_dataset(energy, data=raw.energy_ev / energy_scale)
        for frames, name in ((raw.flats, flats), (raw.darks, darks)):
            if frames is not None:
                h5.create_dataset(name, data=np.asarray(frames.values))
