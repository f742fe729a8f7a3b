"""Volumes as OME-Zarr (NGFF 0.4) multiscale images, which napari and ParaView open directly: one
volume ``(z, y, x)``, or the volumes of a multi-energy scan ``(energy, z, y, x)`` in one image whose
chunks hold every energy of a block of voxels (chunked over space, never over energy)."""

from __future__ import annotations

from pathlib import Path

import dask.array as da
import numpy as np
import xarray as xr
import zarr

from redoxmap.errors import FormatError
from redoxmap.io.atomic import atomic_output


def _plain_attrs(attrs: dict) -> dict:
    """The attributes JSON can hold: numbers, strings and lists of them."""
    def plain(v) -> bool:
        return isinstance(v, str | int | float) or (isinstance(v, list | tuple) and all(map(plain, v)))

    return {k: list(v) if isinstance(v, tuple) else v for k, v in attrs.items() if plain(v)}


def write_ome_zarr(volume: xr.DataArray, path: str | Path, voxel_size_nm: float, levels: int = 3,
                   overwrite: bool = False, labels: bool = False) -> Path:
    """Write a ``(z, y, x)`` volume, or volumes ``(energy, z, y, x)``, as an OME-Zarr (NGFF 0.4)
    multiscale image, under a temporary name, then renamed.

    Each level halves the previous one by 2 × 2 × 2 block means or, for ``labels`` (integer classes),
    by taking every second voxel and keeping the integer type. Dask-backed volumes are written chunk
    by chunk; the volume's plain attributes are kept under ``redoxmap`` and come back with
    :func:`read_ome_zarr`. Volumes of several energies are one image with a first axis ``energy``
    (NGFF type ``channel``; the energies in eV under ``redoxmap.energy_ev``), chunked as
    ``energy × z × 256 × 256`` with every energy in each chunk (a few MB: voxel-wise stages read
    whole spectra in few tasks) and, for a dask volume, its own chunks along z (so a volume computed
    in slabs is written slab by slab, no slab merged in memory).

    Parameters
    ----------
    volume : xarray.DataArray
        The volume, dims ``(z, y, x)``, or ``(energy, z, y, x)`` with an ``energy`` coordinate (eV).
    path : str or pathlib.Path
        The store to write (``.zarr``).
    voxel_size_nm : float
        Voxel size of level 0 (nm).
    levels : int
        Number of resolution levels (fewer when the volume gets smaller than 4 voxels).
    overwrite : bool
        Replace an existing store.
    labels : bool
        The volume holds integer classes.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    FormatError
        If the volume's dims are not ``(z, y, x)`` or ``(energy, z, y, x)``.

    Examples
    --------
    >>> import tempfile
    >>> volume = xr.DataArray(np.ones((8, 8, 8), np.float32), dims=("z", "y", "x"),
    ...                       attrs={"energy_ev": 6565.0})
    >>> path = write_ome_zarr(volume, Path(tempfile.mkdtemp()) / "v.zarr", voxel_size_nm=50.0, levels=2)
    >>> read_ome_zarr(path, level=1).shape, read_ome_zarr(path).attrs["energy_ev"]
    ((4, 4, 4), 6565.0)
    """
    path = Path(path)
    if volume.dims not in (("z", "y", "x"), ("energy", "z", "y", "x")):
        raise FormatError(f"volume has dims {volume.dims}; expected ('z', 'y', 'x') or "
                          "('energy', 'z', 'y', 'x')")
    lead = volume.ndim - 3  # 1 for the energy axis
    kept = _plain_attrs(volume.attrs)
    if lead:
        kept["energy_ev"] = [float(e) for e in volume["energy"].values]
    data = da.asarray(volume.data)
    data = data.astype(np.int32 if labels else np.float32)
    datasets = []
    with atomic_output(path, overwrite=overwrite) as tmp:
        root = zarr.open_group(str(tmp), mode="w", zarr_format=2)
        for level in range(levels):
            chunks = tuple(min(64 if not lead else 256, s) for s in data.shape[lead:])
            if lead and volume.chunks is not None and level == 0:
                chunks = (data.chunks[1][0], *chunks[1:])  # the slabs as computed
            data.rechunk((*data.shape[:lead], *chunks)).to_zarr(str(tmp), component=str(level),
                                                               overwrite=True, zarr_format=2)
            # the next level from this one as stored: a lazy volume (a chunked reconstruction) is
            # computed once, not once per level
            data = da.from_zarr(str(tmp), component=str(level))
            scale = [1.0] * lead + [voxel_size_nm * 2**level] * 3
            datasets.append({"path": str(level),
                             "coordinateTransformations": [{"type": "scale", "scale": scale}]})
            if min(data.shape[lead:]) < 4:
                break
            even = tuple(slice(0, n // 2 * 2) for n in data.shape[lead:])
            if labels:
                data = data[(Ellipsis, *(slice(0, None, 2),) * 3)]
            else:
                data = data[(Ellipsis, *even)]
                data = data.rechunk({lead + i: 2 * -(-c[0] // 2) for i, c in enumerate(data.chunks[lead:])})
                data = da.coarsen(np.mean, data, {lead: 2, lead + 1: 2, lead + 2: 2})
        axes = [{"name": a, "type": "space", "unit": "nanometer"} for a in ("z", "y", "x")]
        root.attrs["multiscales"] = [{
            "version": "0.4", "name": str(volume.name or "volume"),
            "axes": [{"name": "energy", "type": "channel"}] * lead + axes,
            "datasets": datasets,
        }]
        root.attrs["redoxmap"] = {**kept, "labels": int(labels)}
    return path


def read_ome_zarr(path: str | Path, level: int = 0) -> xr.DataArray:
    """Read one resolution level of an OME-Zarr volume, lazily (dask).

    Parameters
    ----------
    path : str or pathlib.Path
        The store.
    level : int
        Resolution level (0 = full).

    Returns
    -------
    xarray.DataArray
        ``(z, y, x)``, or ``(energy, z, y, x)`` with the ``energy`` coordinate (eV) for the volumes of
        several energies, with the stored ``redoxmap`` attributes, ``voxel_size_nm`` of that level
        and ``source``.

    Raises
    ------
    FormatError
        If the store is not an OME-Zarr image or the level is neither 3D nor 4D with energies.
    """
    path = Path(path)
    try:
        root = zarr.open_group(str(path), mode="r")
        multiscales = root.attrs["multiscales"][0]
        dataset = multiscales["datasets"][level]
        array = root[dataset["path"]]
        scale = float(dataset["coordinateTransformations"][0]["scale"][-1])
        kept = dict(root.attrs.get("redoxmap", {}))
    except Exception as exc:  # zarr and json raise plain errors on missing or damaged metadata
        raise FormatError(f"{path}: not an OME-Zarr image ({type(exc).__name__}: {exc})") from exc
    energies = kept.pop("energy_ev", None) if isinstance(kept.get("energy_ev"), list) else None
    if not isinstance(array, zarr.Array) or array.ndim != 3 + (energies is not None) \
            or (energies is not None and len(energies) != array.shape[0]):
        raise FormatError(f"{path}: level {level} is not a (z, y, x) array or an (energy, z, y, x) array "
                          "with one energy each; expected a volume")
    if not (np.isfinite(scale) and scale > 0):
        raise FormatError(f"{path}: level {level} has scale {scale:g}; expected a positive voxel size")
    data = da.from_array(_CheckedChunks(array, path), chunks=array.chunks, asarray=True)
    kept.pop("labels", None)
    attrs = {**kept, "voxel_size_nm": float(scale), "source": str(path)}
    if energies is None:
        return xr.DataArray(data, dims=("z", "y", "x"), attrs=attrs)
    out = xr.DataArray(data, dims=("energy", "z", "y", "x"), coords={"energy": np.asarray(energies, float)},
                       attrs=attrs)
    out["energy"].attrs["units"] = "eV"
    return out


class _CheckedChunks:
    """A zarr array read by dask whose damaged chunks raise :class:`FormatError` naming the volume."""

    def __init__(self, array: zarr.Array, path: Path):
        self.array, self.path = array, path
        self.shape, self.dtype, self.ndim = array.shape, array.dtype, array.ndim

    def __getitem__(self, key):
        try:
            return self.array[key]
        except Exception as exc:  # the codecs raise plain errors (RuntimeError, ValueError …) on damage
            raise FormatError(f"{self.path}: damaged chunk in {self.array.path} ({type(exc).__name__}: "
                              f"{exc}); expected a complete OME-Zarr volume") from exc
