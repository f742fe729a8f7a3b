"""Tomography: projections → centre, jitter alignment → reconstruction (gridrec, FBP, SIRT, CGLS,
SIRT-TV, TV) on a sparse or a matrix-free projector; supports, dual-energy chemistry, preparation."""

from redoxmap.tomo.align import align_projections, reproject
from redoxmap.tomo.center import center_from_entropy, center_from_mass, center_from_opposing, find_center
from redoxmap.tomo.dual_energy import (
    density_from_difference,
    edge_difference,
    element_density,
    mass_attenuation_jump,
    matrix_slope,
    ratio_volume,
)
from redoxmap.tomo.gridrec import FILTERS, filter_response
from redoxmap.tomo.iterative import PROJECTORS, make_projector
from redoxmap.tomo.projections import paganin, register_energies, remove_stripes
from redoxmap.tomo.projector import SparseRadon, system_matrix
from redoxmap.tomo.radon import FourierRadon
from redoxmap.tomo.reconstruct import METHODS, reconstruct
from redoxmap.tomo.support import visual_hull

__all__ = [
    "FILTERS", "METHODS", "PROJECTORS", "FourierRadon", "SparseRadon", "align_projections",
    "center_from_entropy", "center_from_mass", "center_from_opposing", "density_from_difference",
    "edge_difference", "element_density", "filter_response", "find_center", "make_projector",
    "mass_attenuation_jump", "matrix_slope", "paganin", "ratio_volume", "reconstruct",
    "register_energies", "remove_stripes", "reproject", "system_matrix", "visual_hull",
]
