"""Athena project files (``.prj``, Ravel & Newville, J. Synchrotron Rad. 12, 537 (2005)) through
xraylarch's reader, an optional extra: ``pip install redoxmap[larch]``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from redoxmap.errors import FormatError, MissingExtraError
from redoxmap.io.xas_scan import XasScan, _parse_time

__all__ = ["read_athena", "read_athena_scans"]


def _groups(path: Path) -> list[tuple[str, object]]:
    """The project's groups as larch reads them: (label, larch Group) in the project's order (labels
    may repeat)."""
    if not path.is_file():
        raise FormatError(f"{path}: Athena project not found")
    try:
        from larch.io import read_athena as larch_read_athena
    except ImportError as exc:
        raise MissingExtraError(
            f"{path}: reading Athena projects needs xraylarch, an optional extra: "
            "pip install 'redoxmap[larch]'"
        ) from exc
    try:
        project = larch_read_athena(str(path))
    except Exception as exc:  # larch raises plain errors on malformed projects
        raise FormatError(f"{path}: not a readable Athena project ({exc})") from exc
    out = [(str(getattr(group, "label", name)), group) for name, group in project.groups.items()]
    if not out:
        raise FormatError(f"{path}: the project holds no groups")
    return out


def _energy(group) -> np.ndarray:
    """The group's energies with Athena's calibration shift (``bkg_eshift``) added."""
    return np.asarray(group.energy, float) + float(getattr(group, "energy_shift", 0.0) or 0.0)


def read_athena(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every group of an Athena project as ``{label: (energy_ev, mu)}``, through xraylarch's reader
    (Ravel & Newville 2005).

    Parameters
    ----------
    path : str or pathlib.Path
        The ``.prj`` file (gzip or plain, Perl or JSON layout: whatever larch reads).

    Returns
    -------
    dict of str to (numpy.ndarray, numpy.ndarray)
        Per group label: energies (eV) with the group's Athena calibration shift (``bkg_eshift``)
        added, and the stored, un-normalized μ(E) (dimensionless; normalize with
        :func:`redoxmap.preprocess.normalize_stack`). A repeated label keeps the last group.

    Raises
    ------
    MissingExtraError
        If xraylarch (the ``larch`` extra) is not installed.
    FormatError
        If the file is missing, not a readable project, or holds no group.
    """
    return {label: (_energy(group), np.asarray(group.mu, float)) for label, group in _groups(Path(path))}


def read_athena_scans(path: str | Path) -> list[XasScan]:
    """The groups of an Athena project (Ravel & Newville 2005) as scans, in the project's order.

    Parameters
    ----------
    path : str or pathlib.Path
        The ``.prj`` file (gzip or plain, Perl or JSON layout: whatever larch reads).

    Returns
    -------
    list of XasScan
        One per group: energies (eV) with the calibration shift, μ as stored (``normalized`` where
        Athena marks the record as normalized data), and the start time where the group kept its
        XDI header's ``Scan.start_time`` (Athena projects usually hold no times: give them to
        :func:`redoxmap.io.read_xas_series`).

    Raises
    ------
    MissingExtraError
        If xraylarch (the ``larch`` extra) is not installed.
    FormatError
        If the file is missing, not a readable project, or holds no group.
    """
    path = Path(path)
    scans = []
    for label, group in _groups(path):
        params = getattr(group, "athena_params", None)
        xdi_scan = getattr(params, "xdi_scan", None)
        start = _parse_time(str(xdi_scan.get("start_time", ""))) if isinstance(xdi_scan, dict) else None
        normalized = bool(float(getattr(params, "is_nor", 0) or 0))
        scans.append(XasScan(_energy(group), np.asarray(group.mu, float), label.strip(), str(path), "athena",
                             start, normalized=normalized))
    return scans
