"""Preprocessing: flat/dark correction, drift alignment, masks, edge jump, windows and binning."""

from redoxmap.preprocess.align import align_stack, apply_shifts, estimate_shifts
from redoxmap.preprocess.flatfield import optical_density, transmission
from redoxmap.preprocess.mask import particle_mask
from redoxmap.preprocess.normalize import edge_energy, edge_jump
from redoxmap.preprocess.resample import bin_pixels, energy_window

__all__ = [
    "align_stack", "apply_shifts", "bin_pixels", "edge_energy", "edge_jump", "energy_window",
    "estimate_shifts", "optical_density", "particle_mask", "transmission",
]
