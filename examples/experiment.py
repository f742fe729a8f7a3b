"""A whole cycling experiment in one file (examples/experiment/experiment.yaml): three states of a
Mn-oxide cathode — pristine, 50 and 100 cycles — each a simulated Mn L3 scan of platelets whose
surface is reduced by oxygen vacancies diffusing in from the rim, with a known trend in the surface
valence and D. The files are simulated beside a copy of the experiment file, the experiment runs
(as ``redoxmap run``) and the recovered trend is printed next to the truth.

Run from the repository root: ``.venv/bin/python examples/experiment.py``; writes
``docs/examples/experiment_trend.png`` and ``experiment_maps.png``; the results folder is
``docs/examples/experiment/results``.
"""

import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import arguments

from redoxmap.pipeline.experiment import ExperimentConfig, run_experiment
from redoxmap.simulate.cycled import CYCLING_STATES, true_shell_means, write_cycling_experiment

args = arguments(__doc__)
folder = args.out / "experiment"
size, particles = (128, 2) if args.small else (160, 3)
sims = write_cycling_experiment(folder, size_px=size, n_particles=particles)
shutil.copy(Path(__file__).parent / "experiment" / "experiment.yaml", folder / "experiment.yaml")

start = time.perf_counter()
result = run_experiment(ExperimentConfig(experiment=folder / "experiment.yaml", overwrite=True))
print(f"first run: {len(result.ran)} steps in {time.perf_counter() - start:.1f} s")
start = time.perf_counter()
again = run_experiment(ExperimentConfig(experiment=folder / "experiment.yaml"))
print(f"second run: {len(again.ran)} steps ran, {len(again.cached)} up to date, "
      f"{time.perf_counter() - start:.2f} s")

table: pd.DataFrame = result.table
for name, state in CYCLING_STATES.items():
    rows = table[table["sample"] == name]
    surface = rows["valence_shell1_mean"].mean()
    true_surface = true_shell_means(sims[name])[:, 0].mean()
    d = 10 ** np.log10(rows["d_cm2_s"]).mean()
    print(f"{name} (cycle {state['cycle']}): {len(rows)} particles, surface-shell valence {surface:.3f} "
          f"(true {true_surface:.3f}), D {d:.2e} cm²/s (true {state['diffusivity_cm2_s']:.1e}), "
          f"preferred model {rows['preferred_model'].mode().iloc[0]}")
report = result.output / "report"
shutil.copy(report / "trend.png", args.out / "experiment_trend.png")
shutil.copy(report / "maps.png", args.out / "experiment_maps.png")
print(f"wrote {args.out / 'experiment_trend.png'} and {args.out / 'experiment_maps.png'}")
