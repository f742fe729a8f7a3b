"""Segmentation: composition classes of voxels, pores and cracks."""

from redoxmap.segment.classes import CLASS_NAMES, class_proportions, classify_stoichiometry
from redoxmap.segment.particles import label_particles, particle_table
from redoxmap.segment.pores import analyze_pores, particle_envelope, porosity

__all__ = ["CLASS_NAMES", "analyze_pores", "class_proportions", "classify_stoichiometry",
           "label_particles", "particle_envelope", "particle_table", "porosity"]
