"""XDI 1.0 files, the XAS Data Library format (Ravel & Newville 2016, J. Phys.: Conf. Ser. 712,
012148): ``# Column.N: name [units]`` header lines, then whitespace-separated columns.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from redoxmap.errors import FormatError
from redoxmap.io.energies import check_increasing, to_ev

_COLUMN = re.compile(r"#\s*Column\.(\d+)\s*:\s*(\S+)")
_FIELD = re.compile(r"#\s*([A-Za-z_]+\.[A-Za-z_0-9]+)\s*:\s*(.*)")


def read_xdi(path: str | Path) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    r"""Energy, μ(E) and header fields of an XDI file.

    μ is taken, in this order, from a ``mutrans``/``mu``/``normtrans``/``norm``/``mufluor`` column,
    or computed as ln(i0/itrans) (transmission) or ifluor/i0 (fluorescence).

    Parameters
    ----------
    path : str or pathlib.Path
        The XDI file.

    Returns
    -------
    energy_ev : numpy.ndarray
        Energies (eV; keV converted), increasing.
    mu : numpy.ndarray
        μ(E) on those energies.
    fields : dict of str to str
        Header fields such as ``"Element.symbol"``.

    Raises
    ------
    FormatError
        If the file is missing, not XDI, has no energy column, non-numeric rows, or no μ(E).
    EnergyError
        If energies repeat.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "mno.xdi"
    >>> _ = path.write_text("# XDI/1.0\n# Column.1: energy eV\n# Column.2: i0\n# Column.3: itrans\n"
    ...                     "# Element.symbol: Mn\n#----\n6539.0 1000 500\n6540.0 1000 400\n")
    >>> energy, mu, fields = read_xdi(path)
    >>> energy.tolist(), [round(float(m), 4) for m in mu], fields
    ([6539.0, 6540.0], [0.6931, 0.9163], {'Element.symbol': 'Mn'})
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
