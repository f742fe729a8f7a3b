"""XDI 1.0 files (the XAS Data Library format, Ravel & Newville, J. Synchrotron Rad. 2016):
``# Column.N: name [units]`` header lines, then whitespace-separated columns."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from redoxmap.errors import FormatError
from redoxmap.io.energies import check_increasing, to_ev

_COLUMN = re.compile(r"#\s*Column\.(\d+)\s*:\s*(\S+)")
_FIELD = re.compile(r"#\s*([A-Za-z_]+\.[A-Za-z_0-9]+)\s*:\s*(.*)")


def read_xdi(path: str | Path) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """Energy (eV), μ(E) and header fields of an XDI file.

    μ is taken, in this order, from a ``mutrans``/``mu``/``normtrans``/``norm``/``mufluor`` column,
    or computed as ln(i0/itrans) (transmission) or ifluor/i0 (fluorescence).
    """
    path = Path(path)
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
        raise FormatError(f"{path}: data rows are not numeric ({exc})") from exc
    if "energy" not in columns:
        raise FormatError(f"{path}: no 'Column.N: energy' header; expected an energy column")
    energy, _ = to_ev(data[:, columns["energy"]], str(path))
    for name in ("mutrans", "mu", "normtrans", "norm", "mufluor"):
        if name in columns:
            mu = data[:, columns[name]]
            break
    else:
        if {"i0", "itrans"} <= columns.keys():
            mu = np.log(data[:, columns["i0"]] / data[:, columns["itrans"]])
        elif {"i0", "ifluor"} <= columns.keys():
            mu = data[:, columns["ifluor"]] / data[:, columns["i0"]]
        else:
            raise FormatError(f"{path}: columns {sorted(columns)} hold no μ(E) and no i0 with "
                              "itrans or ifluor; expected one of them")
    order = np.argsort(energy, kind="stable")
    check_increasing(energy[order], str(path))
    return energy[order], mu[order], fields
