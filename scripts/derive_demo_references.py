"""Derive the shipped Mn K-edge reference spectra from the measured Athena standards.

Source: xraylarch examples/xafsdata/AthenaProjectFiles/Mn.prj (MIT), groups Li2MnO3 and Mn2O3x,
exported to text in ../shared/data/xraylarch/derived_from_prj/. Steps (Athena-style):
energy + bkg_eshift; E0 at the maximum of dμ/dE; pre-edge line fitted on [E0−150, E0−30] eV;
post-edge line on [E0+50, E0+250] eV; normalized μ = (μ − pre) / (post(E0) − pre(E0)).
Run once from the repository root: python scripts/derive_demo_references.py
"""

import re
from pathlib import Path

import numpy as np

SRC = Path("../shared/data/xraylarch/derived_from_prj")
DST = Path("src/redoxmap/data")
GROUPS = {"Mn__Li2MnO3.txt": "Li2MnO3_MnK.csv", "Mn__Mn2O3x.txt": "Mn2O3_MnK.csv"}
WINDOW_EV = (6450.0, 6800.0)


def normalize(path: Path) -> tuple[np.ndarray, np.ndarray, float]:
    text = path.read_text()
    shift = float(re.search(r"bkg_eshift = ([-0-9.eE]+)", text).group(1))
    energy, mu = np.loadtxt(path, comments="#", unpack=True)
    energy = energy + shift
    grid = np.arange(energy[0], energy[-1], 0.1)
    dmu = np.gradient(np.interp(grid, energy, mu), grid)
    e0 = grid[np.argmax(dmu)]
    pre = (energy > e0 - 150) & (energy < e0 - 30)
    post = (energy > e0 + 50) & (energy < e0 + 250)
    pre_line = np.polyfit(energy[pre], mu[pre], 1)
    post_line = np.polyfit(energy[post], mu[post], 1)
    step = np.polyval(post_line, e0) - np.polyval(pre_line, e0)
    return energy, (mu - np.polyval(pre_line, energy)) / step, e0


for src, dst in GROUPS.items():
    energy, norm, e0 = normalize(SRC / src)
    keep = (energy >= WINDOW_EV[0]) & (energy <= WINDOW_EV[1])
    header = (f"normalized Mn K-edge mu(E) of {dst.split('_')[0]}, derived from xraylarch "
              f"Mn.prj group {src} (MIT); E0 = {e0:.1f} eV\nenergy_eV,mu_norm")
    np.savetxt(DST / dst, np.column_stack([energy[keep], norm[keep]]), delimiter=",",
               fmt="%.4f", header=header)
    print(dst, f"E0={e0:.1f}", keep.sum(), "points")
