"""Parameters of the particle model (SI units), with the Liu et al. 2024 case and its sources.

Liu et al. 2024, Methods "Particle charge–discharge simulation" and Fig. 5d–g: an 8 µm-radius
Li-rich layered-oxide (LRTMO) particle with a 0.5 µm central void and 0.2 µm outer pores;
D_Li = 5×10⁻¹³·exp(1200·(1/T_ref − 1/T₂)) with T_ref = 298 K and T₂ = min(393.15, max(T, 223.15));
Butler–Volmer kinetics at the particle surface; intercalation strain F_ic = (1 + ΔV/V₀)^(1/3)·I
with ΔV/V₀ from operando diffraction (ref. 44 of Liu et al. 2024). The remaining values sit in
the Supplementary Table 3 of Liu et al. 2024, which is not available here: every such value below
is marked "(assumed)" and is a typical layered-oxide value.

Example
-------
>>> p = liu2024_parameters()
>>> round(p.radius_m * 1e6, 3), round(p.void_radius_m * 1e6, 3)
(8.0, 0.5)
>>> f"{p.diffusivity:.2e}"
'5.00e-13'
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from redoxmap.errors import ParameterError

FARADAY = 96485.33212  # C/mol
GAS_CONSTANT = 8.314462618  # J/(mol K)


@dataclass(frozen=True)
class ParticleParameters:
    """Particle geometry, transport, kinetics and elasticity of the particle model, SI units throughout.

    Sources: (paper) = Liu et al. 2024, Methods and Fig. 5; (assumed) = a typical layered-oxide
    value, not in the main text of Liu et al. 2024 (its Supplementary Table 3 is not available here).
    Values are checked when the parameters are made.

    Intercalation strain: with ``volume_change_x``/``volume_change_dv_v0`` empty, the linear
    eigenstrain is ε*(c) = Ω·c/3 (constant partial molar volume Ω); otherwise ΔV/V₀ is interpolated
    linearly in the Li fraction x = c/c_max and ε*(c) = (1 + ΔV/V₀(x))^(1/3) − 1 (Liu et al. 2024,
    Methods: F_ic = (1 + ΔV/V₀)^(1/3)·I, small-strain part).

    ``stress_coupled`` switches on the flux J = −D(∇c − (Ω c/RT)∇σ_h) (Liu et al. 2024, Methods:
    migration term of the flux; Zhang, Shyy & Sastry 2007).

    Parameters
    ----------
    radius_m : float
        Particle radius b (m); (paper) 8 µm.
    void_radius_m : float
        Central void radius a (m), 0 for a solid sphere; (paper) 0.5 µm.
    pore_radius_m : float
        Radius of the pore on the symmetry axis (m, FEM only); (paper) 0.2 µm.
    pore_gap_m : float
        Width of the bridge between void and pore (m, FEM only); (assumed) 0.2 µm.
    diffusivity_m2_s : float
        Li diffusivity D_ref at ``reference_temperature_k`` (m²/s); (paper) 5×10⁻¹³, the unit
        assumed (Liu et al. 2024 gives none).
    activation_k : float
        E_a/R of D(T) = D_ref·exp(E_a/R·(1/T_ref − 1/T₂)) (K); (paper) 1200 K.
    temperature_k : float
        Temperature T (K); (assumed) 298 K.
    reference_temperature_k : float
        T_ref (K); (paper) 298 K.
    c_max_mol_m3 : float
        Li sites per volume (mol/m³); (assumed) 49 000.
    initial_fraction : float
        Li fraction c/c_max of the charged, stress-free start; (assumed) 0.
    partial_molar_volume_m3_mol : float
        Partial molar volume Ω (m³/mol) of the linear eigenstrain; (assumed) 3.5×10⁻⁶.
    volume_change_x : tuple of float
        Li fractions of a tabulated ΔV/V₀ (increasing; empty for the linear eigenstrain).
    volume_change_dv_v0 : tuple of float
        ΔV/V₀ at those fractions (ref. 44 of Liu et al. 2024 for LRTMO).
    youngs_modulus_pa : float
        Young's modulus E (Pa); (assumed) 150 GPa.
    poisson_ratio : float
        Poisson's ratio ν; (assumed) 0.3.
    exchange_current_a_m2 : float
        Exchange current density i₀ (A/m²); (assumed) 1.
    alpha_a, alpha_c : float
        Anodic and cathodic transfer coefficients; (assumed) 0.5.
    stress_coupled : bool
        Add the stress-driven term to the flux.
    notes : dict
        Free-form provenance notes (not compared).

    Raises
    ------
    ParameterError
        If a value is out of its physical range (the message names the field).

    Examples
    --------
    >>> p = ParticleParameters(radius_m=5e-6, void_radius_m=0.0)
    >>> f"{p.capacity_mol:.3e}"
    '2.566e-11'
    """

    radius_m: float = 8e-6  # (paper) particle radius 8 µm
    void_radius_m: float = 0.5e-6  # (paper) central void radius 0.5 µm
    pore_radius_m: float = 0.2e-6  # (paper) outer pores 0.2 µm (FEM only)
    pore_gap_m: float = 0.2e-6  # (assumed) width of the bridge between void and pore (FEM only)
    diffusivity_m2_s: float = 5e-13  # (paper) D_Li at T_ref (the paper gives no unit; m²/s assumed)
    activation_k: float = 1200.0  # (paper) D(T) = D_ref·exp(1200·(1/T_ref − 1/T₂))
    temperature_k: float = 298.0  # (assumed) T = T_ref
    reference_temperature_k: float = 298.0  # (paper) T_ref = 298 K
    c_max_mol_m3: float = 49000.0  # (assumed) Li sites per volume of a layered oxide
    initial_fraction: float = 0.0  # (assumed) Li fraction c/c_max of the charged state
    partial_molar_volume_m3_mol: float = 3.5e-6  # (assumed) Ω
    volume_change_x: tuple[float, ...] = ()  # Li fraction grid of a tabulated ΔV/V₀ (optional)
    volume_change_dv_v0: tuple[float, ...] = ()  # ΔV/V₀ on that grid (paper's ref. 44 for LRTMO)
    youngs_modulus_pa: float = 150e9  # (assumed) E
    poisson_ratio: float = 0.3  # (assumed) ν
    exchange_current_a_m2: float = 1.0  # (assumed) i₀ of the cathode (paper: i₀ = i₀,ref)
    alpha_a: float = 0.5  # (assumed) anodic transfer coefficient
    alpha_c: float = 0.5  # (assumed) cathodic transfer coefficient
    stress_coupled: bool = False  # stress-driven flux term on/off
    notes: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        def bad(name: str, expected: str) -> ParameterError:
            return ParameterError(f"ParticleParameters.{name} = {getattr(self, name)!r}: expected {expected}")

        if not self.radius_m > 0:
            raise ParameterError(
                f"ParticleParameters.radius_m = {self.radius_m!r}: expected a positive radius in metres"
            )
        if not 0 <= self.void_radius_m < self.radius_m:
            raise ParameterError(
                f"ParticleParameters.void_radius_m = {self.void_radius_m!r}: expected "
                f"0 ≤ void radius < radius_m = {self.radius_m!r}"
            )
        for name in (
            "diffusivity_m2_s",
            "c_max_mol_m3",
            "youngs_modulus_pa",
            "temperature_k",
            "reference_temperature_k",
            "exchange_current_a_m2",
            "alpha_a",
            "alpha_c",
        ):
            if not getattr(self, name) > 0:
                raise bad(name, "a positive value")
        for name in ("pore_radius_m", "pore_gap_m", "partial_molar_volume_m3_mol", "activation_k"):
            if not getattr(self, name) >= 0:
                raise bad(name, "a value ≥ 0")
        if not -1 < self.poisson_ratio < 0.5:
            raise bad("poisson_ratio", "a value in (−1, 0.5)")
        if not 0 <= self.initial_fraction <= 1:
            raise bad("initial_fraction", "a Li fraction in [0, 1]")
        x, dv = np.asarray(self.volume_change_x, float), np.asarray(self.volume_change_dv_v0, float)
        if x.shape != dv.shape:
            raise ParameterError(
                f"ParticleParameters.volume_change_x has {x.size} values but "
                f"volume_change_dv_v0 has {dv.size}: expected equal lengths"
            )
        if x.size == 1 or (x.size and np.any(np.diff(x) <= 0)):
            raise bad("volume_change_x", "at least two strictly increasing Li fractions")
        if dv.size and np.any(dv <= -1):
            raise bad("volume_change_dv_v0", "values > −1")

    # -- derived quantities -------------------------------------------------------------------
    @property
    def diffusivity(self) -> float:
        """D (m²/s) at ``temperature_k``: D_ref·exp(E_a·(1/T_ref − 1/T₂)), T₂ = min(393.15,
        max(T, 223.15)) (Liu et al. 2024 Methods)."""
        t2 = min(393.15, max(self.temperature_k, 223.15))
        return float(
            self.diffusivity_m2_s * np.exp(self.activation_k * (1 / self.reference_temperature_k - 1 / t2))
        )

    @property
    def capacity_mol(self) -> float:
        """Li moles that fill the (hollow) sphere from c = 0 to c_max."""
        return self.c_max_mol_m3 * 4 * np.pi * (self.radius_m**3 - self.void_radius_m**3) / 3

    def eigenstrain(self, c_mol_m3: np.ndarray) -> np.ndarray:
        """Linear intercalation strain ε*(c) (dimensionless): Ω·c/3, or (1 + ΔV/V₀(c/c_max))^(1/3) − 1
        with a tabulated volume change."""
        c = np.asarray(c_mol_m3, float)
        if not self.volume_change_x:
            return self.partial_molar_volume_m3_mol * c / 3
        dv = np.interp(c / self.c_max_mol_m3, self.volume_change_x, self.volume_change_dv_v0)
        return np.cbrt(1 + dv) - 1

    def eigenstrain_slope(self, c_mol_m3: np.ndarray) -> np.ndarray:
        """dε*/dc (m³/mol) = Ω/3 for a constant Ω; the local partial molar volume is 3·dε*/dc."""
        c = np.asarray(c_mol_m3, float)
        if not self.volume_change_x:
            return np.full_like(c, self.partial_molar_volume_m3_mol / 3)
        xs, dvs = np.asarray(self.volume_change_x), np.asarray(self.volume_change_dv_v0)
        x = np.clip(c / self.c_max_mol_m3, xs[0], xs[-1])
        seg = np.clip(np.searchsorted(xs, x, side="right") - 1, 0, xs.size - 2)
        slope = (dvs[seg + 1] - dvs[seg]) / (xs[seg + 1] - xs[seg])
        dv = np.interp(x, xs, dvs)
        return slope / (3 * np.cbrt(1 + dv) ** 2 * self.c_max_mol_m3)

    def with_geometry(
        self, radius_m: float | None = None, void_radius_m: float | None = None
    ) -> ParticleParameters:
        """A copy with another radius and/or void radius (validated)."""
        return replace(
            self,
            radius_m=self.radius_m if radius_m is None else radius_m,
            void_radius_m=self.void_radius_m if void_radius_m is None else void_radius_m,
        )


def liu2024_parameters(**changes) -> ParticleParameters:
    """The Liu et al. 2024 case (Fig. 5d–g): R = 8 µm, void 0.5 µm, pores 0.2 µm, D_ref = 5×10⁻¹³ m²/s
    at 298 K; other values are the marked assumptions of :class:`ParticleParameters`.

    Parameters
    ----------
    **changes
        Fields to override, e.g. ``liu2024_parameters(stress_coupled=True)``.

    Returns
    -------
    ParticleParameters
        The parameters, with their sources in ``notes``.

    Examples
    --------
    >>> liu2024_parameters(temperature_k=318.0).temperature_k
    318.0
    """
    notes = {
        "source": "Liu et al. 2024 Methods 'Particle charge–discharge simulation' and Fig. 5d–g",
        "assumed": "c_max, Ω (or ΔV/V0 table), E, ν, i0, α_a, α_c, T, initial_fraction, pore_gap "
        "(Supplementary Table 3 of Liu et al. 2024 not available here)",
    }
    return ParticleParameters(**{"notes": notes, **changes})
