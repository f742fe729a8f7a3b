"""Small measured data shipped with redoxmap (see SOURCES.md beside this file)."""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).parent

#: Mn K-edge standards for the demo: Mn4+ in Li2MnO3 (the Li-rich pristine component) and Mn3+
#: in Mn2O3 (the reduced state that grows on cycling).
MN_K_STANDARDS = {"pristine": "Li2MnO3_MnK.csv", "cycled": "Mn2O3_MnK.csv"}


def demo_reference_paths() -> list[Path]:
    """Paths of the shipped Mn K-edge standards, pristine-like first."""
    return [DATA_DIR / name for name in MN_K_STANDARDS.values()]


def mn_k_library_path() -> Path:
    """Path of the shipped Mn K-edge reference library (MnO 2+, Mn2O3 3+, Li2MnO3 and MnO2 4+)."""
    return DATA_DIR / "mn_k_library.csv"
