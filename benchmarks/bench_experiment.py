"""Wall times of the example cycling experiment as a user sees them, measured in one run.

    python benchmarks/bench_experiment.py [--small] [--scheduler threads|serial]

Simulates the three states of examples/experiment (pristine, 50 and 100 cycles; 160² px with three
platelets each, or 128² px with two with ``--small``), then times ``redoxmap run experiment.yaml``
as a new process each time: the first run (every step), a second run with nothing changed (every
step up to date), and a run after one sample's valence setting changed (that sample's steps and the
summary). Process start-up and imports are included, as for a user at the shell.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from redoxmap.simulate.cycled import write_cycling_experiment

EXAMPLE = Path(__file__).parent.parent / "examples" / "experiment" / "experiment.yaml"


def timed_run(experiment: Path, scheduler: str) -> tuple[float, str]:
    start = time.perf_counter()
    command = [sys.executable, "-c", "from redoxmap.cli import main; main()", "run", str(experiment),
               "--scheduler", scheduler]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    line = next(line for line in done.stdout.splitlines() if "step(s) ran" in line)
    return time.perf_counter() - start, line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="the size the test suite runs")
    parser.add_argument("--scheduler", default="threads", choices=["threads", "serial"])
    args = parser.parse_args()
    size, particles = (128, 2) if args.small else (160, 3)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_cycling_experiment(folder, size_px=size, n_particles=particles)
        experiment = folder / "experiment.yaml"
        shutil.copy(EXAMPLE, experiment)
        rows = [("first run", *timed_run(experiment, args.scheduler)),
                ("second run, nothing changed", *timed_run(experiment, args.scheduler))]
        text = experiment.read_text().replace("files: {stack: cycle50.h5}\n    jobs:\n      valence: {}",
                                              "files: {stack: cycle50.h5}\n    jobs:\n      valence: "
                                              "{max_shift_px: 5.0}")
        experiment.write_text(text)
        rows.append(("one sample's setting changed", *timed_run(experiment, args.scheduler)))
    table = Table(title=f"redoxmap run, {size}² px × {particles} platelets × 3 states, {args.scheduler}")
    for column in ("run", "wall time (s)", "steps"):
        table.add_column(column)
    for name, seconds, line in rows:
        table.add_row(name, f"{seconds:.2f}", line.strip("│ ").split(":", 1)[-1].strip())
    Console().print(table)


if __name__ == "__main__":
    main()
