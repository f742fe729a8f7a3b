"""Physical models: transport (diffusion series and diffusion on a particle's own mask, core–shell) and
their fits to profiles, oxygen release by charge balance, and the particle model of Li diffusion with
diffusion-induced stress (1D spherical, and 2D axisymmetric FEM)."""

from redoxmap.models.diffusion_fd import diffusion_on_mask, mask_profile_table
from redoxmap.models.mechanics import (
    butler_volmer_overpotential,
    peak_hoop,
    simulate_particle,
    simulate_rates,
    solve_diffusion,
    stresses,
    summary_table,
    surface_flux,
)
from redoxmap.models.mechanics_fem import particle_mesh, solve_fem
from redoxmap.models.particle_params import (
    FARADAY,
    GAS_CONSTANT,
    ParameterError,
    ParticleParameters,
    liu2024_parameters,
)
from redoxmap.models.stoichiometry import OxygenRelease, oxygen_release, parse_formula
from redoxmap.models.transport import (
    GEOMETRIES,
    ProfileFit,
    compare_models,
    core_shell,
    core_shell_profile,
    cylinder_diffusion,
    diffusion_profile,
    fit_profile,
    slab_diffusion,
    sphere_diffusion,
    time_at_high_soc_s,
)

__all__ = [
    "FARADAY", "GAS_CONSTANT", "GEOMETRIES", "OxygenRelease", "ParameterError", "ParticleParameters",
    "ProfileFit", "butler_volmer_overpotential", "compare_models", "core_shell", "core_shell_profile",
    "cylinder_diffusion", "diffusion_on_mask", "diffusion_profile", "fit_profile", "liu2024_parameters",
    "mask_profile_table", "oxygen_release", "parse_formula", "particle_mesh", "peak_hoop",
    "simulate_particle", "simulate_rates", "slab_diffusion", "solve_diffusion", "solve_fem",
    "sphere_diffusion", "stresses", "summary_table", "surface_flux", "time_at_high_soc_s",
]
