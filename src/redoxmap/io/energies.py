"""Energy axes: reading energy-list files, recognising keV, checking order."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from redoxmap.errors import EnergyError, FormatError

#: Every X-ray absorption edge used in spectromicroscopy lies above 100 eV (the C K-edge is at
#: 284 eV); an energy axis whose values all lie below this bound is in keV.
KEV_BOUND = 100.0


def to_ev(values: np.ndarray, where: str) -> tuple[np.ndarray, str | None]:
    """Return energies in eV and a history note if they were converted from keV.

    Energies are taken to be in keV when every value is below :data:`KEV_BOUND`.

    >>> to_ev(np.array([6.539, 6.540]), "demo")[0]
    array([6539., 6540.])
    """
    energy = np.asarray(values, dtype=float).ravel()
    if energy.size == 0:
        raise EnergyError(f"{where}: the energy list is empty; expected one energy per image")
    if not np.all(np.isfinite(energy)):
        raise EnergyError(f"{where}: energies contain NaN or inf; expected finite numbers")
    if np.all(np.abs(energy) < KEV_BOUND):
        return energy * 1000.0, f"energies in {where} read as keV (all < {KEV_BOUND:g}) and converted to eV"
    return energy, None


def check_increasing(energy_ev: np.ndarray, where: str) -> None:
    """Raise :class:`EnergyError` unless energies strictly increase."""
    steps = np.diff(energy_ev)
    if np.any(steps <= 0):
        i = int(np.argmax(steps <= 0))
        raise EnergyError(
            f"{where}: energies are not increasing: energy[{i}] = {energy_ev[i]:g} eV is followed "
            f"by energy[{i + 1}] = {energy_ev[i + 1]:g} eV; expected strictly increasing values"
        )


def read_energy_list(path: str | Path) -> tuple[np.ndarray, str | None]:
    """Read a text file with one energy per line (eV or keV; ``#`` comments and commas allowed).

    If a line holds several columns the first is taken. Returns energies in eV and a note when
    they were converted from keV.
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: energy list file not found")
    values = []
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.split("#", 1)[0].replace(",", " ").strip()
        if not text:
            continue
        try:
            values.append(float(text.split()[0]))
        except ValueError as exc:
            if values:  # a header is only allowed before the numbers
                raise FormatError(
                    f"{path}, line {n}: {line.strip()!r} is not a number; expected one energy per line"
                ) from exc
    energy, note = to_ev(np.array(values), str(path))
    check_increasing(energy, str(path))
    return energy, note
