"""Tomographic projections: dxchange HDF5 (``/exchange/data``, ``data_white``, ``data_dark``,
``/exchange/theta``) one file per energy or one file of every energy, and multi-page TIFF with an
angle list.

A multi-energy scan in one file follows the Data Exchange rule for scans (De Carlo et al., J.
Synchrotron Rad. 21, 1224 (2014); DXfile "X-ray Tomography": a scanned positioner is a further
dimension of the exchange dataset, its values a dimension scale): ``/exchange/data`` is
``(energy, angle, y, x)`` (an ``axes`` attribute, if any, reads ``energy:theta:y:x``),
``/exchange/energy`` holds one energy per slice of its first axis (eV or keV), ``/exchange/theta``
the angles ``(angle,)`` shared by every energy or ``(energy, angle)``, and ``data_white`` /
``data_dark`` one image, repeats ``(n, y, x)`` shared by every energy, one image per energy
``(energy, y, x)`` or repeats per energy ``(energy, n, y, x)``.

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
from redoxmap.io.raw import RawStack, _average_repeats

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
            raise FormatError(f"{path}: {DATA} has shape {data.shape}; expected (angle, y, x), or "
                              "(energy, angle, y, x) for every energy of a scan in one file "
                              "(read_projection_series_dxchange)")
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
    """The shape ``(angle, y, x)`` of a dxchange projection file's ``/exchange/data`` (of each energy,
    for a multi-energy file), read from its header alone (to check settings such as the rotation axis
    before the projections are read).

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
        If the file is not HDF5, has no ``/exchange/data`` or it is neither 3D nor 4D.

    Examples
    --------
    >>> import tempfile
    >>> from redoxmap.simulate import acquire_projections
    >>> volume = xr.DataArray(np.ones((2, 8, 8)), dims=("z", "y", "x"))
    >>> raw, _ = acquire_projections(volume, np.linspace(0, 180, 5))
    >>> path = Path(tempfile.mkdtemp()) / "projections.h5"
    >>> write_projections_dxchange(raw, path)
    >>> projections_shape(path), projection_energies(path)
    ((5, 2, 8), None)
    """
    with _open_h5(path) as h5, _h5_errors(path):
        data = _require_dataset(h5, DATA, "projections")
        if data.ndim not in (3, 4):
            raise FormatError(f"{path}: {DATA} has shape {data.shape}; expected (angle, y, x) or "
                              "(energy, angle, y, x)")
        return tuple(int(n) for n in data.shape[-3:])


def projection_energies(path: str | Path) -> int | None:
    """The number of energies of a dxchange file that holds a whole multi-energy scan (its
    ``/exchange/data`` is 4D, ``(energy, angle, y, x)``), read from its header alone; None for a file
    of one energy (3D).

    Parameters
    ----------
    path : str or pathlib.Path
        The HDF5 file.

    Returns
    -------
    int or None
        Energies along the first axis of ``/exchange/data``, or None.

    Raises
    ------
    FormatError
        If the file is not HDF5, has no ``/exchange/data`` or it is neither 3D nor 4D.
    """
    with _open_h5(path) as h5, _h5_errors(path):
        data = _require_dataset(h5, DATA, "projections")
        if data.ndim not in (3, 4):
            raise FormatError(f"{path}: {DATA} has shape {data.shape}; expected (angle, y, x) or "
                              "(energy, angle, y, x)")
        return int(data.shape[0]) if data.ndim == 4 else None


def _series_frames(h5, name: str, what: str, shape_yx: tuple, n_energy: int) -> list | None:
    """Flats or darks of a multi-energy file, one ``(y, x)`` image per energy (the same shared image
    for every energy, or each energy's own): one image, repeats (averaged), one image per energy, or
    repeats per energy ``(energy, n, y, x)`` (averaged per energy)."""
    if name not in h5:
        return None
    dset = _require_dataset(h5, name, what)
    where = f"{h5.filename}: {name} ({what})"
    if dset.ndim not in (2, 3, 4) or tuple(dset.shape[-2:]) != tuple(shape_yx):
        raise FormatError(f"{where} has shape {dset.shape}; expected images of {tuple(shape_yx)} (the "
                          "detector of /exchange/data): (y, x), (n, y, x), (energy, y, x) or "
                          "(energy, n, y, x)")
    if dset.ndim == 4 and dset.shape[0] != n_energy:
        raise FormatError(f"{where} holds {dset.shape[0]} energies but {DATA} holds {n_energy}; expected "
                          "one set of images per energy, or images shared by every energy")
    frames = np.asarray(dset[()], np.float32)
    if frames.ndim == 4:
        per_energy = frames.mean(axis=1)
    elif frames.ndim == 3 and frames.shape[0] == n_energy and n_energy > 1:
        per_energy = frames
    else:
        shared = frames if frames.ndim == 2 else _average_repeats(frames, n_energy, what, str(h5.filename))
        return [xr.DataArray(shared, dims=("y", "x"))] * n_energy
    return [xr.DataArray(image, dims=("y", "x")) for image in per_energy]


def read_projection_series_dxchange(path: str | Path, energies_ev: list[float] | None = None,
                                    theta_units: str | None = None,
                                    chunks: Chunks | None = None) -> list[RawStack]:
    """Read a dxchange file holding every energy of a multi-energy scan (module doc): one raw stack of
    projections per energy, in the file's order.

    Parameters
    ----------
    path : str or pathlib.Path
        The HDF5 file; ``/exchange/data`` is ``(energy, angle, y, x)``.
    energies_ev : list of float, optional
        The energies (eV), one per slice of the first axis, when the file has no ``/exchange/energy``
        (or to replace it).
    theta_units : {"deg", "rad"}, optional
        Units of ``theta``; default its ``units`` attribute, else degrees.
    chunks : int or tuple, optional
        Keep the projections on disk as dask arrays read on demand, in chunks of this shape of each
        energy's ``(angle, y, x)`` (e.g. ``(-1, 8, -1)``: slabs of 8 detector rows) or square tiles of
        this side (:func:`redoxmap.io.read_hdf5`; an unfiltered file is read through a memory map).

    Returns
    -------
    list of RawStack
        Counts ``(angle, y, x)`` of each energy with ``angle`` (degrees) and ``energy`` (eV)
        coordinates, and its flats and darks.

    Raises
    ------
    FormatError
        If ``/exchange/data`` is not 4D or its ``axes`` are not ``energy:theta:y:x``, the file
        states no energy or not one per slice (nor ``energies_ev``), the angles or the flats and
        darks do not match the projections, or flats are missing.

    Examples
    --------
    >>> import tempfile
    >>> from redoxmap.simulate import acquire_projections
    >>> volume = xr.DataArray(np.ones((2, 8, 8)), dims=("z", "y", "x"))
    >>> raws = [acquire_projections(volume * k, np.linspace(0, 180, 5))[0] for k in (1, 2)]
    >>> path = Path(tempfile.mkdtemp()) / "scan.h5"
    >>> write_projection_series_dxchange(raws, [6530.0, 6560.0], path)
    >>> [float(raw.counts.energy) for raw in read_projection_series_dxchange(path)]
    [6530.0, 6560.0]
    """
    path = Path(path)
    with _open_h5(path) as h5, _h5_errors(path):
        data = _require_dataset(h5, DATA, "projections")
        if data.ndim != 4:
            raise FormatError(f"{path}: {DATA} has shape {data.shape}; expected (energy, angle, y, x) for "
                              "every energy of a scan in one file")
        axes = data.attrs.get("axes")
        axes = axes.decode() if isinstance(axes, bytes) else axes
        if axes is not None and [a.strip() for a in str(axes).split(":")] != ["energy", "theta", "y", "x"]:
            raise FormatError(f"{path}: {DATA} has axes {axes!r}; expected energy:theta:y:x")
        n_energy, n_angle = int(data.shape[0]), int(data.shape[1])
        if energies_ev is not None:
            if len(energies_ev) != n_energy:
                raise FormatError(f"{len(energies_ev)} energies given for {path}, whose {DATA} holds "
                                  f"{n_energy} along its first (energy) axis; expected one per energy")
            energies = np.asarray(energies_ev, float)
        elif ENERGY in h5:
            energies = to_ev(np.atleast_1d(h5[ENERGY][()]), f"{path}:{ENERGY}")[0]
            if energies.size != n_energy:
                raise FormatError(f"{path}: {ENERGY} holds {energies.size} energies but {DATA} holds "
                                  f"{n_energy} along its first (energy) axis; expected one energy per slice")
        else:
            raise FormatError(f"{path}: no {ENERGY} for the {n_energy} energies of {DATA}; expected one "
                              "energy per slice of its first axis, or the energies given (--energy-ev)")
        theta = _require_dataset(h5, THETA, "rotation angles")
        units = theta_units or theta.attrs.get("units", "deg")
        units = units.decode() if isinstance(units, bytes) else str(units)
        if theta.ndim not in (1, 2) or theta.shape[-1] != n_angle or (theta.ndim == 2
                                                                        and theta.shape[0] != n_energy):
            raise FormatError(f"{path}: {THETA} has shape {theta.shape} but {DATA} holds {n_energy} energies "
                              f"of {n_angle} projections; expected ({n_angle},) or ({n_energy}, {n_angle})")
        angles = np.broadcast_to(_angles_in_degrees(theta[()], units, f"{path}:{THETA}").reshape(
            -1, n_angle), (n_energy, n_angle))
        if chunks is None:
            counts = [np.asarray(data[i], np.float32) for i in range(n_energy)]
        else:
            lazy = _images(data, (1, *chunks) if isinstance(chunks, tuple) else chunks)
            counts = [lazy[i].astype(np.float32) for i in range(n_energy)]
        flats = _series_frames(h5, FLATS, "flat-field images", data.shape[2:], n_energy)
        darks = _series_frames(h5, DARKS, "dark images", data.shape[2:], n_energy)
    if flats is None:
        raise FormatError(f"{path}: {FLATS} (flat-field images) is missing; expected flats to turn "
                          "counts into transmission")
    stacks = []
    for i in range(n_energy):
        da = xr.DataArray(counts[i], dims=("angle", "y", "x"),
                          coords={"angle": angles[i], "energy": float(energies[i])},
                          attrs={"source": str(path), "history": []})
        da["angle"].attrs["units"] = "degree"
        stacks.append(RawStack(counts=da, flats=flats[i], darks=None if darks is None else darks[i]))
    return stacks


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


def write_projection_series_dxchange(raws: list[RawStack], energies_ev: list[float],
                                     path: str | Path) -> None:
    """Write the projections of several energies into one dxchange file (module doc):
    ``/exchange/data`` ``(energy, angle, y, x)`` with ``axes = "energy:theta:y:x"``,
    ``/exchange/energy`` (eV), the angles of the first energy, and each energy's flats and darks
    ``(energy, n, y, x)``; under a temporary name, then renamed.

    Parameters
    ----------
    raws : list of RawStack
        Counts ``(angle, y, x)`` of each energy, the same angles and detector, with flats and darks.
    energies_ev : list of float
        The energy of each (eV).
    path : str or pathlib.Path
        The HDF5 file to write.
    """
    import h5py

    def frames(stack: xr.DataArray) -> np.ndarray:
        values = np.asarray(stack.values)
        return values[None] if values.ndim == 2 else values

    with atomic_output(path, overwrite=True) as tmp, h5py.File(tmp, "w") as h5:
        h5[DATA] = np.stack([np.asarray(raw.counts.transpose("angle", "y", "x").values) for raw in raws])
        h5[DATA].attrs["axes"] = "energy:theta:y:x"
        h5[ENERGY] = np.asarray(energies_ev, float)
        h5[THETA] = raws[0].counts["angle"].values
        h5[THETA].attrs["units"] = "deg"
        for name, key in ((FLATS, "flats"), (DARKS, "darks")):
            if getattr(raws[0], key) is not None:
                h5[name] = np.stack([frames(getattr(raw, key)) for raw in raws])
