"""Reference concentration profiles for the 1D particle model, computed with PyBaMM.

Run by ``make validate``: a custom PyBaMM model of diffusion in a spherical shell a ≤ r ≤ R
(a = 0 for the solid sphere) with a constant inward flux at R and zero flux at a, discretised with
PyBaMM's finite volumes. Writes tests/data/mechanics/pybamm_{solid,hollow}.csv (r_m and the
concentration at each stored time, mol/m³) and pybamm_params.json; tests/test_mechanics.py compares
redoxmap's solver against them to 1 % of c_max.
"""

import json
import os
from pathlib import Path

os.environ.setdefault("PYBAMM_DISABLE_TELEMETRY", "true")

import numpy as np  # noqa: E402
import pybamm  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "mechanics"
PARAMS = {"radius_m": 8e-6, "diffusivity_m2_s": 1e-14, "flux_mol_m2_s": 3.6e-5, "c_max_mol_m3": 49000.0,
          "times_s": [600.0, 1800.0, 3600.0]}


def run(void_radius_m: float) -> np.ndarray:
    model = pybamm.BaseModel()
    c = pybamm.Variable("c", domain="particle")
    d = pybamm.Scalar(PARAMS["diffusivity_m2_s"])
    flux = -d * pybamm.grad(c)
    model.rhs = {c: -pybamm.div(flux)}
    model.boundary_conditions = {c: {"left": (pybamm.Scalar(0), "Neumann"),
                                     "right": (pybamm.Scalar(PARAMS["flux_mol_m2_s"]) / d, "Neumann")}}
    model.initial_conditions = {c: pybamm.Scalar(0)}
    model.variables = {"c": c}
    r = pybamm.SpatialVariable("r", domain=["particle"], coord_sys="spherical polar")
    limits = {"min": pybamm.Scalar(void_radius_m), "max": pybamm.Scalar(PARAMS["radius_m"])}
    geometry = {"particle": {r: limits}}
    mesh = pybamm.Mesh(geometry, {"particle": pybamm.Uniform1DSubMesh}, {r: 400})
    disc = pybamm.Discretisation(mesh, {"particle": pybamm.FiniteVolume()})
    disc.process_model(model)
    solution = pybamm.ScipySolver(atol=1e-10, rtol=1e-10).solve(model, np.array([0.0, *PARAMS["times_s"]]))
    centres = mesh["particle"].nodes
    values = solution["c"].entries  # (r, time)
    return np.column_stack([centres, values[:, 1:]])


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, void in (("solid", 0.0), ("hollow", 0.5e-6)):
        table = run(void)
        header = "r_m," + ",".join(f"c_{t:.0f}s" for t in PARAMS["times_s"])
        np.savetxt(OUT / f"pybamm_{name}.csv", table, delimiter=",", fmt="%.8g", header=header, comments="")
    meta = {**PARAMS, "void_radius_m": {"solid": 0.0, "hollow": 0.5e-6},
            "pybamm_version": pybamm.__version__}
    (OUT / "pybamm_params.json").write_text(json.dumps(meta, indent=2))
    print("wrote", sorted(p.name for p in OUT.iterdir()))


if __name__ == "__main__":
    main()
