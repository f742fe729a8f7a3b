"""Two-column spectra (energy, absorption) from text or CSV files."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

from redoxmap.errors import FormatError, RedoxmapWarning
from redoxmap.io.energies import check_increasing, to_ev

_SPLIT = re.compile(r"[,\s;]+")


def read_spectrum(path: str | Path) -> tuple[np.ndarray, np.ndarray, str | None]:
    r"""Read a two-column spectrum (energy, absorption) from text or CSV.

    Columns may be separated by commas, tabs, semicolons or spaces; a header (any lines before the
    numbers) and ``#`` comments are allowed; extra columns are ignored. Energies in keV are
    recognised and converted to eV.

    Parameters
    ----------
    path : str or pathlib.Path
        The spectrum file.

    Returns
    -------
    energy_ev : numpy.ndarray
        Energies (eV), sorted.
    absorption : numpy.ndarray
        The second column, in the same order.
    note : str or None
        A note when the energies were converted from keV, else None.

    Raises
    ------
    FormatError
        If the file is missing, has fewer than two rows, or a row is not two numbers.
    EnergyError
        If energies repeat.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "ref.csv"
    >>> _ = path.write_text("energy,mu\n6539,0.1\n6540,0.2\n6541,0.4\n")
    >>> energy, mu, note = read_spectrum(path)
    >>> energy.tolist(), mu.tolist(), note
    ([6539.0, 6540.0, 6541.0], [0.1, 0.2, 0.4], None)
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: reference spectrum file not found")
    rows, skipped = [], []
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
        if not np.all(np.isfinite(values)):
            skipped.append(n)
            continue
        rows.append(values)
    if skipped:
        shown = ", ".join(map(str, skipped[:5])) + (" …" if len(skipped) > 5 else "")
        warnings.warn(f"{path}: {len(skipped)} row(s) with NaN or inf (line {shown}) left out; the "
                      "spectrum is interpolated across them", RedoxmapWarning, stacklevel=2)
    if len(rows) < 2:
        raise FormatError(f"{path}: fewer than two data rows; expected energy, absorption columns")
    data = np.array(rows)
    energy, note = to_ev(data[:, 0], str(path))
    order = np.argsort(energy, kind="stable")
    energy, absorption = energy[order], data[order, 1]
    check_increasing(energy, str(path))
    return energy, absorption, note
