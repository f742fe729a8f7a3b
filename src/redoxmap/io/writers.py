"""Writing result datasets to NetCDF or Zarr, atomically (temporary name, then rename)."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

from redoxmap.errors import OutputError
from redoxmap.io.atomic import atomic_output


def _encodable(ds: xr.Dataset) -> xr.Dataset:
    """NetCDF attributes cannot hold lists of strings of any length or booleans: join them."""
    out = ds.copy()
    for obj in [out, *out.variables.values()]:
        for key, value in list(obj.attrs.items()):
            if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
                obj.attrs[key] = "\n".join(value)
            elif isinstance(value, bool | np.bool_):
                obj.attrs[key] = int(value)
    for name, var in out.variables.items():
        if var.dtype == bool:
            out[name] = var.astype(np.uint8)
            out[name].attrs.update(var.attrs, flag_values="0 1", flag_meanings="false true")
    return out


def write_dataset(ds: xr.Dataset, path: str | Path, overwrite: bool = False) -> Path:
    """Write ``ds`` to ``.nc`` (NetCDF4 via h5netcdf) or ``.zarr``, never leaving a partial file.

    The data are written under a temporary name in the target folder, then renamed over the
    target, so an interrupted run leaves the previous file (if any) untouched. An existing
    target is replaced only with ``overwrite=True``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".nc", ".zarr"):
        raise OutputError(f"{path}: unknown output type {suffix!r}; expected .nc or .zarr")
    ds = _encodable(ds)
    with atomic_output(path, overwrite=overwrite) as tmp:
        if suffix == ".nc":
            ds.to_netcdf(tmp, engine="h5netcdf")
        else:
            ds.to_zarr(tmp, mode="w", zarr_format=2)  # v2: readable by every zarr client
    return path


def spill_to_zarr(array: xr.DataArray, chunks: dict[str, int]) -> xr.DataArray:
    """Compute a dask-backed array once into a temporary Zarr store and reopen it lazily.

    Used between pipeline stages on stacks larger than memory, so that later stages read the
    stored result instead of recomputing the whole graph (reading, flat-fielding, shifting) at
    every step. The store is deleted when the Python process exits.
    """
    folder = Path(tempfile.mkdtemp(prefix="redoxmap-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    name = array.name or "data"
    ds = array.chunk(chunks).to_dataset(name=name)
    for var in list(ds.variables):
        if ds[var].dtype == bool:
            ds[var] = ds[var].astype(np.uint8)
        ds[var].encoding = {}  # chunks of an earlier store must not override ``chunks``
    attrs = dict(array.attrs)
    ds.attrs = {}
    ds.to_zarr(folder / "stack.zarr", mode="w", zarr_format=2, consolidated=True)
    out = xr.open_zarr(folder / "stack.zarr")[name]
    for coord in array.coords:
        if array[coord].dtype == bool:
            out = out.assign_coords({coord: out[coord].astype(bool).compute()})
    out.attrs = attrs
    return out
