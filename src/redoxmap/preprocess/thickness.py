"""Absolute thickness from optical density and tabulated cross sections (xraydb, Elam tables).

Beer–Lambert: OD = μ(E)·t with the linear attenuation coefficient μ = ρ·(μ/ρ)(E) of the stated
composition and density. From the edge jump: t = ΔOD / (μ(E_above) − μ(E_below)); from the
pre-edge OD: t = OD(E_pre) / μ(E_pre).
"""

from __future__ import annotations

import xarray as xr

from redoxmap.errors import FitError


def element_densities(formula: str, density_g_cm3: float) -> dict[str, float]:
    """Partial density (g/cm³) of each element of a material: ρ_el = ρ · n_el M_el / Σ n M
    (formula parsed and atomic masses taken from xraydb).

    Parameters
    ----------
    formula : chemical formula, decimals allowed, e.g. ``"Li1.2Mn0.54Ni0.13Co0.13O2"``.
    density_g_cm3 : bulk density of the material (g/cm³).

    Returns
    -------
    ``{element: partial density in g/cm³}``, summing to ``density_g_cm3``.

    Examples
    --------
    >>> round(element_densities("MnO2", 5.0)["Mn"], 3)
    3.16
    """
    import xraydb

    try:
        counts = xraydb.chemparse(formula)
        masses = {el: xraydb.atomic_mass(el) * n for el, n in counts.items()}
    except Exception as exc:  # xraydb raises plain errors on unknown elements
        raise FitError(f"cannot parse the formula {formula!r}: {exc}") from exc
    total = sum(masses.values())
    return {el: density_g_cm3 * m / total for el, m in masses.items()}


def attenuation_per_nm(formula: str, density_g_cm3: float, energy_ev: float) -> float:
    """Linear attenuation coefficient μ (1/nm) of a material at ``energy_ev`` (xraydb)."""
    import xraydb

    if density_g_cm3 <= 0:
        raise FitError(f"density {density_g_cm3} g/cm³ must be positive")
    try:
        mu_per_cm = float(xraydb.material_mu(formula, energy_ev, density=density_g_cm3))
    except Exception as exc:  # xraydb raises plain errors on unknown elements
        raise FitError(f"cannot compute attenuation of {formula!r}: {exc}") from exc
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
