"""Tomography: projections → centre, jitter alignment → reconstruction (gridrec, FBP, iterative)."""

from redoxmap.tomo.align import align_projections, reproject
from redoxmap.tomo.center import center_from_entropy, center_from_mass, center_from_opposing, find_center
from redoxmap.tomo.reconstruct import METHODS, reconstruct

__all__ = ["METHODS", "align_projections", "center_from_entropy", "center_from_mass",
           "center_from_opposing", "find_center", "reconstruct", "reproject"]
