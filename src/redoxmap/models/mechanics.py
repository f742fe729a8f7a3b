"""Li diffusion and diffusion-induced stress in solid and hollow spherical particles (1D).

Seed 001 (Liu et al., Nat. Nanotechnol. 2024), Methods "Particle charge–discharge simulation":
Li transport by diffusion, Butler–Volmer kinetics at the surface, intercalation strain; here in a
sphere of radius R with an optional central void of radius a (zero flux there).

Diffusion: ∂c/∂t = (1/r²) ∂/∂r (D r² ∂c/∂r), D ∂c/∂r = N at r = R (N > 0 inserts Li), 0 at r = a;
finite volumes on shells, implicit Euler in time.
Stress (linear elasticity, intercalation strain Ω·Δc/3, traction-free surfaces; Cheng & Verbrugge,
J. Appl. Phys. 104, 083521 (2008), extended to a hollow sphere), with I(r) = ∫_a^r Δc ρ² dρ:
    σ_r = 2ΩE/(3(1−ν)) · [ (r³ − a³)/((R³ − a³) r³) · I(R) − I(r)/r³ ]
    σ_θ = ΩE/(3(1−ν)) · [ (2r³ + a³)/((R³ − a³) r³) · I(R) + I(r)/r³ − Δc(r) ]
    σ_vM = |σ_θ − σ_r|  (σ_φ = σ_θ).
I(r) is integrated exactly over each shell's volume (cell averages × (r₊³ − r₋³)/3), so I(r)/r³
tends to Δc(0)/3 at the centre with no spurious spike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import xarray as xr
from scipy.sparse.linalg import splu

from redoxmap.errors import RedoxmapError

FARADAY = 96485.33212  # C/mol
GAS_CONSTANT = 8.314462618  # J/(mol K)


class ParameterError(RedoxmapError):
    """A physical parameter is out of range."""


@dataclass(frozen=True)
class ParticleParameters:
    """SI units. Sources: (seed) = seed 001 Methods/Fig. 5; (assumed) = typical layered-oxide
    values, not given in the seed text available here."""

    radius_m: float = 8e-6  # (seed) 8 µm particle
    void_radius_m: float = 0.5e-6  # (seed) central void 0.5 µm
    diffusivity_m2_s: float = 5e-13  # (seed) D_Li at T_ref
    activation_k: float = 1200.0  # (seed) D(T) = D_ref·exp(1200·(1/T_ref − 1/T))
    temperature_k: float = 298.15  # (assumed) = T_ref
    reference_temperature_k: float = 298.15  # (assumed)
    c_max_mol_m3: float = 49000.0  # (assumed)
    partial_molar_volume_m3_mol: float = 3.5e-6  # (assumed) Ω
    youngs_modulus_pa: float = 150e9  # (assumed)
    poisson_ratio: float = 0.3  # (assumed)
    exchange_current_a_m2: float = 1.0  # (assumed) i0
    alpha_a: float = 0.5  # (assumed)
    alpha_c: float = 0.5  # (assumed)
    notes: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.radius_m <= 0:
            raise ParameterError(f"radius_m = {self.radius_m} must be positive")
        if not 0 <= self.void_radius_m < self.radius_m:
            raise ParameterError(f"void_radius_m = {self.void_radius_m} must be ≥ 0 and smaller than "
                                 f"radius_m = {self.radius_m}")
        for name in ("diffusivity_m2_s", "c_max_mol_m3", "youngs_modulus_pa", "temperature_k"):
            if getattr(self, name) <= 0:
                raise ParameterError(f"{name} = {getattr(self, name)} must be positive")
        if not -1 < self.poisson_ratio < 0.5:
            raise ParameterError(f"poisson_ratio = {self.poisson_ratio} must lie in (−1, 0.5)")

    @property
    def diffusivity(self) -> float:
        """D at ``temperature_k`` (m²/s), Arrhenius form of the seed."""
        return self.diffusivity_m2_s * np.exp(self.activation_k * (1 / self.reference_temperature_k
                                                                   - 1 / self.temperature_k))


def surface_flux(params: ParticleParameters, c_rate: float) -> float:
    """Molar flux N (mol m⁻² s⁻¹) through the outer surface that moves the particle's full
    capacity c_max·(4/3)π(R³ − a³) in 1/C hours."""
    if c_rate == 0:
        raise ParameterError("c_rate must not be 0")
    r, a = params.radius_m, params.void_radius_m
    return params.c_max_mol_m3 * (r**3 - a**3) / (3 * r**2) * c_rate / 3600.0


def butler_volmer_overpotential(current_density_a_m2: np.ndarray, params: ParticleParameters) -> np.ndarray:
    """η solving i = i0 (exp(α_a Fη/RT) − exp(−α_c Fη/RT)); closed form 2RT/F·asinh(i/2i0) for
    α_a = α_c = 0.5, Newton iterations otherwise."""
    i = np.asarray(current_density_a_m2, float)
    f = FARADAY / (GAS_CONSTANT * params.temperature_k)
    eta = 2 / f * np.arcsinh(i / (2 * params.exchange_current_a_m2))
    if params.alpha_a == params.alpha_c == 0.5:
        return eta
    for _ in range(50):
        g = params.exchange_current_a_m2 * (np.exp(params.alpha_a * f * eta)
                                             - np.exp(-params.alpha_c * f * eta)) - i
        dg = params.exchange_current_a_m2 * f * (params.alpha_a * np.exp(params.alpha_a * f * eta)
                                                 + params.alpha_c * np.exp(-params.alpha_c * f * eta))
        eta = eta - g / dg
    return eta


def solve_diffusion(params: ParticleParameters, flux_mol_m2_s: float, time_s: float, c0_mol_m3: float = 0.0,
                    n_r: int = 200, n_t: int = 400) -> xr.DataArray:
    """Concentration c(time, r) (mol/m³) under a constant surface flux (N > 0 inserts Li)."""
    if time_s <= 0 or n_r < 4 or n_t < 1:
        raise ParameterError("time_s must be positive, n_r ≥ 4 and n_t ≥ 1")
    a, b = params.void_radius_m, params.radius_m
    faces = np.linspace(a, b, n_r + 1)
    centres = (faces[:-1] + faces[1:]) / 2
    volume = (faces[1:] ** 3 - faces[:-1] ** 3) / 3  # per steradian
    d = params.diffusivity
    dt = time_s / n_t
    conductance = d * faces[1:-1] ** 2 / (centres[1:] - centres[:-1])  # between neighbour cells
    main = np.zeros(n_r)
    main[:-1] += conductance
    main[1:] += conductance
    lap = sp.diags([-main, conductance, conductance], [0, 1, -1], format="csc")
    system = splu((sp.diags(volume) - dt * lap).tocsc())
    source = np.zeros(n_r)
    source[-1] = flux_mol_m2_s * b**2
    c = np.full(n_r, c0_mol_m3, float)
    out = np.empty((n_t + 1, n_r))
    out[0] = c
    for k in range(n_t):
        c = system.solve(volume * c + dt * source)
        out[k + 1] = c
    da = xr.DataArray(out, dims=("time", "r"), coords={"time": np.linspace(0, time_s, n_t + 1), "r": centres},
                      attrs={"units": "mol/m^3", "r_faces": faces})
    da["r"].attrs["units"] = "m"
    da["time"].attrs["units"] = "s"
    return da


def stresses(concentration: xr.DataArray, params: ParticleParameters,
             c_ref_mol_m3: float | None = None) -> xr.Dataset:
    """Radial, hoop and von Mises stress (Pa) of a concentration field c(…, r) from
    :func:`solve_diffusion` (Δc relative to ``c_ref``, default the initial state), at the cell
    centres and, as ``surface_*`` and ``inner_*`` (hollow spheres), on the two surfaces."""
    faces = np.asarray(concentration.attrs["r_faces"])
    a, b = faces[0], faces[-1]
    r = concentration["r"].values
    c = np.asarray(concentration.values, float)
    if c_ref_mol_m3 is not None:
        ref = c_ref_mol_m3
    elif "time" in concentration.dims:
        ref = np.asarray(concentration.isel(time=0).values)
    else:
        raise ParameterError("give c_ref_mol_m3 for a concentration profile without a time axis")
    dc = c - ref
    shell = (faces[1:] ** 3 - faces[:-1] ** 3) / 3
    cumulative = np.cumsum(dc * shell, axis=-1)  # I at the outer face of each cell
    inner = cumulative - dc * shell  # I at the inner face
    partial = (r**3 - faces[:-1] ** 3) / 3
    integral_r = inner + dc * partial  # I(r) at the cell centre
    total = cumulative[..., -1:]
    k = params.partial_molar_volume_m3_mol * params.youngs_modulus_pa / (3 * (1 - params.poisson_ratio))
    radial = 2 * k * ((r**3 - a**3) / ((b**3 - a**3) * r**3) * total - integral_r / r**3)
    hoop = k * ((2 * r**3 + a**3) / ((b**3 - a**3) * r**3) * total + integral_r / r**3 - dc)
    dims = concentration.dims
    ds = xr.Dataset({"radial_pa": (dims, radial), "hoop_pa": (dims, hoop),
                     "von_mises_pa": (dims, np.abs(hoop - radial))}, coords=concentration.coords)
    # the two surfaces, with Δc extrapolated linearly from the two nearest cell centres
    lead = dims[:-1]
    for name, face, i_face, near in (("inner", a, np.zeros_like(total[..., 0]), (0, 1)),
                                     ("surface", b, total[..., 0], (-1, -2))):
        r0, r1 = r[near[0]], r[near[1]]
        dc_face = dc[..., near[0]] + (dc[..., near[0]] - dc[..., near[1]]) * (face - r0) / (r0 - r1)
        if face == 0:  # a solid sphere has no inner surface
            continue
        rad = 2 * k * ((face**3 - a**3) / ((b**3 - a**3) * face**3) * total[..., 0] - i_face / face**3)
        hp = k * ((2 * face**3 + a**3) / ((b**3 - a**3) * face**3) * total[..., 0] + i_face / face**3
                  - dc_face)
        ds[f"{name}_radial_pa"] = (lead, rad)
        ds[f"{name}_hoop_pa"] = (lead, hp)
    return ds
