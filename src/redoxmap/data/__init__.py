"""Small measured data shipped with redoxmap (see SOURCES.md beside this file)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["DATA_DIR", "MN_K_STANDARDS", "demo_reference_paths", "mn_k_library_path"]

DATA_DIR = Path(__file__).parent

#: Mn K-edge standards for the demo: Mn4+ in Li2MnO3 (the Li-rich pristine component) and Mn3+
#: in Mn2O3 (the reduced state that grows on cycling).
MN_K_STANDARDS = {"pristine": "Li2MnO3_MnK.csv", "cycled": "Mn2O3_MnK.csv"}


def demo_reference_paths() -> list[Path]:
    """Paths of the shipped Mn K-edge standards (normalized μ(E) CSVs, energy in eV), pristine-like
    first: Li2MnO3 (Mn4+), then Mn2O3 (Mn3+).

    Returns
    -------
    list of pathlib.Path
        The two CSV files, in the order of :data:`MN_K_STANDARDS`.

    Examples
    --------
    >>> [path.name for path in demo_reference_paths()]
    ['Li2MnO3_MnK.csv', 'Mn2O3_MnK.csv']
    """
    return [DATA_DIR / name for name in MN_K_STANDARDS.values()]


def mn_k_library_path() -> Path:
    """Path of the shipped Mn K-edge reference library (MnO 2+, Mn2O3 3+, Li2MnO3 and MnO2 4+;
    normalized μ(E) on 6500–6700 eV in 0.5 eV steps), read by :func:`redoxmap.spectra.load_library`.

    Returns
    -------
    pathlib.Path
        The library CSV.

    Examples
    --------
    >>> from redoxmap.spectra import load_library
    >>> load_library(mn_k_library_path()).valence.values.tolist()
    [2.0, 3.0, 4.0, 4.0]
    """
    return DATA_DIR / "mn_k_library.csv"
