"""Column text holding one or several XAS scans.

A file is cut into blocks: runs of rows of numbers, each after its own header lines. Two layouts
hold several scans, and both may occur together:

* concatenated scans (SPEC files, a beamline's appended scans, ``cat`` of single-scan files): one
  scan per block, timed by its own header (``#D`` in SPEC, ``Time at start=``, ``Scan.start_time:``,
  ``Start time:``; see :data:`redoxmap.io.xas_scan.TIME_KEY`);
* wide tables: one energy column and one μ column per scan (an Athena or Larch "columns" export,
  a processed operando series), one scan per column. Times come from a header line holding one
  date and time per scan column (e.g. ``# start_time: 2024-03-01T09:00:00, 2024-03-01T09:15:00``).

Columns are named by the last header line that splits (at tabs, else at two or more spaces, else at
single spaces) into as many names as the block has columns; unnamed columns are ``col1``, ``col2``
… The energy column is the first whose name contains ``energ`` (else the first). μ is, per block:
the columns matching ``column`` (a name, a 1-based number or a shell pattern such as ``"mu_*"``);
else the first column named like μ (:data:`MU_NAMES`); else ln(i0/it) or if/i0 from detector
columns; else, with two columns, the second; else every column but the energy (a wide table).
"""

from __future__ import annotations

import gzip
import re
import zlib
from fnmatch import fnmatch
from pathlib import Path

import numpy as np

from redoxmap.errors import FormatError
from redoxmap.io.energies import check_increasing, to_ev
from redoxmap.io.xas_scan import XasScan, _header_time, _parse_time

__all__ = ["MU_NAMES", "read_xas_text"]

#: Column names read as μ(E) (lower case), in order of preference, and whether each is normalized.
MU_NAMES = {"mu": False, "xmu": False, "mutrans": False, "mufluor": False, "mu(e)": False,
            "absorption": False, "normalized": True, "norm": True, "normtrans": True, "flat": True}
_I0 = ("i0", "io", "izero")
_ITRANS = ("it", "i1", "itrans")
_IFLUOR = ("if", "ifluor", "ifl", "fluo")
_STARTS_NUMERIC = re.compile(r"^\s*[-+]?(?:\d|\.\d)")
GZIP_MAGIC = b"\x1f\x8b"


def _lines(path: Path) -> list[str]:
    raw = path.read_bytes()
    if raw.startswith(GZIP_MAGIC):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise FormatError(f"{path}: truncated or damaged gzip file ({exc})") from None
    if b"\x00" in raw[:512]:
        raise FormatError(f"{path}: a binary file; expected column text (energy and μ columns)")
    try:
        return raw.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return raw.decode("latin-1").splitlines()


def _blocks(path: Path, lines: list[str]) -> list[tuple[list[str], np.ndarray, int]]:
    """(header lines, table, first line number) of each run of numeric rows."""
    numeric = np.array([bool(_STARTS_NUMERIC.match(ln)) for ln in lines] + [False])
    starts = np.flatnonzero(numeric[:-1] & ~np.concatenate([[False], numeric[:-2]]))
    out, previous_end = [], 0
    for start in starts:
        stop = start + int(np.argmin(numeric[start:]))
        rows = [ln.replace(",", " ") for ln in lines[start:stop]]
        try:
            table = np.loadtxt(rows, ndmin=2, dtype=float)
        except ValueError:
            widths = [len(r.split()) for r in rows]
            bad = next((i for i, r in enumerate(rows) if len(r.split()) != widths[0]
                        or not all(_is_number(f) for f in r.split())), 0)
            raise FormatError(f"{path}, line {start + bad + 1}: {lines[start + bad].strip()[:60]!r} is not a "
                              f"row of {widths[0]} numbers like the rows above it") from None
        if table.shape[0] >= 2:  # a lone numeric line in a header is not a scan
            out.append((lines[previous_end:start], table, int(start) + 1))
            previous_end = stop
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _names(header: list[str], n_columns: int) -> list[str]:
    for line in reversed(header):
        body = re.sub(r"^[#!;]+\s*(?:L\s+)?", "", line.strip()).strip()
        for pattern in ("\t", r"\s{2,}", r"\s+"):
            names = [n.strip() for n in re.split(pattern, body) if n.strip()]
            if len(names) == n_columns:
                return names
    return [f"col{i + 1}" for i in range(n_columns)]


def _pick(names: list[str], column: str | int | None, energy: int) -> list[int] | tuple[int, int, str]:
    """Indices of the μ columns, or (numerator, denominator, kind) of detector columns."""
    lower = [n.lower() for n in names]
    others = [i for i in range(len(names)) if i != energy]
    if isinstance(column, int) or (isinstance(column, str) and column.isdigit()):
        return [int(column) - 1] if 0 < int(column) <= len(names) else []
    if column is not None:
        return [i for i in others if fnmatch(lower[i], column.lower())]
    for name in MU_NAMES:
        if name in lower:
            return [lower.index(name)]
    i0 = next((lower.index(n) for n in _I0 if n in lower), None)
    it = next((lower.index(n) for n in _ITRANS if n in lower), None)
    fl = next((lower.index(n) for n in _IFLUOR if n in lower), None)
    if i0 is not None and it is not None:
        return i0, it, "transmission"
    if i0 is not None and fl is not None:
        return fl, i0, "fluorescence"
    return others


def _column_times(header: list[str], n: int) -> list | None:
    """One time per scan column from a header line holding n dates and times, else None."""
    for line in header:
        key, sep, value = line.lstrip("#!; \t").partition(":")
        if not sep or not re.fullmatch(r"[A-Za-z][\w .]*", key.strip()):
            continue
        parts = [p for p in re.split(r"\t|,|;|\s{2,}", value) if p.strip()]
        if len(parts) == n:
            stamps = [_parse_time(p) for p in parts]
            if all(s is not None for s in stamps):
                return stamps
    return None


def read_xas_text(path: str | Path, column: str | int | None = None) -> list[XasScan]:
    """Every scan of a column-text file (module doc for how blocks and columns are read).

    Parameters
    ----------
    path : str or pathlib.Path
        The text file (may be gzip-compressed).
    column : str or int, optional
        The μ column(s): a name, a 1-based number or a shell pattern matching several; default:
        recognised from the names (module doc).

    Returns
    -------
    list of XasScan
        The scans in file order, blocks first, columns within a block: energy (eV, a keV column
        converted), μ, and each block's or column's start time where the header states it.

    Raises
    ------
    FormatError
        If the file is missing, holds no rows of numbers or one column only, or no column matches
        ``column``.

    Examples
    --------
    >>> scans = read_xas_text("tests/data/xas/norm_op2_cell4_pos1_dq1_0001_av240_00001.txt.gz")
    >>> scans[0].label, scans[0].normalized, str(scans[0].start_time)
    ('norm_op2_cell4_pos1_dq1_0001_av240_00001', True, '2022-07-26 23:01:58.055000')
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: file not found")
    lines = _lines(path)
    blocks = _blocks(path, lines)
    if not blocks:
        raise FormatError(f"{path}: no rows of numbers; expected columns of energy and μ(E)")
    scans: list[XasScan] = []
    for number, (header, table, first_line) in enumerate(blocks, start=1):
        where = f"{path}, block at line {first_line}" if len(blocks) > 1 else str(path)
        names = _names(header, table.shape[1])
        energy_col = next((i for i, n in enumerate(names) if "energ" in n.lower()), 0)
        if table.shape[1] < 2:
            raise FormatError(f"{where}: one column; expected energy and μ(E) columns")
        picked = _pick(names, column, energy_col)
        if not picked:
            raise FormatError(f"{where}: no column matches {column!r}; the columns are {names}")
        energy, note = to_ev(table[:, energy_col], where)
        order = np.argsort(energy, kind="stable")
        check_increasing(energy[order], where)
        spec_lines = [i for i, ln in enumerate(header) if ln.startswith("#S ")]
        own = header[spec_lines[-1]:] if spec_lines else header  # a SPEC scan's own header, not the file's
        start, offset = _header_time(own)
        spec = own[0].lstrip("#").strip() if spec_lines else None
        if isinstance(picked, tuple):
            top, bottom, kind = picked
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = table[:, top] / table[:, bottom]
            mus = [(np.log(ratio) if kind == "transmission" else ratio, f"{kind} {number}", False)]
        else:
            mus = [(table[:, i], names[i], MU_NAMES.get(names[i].lower(), False)) for i in picked]
        times = _column_times(header, len(mus)) if len(mus) > 1 else [start]
        for k, (mu, name, normalized) in enumerate(mus):
            stem = Path(path.name.removesuffix(".gz")).stem
            single = f"{stem} #{number}" if len(blocks) > 1 else stem
            label = name if len(mus) > 1 else spec or single
            scans.append(XasScan(energy[order], mu[order], label, str(path), "columns",
                                 times[k] if times else None, offset if len(mus) == 1 else float("nan"),
                                 normalized, [note] if note else []))
    return scans
