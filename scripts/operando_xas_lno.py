"""The xas-series job on a real operando series: 58 Ni K-edge XANES of a LiNiO2 cathode over its first C/10
charge to 4.3 V (SOLEIL ROCK) with the cell's BioLogic EC-Lab file (github.com/GhostDeini/perex, BSD-3;
see /work/shared/data/operando/SOURCES.md).

There is no Ni4+ standard in reach, so the series is fitted with its own end members: the first scan
(pristine LiNiO2, Ni3+) and the scan at 4.27 V (0055), whose valence is taken from the charge passed,
3 + x with x = Q / (m · 274.5 mAh/g) and m = 4.44 × 1.54 mg (the active mass in the upstream notebook).
A second run calibrates the half-jump edge energy on NiO (Ni2+; NIST X23A2, from xraylarch's NiO.prj,
exported as text, calibrated to the same Ni-foil 8333.0 eV) and the pristine scan (Ni3+).

    python scripts/operando_xas_lno.py [PEREX_FOLDER] [OUT_FOLDER] [NIO_TEXT]
"""

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from redoxmap.pipeline import XasSeriesConfig, run_xas_series

DATA = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/work/shared/data/operando/perex")
OUT = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("lno-xas-output")
NIO = Path(sys.argv[3] if len(sys.argv) > 3 else "/work/shared/data/xraylarch/derived_from_prj/NiO__NiO.txt")
ACTIVE_MASS_MG = 4.44 * 1.54
LINIO2_MAH_G = 274.5
CHARGED = 54  # scan 0055, 4.27 V


def main() -> None:
    scans = sorted((DATA / "XAS_normalized").glob("norm_*.txt"))
    cycler = DATA / "EC" / "220726cell4operandoxas_C06.mpt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        edges = run_xas_series(XasSeriesConfig(spectra=scans, cycler=cycler, report=OUT / "edges",
                                               overwrite=True)).results
    x = edges.capacity_ah.values * 1e3 / (ACTIVE_MASS_MG * LINIO2_MAH_G / 1e3)
    charged = 3.0 + float(x[CHARGED])
    ends = run_xas_series(XasSeriesConfig(
        spectra=scans, cycler=cycler, references=[scans[0], scans[CHARGED]], valences=[3.0, charged],
        names=["pristine", "4.27 V"], output=OUT / "lno_end_members.nc", report=OUT / "end_members",
        overwrite=True))
    calibrated = None
    if NIO.is_file():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the scans are cut to the NiO scan's range
            calibrated = run_xas_series(XasSeriesConfig(
                spectra=scans, cycler=cycler, references=[NIO, scans[0]], valences=[2.0, 3.0],
                names=["NiO", "pristine"], report=OUT / "nio_calibration", overwrite=True)).results
    fits = ends.results
    table = pd.DataFrame({"voltage_v": fits.voltage_v.values, "step": fits.step_type.values,
                          "x_coulometric": x,
                          "edge_ev": fits.edge_ev.values, "e0_ev": fits.e0_ev.values,
                          "f_charged": fits.fraction.sel(component="4.27 V").values,
                          "valence_lcf": fits.valence.values, "valence_err": fits.valence_err.values,
                          "r_factor": fits.r_factor.values})
    if calibrated is not None:
        table["valence_edge_nio"] = calibrated.valence_edge.values
        print(f"NiO / pristine half-jump edges: {calibrated.standard_edge_ev.values.round(2).tolist()} eV "
              f"({calibrated.attrs['edge_slope_ev_per_valence']:.2f} eV per valence)")
    pd.set_option("display.width", 160)
    print(table.iloc[::3].round(4).to_string())
    charge = table.step == "charge"
    edge = table.edge_ev[charge]
    print(f"edge at half jump: {edge.iloc[0]:.2f} → {edge.iloc[-1]:.2f} eV over the charge "
          f"({table.voltage_v[charge].iloc[0]:.2f} → {table.voltage_v[charge].iloc[-1]:.2f} V); "
          f"correlation with voltage {np.corrcoef(table.voltage_v[charge], edge)[0, 1]:.4f}, with x "
          f"{np.corrcoef(table.x_coulometric[charge], edge)[0, 1]:.4f}")
    gap = (table.valence_lcf - (3 + table.x_coulometric))[charge]
    print(f"end members: 4.27 V scan taken as valence {charged:.3f}; LCF minus coulometric valence over the "
          f"charge: RMS {np.sqrt(np.mean(gap ** 2)):.3f}, range {gap.min():+.3f} … {gap.max():+.3f}; "
          f"R ≤ {table.r_factor.max():.1e}")
    OUT.mkdir(parents=True, exist_ok=True)
    table.to_csv(OUT / "lno_summary.csv", index_label="scan")


if __name__ == "__main__":
    main()
