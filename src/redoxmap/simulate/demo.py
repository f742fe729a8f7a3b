"""The demo scene: a Mn K-edge TXM-XANES scan of three particles, with its ground truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from redoxmap.io.raw import RawStack
from redoxmap.simulate.acquisition import acquire, phantom_od, random_drift
from redoxmap.simulate.phantoms import particle_phantom
from redoxmap.simulate.spectra import MN_K_ENERGY_EV, phase_spectra


@dataclass
class Simulation:
    """A simulated acquisition: raw counts, the references it was made from, and the truth.

    Parameters
    ----------
    raw : RawStack
        The simulated counts, flats and darks.
    refs : xarray.DataArray
        The phase spectra ``(component, energy)`` it was made from.
    truth : xarray.Dataset
        ``fraction`` of the second reference and ``edge_jump`` over ``(y, x)``, and
        ``drift_y``/``drift_x`` (px) per energy.
    """

    raw: RawStack
    refs: xr.DataArray
    truth: xr.Dataset

    @property
    def stack(self) -> xr.DataArray:
        """Optical density of the raw counts (not drift-corrected)."""
        from redoxmap.preprocess.flatfield import optical_density

        return optical_density(self.raw)


def demo_dataset(shape: tuple[int, int] = (256, 256), energy_ev: np.ndarray = MN_K_ENERGY_EV,
                 flat_counts: float = 4000.0, drift_max_px: float = 0.0,
                 seed: int = 0) -> Simulation:
    """Simulate the demo scan: three Mn K-edge particles (:func:`particle_phantom`) at 6519–6639 eV in
    1 eV steps (Wang et al. 2021, Methods), ~``flat_counts`` per pixel in the flat, with per-energy
    drift up to ±``drift_max_px``.

    Parameters
    ----------
    shape : (int, int)
        Image size (y, x) in px.
    energy_ev : numpy.ndarray
        Energies (eV), default :data:`MN_K_ENERGY_EV`.
    flat_counts : float
        Mean counts per pixel in the flat.
    drift_max_px : float
        Largest drift (px); 0 for none.
    seed : int
        Seed of the scene, drift and noise.

    Returns
    -------
    Simulation
        Raw counts, references and truth; ``.stack`` is the optical density.

    Examples
    --------
    >>> sim = demo_dataset(shape=(32, 32))
    >>> sim.stack.dims, sorted(sim.truth.data_vars)
    (('energy', 'y', 'x'), ['drift_x', 'drift_y', 'edge_jump', 'fraction'])
    """
    rng = np.random.default_rng(seed)
    phantom = particle_phantom(shape, seed=rng)
    refs = phase_spectra(energy_ev)
    drift = random_drift(len(energy_ev), drift_max_px, rng) if drift_max_px > 0 else None
    raw = acquire(phantom_od(phantom, refs), flat_counts=flat_counts, drift_px=drift, seed=rng)
    truth = phantom.assign(
        drift_y=("energy", np.zeros(len(energy_ev)) if drift is None else drift[:, 0]),
        drift_x=("energy", np.zeros(len(energy_ev)) if drift is None else drift[:, 1]),
    ).assign_coords(energy=energy_ev)
    return Simulation(raw=raw, refs=refs, truth=truth)


def demo_raw_stack(shape: tuple[int, int] = (64, 64), seed: int = 0) -> RawStack:
    """A small raw stack of the demo scene (no drift), for examples.

    Parameters
    ----------
    shape : (int, int)
        Image size (y, x) in px.
    seed : int
        Seed of the scene and noise.

    Returns
    -------
    RawStack
        Counts and flats ``(energy, y, x)`` and a dark.

    Examples
    --------
    >>> demo_raw_stack(shape=(16, 16)).counts.shape
    (121, 16, 16)
    """
    return demo_dataset(shape=shape, seed=seed).raw
