"""Simulated acquisitions with ground truth, for tests, the demo, benchmarks and examples: 2D TXM-XANES
and STXM scenes, a 3D cathode phantom and its projections, cycler records and operando XRD."""

from redoxmap.simulate.acquisition import acquire, phantom_od, random_drift
from redoxmap.simulate.cycled import (
    CYCLING_STATES,
    cycled_platelets,
    true_shell_means,
    write_cycling_experiment,
)
from redoxmap.simulate.cycler import galvanostatic_cycle, ocv_layered, write_mpt
from redoxmap.simulate.demo import Simulation, demo_dataset, demo_raw_stack
from redoxmap.simulate.phantom3d import COMPOSITION, DENSITY_G_CM3, attenuation_volume, cathode_phantom
from redoxmap.simulate.phantoms import particle_phantom, sphere_thickness
from redoxmap.simulate.score import score_fraction, score_shifts, truth_in_aligned_frame
from redoxmap.simulate.spectra import MN_K_ENERGY_EV, phase_spectra
from redoxmap.simulate.tomography import acquire_projections, project
from redoxmap.simulate.valence import MN_L3_ENERGY_EV, mn_l3_standards, reduced_surface_particle
from redoxmap.simulate.xas_series import simulate_xas_series
from redoxmap.simulate.xrd import (
    LAB_CU,
    LAB_CU_DOUBLET,
    SYNCHROTRON,
    Instrument,
    layered_cell,
    simulate_xrd_series,
)

__all__ = [
    "COMPOSITION", "CYCLING_STATES", "DENSITY_G_CM3", "Instrument", "LAB_CU", "LAB_CU_DOUBLET",
    "MN_K_ENERGY_EV", "MN_L3_ENERGY_EV", "SYNCHROTRON", "Simulation", "acquire", "acquire_projections",
    "attenuation_volume", "cathode_phantom", "cycled_platelets", "demo_dataset", "demo_raw_stack",
    "galvanostatic_cycle", "layered_cell", "mn_l3_standards", "ocv_layered", "particle_phantom",
    "phantom_od", "phase_spectra", "project", "random_drift", "reduced_surface_particle",
    "score_fraction", "score_shifts", "simulate_xas_series", "simulate_xrd_series", "sphere_thickness",
    "true_shell_means", "truth_in_aligned_frame", "write_cycling_experiment", "write_mpt",
]
