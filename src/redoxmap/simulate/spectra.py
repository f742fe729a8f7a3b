"""Phase spectra for simulations, built from the shipped measured standards."""

from __future__ import annotations

import numpy as np
import xarray as xr

from redoxmap.data import MN_K_STANDARDS, demo_reference_paths
from redoxmap.spectra.references import load_references

#: Mn K-edge energies of the 2D TXM-XANES scans in Wang et al. 2021 (Methods): 6519–6639 eV, 1 eV.
MN_K_ENERGY_EV = np.arange(6519.0, 6640.0, 1.0)


def phase_spectra(energy_ev: np.ndarray = MN_K_ENERGY_EV, background_od: float = 0.3) -> xr.DataArray:
    """Optical density of each pure phase per unit edge jump: the shipped measured Mn K-edge standards
    (normalized μ(E)) plus a constant non-resonant background (the other elements' absorption), as
    measured on pure-phase regions.

    Parameters
    ----------
    energy_ev : numpy.ndarray
        Energies (eV), default :data:`MN_K_ENERGY_EV`.
    background_od : float
        The constant background (OD per unit edge jump).

    Returns
    -------
    xarray.DataArray
        ``(component, energy)`` with components ``pristine`` (Li2MnO3, Mn4+) and ``cycled``
        (Mn2O3, Mn3+).

    Examples
    --------
    >>> phase_spectra().component.values.tolist()
    ['pristine', 'cycled']
    """
    refs = load_references(demo_reference_paths(), energy=energy_ev, names=list(MN_K_STANDARDS))
    out = refs + background_od
    out.attrs = refs.attrs
    return out
