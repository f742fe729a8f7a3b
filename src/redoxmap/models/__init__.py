"""Physical models: transport (diffusion, core–shell), stoichiometry, and the particle model of
Li diffusion with diffusion-induced stress (:mod:`redoxmap.models.mechanics`, 1D; the 2D
axisymmetric FEM is :mod:`redoxmap.models.mechanics_fem`, imported on demand)."""

from redoxmap.models.mechanics import (
    butler_volmer_overpotential,
    simulate_particle,
    simulate_rates,
    solve_diffusion,
    stresses,
    summary_table,
    surface_flux,
)
from redoxmap.models.particle_params import ParameterError, ParticleParameters, liu2024_parameters

__all__ = [
    "ParameterError",
    "ParticleParameters",
    "liu2024_parameters",
    "butler_volmer_overpotential",
    "simulate_particle",
    "simulate_rates",
    "solve_diffusion",
    "stresses",
    "summary_table",
    "surface_flux",
]
