"""Preprocessing: files to optical density, flat/dark correction, drift alignment, masks,
normalization (edge jump, Athena/Larch), windows and binning."""

from redoxmap.preprocess.align import align_stack, apply_shifts, estimate_shifts
from redoxmap.preprocess.flatfield import optical_density, transmission
from redoxmap.preprocess.mask import particle_mask
from redoxmap.preprocess.normalize import (
    edge_energy,
    edge_jump,
    edge_parameters,
    find_e0,
    is_short_scan,
    normalize_stack,
)
from redoxmap.preprocess.resample import bin_pixels, energy_window
from redoxmap.preprocess.stacks import open_projections, open_stack

__all__ = [
    "align_stack", "apply_shifts", "bin_pixels", "edge_energy", "edge_jump", "edge_parameters",
    "energy_window", "estimate_shifts", "find_e0", "is_short_scan", "normalize_stack",
    "open_projections", "open_stack", "optical_density", "particle_mask", "transmission",
]
