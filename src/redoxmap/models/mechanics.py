"""Li diffusion and diffusion-induced stress in solid and hollow spherical particles (1D).

Liu et al. 2024 (Liu et al., Nat. Nanotechnol. 2024), Methods "Particle charge–discharge simulation":
Li transport by diffusion, Butler–Volmer kinetics at the surface, intercalation strain; here in a
sphere of radius R = b with an optional central void of radius a (zero flux there).

Diffusion: ∂c/∂t = (1/r²) ∂/∂r (r² D_eff ∂c/∂r), D_eff ∂c/∂r = N at r = b (N > 0 inserts Li,
i.e. discharges the cathode), 0 at r = a; finite volumes on shells, implicit Euler in time
(tridiagonal banded solve per step). With ``stress_coupled`` the flux J = −D(∇c − (Ωc/RT)∇σ_h)
becomes, because σ_h = 2E/(3(1−ν))·(mean ε* − ε*) in a traction-free (hollow) sphere,
J = −D(1 + 2E·(dε*/dc)²·c/((1−ν)RT))∇c (Zhang, Shyy & Sastry, J. Electrochem. Soc. 154, A910
(2007)); the face diffusivity is lagged by two Picard iterations per step.

Stress (linear elasticity, eigenstrain ε*(c), traction-free surfaces; Cheng & Verbrugge,
J. Appl. Phys. 104, 083521 (2008), extended to a hollow sphere), with θ = ε*(c) − ε*(c_ref) and
J(r) = ∫_a^r θ ρ² dρ:
    σ_r = 2E/(1−ν) · [ (r³ − a³)/((b³ − a³) r³) · J(b) − J(r)/r³ ]
    σ_θ = E/(1−ν) · [ (2r³ + a³)/((b³ − a³) r³) · J(b) + J(r)/r³ − θ(r) ]
    σ_vM = |σ_θ − σ_r|  (σ_φ = σ_θ).
For ε* = Ωc/3 this is the familiar ΩE/(3(1−ν)) form. J(r) is integrated exactly over each shell's
volume (cell averages × (r₊³ − r₋³)/3), so J(r)/r³ tends to θ(0)/3 at the centre with no spurious
spike.

Example
-------
>>> from redoxmap.models.particle_params import liu2024_parameters
>>> run = simulate_particle(liu2024_parameters(), c_rate=10.0, dod_pct=20.0, n_r=100, n_t=50)
>>> f"{float(run.core_hoop_pa[-1]):.1e}"  # tensile hoop stress at the void, Pa
'4.3e+08'
"""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pandas as pd
import scipy.sparse as sp
import xarray as xr
from scipy.linalg import solve_banded

from redoxmap.history import with_history
from redoxmap.models.particle_params import (
    FARADAY,
    GAS_CONSTANT,
    ParameterError,
    ParticleParameters,
    liu2024_parameters,
)

__all__ = [
    "FARADAY",
    "GAS_CONSTANT",
    "ParameterError",
    "ParticleParameters",
    "liu2024_parameters",
    "surface_flux",
    "butler_volmer_overpotential",
    "solve_diffusion",
    "stresses",
    "simulate_particle",
    "simulate_rates",
    "summary_table",
    "peak_hoop",
]


def surface_flux(params: ParticleParameters, c_rate: float) -> float:
    """Molar flux through the outer surface that moves the particle's full capacity
    c_max·(4/3)π(b³ − a³) in 1/|C| hours: N = c_max (b³ − a³) / (3b²) · C / 3600.

    Parameters
    ----------
    params : ParticleParameters
        The particle (radius b, void radius a, c_max).
    c_rate : float
        C-rate; > 0 discharges the cathode (inserts Li), < 0 charges it.

    Returns
    -------
    float
        N (mol m⁻² s⁻¹), > 0 into the particle.

    Raises
    ------
    ParameterError
        If the C-rate is zero or not finite.

    Examples
    --------
    >>> from redoxmap.models.particle_params import liu2024_parameters
    >>> f"{surface_flux(liu2024_parameters(), 1.0):.3e}"
    '3.629e-05'
    """
    if not np.isfinite(c_rate) or c_rate == 0:
        raise ParameterError(
            f"c_rate = {c_rate!r}: expected a finite, non-zero C-rate "
            "(> 0 discharges the cathode, i.e. inserts Li; < 0 charges it)"
        )
    b, a = params.radius_m, params.void_radius_m
    return params.c_max_mol_m3 * (b**3 - a**3) / (3 * b**2) * c_rate / 3600.0


def butler_volmer_overpotential(current_density_a_m2: np.ndarray, params: ParticleParameters) -> np.ndarray:
    """Overpotential η solving the Butler–Volmer equation i = i₀ (exp(α_a Fη/RT) − exp(−α_c Fη/RT))
    at the cathode surface (Liu et al. 2024, Methods).

    Closed form 2RT/F·asinh(i/2i₀) for α_a = α_c = 0.5, safeguarded Newton iterations otherwise.

    Parameters
    ----------
    current_density_a_m2 : numpy.ndarray
        Current density i (A/m²); > 0 anodic (delithiation).
    params : ParticleParameters
        i₀ (``exchange_current_a_m2``), α_a, α_c and T.

    Returns
    -------
    numpy.ndarray
        η (V), the shape of ``current_density_a_m2``.

    Examples
    --------
    >>> from redoxmap.models.particle_params import liu2024_parameters
    >>> f"{float(butler_volmer_overpotential(2.0, liu2024_parameters())):.4f}"
    '0.0453'
    """
    i = np.asarray(current_density_a_m2, float)
    i0, aa, ac = params.exchange_current_a_m2, params.alpha_a, params.alpha_c
    f = FARADAY / (GAS_CONSTANT * params.temperature_k)
    eta = 2 / f * np.arcsinh(i / (2 * i0))
    if aa == ac == 0.5:
        return eta
    for _ in range(100):
        g = i0 * (np.exp(aa * f * eta) - np.exp(-ac * f * eta)) - i
        dg = i0 * f * (aa * np.exp(aa * f * eta) + ac * np.exp(-ac * f * eta))
        step = g / dg
        eta = eta - np.clip(step, -0.1, 0.1)
        if np.all(np.abs(step) < 1e-13):
            break
    return eta


def _grid(params: ParticleParameters, n_r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    faces = np.linspace(params.void_radius_m, params.radius_m, n_r + 1)
    centres = (faces[:-1] + faces[1:]) / 2
    volume = (faces[1:] ** 3 - faces[:-1] ** 3) / 3  # per steradian
    return faces, centres, volume


def _conductance(
    params: ParticleParameters, faces: np.ndarray, centres: np.ndarray, c: np.ndarray | None
) -> np.ndarray:
    """D_eff·r²/Δr on the interior faces; D_eff = D(1 + 2E(dε*/dc)²c/((1−ν)RT)) when stress-coupled."""
    d = params.diffusivity * np.ones(faces.size - 2)
    if params.stress_coupled and c is not None:
        cf = np.clip((c[1:] + c[:-1]) / 2, 0, None)
        slope = params.eigenstrain_slope(cf)
        d = d * (
            1
            + 2
            * params.youngs_modulus_pa
            * slope**2
            * cf
            / ((1 - params.poisson_ratio) * GAS_CONSTANT * params.temperature_k)
        )
    return d * faces[1:-1] ** 2 / (centres[1:] - centres[:-1])


def _laplacian_matrix(params: ParticleParameters, n_r: int) -> sp.csr_matrix:
    """Finite-volume operator L (per steradian) with (L c)_i = Σ_faces D r_f² (c_j − c_i)/Δr and zero
    flux at both ends; the semi-discrete model is V dc/dt = L c + s with s = N b² in the last cell."""
    faces, centres, _ = _grid(params, n_r)
    g = _conductance(params, faces, centres, None)
    main = np.zeros(n_r)
    main[:-1] -= g
    main[1:] -= g
    return sp.diags([main, g, g], [0, 1, -1], format="csr")


def _march(
    params: ParticleParameters, c0: np.ndarray, flux: float, dt: float, n_t: int, stop_outside: bool
) -> np.ndarray:
    """Implicit Euler steps of V(c⁺ − c)/dt = L(c⁺)c⁺ + s; returns the states after each step
    (fewer than n_t rows when ``stop_outside`` and the surface cell leaves [0, c_max])."""
    n_r = c0.size
    faces, centres, volume = _grid(params, n_r)
    source = np.zeros(n_r)
    source[-1] = flux * params.radius_m**2
    g = _conductance(params, faces, centres, None)
    out = []
    c = c0.astype(float).copy()
    for _ in range(n_t):
        guess = c
        for _ in range(2 if params.stress_coupled else 1):
            if params.stress_coupled:
                g = _conductance(params, faces, centres, guess)
            band = np.zeros((3, n_r))
            band[0, 1:] = -dt * g
            band[2, :-1] = -dt * g
            band[1] = volume
            band[1, :-1] += dt * g
            band[1, 1:] += dt * g
            guess = solve_banded((1, 1), band, volume * c + dt * source, check_finite=False)
        if stop_outside and not -1e-9 <= guess[-1] / params.c_max_mol_m3 <= 1 + 1e-9:
            break
        c = guess
        out.append(c)
    return np.array(out).reshape(-1, n_r)


def solve_diffusion(
    params: ParticleParameters,
    flux_mol_m2_s: float,
    time_s: float,
    c0_mol_m3: float = 0.0,
    n_r: int = 200,
    n_t: int = 400,
) -> xr.DataArray:
    """Concentration c(t, r) in a (hollow) sphere under a constant surface flux N, from a uniform c0:
    ∂c/∂t = (1/r²) ∂/∂r (r² D_eff ∂c/∂r), D_eff ∂c/∂r = N at r = b, 0 at r = a (module doc; Liu et
    al. 2024, Methods), by finite volumes on ``n_r`` shells and ``n_t`` implicit Euler steps.

    Parameters
    ----------
    params : ParticleParameters
        The particle.
    flux_mol_m2_s : float
        Surface flux N (mol m⁻² s⁻¹), > 0 inserts Li (e.g. :func:`surface_flux`).
    time_s : float
        Duration (s).
    c0_mol_m3 : float
        Initial concentration (mol/m³).
    n_r : int
        Number of radial shells (≥ 4).
    n_t : int
        Number of time steps (≥ 1).

    Returns
    -------
    xarray.DataArray
        c (mol/m³) over ``(time, r)`` (time in s, r the shell centres in m; ``n_t + 1`` times);
        ``attrs["r_faces"]`` holds the shell faces (m).

    Raises
    ------
    ParameterError
        If ``time_s`` is not positive or ``n_r``/``n_t`` are too small.

    Examples
    --------
    >>> from redoxmap.models.particle_params import liu2024_parameters
    >>> p = liu2024_parameters()
    >>> c = solve_diffusion(p, surface_flux(p, 1.0), 360.0, n_r=50, n_t=20)
    >>> c.dims, c.shape
    (('time', 'r'), (21, 50))
    """
    if not time_s > 0:
        raise ParameterError(f"time_s = {time_s!r}: expected a positive duration in seconds")
    if n_r < 4 or n_t < 1:
        raise ParameterError(f"n_r = {n_r}, n_t = {n_t}: expected n_r ≥ 4 shells and n_t ≥ 1 steps")
    faces, centres, _ = _grid(params, n_r)
    c0 = np.full(n_r, float(c0_mol_m3))
    states = _march(params, c0, flux_mol_m2_s, time_s / n_t, n_t, stop_outside=False)
    out = np.vstack([c0, states])
    da = xr.DataArray(
        out,
        dims=("time", "r"),
        coords={"time": np.linspace(0, time_s, n_t + 1), "r": centres},
        attrs={"units": "mol/m^3", "r_faces": faces},
    )
    da["r"].attrs["units"] = "m"
    da["time"].attrs["units"] = "s"
    return da


def _stress_arrays(
    c: np.ndarray, ref: np.ndarray | float, faces: np.ndarray, r: np.ndarray, params: ParticleParameters
) -> dict[str, np.ndarray]:
    a, b = faces[0], faces[-1]
    theta = params.eigenstrain(c) - params.eigenstrain(ref)
    shell = (faces[1:] ** 3 - faces[:-1] ** 3) / 3
    cumulative = np.cumsum(theta * shell, axis=-1)  # J at the outer face of each cell
    integral_r = cumulative - theta * shell + theta * (r**3 - faces[:-1] ** 3) / 3  # J at the centre
    total = cumulative[..., -1:]
    k = params.youngs_modulus_pa / (1 - params.poisson_ratio)
    span = b**3 - a**3
    out = {
        "radial_pa": 2 * k * ((r**3 - a**3) / (span * r**3) * total - integral_r / r**3),
        "hoop_pa": k * ((2 * r**3 + a**3) / (span * r**3) * total + integral_r / r**3 - theta),
    }
    out["von_mises_pa"] = np.abs(out["hoop_pa"] - out["radial_pa"])
    # the two surfaces, with θ extrapolated linearly from the two nearest cell centres
    total = total[..., 0]
    for name, face, j_face, near in (
        ("inner", a, np.zeros_like(total), (0, 1)),
        ("surface", b, total, (-1, -2)),
    ):
        if face == 0:  # a solid sphere has no inner surface
            continue
        r0, r1 = r[near[0]], r[near[1]]
        th0, th1 = theta[..., near[0]], theta[..., near[1]]
        theta_face = th0 + (th0 - th1) * (face - r0) / (r0 - r1)
        out[f"{name}_radial_pa"] = 2 * k * ((face**3 - a**3) / (span * face**3) * total - j_face / face**3)
        out[f"{name}_hoop_pa"] = k * (
            (2 * face**3 + a**3) / (span * face**3) * total + j_face / face**3 - theta_face
        )
    return out


def stresses(
    concentration: xr.DataArray, params: ParticleParameters, c_ref_mol_m3: float | None = None
) -> xr.Dataset:
    """Radial, hoop and von Mises stress of a concentration field c(…, r) in a (hollow) sphere with
    traction-free surfaces, relative to the stress-free state c_ref (equations in the module doc;
    Cheng & Verbrugge 2008, hollow-sphere form).

    Parameters
    ----------
    concentration : xarray.DataArray
        c (mol/m³) over ``(…, r)`` from :func:`solve_diffusion` (``attrs["r_faces"]`` needed).
    params : ParticleParameters
        Elastic constants and eigenstrain of the particle.
    c_ref_mol_m3 : float, optional
        Stress-free concentration (mol/m³); default the first time of ``concentration``.

    Returns
    -------
    xarray.Dataset
        ``radial_pa``, ``hoop_pa``, ``von_mises_pa`` (Pa; tension > 0) at the cell centres and, as
        ``surface_*`` and (hollow spheres only) ``inner_*``, on the surfaces.

    Raises
    ------
    ParameterError
        If the field has no time axis and no ``c_ref_mol_m3`` is given.

    Examples
    --------
    >>> from redoxmap.models.particle_params import liu2024_parameters
    >>> p = liu2024_parameters()
    >>> s = stresses(solve_diffusion(p, surface_flux(p, 1.0), 360.0, n_r=50, n_t=20), p)
    >>> abs(float(s.inner_radial_pa[-1])) < 1e-3 * float(abs(s.hoop_pa).max())  # traction-free void
    True
    """
    faces = np.asarray(concentration.attrs["r_faces"])
    r = concentration["r"].values
    c = np.asarray(concentration.values, float)
    if c_ref_mol_m3 is not None:
        ref = c_ref_mol_m3
    elif "time" in concentration.dims:
        ref = np.asarray(concentration.isel(time=0).values)
    else:
        raise ParameterError(
            "stresses: the concentration profile has no time axis: expected "
            "c_ref_mol_m3, the stress-free concentration"
        )
    arrays = _stress_arrays(c, ref, faces, r, params)
    dims = concentration.dims
    ds = xr.Dataset(coords=concentration.coords)
    for name, value in arrays.items():
        ds[name] = (dims if value.ndim == c.ndim else dims[:-1], value)
    return ds


def simulate_particle(
    params: ParticleParameters,
    c_rate: float,
    dod_pct: float = 20.0,
    *,
    cycle: bool = False,
    n_r: int = 200,
    n_t: int = 200,
) -> xr.Dataset:
    """Galvanostatic discharge (Li insertion) of the particle at ``c_rate`` from the charged state
    (c = initial_fraction·c_max, stress-free) to ``dod_pct`` % depth of discharge and, with
    ``cycle``, the charge back at the same rate (Liu et al. 2024, Fig. 5d–g).

    A half-cycle stops early when the surface concentration leaves [0, c_max] (the cut-off).

    Parameters
    ----------
    params : ParticleParameters
        The particle.
    c_rate : float
        C-rate of discharge and charge (> 0).
    dod_pct : float
        Depth of discharge to reach (%, in (0, 100]).
    cycle : bool
        Charge back after the discharge.
    n_r : int
        Number of radial shells.
    n_t : int
        Time steps per half-cycle.

    Returns
    -------
    xarray.Dataset
        On ``(time, r)``: ``concentration_mol_m3``, ``radial_pa``, ``hoop_pa``, ``von_mises_pa``;
        per time: ``dod_pct``, ``current_density_a_m2`` (i = −F·N, < 0 on discharge),
        ``overpotential_v`` (:func:`butler_volmer_overpotential`), ``core_hoop_pa`` and
        ``core_von_mises_pa`` (at the void surface, or the centre of a solid sphere),
        ``surface_hoop_pa``, ``surface_concentration_mol_m3`` and, for hollow spheres,
        ``inner_radial_pa``/``surface_radial_pa``; ``attrs["stopped_at_cutoff"]``.

    Raises
    ------
    ParameterError
        If the C-rate is not positive, ``dod_pct`` is outside (0, 100] or the grid is too small.

    Examples
    --------
    >>> from redoxmap.models.particle_params import liu2024_parameters
    >>> run = simulate_particle(liu2024_parameters(), 0.1, 20.0, n_r=60, n_t=40)
    >>> round(float(run.dod_pct[-1]), 6)
    20.0
    """
    flux = surface_flux(params, c_rate)
    if c_rate < 0:
        raise ParameterError(
            f"c_rate = {c_rate!r}: expected a positive C-rate (the run starts with a "
            "discharge from the charged state)"
        )
    if not 0 < dod_pct <= 100:
        raise ParameterError(f"dod_pct = {dod_pct!r}: expected a depth of discharge in (0, 100] %")
    if n_r < 4 or n_t < 1:
        raise ParameterError(f"n_r = {n_r}, n_t = {n_t}: expected n_r ≥ 4 shells and n_t ≥ 1 steps")
    faces, centres, volume = _grid(params, n_r)
    duration = dod_pct / 100 * 3600.0 / c_rate
    dt = duration / n_t
    c0 = np.full(n_r, params.initial_fraction * params.c_max_mol_m3)
    states, fluxes = [c0[None]], [np.array([0.0])]
    down = _march(params, c0, flux, dt, n_t, stop_outside=True)
    states.append(down)
    fluxes.append(np.full(len(down), flux))
    if cycle and len(down):
        up = _march(params, down[-1], -flux, dt, len(down), stop_outside=True)
        states.append(up)
        fluxes.append(np.full(len(up), -flux))
    c = np.vstack(states)
    n = np.concatenate(fluxes)
    time = dt * np.arange(len(c))
    inserted = np.cumsum(n * dt) * params.radius_m**2 * 4 * np.pi  # mol
    dod = 100 * inserted / params.capacity_mol
    current = -FARADAY * n
    arrays = _stress_arrays(c, c0, faces, centres, params)
    ds = xr.Dataset(coords={"time": time, "r": centres})
    ds["concentration_mol_m3"] = (("time", "r"), c)
    for name, value in arrays.items():
        ds[name] = (("time", "r") if value.ndim == 2 else ("time",), value)
    ds["dod_pct"] = ("time", dod)
    ds["current_density_a_m2"] = ("time", current)
    ds["overpotential_v"] = ("time", np.where(n == 0, 0.0, butler_volmer_overpotential(current, params)))
    if params.void_radius_m > 0:
        core_hoop, core_vm = (
            arrays["inner_hoop_pa"],
            np.abs(arrays["inner_hoop_pa"] - arrays["inner_radial_pa"]),
        )
    else:
        core_hoop, core_vm = arrays["hoop_pa"][:, 0], arrays["von_mises_pa"][:, 0]
    ds["core_hoop_pa"] = ("time", core_hoop)
    ds["core_von_mises_pa"] = ("time", core_vm)
    ds["surface_concentration_mol_m3"] = ("time", c[:, -1] + (c[:, -1] - c[:, -2]) / 2)
    ds["time"].attrs["units"] = "s"
    ds["r"].attrs["units"] = "m"
    ds.attrs = with_history(
        {
            "c_rate": float(c_rate),
            "c_max_mol_m3": params.c_max_mol_m3,
            "radius_m": params.radius_m,
            "void_radius_m": params.void_radius_m,
            "parameters": json.dumps(asdict(params), default=str),
            "stopped_at_cutoff": int(len(down) < n_t),
        },
        "simulate_particle",
        c_rate=c_rate,
        dod_pct=dod_pct,
        cycle=cycle,
        n_r=n_r,
        n_t=n_t,
    )
    ds.attrs["history"] = "; ".join(ds.attrs["history"])  # NetCDF-safe
    ds["r_faces"] = ("face", faces)
    return ds


def simulate_rates(
    params: ParticleParameters,
    c_rates: list[float],
    dod_pct: float = 20.0,
    *,
    cycle: bool = True,
    n_r: int = 200,
    n_t: int = 200,
) -> dict[float, xr.Dataset]:
    """:func:`simulate_particle` for each C-rate (discharge to ``dod_pct`` and, with ``cycle``, back).

    Parameters
    ----------
    params : ParticleParameters
        The particle.
    c_rates : list of float
        C-rates to simulate.
    dod_pct : float
        Depth of discharge (%).
    cycle : bool
        Charge back after each discharge.
    n_r : int
        Number of radial shells.
    n_t : int
        Time steps per half-cycle.

    Returns
    -------
    dict of float to xarray.Dataset
        The runs, keyed by C-rate.

    Examples
    --------
    >>> from redoxmap.models.particle_params import liu2024_parameters
    >>> sorted(simulate_rates(liu2024_parameters(), [10, 0.1], n_r=40, n_t=20))
    [0.1, 10.0]
    """
    return {
        float(rate): simulate_particle(params, float(rate), dod_pct, cycle=cycle, n_r=n_r, n_t=n_t)
        for rate in c_rates
    }


def peak_hoop(run: xr.Dataset) -> np.ndarray:
    """Largest hoop stress magnitude max |σ_θ| over the cell centres and the surfaces, per time.

    Parameters
    ----------
    run : xarray.Dataset
        A run of :func:`simulate_particle`.

    Returns
    -------
    numpy.ndarray
        max |σ_θ| (Pa) per time.

    Examples
    --------
    >>> from redoxmap.models.particle_params import liu2024_parameters
    >>> run = simulate_particle(liu2024_parameters(), 10.0, 20.0, n_r=40, n_t=20)
    >>> peak_hoop(run).shape == run.time.shape
    True
    """
    parts = [np.abs(run.hoop_pa.values).max(1)]
    parts += [np.abs(run[n].values) for n in ("inner_hoop_pa", "surface_hoop_pa") if n in run]
    return np.max(parts, axis=0)


def summary_table(runs: dict[float, xr.Dataset]) -> pd.DataFrame:
    """One row per C-rate at the deepest discharge reached (Liu et al. 2024, Fig. 5f–g).

    Parameters
    ----------
    runs : dict of float to xarray.Dataset
        Runs of :func:`simulate_particle` by C-rate (e.g. :func:`simulate_rates`).

    Returns
    -------
    pandas.DataFrame
        Columns ``c_rate``, ``dod_pct`` (%), ``void_hoop_pa`` and ``void_von_mises_pa`` (at the void,
        or the centre), ``peak_hoop_pa`` and ``peak_von_mises_pa`` (over r), ``surface_fraction``
        (c/c_max at the surface), ``overpotential_v`` and ``stopped_at_cutoff``.

    Examples
    --------
    >>> from redoxmap.models.particle_params import liu2024_parameters
    >>> table = summary_table(simulate_rates(liu2024_parameters(), [10, 0.1], n_r=40, n_t=20))
    >>> table.c_rate.tolist(), table.dod_pct.round(6).tolist()
    ([10.0, 0.1], [20.0, 20.0])
    """
    rows = []
    for rate, run in runs.items():
        k = int(np.argmax(run.dod_pct.values))
        rows.append(
            {
                "c_rate": rate,
                "dod_pct": float(run.dod_pct[k]),
                "void_hoop_pa": float(run.core_hoop_pa[k]),
                "void_von_mises_pa": float(run.core_von_mises_pa[k]),
                "peak_hoop_pa": peak_hoop(run)[k],
                "peak_von_mises_pa": float(run.von_mises_pa[k].max()),
                "surface_fraction": float(run.surface_concentration_mol_m3[k]) / run.attrs["c_max_mol_m3"],
                "overpotential_v": float(run.overpotential_v[k]),
                "stopped_at_cutoff": bool(run.attrs["stopped_at_cutoff"]),
            }
        )
    return pd.DataFrame(rows)
