"""NeXus ``NXstxm`` HDF5 stacks, as written by pyStxm (CLS) and ALS/SLS beamlines.

The NXentry whose ``definition`` is ``NXstxm`` holds an NXdata group (``counter0`` or the first
NXdata) with ``data`` ``(energy, sample_y, sample_x)``, ``energy`` (eV), ``sample_y`` and
``sample_x`` (µm), and an NXmonitor ``control`` whose ``data`` (ring current or I0 per point) can
normalise the counts. I0 itself still comes from an empty region of the image.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import xarray as xr

from redoxmap.errors import FormatError
from redoxmap.io.atomic import atomic_output
from redoxmap.io.energies import check_increasing, to_ev
from redoxmap.io.hdf5 import _h5_errors, _open_h5, _require_dataset
from redoxmap.io.raw import RawStack


def _as_text(value) -> str:
    value = value[()] if isinstance(value, h5py.Dataset) else value
    if isinstance(value, np.ndarray):
        value = value.ravel()[0] if value.size else b""
    return value.decode() if isinstance(value, bytes) else str(value)


def _find_nxstxm_entry(h5: h5py.File) -> h5py.Group | None:
    """The first NXentry whose ``definition`` reads ``NXstxm``, or None."""
    for group in h5.values():
        if isinstance(group, h5py.Group) and "definition" in group:
            if _as_text(group["definition"]).strip() == "NXstxm":
                return group
    return None


def _nxdata(entry: h5py.Group) -> h5py.Group:
    if "counter0" in entry:
        return entry["counter0"]
    for group in entry.values():
        if isinstance(group, h5py.Group) and _as_text(group.attrs.get("NX_class", b"")) == "NXdata":
            return group
    raise FormatError(f"{entry.file.filename}: {entry.name} has no NXdata group (counter0)")


def read_nxstxm(path: str | Path, normalise_by_control: bool = True) -> RawStack:
    """Read a NeXus ``NXstxm`` image stack (pyStxm, ALS/SLS beamlines; module doc) as counts
    ``(energy, y, x)``.

    With ``normalise_by_control`` the counts are divided by ``control/data`` relative to its mean
    (correcting ring-current decay between energies), recorded in the notes. I0 still comes from an
    empty region of the image (:func:`redoxmap.preprocess.with_i0_region`).

    Parameters
    ----------
    path : str or pathlib.Path
        The HDF5 file.
    normalise_by_control : bool
        Divide by the monitor ``control/data`` relative to its mean.

    Returns
    -------
    RawStack
        Counts with energies in eV and ``pixel_size_nm`` from the sample positions; no flats.

    Raises
    ------
    FormatError
        If no NXstxm entry is found, the data are not ``(energy, sample_y, sample_x)``, or the
        monitor values are not positive.

    Examples
    --------
    >>> import tempfile
    >>> from redoxmap.simulate import demo_raw_stack
    >>> path = Path(tempfile.mkdtemp()) / "stack.h5"
    >>> write_nxstxm(demo_raw_stack(shape=(16, 16)), path)
    >>> read_nxstxm(path).counts.shape
    (121, 16, 16)
    """
    path = Path(path)
    with _open_h5(path) as h5, _h5_errors(path):
        entry = _find_nxstxm_entry(h5)
        if entry is None:
            raise FormatError(f"{path}: no NXentry with definition 'NXstxm'")
        group = _nxdata(entry)
        data = _require_dataset(h5, f"{group.name}/data", "STXM counts")[()].astype(np.float32)
        energy, note = to_ev(_require_dataset(h5, f"{group.name}/energy", "energies")[()],
                             f"{path}:{group.name}/energy")
        y_um = _require_dataset(h5, f"{group.name}/sample_y", "y positions")[()]
        x_um = _require_dataset(h5, f"{group.name}/sample_x", "x positions")[()]
        control = entry["control/data"][()] if "control/data" in entry else None
    expected = (energy.size, y_um.size, x_um.size)
    if data.shape != expected:
        raise FormatError(f"{path}: {group.name}/data has shape {data.shape}; expected "
                          f"(energy, sample_y, sample_x) = {expected}")
    check_increasing(energy, f"{path}:{group.name}/energy")
    notes = [note] if note else []
    if normalise_by_control and control is not None:
        control = np.asarray(control, dtype=np.float64)
        if control.ndim == 0 or control.shape[0] != energy.size or not np.all(control > 0):
            raise FormatError(f"{path}: control/data has shape {control.shape} or values ≤ 0 or NaN; "
                              f"expected positive values, one (or one image) per energy")
        with np.errstate(over="ignore"):
            scale = control / control.mean()
        if not np.all(np.isfinite(scale) & (scale > 0)):
            raise FormatError(f"{path}: control/data spans {control.min():g}…{control.max():g}; expected "
                              "finite positive values of one monitor (ring current or I0)")
        scale = scale.reshape(energy.size, *([1] * 2 if scale.ndim == 1 else scale.shape[1:]))
        with np.errstate(over="ignore"):  # a count beyond float32 becomes inf, masked downstream
            data = (data / scale).astype(np.float32)
        notes.append("counts divided by control/data (relative to its mean)")
    pixel_nm = float(np.median(np.abs(np.diff(x_um)))) * 1000.0 if x_um.size > 1 else None
    counts = xr.DataArray(data.astype(np.float32), dims=("energy", "y", "x"),
                          coords={"energy": energy, "y": y_um, "x": x_um},
                          attrs={"source": str(path), "history": [],
                                 **({"pixel_size_nm": pixel_nm} if pixel_nm else {})})
    counts["energy"].attrs["units"] = "eV"
    return RawStack(counts=counts, notes=notes)


def write_nxstxm(raw: RawStack, path: str | Path, control: np.ndarray | None = None,
                 pixel_size_nm: float = 50.0) -> None:
    """Write counts as a minimal NXstxm file (for tests and simulated data), under a temporary name,
    then renamed.

    Parameters
    ----------
    raw : RawStack
        Counts ``(energy, y, x)``.
    path : str or pathlib.Path
        The HDF5 file to write.
    control : numpy.ndarray, optional
        Monitor values, one per energy (or one image per energy).
    pixel_size_nm : float
        Step of the sample positions (nm).
    """
    counts = np.asarray(raw.counts.values)
    with atomic_output(path, overwrite=True) as tmp, h5py.File(tmp, "w") as h5:
        entry = h5.create_group("entry1")
        entry.attrs["NX_class"] = "NXentry"
        entry["definition"] = "NXstxm"
        data = entry.create_group("counter0")
        data.attrs["NX_class"] = "NXdata"
        data.attrs["signal"] = "data"
        data["data"] = counts
        data["energy"] = raw.energy_ev
        data["sample_y"] = np.arange(counts.shape[1]) * pixel_size_nm / 1000.0  # stored in µm
        data["sample_x"] = np.arange(counts.shape[2]) * pixel_size_nm / 1000.0
        if control is not None:
            monitor = entry.create_group("control")
            monitor.attrs["NX_class"] = "NXmonitor"
            monitor["data"] = control
