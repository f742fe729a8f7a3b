"""Diffusion-induced stress in a hollow Li-rich cathode particle (Liu et al. 2024, Fig. 5d–g): hoop
and von Mises stress versus depth of discharge at 0.1 C and 10 C.

Run from the repository root: ``.venv/bin/python examples/particle_model.py``; writes
``docs/examples/stress_vs_dod.png``.
"""

from _common import arguments

from redoxmap.models.mechanics import simulate_rates, summary_table
from redoxmap.models.particle_params import liu2024_parameters
from redoxmap.report.particle import stress_vs_dod_figure

args = arguments(__doc__)
cells, steps = (40, 30) if args.small else (300, 300)
runs = simulate_rates(liu2024_parameters(), [0.1, 10.0], 20.0, n_r=cells, n_t=steps)  # 8 µm, 0.5 µm void
table = summary_table(runs)
for row in table.itertuples():
    print(f"{row.c_rate:g} C at {row.dod_pct:.1f} % DOD: hoop stress at the void {row.void_hoop_pa:.3g} Pa")
print(f"10 C / 0.1 C: {table.void_hoop_pa.iloc[1] / table.void_hoop_pa.iloc[0]:.0f}×")
stress_vs_dod_figure(runs).savefig(args.out / "stress_vs_dod.png", dpi=150)
print(f"wrote {args.out / 'stress_vs_dod.png'}")
