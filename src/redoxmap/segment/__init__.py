"""Segmentation: composition classes of voxels, pores and cracks."""

from redoxmap.segment.classes import class_counts, class_labels, class_proportions, classify_stoichiometry
from redoxmap.segment.particles import label_particles, particle_table
from redoxmap.segment.pores import analyze_pores, local_thickness, particle_envelope, pore_size_distribution

__all__ = ["analyze_pores", "class_counts", "class_labels", "class_proportions", "classify_stoichiometry",
           "label_particles", "local_thickness", "particle_envelope", "particle_table",
           "pore_size_distribution"]
