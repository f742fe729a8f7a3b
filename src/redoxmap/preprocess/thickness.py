"""Absolute thickness from optical density and tabulated cross sections (xraydb, Elam tables).

Beer–Lambert: OD = μ(E)·t with the linear attenuation coefficient μ = ρ·(μ/ρ)(E) of the stated
composition and density. From the edge jump: t = ΔOD / (μ(E_above) − μ(E_below)); from the
pre-edge OD: t = OD(E_pre) / μ(E_pre).
"""

from __future__ import annotations

import xarray as xr

from redoxmap.errors import FitError


def attenuation_per_nm(formula: str, density_g_cm3: float, energy_ev: float) -> float:
    """Linear attenuation coefficient μ (1/nm) of a material at ``energy_ev`` (xraydb)."""
    import xraydb

    if density_g_cm3 <= 0:
        raise FitError(f"density {density_g_cm3} g/cm³ must be positive")
    try:
        mu_per_cm = float(xraydb.material_mu(formula, energy_ev, density=density_g_cm3))
    except Exception as exc:  # xraydb raises plain errors on unknown elements
        raise FitError(f"cannot compute attenuation of {formula!r}: {exc}") from None
    return mu_per_cm * 1e-7


def thickness_from_edge_jump(edge_jump_od: xr.DataArray, formula: str, density_g_cm3: float,
                             below_ev: float, above_ev: float) -> xr.DataArray:
    """Thickness (nm) = edge-jump OD / (μ(above) − μ(below)), e.g. Li1.2Mn0.54Ni0.13Co0.13O2 at
    6530 / 6565 eV for the Mn K-edge."""
    delta = (attenuation_per_nm(formula, density_g_cm3, above_ev)
             - attenuation_per_nm(formula, density_g_cm3, below_ev))
    if delta <= 0:
        raise FitError(f"{formula} absorbs no more at {above_ev:g} eV than at {below_ev:g} eV; "
                       "expected energies on either side of one of its edges")
    out = edge_jump_od / delta
    out.attrs = {"units": "nm", "long_name": "thickness from edge jump", "formula": formula,
                 "density_g_cm3": density_g_cm3, "below_ev": below_ev, "above_ev": above_ev}
    return out


def thickness_from_od(od: xr.DataArray, formula: str, density_g_cm3: float,
                      energy_ev: float) -> xr.DataArray:
    """Thickness (nm) = OD / μ(E) at one energy (e.g. a pre-edge image)."""
    out = od / attenuation_per_nm(formula, density_g_cm3, energy_ev)
    out.attrs = {"units": "nm", "long_name": "thickness from OD", "formula": formula,
                 "density_g_cm3": density_g_cm3, "energy_ev": energy_ev}
    return out
