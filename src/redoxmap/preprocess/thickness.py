"""Absolute thickness from optical density and tabulated cross sections (xraydb, Elam tables).

Beer–Lambert: OD = μ(E)·t with the linear attenuation coefficient μ = ρ·(μ/ρ)(E) of the stated
composition and density. From the edge jump: t = ΔOD / (μ(E_above) − μ(E_below)); from the
pre-edge OD: t = OD(E_pre) / μ(E_pre).
"""

from __future__ import annotations

import xarray as xr

from redoxmap.errors import FitError


def element_densities(formula: str, density_g_cm3: float) -> dict[str, float]:
    """Partial density of each element of a material: ρ_el = ρ · n_el M_el / Σ n M (formula parsed and
    atomic masses taken from xraydb, Elam tables).

    Parameters
    ----------
    formula : str
        Chemical formula, decimals allowed, e.g. ``"Li1.2Mn0.54Ni0.13Co0.13O2"``.
    density_g_cm3 : float
        Bulk density of the material (g/cm³).

    Returns
    -------
    dict of str to float
        ``{element: partial density in g/cm³}``, summing to ``density_g_cm3``.

    Raises
    ------
    FitError
        If the formula cannot be parsed.

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
    """Linear attenuation coefficient μ = ρ (μ/ρ)(E) of a material (xraydb, Elam tables).

    Parameters
    ----------
    formula : str
        Chemical formula, e.g. ``"MnO2"``.
    density_g_cm3 : float
        Density of the material (g/cm³).
    energy_ev : float
        Photon energy (eV).

    Returns
    -------
    float
        μ in 1/nm.

    Raises
    ------
    FitError
        If the density is not positive or xraydb cannot compute the formula.

    Examples
    --------
    >>> f"{attenuation_per_nm('MnO2', 5.0, 6600.0):.3e}"
    '1.434e-04'
    """
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
    """Thickness from the edge jump (Beer–Lambert): t = ΔOD / (μ(E_above) − μ(E_below)), e.g.
    Li1.2Mn0.54Ni0.13Co0.13O2 at 6530 / 6565 eV for the Mn K-edge.

    Parameters
    ----------
    edge_jump_od : xarray.DataArray
        Edge jump (OD) per pixel, e.g. :func:`redoxmap.preprocess.edge_jump`.
    formula : str
        Chemical formula of the material.
    density_g_cm3 : float
        Its density (g/cm³).
    below_ev, above_ev : float
        Energies below and above the edge (eV).

    Returns
    -------
    xarray.DataArray
        Thickness (nm), with the material and energies in its attributes.

    Raises
    ------
    FitError
        If the material absorbs no more above than below (the energies do not straddle an edge).

    Examples
    --------
    >>> jump = xr.DataArray([0.0, 0.5], dims="x")
    >>> thickness_from_edge_jump(jump, "MnO2", 5.0, 6530.0, 6565.0).values.round(0).tolist()
    [0.0, 4066.0]
    """
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
    """Thickness from the optical density at one energy (Beer–Lambert): t = OD / μ(E), e.g. from a
    pre-edge image.

    Parameters
    ----------
    od : xarray.DataArray
        Optical density at ``energy_ev``.
    formula : str
        Chemical formula of the material.
    density_g_cm3 : float
        Its density (g/cm³).
    energy_ev : float
        The energy of the image (eV).

    Returns
    -------
    xarray.DataArray
        Thickness (nm), with the material and energy in its attributes.

    Examples
    --------
    >>> od = xr.DataArray([0.0, 0.5], dims="x")
    >>> thickness_from_od(od, "MnO2", 5.0, 6530.0).values.round(0).tolist()
    [0.0, 22367.0]
    """
    out = od / attenuation_per_nm(formula, density_g_cm3, energy_ev)
    out.attrs = {"units": "nm", "long_name": "thickness from OD", "formula": formula,
                 "density_g_cm3": density_g_cm3, "energy_ev": energy_ev}
    return out
