"""Preprocessing: files to optical density, flat/dark correction, I0 of scanning microscopes, drift
alignment, masks, normalization (edge jump, Athena/Larch), windows, binning and thickness."""

from redoxmap.preprocess.align import align_stack, apply_shifts, estimate_shifts, shift_images
from redoxmap.preprocess.flatfield import optical_density, transmission
from redoxmap.preprocess.i0 import auto_i0_mask, with_i0_region, with_i0_spectrum
from redoxmap.preprocess.mask import edge_jump_mask, edge_jump_weights, otsu_threshold, particle_mask
from redoxmap.preprocess.normalize import (
    edge_energy,
    edge_jump,
    edge_parameters,
    edge_step_weights,
    find_e0,
    is_short_scan,
    normalize_stack,
)
from redoxmap.preprocess.resample import bin_pixels, energy_window
from redoxmap.preprocess.stacks import open_projections, open_stack
from redoxmap.preprocess.thickness import (
    attenuation_per_nm,
    element_densities,
    thickness_from_edge_jump,
    thickness_from_od,
)

__all__ = [
    "align_stack", "apply_shifts", "attenuation_per_nm", "auto_i0_mask", "bin_pixels", "edge_energy",
    "edge_jump", "edge_jump_mask", "edge_jump_weights", "edge_parameters", "edge_step_weights",
    "element_densities", "energy_window", "estimate_shifts", "find_e0",
    "is_short_scan", "normalize_stack", "open_projections", "open_stack", "optical_density",
    "otsu_threshold", "particle_mask", "shift_images", "thickness_from_edge_jump", "thickness_from_od",
    "transmission",
    "with_i0_region", "with_i0_spectrum",
]
