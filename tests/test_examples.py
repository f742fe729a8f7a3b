"""The runnable examples (examples/*.py) run at a small size and print numbers close to their
simulated truth; each writes the figure it shows."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"


def run(name: str, out: Path) -> str:
    done = subprocess.run([sys.executable, str(EXAMPLES / name), "--small", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=EXAMPLES.parent)
    assert done.returncode == 0, done.stderr
    return done.stdout


def number(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in {text!r}"
    return float(match.group(1))


@pytest.mark.parametrize("name, figure, checks", [
    ("xanes2d_phase_map.py", "demo_fraction.png", [(r"RMSE ([\d.]+)", 0.0, 0.06)]),
    ("valence_map.py", "valence_map.png", [(r"valence RMSE ([\d.]+)", 0.0, 0.05)]),
    ("statistics.py", "profile.png", [(r"D = ([\d.e+-]+) cm", 1e-17 / 1.5, 1e-17 * 1.5)]),
    ("particle_model.py", "stress_vs_dod.png", [(r"10 C / 0.1 C: ([\d.]+)×", 50, 500)]),
    ("tomography.py", "tomography_mn_density.png", []),
    ("experiment.py", "experiment_trend.png", [(r"second run: (\d+) steps ran", 0, 0)]),
])
def test_example_runs_and_recovers_its_truth(tmp_path, name, figure, checks):
    text = run(name, tmp_path)
    assert (tmp_path / figure).stat().st_size > 10_000
    for pattern, low, high in checks:
        assert low <= number(pattern, text) <= high, text
    if name == "tomography.py":
        found = number(r"particle: ([\d.]+) g/cm³", text)
        assert found == pytest.approx(number(r"true ([\d.]+)\)", text), rel=0.1)
    if name == "statistics.py":
        assert "preferred: diffusion" in text
    if name == "experiment.py":  # per state: surface-shell valence within 0.05, D within ×1.5
        pairs = re.findall(r"surface-shell valence ([\d.]+) \(true ([\d.]+)\), D ([\d.e+-]+) cm²/s "
                           r"\(true ([\d.e+-]+)\)", text)
        assert len(pairs) == 3, text
        for surface, true_surface, d, true_d in pairs:
            assert abs(float(surface) - float(true_surface)) < 0.05
            assert 1 / 1.5 < float(d) / float(true_d) < 1.5
