"""Tomographic projections: dxchange HDF5 (``/exchange/data``, ``data_white``, ``data_dark``,
``/exchange/theta``) one file per energy, and multi-page TIFF with an angle list.

Returns raw stacks whose counts have dims ``(angle, y, x)`` with an ``angle`` coordinate in degrees
(y is the detector row, i.e. the slice index of the volume). :func:`open_projections` flat-fields
each energy with the one flat-field path and stacks them as ``(energy, angle, y, x)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from redoxmap.errors import FormatError
from redoxmap.io.atomic import atomic_output
from redoxmap.io.energies import to_ev
from redoxmap.io.hdf5 import Chunks, _h5_errors, _images, _open_h5, _read_frames, _require_dataset
from redoxmap.io.raw import RawStack

DATA = "/exchange/data"
FLATS = "/exchange/data_white"
DARKS = "/exchange/data_dark"
THETA = "/exchange/theta"
ENERGY = "/exchange/energy"


def _angles_in_degrees(values: np.ndarray, units: str, where: str) -> np.ndarray:
    """Angles in degrees from values declared in ``units`` ("deg"/"degrees" or "rad"/"radians").

    A scan declared in degrees whose angles all lie within ±2π but span more than 1 rad with
    many angles looks like radians (and the reverse): that is an error, not a guess.
    """
    values = np.asarray(values, dtype=float).ravel()
    unit = units.lower().strip()
    span = float(np.ptp(values)) if values.size else 0.0
    if unit in ("deg", "degree", "degrees"):
        if values.size > 10 and np.abs(values).max() <= 2 * np.pi + 1e-6 and span > 1.0:
            raise FormatError(f"{where}: angles declared in degrees span only {span:.3g} "
                              "(all within ±2π); expected degrees — are they radians?")
        return values
    if unit in ("rad", "radian", "radians"):
        if np.abs(values).max() > 2 * np.pi + 1e-6:
            raise FormatError(f"{where}: angles declared in radians reach {np.abs(values).max():.4g}; "
                              "expected |θ| ≤ 2π — are they degrees?")
        return np.degrees(values)
    raise FormatError(f"{where}: angle units {units!r} not understood; expected 'deg' or 'rad'")


def read_projections_dxchange(path: str | Path, energy_ev: float | None = None,
                              theta_units: str | None = None, chunks: Chunks | None = None) -> RawStack:
    """Read one dxchange projection file (one energy): ``/exchange/data`` ``(angle, y, x)``,
    ``data_white``, ``data_dark``, ``theta`` and ``energy``.

    Parameters
    ----------
    path : str or pathlib.Path
        The HDF5 file.
    energy_ev : float, optional
        Energy (eV) when the file does not state it.
    theta_units : {"deg", "rad"}, optional
        Units of ``theta``; default its ``units`` attribute, else degrees. Angles that look like the
        other unit raise rather than being guessed.
    chunks : int or tuple, optional
        Keep the projections on disk as a dask array read on demand, in chunks of this shape of
        ``(angle, y, x)`` (−1 a whole axis, e.g. ``(-1, 8, -1)`` for slabs of 8 detector rows of every
        projection) or square tiles of this side (:func:`redoxmap.io.read_hdf5`).

    Returns
    -------
    RawStack
        Counts ``(angle, y, x)`` with an ``angle`` coordinate in degrees, flats and darks.

    Raises
    ------
    FormatError
        If flats are missing, the data are not 3D, or the angles do not match the projections.

    Examples
    --------
    >>> import tempfile
    >>> from redoxmap.simulate import acquire_projections
    >>> z, y, x = np.indices((4, 16, 16))
    >>> volume = xr.DataArray(0.05 * ((y - 7.5) ** 2 + (x - 7.5) ** 2 < 36), dims=("z", "y", "x"))
    >>> raw, _ = acquire_projections(volume, np.linspace(0, 180, 19))
    >>> path = Path(tempfile.mkdtemp()) / "projections.h5"
    >>> write_projections_dxchange(raw, path)
    >>> read_projections_dxchange(path, energy_ev=6530.0).counts.angle.values[[0, -1]].tolist()
    [0.0, 180.0]
    """
    path = Path(path)
    with _open_h5(path) as h5, _h5_errors(path):
        data = _require_dataset(h5, DATA, "projections")
        if data.ndim != 3:
            raise FormatError(f"{path}: {DATA} has shape {data.shape}; expected (angle, y, x)")
        theta = _require_dataset(h5, THETA, "rotation angles")
        units = theta_units or theta.attrs.get("units", "deg")
        units = units.decode() if isinstance(units, bytes) else str(units)
        angles = _angles_in_degrees(theta[()], units, f"{path}:{THETA}")
        if angles.size != data.shape[0]:
            raise FormatError(f"{path}: {THETA} holds {angles.size} angles but {DATA} holds "
                              f"{data.shape[0]} projections; expected one angle per projection")
        if energy_ev is None and ENERGY in h5:
            energy_ev = float(to_ev(np.atleast_1d(h5[ENERGY][()]), f"{path}:{ENERGY}")[0][0])
        counts = _images(data, chunks)
        counts = counts.astype(np.float32) if chunks is not None else np.asarray(counts, np.float32)
        flats = _read_frames(h5, FLATS, "flat-field images", data.shape[1:], -1, None)
        darks = _read_frames(h5, DARKS, "dark images", data.shape[1:], -1, None)
    if flats is None:
        raise FormatError(f"{path}: {FLATS} (flat-field images) is missing; expected flats to turn "
                          "counts into transmission")
    coords = {"angle": angles}
    if energy_ev is not None:
        coords["energy"] = float(energy_ev)
    da = xr.DataArray(counts, dims=("angle", "y", "x"), coords=coords,
                      attrs={"source": str(path), "history": []})
    da["angle"].attrs["units"] = "degree"
    return RawStack(counts=da, flats=flats, darks=darks)


def projections_shape(path: str | Path) -> tuple[int, int, int]:
    """The shape ``(angle, y, x)`` of a dxchange projection file's ``/exchange/data``, read from its
    header alone (to check settings such as the rotation axis before the projections are read).

    Parameters
    ----------
    path : str or pathlib.Path
        The HDF5 file.

    Returns
    -------
    tuple of int
        Projections, detector rows and detector columns (px).

    Raises
    ------
    FormatError
        If the file is not HDF5, has no ``/exchange/data`` or it is not 3D.

    Examples
    --------
    >>> import tempfile
    >>> from redoxmap.simulate import acquire_projections
    >>> volume = xr.DataArray(np.ones((2, 8, 8)), dims=("z", "y", "x"))
    >>> raw, _ = acquire_projections(volume, np.linspace(0, 180, 5))
    >>> path = Path(tempfile.mkdtemp()) / "projections.h5"
    >>> write_projections_dxchange(raw, path)
    >>> projections_shape(path)
    (5, 2, 8)
    """
    with _open_h5(path) as h5, _h5_errors(path):
        data = _require_dataset(h5, DATA, "projections")
        if data.ndim != 3:
            raise FormatError(f"{path}: {DATA} has shape {data.shape}; expected (angle, y, x)")
        return tuple(int(n) for n in data.shape)


def write_projections_dxchange(raw: RawStack, path: str | Path) -> None:
    """Write projections ``(angle, y, x)`` in the dxchange layout with flats, darks, theta (degrees) and
    energy (eV), under a temporary name, then renamed.

    Parameters
    ----------
    raw : RawStack
        Counts with an ``angle`` coordinate (degrees), flats and darks.
    path : str or pathlib.Path
        The HDF5 file to write.
    """
    import h5py

    with atomic_output(path, overwrite=True) as tmp, h5py.File(tmp, "w") as h5:
        h5[DATA] = np.asarray(raw.counts.values)
        h5[THETA] = raw.counts["angle"].values
        h5[THETA].attrs["units"] = "deg"
        if "energy" in raw.counts.coords:
            h5[ENERGY] = float(raw.counts["energy"])
        for frames, name in ((raw.flats, FLATS), (raw.darks, DARKS)):
            if frames is not None:
                values = np.asarray(frames.values)
                h5[name] = values[None] if values.ndim == 2 else values
