"""Two-column spectra (energy, absorption) from text or CSV files."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from redoxmap.errors import FormatError
from redoxmap.io.energies import check_increasing, to_ev

_SPLIT = re.compile(r"[,\s;]+")


def read_spectrum(path: str | Path) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Read a two-column spectrum (energy, absorption) from text or CSV.

    Columns may be separated by commas, tabs, semicolons or spaces; a header (any lines before
    the numbers) and ``#`` comments are allowed; extra columns are ignored. Energies in keV are
    recognised and converted to eV. Returns ``(energy_ev, absorption, note)`` sorted by energy.
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: reference spectrum file not found")
    rows = []
    for n, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        fields = [f for f in _SPLIT.split(text) if f]
        try:
            values = [float(f) for f in fields[:2]]
        except ValueError as exc:
            if rows:
                raise FormatError(
                    f"{path}, line {n}: {line.strip()!r} is not two numbers; expected "
                    "energy and absorption columns"
                ) from exc
            continue  # header line
        if len(values) < 2:
            raise FormatError(f"{path}, line {n}: one column found; expected energy and absorption")
        rows.append(values)
    if len(rows) < 2:
        raise FormatError(f"{path}: fewer than two data rows; expected energy, absorption columns")
    data = np.array(rows)
    energy, note = to_ev(data[:, 0], str(path))
    order = np.argsort(energy, kind="stable")
    energy, absorption = energy[order], data[order, 1]
    check_increasing(energy, str(path))
    return energy, absorption, note
