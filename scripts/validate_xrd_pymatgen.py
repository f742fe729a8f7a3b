"""Store pymatgen's d-spacings and Bragg angles of R-3m LiNiO2 cells as the reference for the XRD tests.

Run by ``make validate`` (pymatgen is the ``validate`` extra, never a runtime or test dependency).
For the simulated cell trajectory a(x) = 2.878 − 0.07x, c(x) = 14.19 + 0.60x − 2.2x⁴ (Å) at 16 values
of x, writes tests/data/xrd/pymatgen_layered.json: pymatgen's version, each cell's a and c, the
d-spacings of the reflections the tests fit (Lattice.d_hkl) and their 2θ at Cu Kα1 (1.5406 Å) and
0.7293 Å (XRDCalculator on the LiNiO2 structure: Li 3b, Ni 3a, O 6c z = 0.2412).
"""

import json
from pathlib import Path

import numpy as np
import pymatgen.core
from pymatgen.analysis.diffraction.xrd import XRDCalculator
from pymatgen.core import Lattice, Structure

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "xrd" / "pymatgen_layered.json"
REFLECTIONS = {"003": (0, 0, 3), "101": (1, 0, 1), "104": (1, 0, 4), "110": (1, 1, 0), "113": (1, 1, 3),
               "018": (0, 1, 8)}
WAVELENGTHS_A = (1.5406, 0.7293)


def bragg_angles(structure: Structure, wavelength_a: float) -> dict[str, float]:
    """2θ of each reflection from XRDCalculator, matched by its Miller–Bravais indices."""
    pattern = XRDCalculator(wavelength=wavelength_a).get_pattern(structure, two_theta_range=(5, 90),
                                                                 scaled=False)
    found = {}
    for two_theta, families in zip(pattern.x, pattern.hkls, strict=True):
        for family in families:
            h, k, _, l_ = family["hkl"]
            for name, (hh, kk, ll) in REFLECTIONS.items():
                # equivalent by the hexagonal metric: same h²+hk+k² and |l| (and allowed in R-3m)
                if hh * hh + hh * kk + kk * kk == h * h + h * k + k * k and ll == abs(l_):
                    found.setdefault(name, float(two_theta))
    return found


def main() -> None:
    x = np.linspace(0.0, 0.75, 16)
    cells = []
    for xi in x:
        a, c = 2.878 - 0.07 * xi, 14.19 + 0.60 * xi - 2.2 * xi ** 4
        lattice = Lattice.hexagonal(a, c)
        structure = Structure.from_spacegroup("R-3m", lattice, ["Li", "Ni", "O"],
                                              [[0, 0, 0.5], [0, 0, 0], [0, 0, 0.2412]])
        cells.append({"x": float(xi), "a": float(a), "c": float(c),
                      "d": {n: float(lattice.d_hkl(hkl)) for n, hkl in REFLECTIONS.items()},
                      "two_theta": {str(w): bragg_angles(structure, w) for w in WAVELENGTHS_A}})
    OUT.write_text(json.dumps({"pymatgen": pymatgen.core.__version__, "reflections": REFLECTIONS,
                               "cells": cells}, indent=1) + "\n")
    print(f"wrote {OUT} (pymatgen {pymatgen.core.__version__}, {len(cells)} cells)")


if __name__ == "__main__":
    main()
