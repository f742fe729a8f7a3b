"""Energy axes: reading energy-list files, recognising keV, checking order."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from redoxmap.errors import EnergyError, FormatError

#: Every X-ray absorption edge used in spectromicroscopy lies above 100 eV (the C K-edge is at
#: 284 eV); an energy axis whose values all lie below this bound is in keV.
KEV_BOUND = 100.0


def to_ev(values: np.ndarray, where: str) -> tuple[np.ndarray, str | None]:
    """Energies in eV, converted from keV when every value is below :data:`KEV_BOUND` (100).

    Parameters
    ----------
    values : numpy.ndarray
        Energies as read (eV or keV).
    where : str
        The file or dataset they come from, for messages.

    Returns
    -------
    energy_ev : numpy.ndarray
        Energies in eV.
    note : str or None
        A history note when they were converted, else None.

    Raises
    ------
    EnergyError
        If the list is empty or holds NaN or inf.

    Examples
    --------
    >>> to_ev(np.array([6.539, 6.540]), "demo")[0]
    array([6539., 6540.])
    """
    energy = np.asarray(values, dtype=float).ravel()
    if energy.size == 0:
        raise EnergyError(f"{where}: the energy list is empty; expected one energy per image")
    if not np.all(np.isfinite(energy)):
        raise EnergyError(f"{where}: energies contain NaN or inf; expected finite numbers")
    low = np.abs(energy) < KEV_BOUND
    if low.all():
        return energy * 1000.0, f"energies in {where} read as keV (all < {KEV_BOUND:g}) and converted to eV"
    if low.any():
        i, j = int(np.argmax(low)), int(np.argmax(~low))
        raise EnergyError(f"{where}: energies mix keV and eV: energy[{i}] = {energy[i]:g} reads as keV "
                          f"but energy[{j}] = {energy[j]:g} as eV; expected one unit for the whole list")
    return energy, None


def check_increasing(energy_ev: np.ndarray, where: str) -> None:
    """Check that energies strictly increase.

    Parameters
    ----------
    energy_ev : numpy.ndarray
        Energies (eV).
    where : str
        The file or dataset they come from, for the message.

    Raises
    ------
    EnergyError
        If an energy is not finite or not above the one before (the message names it).

    Examples
    --------
    >>> check_increasing(np.array([6539.0, 6540.0]), "demo")
    """
    if not np.all(np.isfinite(energy_ev)):
        i = int(np.argmax(~np.isfinite(energy_ev)))
        raise EnergyError(f"{where}: energy[{i}] = {energy_ev[i]:g}; expected finite energies")
    steps = np.diff(energy_ev)
    if np.any(steps <= 0):
        i = int(np.argmax(steps <= 0))
        raise EnergyError(
            f"{where}: energies are not increasing: energy[{i}] = {energy_ev[i]:g} eV is followed "
            f"by energy[{i + 1}] = {energy_ev[i + 1]:g} eV; expected strictly increasing values"
        )


def read_energy_list(path: str | Path) -> tuple[np.ndarray, str | None]:
    r"""Read a text file with one energy per line (eV or keV; ``#`` comments and commas allowed; of
    several columns the first is taken).

    Parameters
    ----------
    path : str or pathlib.Path
        The energy list.

    Returns
    -------
    energy_ev : numpy.ndarray
        Energies in eV.
    note : str or None
        A note when they were converted from keV, else None.

    Raises
    ------
    FormatError
        If the file is missing or a line is not a number.
    EnergyError
        If the list is empty or not finite.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "energies.txt"
    >>> _ = path.write_text("# Mn K edge, keV\n6.539\n6.540\n")
    >>> energy, note = read_energy_list(path)
    >>> energy.tolist(), note is not None
    ([6539.0, 6540.0], True)
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: energy list file not found")
    values = []
    for n, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
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
