"""Simulated acquisitions with ground truth, for tests, the demo and benchmarks."""

from redoxmap.simulate.acquisition import acquire, phantom_od, random_drift
from redoxmap.simulate.cycler import galvanostatic_cycle, write_mpt
from redoxmap.simulate.demo import Simulation, demo_dataset, demo_raw_stack
from redoxmap.simulate.phantoms import particle_phantom, sphere_thickness
from redoxmap.simulate.score import score_fraction, score_shifts, truth_in_aligned_frame
from redoxmap.simulate.spectra import MN_K_ENERGY_EV, phase_spectra
from redoxmap.simulate.xrd import simulate_xrd_series

__all__ = [
    "MN_K_ENERGY_EV", "Simulation", "acquire", "demo_dataset", "demo_raw_stack", "particle_phantom",
    "phantom_od", "phase_spectra", "random_drift", "score_fraction", "score_shifts",
    "sphere_thickness", "truth_in_aligned_frame", "galvanostatic_cycle", "simulate_xrd_series", "write_mpt",
]
