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
    ("echem_cycling.py", "echem_cycling.png", [(r"(\d+) of 19 pulses valid", 19, 19)]),
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
    if name == "echem_cycling.py":  # Q = ∫|I|dt = ∫ dQ/dV dV per cycle; GITT D within ×2 of PyBaMM's
        discharge = {int(c): float(q) for c, q in re.findall(r"cycle (\d+): charge [\d.]+ mAh, discharge "
                                                              r"([\d.]+) mAh", text)}
        assert sorted(discharge) == list(range(15)), text
        assert number(r"discharge by ∫\|I\|dt: ([\d.]+) mAh", text) == pytest.approx(discharge[0], rel=0.005)
        for cycle, area in re.findall(r"cycle (\d+) dQ/dV: area ([\d.]+) mAh", text):
            assert float(area) == pytest.approx(discharge[int(cycle)], rel=0.01)
        ratio = number(r"median D = ([\d.e+-]+) cm²/s", text) / number(r"cm²/s \(true ([\d.e+-]+)\)", text)
        assert 0.5 < ratio < 2.0
    if name == "experiment.py":  # per state: surface-shell valence within 0.05, D within ×1.5
        pairs = re.findall(r"surface-shell valence ([\d.]+) \(true ([\d.]+)\), D ([\d.e+-]+) cm²/s "
                           r"\(true ([\d.e+-]+)\)", text)
        assert len(pairs) == 3, text
        for surface, true_surface, d, true_d in pairs:
            assert abs(float(surface) - float(true_surface)) < 0.05
            assert 1 / 1.5 < float(d) / float(true_d) < 1.5
