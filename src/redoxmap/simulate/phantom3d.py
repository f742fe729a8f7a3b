"""A 3D cathode-particle phantom with known chemistry, voids, pores, a crack and a halo.

Element densities (g/cm³ of each element) on a voxel grid, so that attenuation at any energy
follows from tabulated mass attenuation coefficients (xraydb): μ(E) = Σ_el ρ_el (μ/ρ)_el(E).
Composition Li1.2Mn0.54Ni0.13Co0.13O2 (a typical Li- and Mn-rich layered oxide, Wang et al. 2021),
bulk density 4.2 g/cm³ (assumed).
"""

from __future__ import annotations

import functools

import numpy as np
import xarray as xr
from scipy import ndimage

from redoxmap.preprocess.thickness import element_densities

COMPOSITION = "Li1.2Mn0.54Ni0.13Co0.13O2"
DENSITY_G_CM3 = 4.2


def _ball(shape: tuple[int, int, int], centre, radius: float,
          margin: int = 0) -> tuple[tuple[slice, ...], np.ndarray]:
    """The voxels within ``radius`` of ``centre`` on a grid of ``shape``: a box of the grid (``margin``
    voxels wider than the ball on each side, clipped to the grid) and the ball's mask inside it."""
    low = np.floor(np.asarray(centre) - radius).astype(int) - margin
    high = np.ceil(np.asarray(centre) + radius).astype(int) + margin + 1
    box = tuple(slice(max(lo, 0), min(hi, size)) for lo, hi, size in zip(low, high, shape, strict=True))
    zz, yy, xx = np.ogrid[box]
    return box, (zz - centre[0]) ** 2 + (yy - centre[1]) ** 2 + (xx - centre[2]) ** 2 <= radius**2


def cathode_phantom(n: int = 128, seed: int = 0, void: bool = True, n_pores: int = 12,
                    crack: bool = True, surface_layer: bool = True, ni_rich_patches: bool = True,
                    halo_fraction: float = 0.0) -> xr.Dataset:
    """A spherical cathode particle (radius 0.38 n) on an n³ grid with element densities, a central
    void, pores, a crack, a Ni-poor surface layer, Ni-rich patches, a reduced surface and,
    optionally, a halo of dissolved Ni (Wang et al. 2021, Fig. 3).

    The surface layer (outer 0.06 n) has 30 % less Ni (Ni dissolution); Ni-rich patches have 30 %
    more (Ni segregation); the halo holds ``halo_fraction`` of the particle's Ni density out to
    0.1 n beyond the surface. The share of Mn in the cycled (Mn³⁺, Mn2O3-like) state rises linearly
    from 0 at half the radius to 1 at the surface (the Mn K-edge spectra of
    :func:`xanes_attenuation_volume`).

    Parameters
    ----------
    n : int
        Grid size (voxels per side).
    seed : int
        Seed of the pores, crack and patches.
    void : bool
        Central void.
    n_pores : int
        Number of isolated pores.
    crack : bool
        A crack reaching the surface.
    surface_layer : bool
        The Ni-poor surface layer.
    ni_rich_patches : bool
        Ni-rich patches inside.
    halo_fraction : float
        Ni density of the halo relative to the particle's (0 for none).

    Returns
    -------
    xarray.Dataset
        Over ``(z, y, x)``: ``density_<El>`` (g/cm³ of each element of :data:`COMPOSITION` at
        :data:`DENSITY_G_CM3`), ``particle`` (solid material), ``void`` (central void, pores and
        crack), ``pore_labels`` (isolated pores 1…k, crack k+1), ``ni_mn_class`` (0 outside,
        1 target ratio, 2 Ni-poor surface layer, 3 Ni-rich patch) and ``mn_cycled_fraction`` (share
        of the Mn in the cycled state, 0 outside the solid).

    Examples
    --------
    >>> phantom = cathode_phantom(n=24, seed=0)
    >>> sorted(phantom.data_vars)[:3], phantom.particle.dims
    (['density_Co', 'density_Li', 'density_Mn'], ('z', 'y', 'x'))
    """
    rng = np.random.default_rng(seed)
    shape = (n, n, n)
    c = (n - 1) / 2
    radius = 0.38 * n
    zz, yy, xx = np.indices(shape, dtype=float)
    r = np.sqrt((zz - c) ** 2 + (yy - c) ** 2 + (xx - c) ** 2)
    particle = r <= radius
    voids = np.zeros(shape, bool)
    labels = np.zeros(shape, np.int32)
    if void:
        voids |= r <= 0.08 * n
    # a thin sheet from near the central void towards the surface, three voxels thick
    sheet = ((np.abs(zz - c - 0.1 * n) <= 1.0) & (yy > c) & (r <= 0.95 * radius)
             & (np.abs(xx - c) <= 0.2 * n)) if crack else np.zeros(shape, bool)
    placed = 0
    while placed < n_pores:
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        centre = c + direction * rng.uniform(0.2, 0.75) * radius
        pore_r = rng.uniform(0.025, 0.04) * n
        # the box holds the ball and the two voxels its dilation reaches
        box, ball = _ball(shape, centre, pore_r, margin=2)
        if (ndimage.binary_dilation(ball, iterations=2) & (voids[box] | sheet[box] | ~particle[box])).any():
            continue
        placed += 1
        voids[box] |= ball
        labels[box][ball] = placed
    if crack:
        voids |= sheet
        labels[sheet] = placed + 1
    solid = particle & ~voids
    ni_scale = np.ones(shape)
    classes = np.where(solid, 1, 0).astype(np.int8)
    if surface_layer:
        layer = solid & (r > radius - 0.06 * n)
        ni_scale[layer] = 0.7
        classes[layer] = 2
    if ni_rich_patches:
        field = ndimage.gaussian_filter(rng.standard_normal(shape), n / 10)
        patches = solid & (field > np.percentile(field[solid], 85)) & (classes == 1)
        ni_scale[patches] = 1.3
        classes[patches] = 3
    rho = element_densities(COMPOSITION, DENSITY_G_CM3)
    data = {f"density_{el}": (("z", "y", "x"), np.where(solid, value, 0.0).astype(np.float32))
            for el, value in rho.items()}
    data["density_Ni"] = (("z", "y", "x"), (data["density_Ni"][1] * ni_scale).astype(np.float32))
    if halo_fraction > 0:
        halo = (r > radius) & (r <= radius + 0.1 * n)
        data["density_Ni"][1][halo] = halo_fraction * rho["Ni"]
    cycled = np.where(solid, np.clip((r / radius - 0.5) / 0.5, 0.0, 1.0), 0.0).astype(np.float32)
    return xr.Dataset(
        {**data, "particle": (("z", "y", "x"), particle), "void": (("z", "y", "x"), voids & particle),
         "pore_labels": (("z", "y", "x"), labels), "ni_mn_class": (("z", "y", "x"), classes),
         "mn_cycled_fraction": (("z", "y", "x"), cycled)},
        attrs={"composition": COMPOSITION, "density_g_cm3": DENSITY_G_CM3, "radius_px": radius,
               "n_isolated_pores": placed, "n_internal_voids": placed + int(void),
               "has_crack": int(crack), "halo_fraction": halo_fraction},
    )


def attenuation_volume(phantom: xr.Dataset, energy_ev: float, voxel_size_nm: float) -> xr.DataArray:
    """Attenuation per voxel μ(E)·voxel from the element densities: μ(E) = Σ_el ρ_el (μ/ρ)_el(E) with
    mass attenuation coefficients from xraydb (Elam tables).

    Parameters
    ----------
    phantom : xarray.Dataset
        ``density_<El>`` variables (g/cm³), e.g. :func:`cathode_phantom`.
    energy_ev : float
        Photon energy (eV).
    voxel_size_nm : float
        Voxel size (nm).

    Returns
    -------
    xarray.DataArray
        Attenuation per voxel (dimensionless, float32) with ``energy_ev`` and ``voxel_size_nm`` in the
        attributes.

    Examples
    --------
    >>> mu = attenuation_volume(cathode_phantom(n=24), 6565.0, voxel_size_nm=50.0)
    >>> mu.dims, mu.attrs["units"]
    (('z', 'y', 'x'), '1/voxel')
    """
    import xraydb

    mu = xr.zeros_like(phantom["density_O"], dtype=np.float64)
    for name in phantom.data_vars:
        if name.startswith("density_"):
            element = name.split("_", 1)[1]
            mu = mu + phantom[name] * float(xraydb.mu_elam(element, energy_ev))  # 1/cm
    out = (mu * voxel_size_nm * 1e-7).astype(np.float32)
    out.attrs = {"energy_ev": energy_ev, "voxel_size_nm": voxel_size_nm, "units": "1/voxel"}
    return out


@functools.cache
def _mn_k_standards() -> tuple[np.ndarray, np.ndarray]:
    """The shipped Mn K-edge standards (pristine, cycled) on one 0.25 eV grid over their common range,
    read once."""
    from redoxmap.data import MN_K_STANDARDS, demo_reference_paths
    from redoxmap.spectra.references import load_references

    grid_ev = np.arange(6451.0, 6799.0, 0.25)
    refs = load_references(demo_reference_paths(), energy=grid_ev, names=list(MN_K_STANDARDS))
    return grid_ev, np.asarray(refs.values, float)


def xanes_attenuation_volume(phantom: xr.Dataset, energy_ev: float, voxel_size_nm: float) -> xr.DataArray:
    """Attenuation per voxel as :func:`attenuation_volume`, with the measured near-edge structure of
    the Mn K edge: each voxel's Mn absorbs as the mix of the pristine (Li2MnO3, Mn⁴⁺) and cycled
    (Mn2O3, Mn³⁺) standards given by ``mn_cycled_fraction`` (the spectra of
    :func:`redoxmap.simulate.phase_spectra`), for 3D XANES with known fractions.

    The Mn mass attenuation is (μ/ρ)(E) = (μ/ρ)₋(E) + Δ(E)·n(E), with n(E) = (1 − f)·n_pristine(E)
    + f·n_cycled(E) the standards' normalized μ (0 below the edge, about 1 above), (μ/ρ)₋ the
    tabulated below-edge branch (xraydb, Elam tables) and Δ(E) the tabulated edge jump, both carried
    across the edge with the tabulated jump ratio; far from the edge (n = 0 or 1) it is the
    tabulated value, as in :func:`attenuation_volume`.

    Parameters
    ----------
    phantom : xarray.Dataset
        ``density_<El>`` variables (g/cm³) and ``mn_cycled_fraction``, e.g. :func:`cathode_phantom`.
    energy_ev : float
        Photon energy (eV), within the standards' range (6451–6799 eV).
    voxel_size_nm : float
        Voxel size (nm).

    Returns
    -------
    xarray.DataArray
        Attenuation per voxel (dimensionless, float32) with ``energy_ev`` and ``voxel_size_nm`` in the
        attributes.

    Examples
    --------
    >>> phantom = cathode_phantom(n=24)
    >>> solid = phantom.particle & ~phantom.void
    >>> def ratio(energy_ev):  # to the tabulated attenuation, over the solid
    ...     near = xanes_attenuation_volume(phantom, energy_ev, 50.0) / attenuation_volume(phantom, energy_ev,
    ...                                                                                       50.0)
    ...     return [round(float(near.where(solid).min()), 2), round(float(near.where(solid).max()), 2)]
    >>> ratio(6520.0), ratio(6559.0), ratio(6640.0)  # below the edge, white line, above
    ([1.01, 1.01], [1.2, 1.27], [0.98, 0.99])
    """
    import xraydb

    edge = xraydb.xray_edge("Mn", "K").energy
    tabulated = float(xraydb.mu_elam("Mn", energy_ev))
    jump = float(xraydb.mu_elam("Mn", edge + 0.01) / xraydb.mu_elam("Mn", edge - 0.01))
    below = tabulated if energy_ev < edge else tabulated / jump
    step = below * (jump - 1.0)
    grid_ev, spectra = _mn_k_standards()
    standards = [np.interp(energy_ev, grid_ev, spectrum) for spectrum in spectra]
    fraction = phantom["mn_cycled_fraction"]
    normalized = (1 - fraction) * standards[0] + fraction * standards[1]
    others = phantom.drop_vars("density_Mn")
    mu = attenuation_volume(others, energy_ev, voxel_size_nm).astype(np.float64)
    mu = mu + phantom["density_Mn"] * (below + step * normalized) * voxel_size_nm * 1e-7
    out = mu.astype(np.float32)
    out.attrs = {"energy_ev": energy_ev, "voxel_size_nm": voxel_size_nm, "units": "1/voxel"}
    return out
