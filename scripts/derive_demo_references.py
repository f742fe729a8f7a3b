"""Derive the shipped Mn K-edge reference spectra from the measured Athena standards.

Source: xraylarch examples/xafsdata/AthenaProjectFiles/Mn.prj (MIT), groups Li2MnO3 and Mn2O3x,
exported to text in ../shared/data/xraylarch/derived_from_prj/. Steps (Athena-style):
energy + bkg_eshift; E0 at the maximum of dμ/dE; pre-edge line fitted on [E0−150, E0−30] eV;
post-edge line on [E0+50, E0+250] eV; normalized μ = (μ − pre) / (post(E0) − pre(E0)).
Also writes mn_k_library.csv, a reference library (MnO 2+, Mn2O3 3+, Li2MnO3 and pyrolusite
MnO2 4+) on a 0.5 eV grid. Run once from the repository root:
python scripts/derive_demo_references.py
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


#: Standards of known Mn valence for the shipped Mn K-edge library (label, Athena group, valence).
LIBRARY = [("MnO", "Mn__MnO.txt", 2), ("Mn2O3", "Mn__Mn2O3x.txt", 3), ("Li2MnO3", "Mn__Li2MnO3.txt", 4),
           ("MnO2", "Mn__Pyrolusite.txt", 4)]

for src, dst in GROUPS.items():
    energy, norm, e0 = normalize(SRC / src)
    keep = (energy >= WINDOW_EV[0]) & (energy <= WINDOW_EV[1])
    header = (f"normalized Mn K-edge mu(E) of {dst.split('_')[0]}, derived from xraylarch "
              f"Mn.prj group {src} (MIT); E0 = {e0:.1f} eV\nenergy_eV,mu_norm")
    np.savetxt(DST / dst, np.column_stack([energy[keep], norm[keep]]), delimiter=",",
               fmt="%.4f", header=header)
    print(dst, f"E0={e0:.1f}", keep.sum(), "points")

grid = np.arange(6500.0, 6700.01, 0.5)
columns, valences = [], []
for label, src, valence in LIBRARY:
    energy, norm, _ = normalize(SRC / src)
    columns.append(np.interp(grid, energy, norm))
    valences.append(f"{label}={valence}")
header = ("# redoxmap reference library\n# edge: Mn K\n# valence: " + ", ".join(valences) +
          "\n# normalized Mn K-edge standards from xraylarch Mn.prj (MIT), see SOURCES.md\n"
          "energy_ev," + ",".join(label for label, _, _ in LIBRARY))
np.savetxt(DST / "mn_k_library.csv", np.column_stack([grid, *columns]), delimiter=",", fmt="%.5f",
           header=header, comments="")
print("mn_k_library.csv", len(grid), "points")
