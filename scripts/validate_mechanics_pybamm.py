"""Reference concentration profiles for the 1D particle model, computed with PyBaMM.

Run by ``make validate`` (needs the ``validate`` extra; PYBAMM_DISABLE_TELEMETRY=true): a custom
PyBaMM model of diffusion in a spherical shell a ≤ r ≤ R (a = 0 for the solid sphere) with a constant
inward flux N at R and zero flux at a, discretised with PyBaMM's finite volumes and integrated by its
ScipySolver (BDF, rtol 1e-10). Three cases:

- ``solid``: a = 0, constant D;
- ``hollow``: a = 0.5 µm (Liu et al. 2024 void), constant D;
- ``hollow_coupled``: a = 0.5 µm with the stress-coupled flux J = −D(1 + κc)∇c,
  κ = 2EΩ²/(9(1−ν)RT) (what J = −D(∇c − (Ωc/RT)∇σ_h) becomes in a traction-free sphere).

Writes tests/data/mechanics/pybamm_{case}.csv (r_m and c in mol/m³ at each stored time) and
pybamm_params.json; tests/test_mechanics.py compares redoxmap's solver with them to 1 % of c_max.
"""

import json
import os
from pathlib import Path

os.environ.setdefault("PYBAMM_DISABLE_TELEMETRY", "true")

import numpy as np  # noqa: E402
import pybamm  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "mechanics"
FARADAY, GAS = 96485.33212, 8.314462618
PARAMS = {
    "radius_m": 8e-6,
    "diffusivity_m2_s": 1e-14,
    "flux_mol_m2_s": 3.6e-5,
    "c_max_mol_m3": 49000.0,
    "times_s": [600.0, 1800.0, 3600.0],
    "n_shells": 400,
    # elasticity of the coupled case (redoxmap's assumed layered-oxide values)
    "youngs_modulus_pa": 150e9,
    "poisson_ratio": 0.3,
    "partial_molar_volume_m3_mol": 3.5e-6,
    "temperature_k": 298.0,
}
CASES = {"solid": (0.0, False), "hollow": (0.5e-6, False), "hollow_coupled": (0.5e-6, True)}


def kappa() -> float:
    p = PARAMS
    return (
        2
        * p["youngs_modulus_pa"]
        * p["partial_molar_volume_m3_mol"] ** 2
        / (9 * (1 - p["poisson_ratio"]) * GAS * p["temperature_k"])
    )


def run(void_radius_m: float, coupled: bool) -> np.ndarray:
    model = pybamm.BaseModel()
    c = pybamm.Variable("c", domain="particle")
    d0 = pybamm.Scalar(PARAMS["diffusivity_m2_s"])
    d = d0 * (1 + pybamm.Scalar(kappa()) * c) if coupled else d0
    model.rhs = {c: pybamm.div(d * pybamm.grad(c))}
    d_surface = d0 * (1 + pybamm.Scalar(kappa()) * pybamm.boundary_value(c, "right")) if coupled else d0
    model.boundary_conditions = {
        c: {
            "left": (pybamm.Scalar(0), "Neumann"),
            "right": (pybamm.Scalar(PARAMS["flux_mol_m2_s"]) / d_surface, "Neumann"),
        }
    }
    model.initial_conditions = {c: pybamm.Scalar(0)}
    model.variables = {"c": c}
    r = pybamm.SpatialVariable("r", domain=["particle"], coord_sys="spherical polar")
    geometry = {
        "particle": {r: {"min": pybamm.Scalar(void_radius_m), "max": pybamm.Scalar(PARAMS["radius_m"])}}
    }
    mesh = pybamm.Mesh(geometry, {"particle": pybamm.Uniform1DSubMesh}, {r: PARAMS["n_shells"]})
    disc = pybamm.Discretisation(mesh, {"particle": pybamm.FiniteVolume()})
    disc.process_model(model)
    solution = pybamm.ScipySolver(atol=1e-10, rtol=1e-10).solve(model, np.array([0.0, *PARAMS["times_s"]]))
    centres = mesh["particle"].nodes
    values = solution["c"].entries  # (r, time)
    return np.column_stack([centres, values[:, 1:]])


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (void, coupled) in CASES.items():
        table = run(void, coupled)
        header = "r_m," + ",".join(f"c_{t:.0f}s" for t in PARAMS["times_s"])
        np.savetxt(OUT / f"pybamm_{name}.csv", table, delimiter=",", fmt="%.8g", header=header, comments="")
        print(name, "c range", table[:, 1:].min(), table[:, 1:].max())
    meta = {
        **PARAMS,
        "void_radius_m": {k: v[0] for k, v in CASES.items()},
        "stress_coupled": {k: v[1] for k, v in CASES.items()},
        "kappa_m3_mol": kappa(),
        "pybamm_version": pybamm.__version__,
    }
    (OUT / "pybamm_params.json").write_text(json.dumps(meta, indent=2))
    print("wrote", sorted(p.name for p in OUT.iterdir()))


if __name__ == "__main__":
    main()
