"""XDI 1.0 files (the XAS Data Library format, Ravel & Newville, J. Phys.: Conf. Ser. 712, 012148 (2016)):
``# Namespace.tag: value`` header lines (``# Column.N: name [units]`` names the columns,
``# Scan.start_time`` and ``# Scan.end_time`` give the scan's clock times in ISO 8601), ``# ///``,
free comments, then whitespace-separated columns."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from redoxmap.errors import FormatError
from redoxmap.io.atomic import atomic_output
from redoxmap.io.energies import check_increasing, to_ev
from redoxmap.io.xas_scan import XasScan, _parse_time

__all__ = ["read_xdi", "read_xdi_scan", "write_xdi"]

_COLUMN = re.compile(r"#\s*Column\.(\d+)\s*:\s*(\S+)")
_FIELD = re.compile(r"#\s*([A-Za-z_]+\.[A-Za-z_0-9]+)\s*:\s*(.*)")
#: μ columns in the order they are taken, and whether each is already normalized.
MU_COLUMNS = (("mutrans", False), ("mu", False), ("normtrans", True), ("norm", True), ("mufluor", False))


def read_xdi(path: str | Path) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """Energy (eV), μ(E) and header fields of an XDI 1.0 file (Ravel & Newville 2016).

    μ is taken, in this order, from a ``mutrans``/``mu``/``normtrans``/``norm``/``mufluor`` column,
    or computed as μ = ln(I0/It) (transmission) or μ = If/I0 (fluorescence).

    Parameters
    ----------
    path : str or pathlib.Path
        The XDI file.

    Returns
    -------
    energy_ev : numpy.ndarray
        Energies (eV), increasing (a keV column is converted).
    mu : numpy.ndarray
        μ(E) (dimensionless) on those energies.
    fields : dict of str to str
        The ``Namespace.tag`` header fields (``Scan.start_time``, ``Element.symbol`` …).

    Raises
    ------
    FormatError
        If the file is missing, not XDI, has no energy or μ column, or non-numeric rows.

    Examples
    --------
    >>> energy, mu, fields = read_xdi("tests/data/xdi/MnO2_rt_01.xdi")
    >>> fields["Element.symbol"], bool(energy[0] < 6540 < energy[-1])
    ('Mn', True)
    """
    scan, fields = _read(Path(path))
    return scan.energy_ev, scan.mu, fields


def read_xdi_scan(path: str | Path) -> XasScan:
    """One XDI file as a scan: :func:`read_xdi`'s energy and μ, labelled by ``Sample.name`` (else
    the file name), timed by ``Scan.start_time`` with ``time_offset_s`` half the way to
    ``Scan.end_time`` when both are stated.

    Parameters
    ----------
    path : str or pathlib.Path
        The XDI file.

    Returns
    -------
    XasScan
        Energy (eV), μ and the scan's start time and offset (s).

    Raises
    ------
    FormatError
        As :func:`read_xdi`.

    Examples
    --------
    >>> scan = read_xdi_scan("tests/data/xdi/MnO2_rt_01.xdi")
    >>> str(scan.start_time)
    '1995-06-20 03:12:09'
    """
    return _read(Path(path))[0]


def _read(path: Path) -> tuple[XasScan, dict[str, str]]:
    if not path.is_file():
        raise FormatError(f"{path}: XDI file not found")
    lines = path.read_text(errors="replace").splitlines()
    if not lines or not lines[0].startswith("# XDI/"):
        raise FormatError(f"{path}: first line is not '# XDI/1.0 ...'; expected an XDI file")
    columns: dict[str, int] = {}
    fields: dict[str, str] = {}
    for line in lines:
        if not line.startswith("#"):
            continue
        if match := _COLUMN.match(line):
            columns[match.group(2).lower()] = int(match.group(1)) - 1
        elif match := _FIELD.match(line):
            fields[match.group(1)] = match.group(2).strip()
    try:
        data = np.loadtxt(path, comments="#", ndmin=2)
    except ValueError as exc:
        raise FormatError(f"{path}: data rows are not numeric ({exc})") from None
    if "energy" not in columns:
        raise FormatError(f"{path}: no 'Column.N: energy' header; expected an energy column")
    if data.shape[0] < 2 or max(columns.values()) >= data.shape[1]:
        raise FormatError(f"{path}: {data.shape[0]} data rows of {data.shape[1]} columns; expected the "
                          f"{max(columns.values()) + 1} columns the header names, on at least 2 rows")
    energy, note = to_ev(data[:, columns["energy"]], str(path))
    normalized = False
    for name, is_norm in MU_COLUMNS:
        if name in columns:
            mu, normalized = data[:, columns[name]], is_norm
            break
    else:
        if {"i0", "itrans"} <= columns.keys():
            with np.errstate(divide="ignore", invalid="ignore"):
                mu = np.log(data[:, columns["i0"]] / data[:, columns["itrans"]])
        elif {"i0", "ifluor"} <= columns.keys():
            with np.errstate(divide="ignore", invalid="ignore"):
                mu = data[:, columns["ifluor"]] / data[:, columns["i0"]]
        else:
            raise FormatError(f"{path}: columns {sorted(columns)} hold no μ(E) and no i0 with "
                              "itrans or ifluor; expected one of them")
    order = np.argsort(energy, kind="stable")
    check_increasing(energy[order], str(path))
    start = _parse_time(fields.get("Scan.start_time", ""))
    end = _parse_time(fields.get("Scan.end_time", ""))
    offset = (end - start).total_seconds() / 2 if start is not None and end is not None else float("nan")
    scan = XasScan(energy[order], mu[order], fields.get("Sample.name") or path.stem, str(path), "xdi",
                   start, offset, normalized, [note] if note else [])
    return scan, fields


def write_xdi(energy_ev: np.ndarray, mu: np.ndarray, path: str | Path, *,
              fields: dict[str, str] | None = None, start_time=None, end_time=None,
              overwrite: bool = False) -> Path:
    """Write one spectrum as an XDI 1.0 file with columns ``energy`` (eV) and ``mutrans``.

    Parameters
    ----------
    energy_ev : numpy.ndarray
        Energies (eV).
    mu : numpy.ndarray
        μ(E) (dimensionless) on those energies.
    path : str or pathlib.Path
        The file to write (under a temporary name, then renamed).
    fields : dict of str to str, optional
        Further ``Namespace.tag`` header fields, e.g. ``{"Element.symbol": "Mn"}``.
    start_time, end_time : str or datetime-like, optional
        Written as ``Scan.start_time`` and ``Scan.end_time`` (ISO 8601, wall-clock time).
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The path written; :func:`read_xdi_scan` reads it back.

    Raises
    ------
    OutputError
        If the file exists and ``overwrite`` is not set.

    Examples
    --------
    >>> import tempfile
    >>> path = write_xdi(np.array([6530.0, 6540.0, 6560.0]), np.array([0.1, 0.5, 1.0]),
    ...                  Path(tempfile.mkdtemp()) / "spectrum.xdi", start_time="2024-03-01T09:00:00",
    ...                  end_time="2024-03-01T09:10:00")
    >>> read_xdi_scan(path).time_offset_s  # half of end − start (s)
    300.0
    """
    path = Path(path)
    header = ["# XDI/1.0 redoxmap", "# Column.1: energy eV", "# Column.2: mutrans"]
    for key, value in (fields or {}).items():
        header.append(f"# {key}: {value}")
    for key, stamp in (("Scan.start_time", start_time), ("Scan.end_time", end_time)):
        if stamp is not None:
            header.append(f"# {key}: {pd.Timestamp(stamp).isoformat()}")
    header += ["# ///", "#----", "# energy mutrans"]
    body = "\n".join(f"{e:.4f} {m:.8g}" for e, m in zip(np.asarray(energy_ev, float), np.asarray(mu, float),
                                                         strict=True))
    with atomic_output(path, overwrite=overwrite) as tmp:
        Path(tmp).write_text("\n".join(header) + "\n" + body + "\n")
    return path
