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
    """A simulated acquisition: raw counts, the references it was made from, and the truth
    (``fraction`` of the second reference, ``edge_jump``, ``drift_y``/``drift_x`` per energy)."""

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
    """Simulate the demo scan: Mn K-edge 6519–6639 eV in 1 eV steps (Wang et al. 2021, Methods),
    ~``flat_counts`` per pixel in the flat, per-energy drift up to ±``drift_max_px``."""
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
    """A small raw stack of the demo scene (no drift), for examples."""
    return demo_dataset(shape=shape, seed=seed).raw
