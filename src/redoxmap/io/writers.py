"""Writing result datasets to NetCDF or Zarr, atomically (temporary name, then rename)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

from redoxmap.errors import OutputError
from redoxmap.io.atomic import _alive, atomic_output

#: Spilled stores live in ``<temp>/redoxmap-spill-<pid>-<random>``: the pid tells a killed run's store.
SPILL_PREFIX = "redoxmap-spill-"


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
    """Write a Dataset to NetCDF4 (``.nc``, via h5netcdf) or Zarr (``.zarr``, format 2), never leaving a
    partial file: the data are written under a temporary name in the target folder, then renamed
    over the target (:func:`redoxmap.io.atomic_output`).

    Lists of strings and booleans in attributes, which NetCDF cannot hold, are joined into text.

    Parameters
    ----------
    ds : xarray.Dataset
        The data, e.g. fitted maps.
    path : str or pathlib.Path
        ``.nc`` or ``.zarr``.
    overwrite : bool
        Replace an existing target.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    OutputError
        If the suffix is neither, or the target exists without ``overwrite``.

    Examples
    --------
    >>> import tempfile
    >>> path = write_dataset(xr.Dataset({"a": ("x", [1.0, 2.0])}), Path(tempfile.mkdtemp()) / "maps.nc")
    >>> xr.open_dataset(path).a.values.tolist()
    [1.0, 2.0]
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


def spill_folder() -> Path:
    """A new temporary folder for the intermediate stores of a run larger than memory.

    The folder is deleted when the Python process exits; the folder of a process that was killed
    (and so could not delete it) is deleted by the next call on the machine, so a killed run's
    copy of a stack does not stay in the temporary folder.

    Returns
    -------
    pathlib.Path
        The folder, ``redoxmap-spill-<pid>-…`` in the system's temporary folder.

    Examples
    --------
    >>> folder = spill_folder()
    >>> folder.is_dir(), folder.name.startswith(f"{SPILL_PREFIX}{os.getpid()}-")
    (True, True)
    """
    _remove_stale_spills(Path(tempfile.gettempdir()))
    folder = Path(tempfile.mkdtemp(prefix=f"{SPILL_PREFIX}{os.getpid()}-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _remove_stale_spills(folder: Path) -> list[Path]:
    """Delete the spilled stores in ``folder`` whose process no longer runs (killed runs); return them."""
    removed = []
    for candidate in folder.glob(f"{SPILL_PREFIX}*-*"):
        pid_text = candidate.name[len(SPILL_PREFIX):].split("-", 1)[0]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and not _alive(int(pid_text)):
            shutil.rmtree(candidate, ignore_errors=True)
            removed.append(candidate)
    return removed
