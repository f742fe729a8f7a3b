"""NeXus XAS files: HDF5 entries whose ``definition`` is ``NXxas`` (NeXus International Advisory
Committee, NXxas application definition; nexusformat.org and github.com/nexusformat/definitions).

Two layouts are read. The current definition (XraySpectroscopy/nexus_definitions, written by
pynxxas) keeps ``energy`` and ``intensity`` (and ``intensity_errors``) in the entry itself. The
older one keeps ``instrument/monochromator/energy``, ``instrument/incoming_beam/data`` and
``instrument/absorbed_beam/data`` (the signal of the entry's NXdata); μ is then absorbed / incoming
beam. Each entry (or NXsubentry) is one scan, in the file's order; its time is the entry's
``start_time`` (NXentry), or ``scan/start_time`` as pynxxas writes it from an XDI header, and
``end_time`` when stated.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from redoxmap.errors import FormatError
from redoxmap.io.energies import check_increasing, to_ev
from redoxmap.io.hdf5 import _h5_errors, _open_h5
from redoxmap.io.xas_scan import XasScan, _parse_time

__all__ = ["read_nxxas"]


def _text(value) -> str:
    if isinstance(value, np.ndarray):
        value = value.ravel()[0] if value.size else ""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _field(group: h5py.Group, *names: str):
    """The first of ``names`` that is a dataset in ``group``, or None."""
    for name in names:
        item = group.get(name)
        if isinstance(item, h5py.Dataset):
            return item
    return None


def _entries(h5: h5py.File) -> list[tuple[str, h5py.Group]]:
    found = []

    def visit(name: str, item) -> None:
        kind = _text(item.attrs.get("NX_class", "")) if isinstance(item, h5py.Group) else ""
        if kind in ("NXentry", "NXsubentry"):
            definition = _field(item, "definition")
            if definition is not None and _text(definition[()]).startswith("NXxas"):
                found.append((name, item))

    h5.visititems(visit)
    return found


def _scan(path: Path, name: str, entry: h5py.Group) -> XasScan:
    where = f"{path}:/{name}"
    energy = _field(entry, "energy", "instrument/monochromator/energy")
    if energy is None:
        raise FormatError(f"{where}: NXxas entry without 'energy' or 'instrument/monochromator/energy'")
    intensity = _field(entry, "intensity")
    if intensity is not None:
        mu = intensity[()].astype(float)
        normalized = "normali" in _text(intensity.attrs.get("long_name", "")).lower()
    else:
        absorbed = _field(entry, "instrument/absorbed_beam/data")
        incoming = _field(entry, "instrument/incoming_beam/data")
        if absorbed is None or incoming is None:
            raise FormatError(f"{where}: NXxas entry with neither 'intensity' nor instrument/absorbed_beam "
                              "and incoming_beam data; expected one of them")
        with np.errstate(divide="ignore", invalid="ignore"):
            mu = absorbed[()].astype(float) / incoming[()].astype(float)
        normalized = False
    values = energy[()].astype(float).ravel()
    if _text(energy.attrs.get("units", "")).lower() == "kev":
        values = values * 1000.0
    values, note = to_ev(values, where)
    if mu.shape != values.shape:
        raise FormatError(f"{where}: {mu.size} intensities for {values.size} energies; expected one per "
                          "energy (one scan per entry)")
    order = np.argsort(values, kind="stable")
    check_increasing(values[order], where)
    start = end = None
    for prefix in ("", "scan/"):
        if start is None and (stamp := _field(entry, f"{prefix}start_time")) is not None:
            start = _parse_time(_text(stamp[()]))
            end_field = _field(entry, f"{prefix}end_time")
            end = _parse_time(_text(end_field[()])) if end_field is not None else None
    offset = (end - start).total_seconds() / 2 if start is not None and end is not None else float("nan")
    title = _field(entry, "title", "sample/name")
    label = _text(title[()]) if title is not None else name
    return XasScan(values[order], mu[order], label, str(path), "nxxas", start, offset, normalized,
                   [note] if note else [])


def read_nxxas(path: str | Path) -> list[XasScan]:
    """Every NXxas entry of a NeXus/HDF5 file as a scan (module doc for the layouts).

    Parameters
    ----------
    path : str or pathlib.Path
        The ``.h5``/``.nxs`` file.

    Returns
    -------
    list of XasScan
        One per NXxas entry, in the file's order: energy (eV), μ (intensity, or absorbed / incoming
        beam), start time and offset (s) where stated.

    Raises
    ------
    FormatError
        If the file is missing, not HDF5, holds no NXxas entry, or an entry lacks its energy or
        intensity.

    Examples
    --------
    >>> scans = read_nxxas("tests/data/xas/Fe_XDIFiles.h5")
    >>> [s.label for s in scans], str(scans[0].start_time)
    (['Fe2O3 APS 13-BM-D', 'Fe metal foil APS 13-BM-D', 'FeO  20BM'], '2002-03-16 14:48:54')
    """
    path = Path(path)
    with _open_h5(path) as h5, _h5_errors(path):
        entries = _entries(h5)
        if not entries:
            raise FormatError(f"{path}: no NXentry whose definition is NXxas; expected a NeXus XAS file")
        return [_scan(path, name, entry) for name, entry in entries]
