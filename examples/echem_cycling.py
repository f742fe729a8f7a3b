"""Electrochemistry of a cell (Wang et al. 2021, Fig. 1 and Methods): capacity, Coulombic efficiency
and retention per cycle and dQ/dV of a real 15-cycle MACCOR record (tests/data/echem/maccor_three.txt.gz,
cellpy's example data, MIT), and Li diffusivities from the GITT pulses of a PyBaMM single-particle
model whose D is known (tests/data/echem/gitt_pybamm.*, made by scripts/validate_gitt_pybamm.py).

Capacities are Coulomb counts, Q = ∫ |I| dt over each charge and discharge; dQ/dV is a charge-weighted
kernel density of the voltage (Feng et al. 2013, Gaussian kernel), so ∫ dQ/dV dV = Q; GITT gives
D = 4/(πτ) · (V/S)² · (ΔEs/ΔEτ)² per pulse (Weppner & Huggins 1977), V/S = R/3 for spheres.

Run from the repository root: ``.venv/bin/python examples/echem_cycling.py``; writes
``docs/examples/echem_cycling.png``. Both records are small; ``--small`` draws fewer dQ/dV curves.
"""

import json
from pathlib import Path

import numpy as np
from _common import arguments
from matplotlib.figure import Figure

from redoxmap.echem import cycle_dqdv, dqdv_peaks, gitt, standard_table
from redoxmap.pipeline import EchemConfig, run_echem

args = arguments(__doc__)
data_dir = Path(__file__).resolve().parent.parent / "tests" / "data" / "echem"

# Cycling: the echem job (as `redoxmap echem FILE`) reads the cycler file into the standard table.
result = run_echem(EchemConfig(file=data_dir / "maccor_three.txt.gz"))
data, cycles = result.data, result.cycles[result.cycles.discharge_capacity_ah > 0]
for row in cycles.itertuples():
    print(f"cycle {row.cycle}: charge {row.charge_capacity_ah * 1e3:.1f} mAh, discharge "
          f"{row.discharge_capacity_ah * 1e3:.1f} mAh, CE {row.coulombic_efficiency:.4f}, "
          f"retention {row.capacity_retention:.3f}")
first, last = int(cycles.cycle.iloc[0]), int(cycles.cycle.iloc[-1])
discharge = data[(data.cycle == first) & (data.step_type == "discharge")]
counted = np.trapezoid(discharge.current_a.abs(), discharge.time_s) / 3.6  # A·s → mAh
print(f"cycle {first} discharge by ∫|I|dt: {counted:.1f} mAh")

# dQ/dV of the discharges; its area is the capacity, its peaks move as the cell ages. This cycler logged
# a point per voltage step, so the kernel is made as wide as that step (narrower, it resolves the steps).
step_v = float(np.median(np.abs(np.diff(discharge.voltage_v))))
print(f"voltage recorded every {step_v * 1e3:.0f} mV: dQ/dV kernel width {step_v * 1e3:.0f} mV")
drawn = [first, last] if args.small else list(cycles.cycle)
curves = {c: cycle_dqdv(data, c, "discharge", bandwidth_v=step_v) for c in drawn}
for c in (first, last):
    area = np.trapezoid(curves[c].dqdv_ah_v, curves[c].voltage_v) * 1e3
    peaks = dqdv_peaks(curves[c]).sort_values("dqdv_ah_v", ascending=False)
    shown = ", ".join(f"{v:.3f} V" for v in peaks.voltage_v)
    print(f"cycle {c} dQ/dV: area {area:.1f} mAh, peaks at {shown} (strongest first)")

# GITT: any (time, voltage, current) record goes into the standard table, then one D per pulse.
params = json.loads((data_dir / "gitt_pybamm.json").read_text())
time_s, voltage_v, current_a = np.loadtxt(data_dir / "gitt_pybamm.csv.gz", delimiter=",", skiprows=1,
                                          unpack=True)
radius_um = params["positive_particle_radius_m"] * 1e6
pulses = gitt(standard_table(time_s, voltage_v, current_a), radius_um=radius_um)
valid = pulses[pulses.valid]
true_d = params["positive_particle_diffusivity_cm2_s"]
print(f"GITT: {len(valid)} of {len(pulses)} pulses valid; median D = {valid.diffusivity_cm2_s.median():.3g} "
      f"cm²/s (true {true_d:.3g})")

fig = Figure(figsize=(12.0, 3.6), dpi=150, layout="constrained")
capacity, dqdv_axis, d_axis = fig.subplots(1, 3)
capacity.plot(cycles.cycle, cycles.discharge_capacity_ah * 1e3, "s-", label="discharge")
capacity.set(xlabel="cycle", ylabel="discharge capacity (mAh)")
efficiency = capacity.twinx()
efficiency.plot(cycles.cycle, cycles.coulombic_efficiency * 100, "o:", color="C1", label="CE")
efficiency.set_ylabel("Coulombic efficiency (%)", color="C1")
colours = dict(zip(drawn, np.linspace(0.0, 0.9, len(drawn)), strict=True))
for c, curve in curves.items():
    dqdv_axis.plot(curve.voltage_v, curve.dqdv_ah_v * 1e3, color=(colours[c], 0.2, 0.9 - colours[c]),
                   lw=1, label=f"cycle {c}" if c in (first, last) else None)
dqdv_axis.set(xlabel="voltage (V)", ylabel="dQ/dV on discharge (mAh/V)")
dqdv_axis.legend(frameon=False)
d_axis.semilogy(valid.soc, valid.diffusivity_cm2_s, "o", label="GITT pulses")
d_axis.axhline(true_d, color="k", ls=":", label="D of the PyBaMM model")
d_axis.set(xlabel="state of charge", ylabel="D (cm²/s)", ylim=(true_d / 10, true_d * 10))
d_axis.legend(frameon=False)
fig.savefig(args.out / "echem_cycling.png", dpi=150)
print(f"wrote {args.out / 'echem_cycling.png'}")
