"""Statistics of maps and volumes: profiles versus distance from the edge, equal-area/volume
shells, and the dissolution-halo test."""

from redoxmap.stats.agglomerates import interior_vs_exterior
from redoxmap.stats.halo import detect_halo, halo_profile
from redoxmap.stats.porosity import porosity
from redoxmap.stats.profiles import edge_distance_profile, weighted_mean_stderr
from redoxmap.stats.shells import equal_volume_shells, shell_means
from redoxmap.stats.thickness import binned_by, thickness_dependence

__all__ = ["binned_by", "detect_halo", "edge_distance_profile", "equal_volume_shells", "halo_profile",
           "interior_vs_exterior", "porosity", "shell_means", "thickness_dependence", "weighted_mean_stderr"]
