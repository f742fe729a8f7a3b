"""Simulate a GITT experiment with PyBaMM and store it as the reference for the GITT tests.

Run by ``make validate`` (PyBaMM is the ``validate`` extra, never a runtime or test dependency):
a single-particle model of an NMC half cell against Li metal (PyBaMM's Xu2019 parameter set) with
a constant, known positive-particle diffusivity and radius; 20 discharge pulses of 60 s at C/10,
each followed by a 2 h rest, and a second record whose pulses break τ ≪ L²/D. Writes
tests/data/echem/gitt_pybamm*.csv.gz (time_s, voltage_v, current_a) and .json (the parameters), which
tests/test_echem_gitt.py compares against. ``--out DIR`` writes elsewhere (e.g. to compare two runs).
"""

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("PYBAMM_DISABLE_TELEMETRY", "true")

import numpy as np  # noqa: E402
import pybamm  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "echem"
D_TRUE_M2_S = 1e-15
RADIUS_M = 5e-6


def simulate(out: Path, name: str, diffusivity_m2_s: float, step: str, pulses: int, period: str) -> None:
    model = pybamm.lithium_ion.SPM({"working electrode": "positive"})
    params = pybamm.ParameterValues("Xu2019")
    params.update({"Positive particle diffusivity [m2.s-1]": diffusivity_m2_s,
                   "Positive particle radius [m]": RADIUS_M})
    experiment = pybamm.Experiment([(step, "Rest for 2 hours")] * pulses, period=period)
    solution = pybamm.Simulation(model, parameter_values=params, experiment=experiment).solve()
    time_s = solution["Time [s]"].entries
    voltage = solution["Voltage [V]"].entries
    current = -solution["Current [A]"].entries  # PyBaMM: discharge positive; ours: charge positive
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{name}.csv.gz.tmp.gz"  # numpy compresses by the suffix; renamed when complete
    np.savetxt(tmp, np.column_stack([time_s, voltage, current]), delimiter=",",
               fmt="%.8g", header="time_s,voltage_v,current_a", comments="")
    tmp.replace(out / f"{name}.csv.gz")
    (out / f"{name}.json").write_text(json.dumps({
        "pybamm_version": pybamm.__version__, "model": "SPM, working electrode positive (half cell)",
        "parameter_set": "Xu2019", "positive_particle_diffusivity_m2_s": diffusivity_m2_s,
        "positive_particle_diffusivity_cm2_s": diffusivity_m2_s * 1e4,
        "positive_particle_radius_m": RADIUS_M,
        "experiment": f"{pulses} x ({step}, rest 2 h), period {period}",
    }, indent=2))
    print(f"wrote {len(time_s)} rows to {out / name}.csv.gz")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="output folder (default tests/data/echem)")
    out = parser.parse_args().out
    # valid: tau D / L^2 ~ 0.03
    simulate(out, "gitt_pybamm", D_TRUE_M2_S, "Discharge at C/10 for 60 seconds or until 3.0 V", 20,
             "2 seconds")
    # invalid: 10 min pulses with a 10x faster diffusivity, tau D / L^2 ~ 2
    simulate(out, "gitt_pybamm_long", 10 * D_TRUE_M2_S, "Discharge at C/20 for 10 minutes or until 3.0 V", 8,
             "10 seconds")


if __name__ == "__main__":
    main()
