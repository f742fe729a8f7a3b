"""1D diffusion-induced stress in solid and hollow spheres (issue 8, first increment)."""

import numpy as np
import pytest

from redoxmap.models.mechanics import (
    ParameterError,
    ParticleParameters,
    butler_volmer_overpotential,
    solve_diffusion,
    stresses,
    surface_flux,
)


def test_solid_sphere_quasi_steady_closed_form():
    """Constant flux N, quasi-steady state (t = 0.5 R²/D): |σ_θ(R)| = |σ_r(0)| = ΩE·N·R/(15(1−ν)D)."""
    p = ParticleParameters(void_radius_m=0.0, radius_m=5e-6, diffusivity_m2_s=1e-14)
    flux = 1e-5
    c = solve_diffusion(p, flux, 0.5 * p.radius_m**2 / p.diffusivity, c0_mol_m3=1000.0, n_r=400)
    s = stresses(c.isel(time=-1), p, c_ref_mol_m3=1000.0)
    closed = (p.partial_molar_volume_m3_mol * p.youngs_modulus_pa * flux * p.radius_m
              / (15 * (1 - p.poisson_ratio) * p.diffusivity))
    assert abs(float(s.surface_hoop_pa)) == pytest.approx(closed, rel=0.01)
    assert abs(float(s.radial_pa[0])) == pytest.approx(closed, rel=0.01)
    # no spike at the centre: the innermost cells agree with each other
    assert float(s.radial_pa[0]) == pytest.approx(float(s.radial_pa[1]), rel=1e-3)
    # mass balance: inserted Li equals flux × area × time
    faces = c.attrs["r_faces"]
    shells = 4 * np.pi * (faces[1:] ** 3 - faces[:-1] ** 3) / 3
    moles = float(((c.isel(time=-1).values - 1000.0) * shells).sum())
    assert moles == pytest.approx(flux * 4 * np.pi * p.radius_m**2 * float(c.time[-1]), rel=1e-9)


def test_hollow_sphere_surfaces_are_traction_free():
    p = ParticleParameters()  # seed 001: R 8 µm, void 0.5 µm
    c = solve_diffusion(p, surface_flux(p, 10.0), 360.0, n_r=300, n_t=100)
    s = stresses(c, p)
    scale = float(np.abs(s.hoop_pa).max())
    assert scale > 0
    assert np.abs(s.inner_radial_pa.values).max() < 1e-9 * scale
    assert np.abs(s.surface_radial_pa.values).max() < 1e-9 * scale


def test_hoop_stress_near_the_void_grows_with_c_rate():
    """At 20 % depth of discharge the hoop stress at the void of the 1D hollow sphere is ≥ 50×
    larger at 10 C than at 0.1 C (the seed's qualitative result, Fig. 5d–g, in 1D)."""
    p = ParticleParameters()
    peaks = {}
    for rate in (0.1, 10.0):
        time_to_20pct = 0.2 * 3600.0 / rate
        c = solve_diffusion(p, surface_flux(p, rate), time_to_20pct, n_r=300, n_t=200)
        peaks[rate] = float(np.abs(stresses(c, p).inner_hoop_pa.isel(time=-1)))
    assert peaks[10.0] >= 50 * peaks[0.1]


def test_bad_parameters_are_rejected():
    with pytest.raises(ParameterError, match="radius_m = -1 must be positive"):
        ParticleParameters(radius_m=-1)
    with pytest.raises(ParameterError, match="void_radius_m = 1e-05 must be ≥ 0 and smaller than"):
        ParticleParameters(radius_m=8e-6, void_radius_m=1e-5)
    with pytest.raises(ParameterError, match="c_rate must not be 0"):
        surface_flux(ParticleParameters(), 0.0)


def test_butler_volmer_inversion():
    p = ParticleParameters(alpha_a=0.3, alpha_c=0.7)
    eta = butler_volmer_overpotential(np.array([-5.0, 0.0, 2.0]), p)
    f = 96485.33212 / (8.314462618 * p.temperature_k)
    back = p.exchange_current_a_m2 * (np.exp(0.3 * f * eta) - np.exp(-0.7 * f * eta))
    np.testing.assert_allclose(back, [-5.0, 0.0, 2.0], atol=1e-9)


@pytest.mark.parametrize("name", ["solid", "hollow"])
def test_concentration_agrees_with_pybamm(name):
    """Stored PyBaMM profiles (make validate): agreement within 1 % of c_max at every time."""
    import json
    from pathlib import Path

    data = Path(__file__).parent / "data" / "mechanics"
    params = json.loads((data / "pybamm_params.json").read_text())
    ref = np.loadtxt(data / f"pybamm_{name}.csv", delimiter=",", skiprows=1)
    p = ParticleParameters(radius_m=params["radius_m"], void_radius_m=params["void_radius_m"][name],
                           diffusivity_m2_s=params["diffusivity_m2_s"])
    c = solve_diffusion(p, params["flux_mol_m2_s"], max(params["times_s"]), n_r=400, n_t=720)
    for j, t in enumerate(params["times_s"]):
        ours = np.interp(ref[:, 0], c.r.values, c.sel(time=t, method="nearest").values)
        assert np.abs(ours - ref[:, 1 + j]).max() < 0.01 * params["c_max_mol_m3"]


def test_simulate_particle_command(tmp_path):
    import pandas as pd
    from typer.testing import CliRunner

    from redoxmap.cli import app

    result = CliRunner().invoke(app, ["simulate-particle", "--c-rate", "0.1", "--c-rate", "10",
                                      "--report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "stress_vs_dod.csv")
    last = table.groupby("c_rate").peak_hoop_pa.last()
    assert last[10.0] > 50 * last[0.1]
    assert (tmp_path / "concentration_10C.png").is_file()
    result = CliRunner().invoke(app, ["simulate-particle", "--c-rate", "1", "--void-um", "9"])
    assert result.exit_code != 0
