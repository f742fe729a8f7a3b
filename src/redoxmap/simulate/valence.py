"""A soft-X-ray valence scene: an Mn L3-edge particle with a reduced (Mn3+-rich) surface layer.

No measured Mn L-edge standards with a licence we can ship were found (see
src/redoxmap/data/SOURCES.md), so the standards here are synthetic: an arctan edge step plus
Gaussian L3 multiplet peaks whose centroid moves up ~1.5 eV per unit of valence, as in measured
MnO / Mn2O3 / MnO2 spectra. They are for testing the method, not for analysing data.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from redoxmap.simulate.acquisition import acquire
from redoxmap.simulate.demo import Simulation
from redoxmap.simulate.phantoms import sphere_thickness
from redoxmap.spectra.library import make_library

MN_L3_ENERGY_EV = np.arange(635.0, 665.01, 0.25)
#: (peak energies eV, relative heights) of the synthetic L3 multiplets per valence.
_PEAKS = {2: ([639.6, 640.4, 641.2], [0.6, 1.0, 0.35]),
          3: ([640.6, 641.8, 642.8], [0.45, 1.0, 0.55]),
          4: ([641.5, 643.2, 644.2], [0.3, 1.0, 0.6])}


def mn_l3_standards(energy_ev: np.ndarray = MN_L3_ENERGY_EV) -> xr.DataArray:
    """Synthetic normalized Mn L3-edge standards ``Mn2+``, ``Mn3+``, ``Mn4+`` with their valences: an
    arctan edge step plus Gaussian L3 multiplet peaks whose centroid moves up ~1.5 eV per unit of
    valence (module doc; for testing the method, not for analysing data).

    Parameters
    ----------
    energy_ev : numpy.ndarray
        Energies (eV), default :data:`MN_L3_ENERGY_EV`.

    Returns
    -------
    xarray.DataArray
        Standards ``(component, energy)`` with a ``valence`` coordinate, edge "Mn L3".

    Examples
    --------
    >>> standards = mn_l3_standards()
    >>> standards.component.values.tolist(), standards.valence.values.tolist()
    (['Mn2+', 'Mn3+', 'Mn4+'], [2.0, 3.0, 4.0])
    """
    spectra = {}
    for valence, (centres, heights) in _PEAKS.items():
        step = 0.5 + np.arctan((energy_ev - centres[1]) / 0.8) / np.pi
        peaks = sum(h * 2.5 * np.exp(-0.5 * ((energy_ev - c) / 0.45) ** 2)
                    for c, h in zip(centres, heights, strict=True))
        spectra[f"Mn{valence}+"] = step + peaks
    return make_library(energy_ev, spectra, {f"Mn{v}+": v for v in _PEAKS}, edge="Mn L3")


def reduced_surface_particle(shape: tuple[int, int] = (96, 96), energy_ev: np.ndarray = MN_L3_ENERGY_EV,
                             flat_counts: float = 20000.0, seed: int = 0,
                             max_edge_jump_od: float = 1.0, pre_edge_od: float = 0.3) -> Simulation:
    """A soft-X-ray valence scene: one spherical Mn L3-edge particle with an Mn4+ core and an
    Mn3+-rich surface layer (some Mn2+ at the very rim), seen through STXM-like counts.

    Parameters
    ----------
    shape : (int, int)
        Image size (y, x) in px.
    energy_ev : numpy.ndarray
        Energies (eV), default :data:`MN_L3_ENERGY_EV`.
    flat_counts : float
        Counts per pixel in the flat.
    seed : int
        Seed of the noise.
    max_edge_jump_od : float
        Edge jump (OD) at the thickest point.
    pre_edge_od : float
        Non-resonant OD per unit edge jump.

    Returns
    -------
    Simulation
        Raw counts, the standards, and the truth: ``valence``, ``f_Mn2+``, ``f_Mn3+``, ``f_Mn4+`` and
        ``edge_jump`` over ``(y, x)``.

    Examples
    --------
    >>> sim = reduced_surface_particle(shape=(32, 32))
    >>> sim.stack.dims, sorted(sim.truth.data_vars)[:2]
    (('energy', 'y', 'x'), ['edge_jump', 'f_Mn2+'])
    """
    rng = np.random.default_rng(seed)
    lib = mn_l3_standards(energy_ev)
    ny, nx = shape
    r = 0.42 * min(shape)
    thickness = sphere_thickness(shape, np.array([[ny / 2, nx / 2]]), np.array([r]))
    jump = max_edge_jump_od * thickness / thickness.max()
    yy, xx = np.indices(shape)
    depth = np.clip(1 - np.hypot(yy - ny / 2, xx - nx / 2) / r, 0, 1)  # 0 at rim, 1 at centre
    f3 = 0.7 * np.exp(-depth / 0.15) + 0.1 * rng.random(shape) * (thickness > 0)
    f2 = 0.2 * np.exp(-depth / 0.05)
    f3 = np.clip(f3, 0, 1 - f2)
    f4 = 1 - f2 - f3
    fractions = np.stack([f2, f3, f4])
    spectra = lib.values  # (3, E)
    od = jump[None] * np.einsum("kyx,ke->eyx", fractions, spectra) + pre_edge_od * (thickness > 0) * (
        thickness / thickness.max())[None] * (energy_ev[:, None, None] / energy_ev[0]) ** -3
    od = xr.DataArray(od, dims=("energy", "y", "x"), coords={"energy": energy_ev})
    raw = acquire(od, flat_counts=flat_counts, seed=rng)
    on = thickness > 0
    truth = xr.Dataset({
        "valence": (("y", "x"), np.where(on, 2 * f2 + 3 * f3 + 4 * f4, 0.0)),
        "edge_jump": (("y", "x"), jump),
        **{f"f_{name}": (("y", "x"), np.where(on, f, 0.0))
           for name, f in zip(lib.component.values, fractions, strict=True)},
    })
    return Simulation(raw=raw, refs=lib, truth=truth)
