"""The xrd-series job on real operando lab XRD: a LiCoVO4 spinel cell, Cu Kα, 50 patterns over one
charge/discharge with a voltage log (github.com/rybakov-ks/xrd_operando, GPL-3.0; see
/work/shared/data/operando/SOURCES.md).

The pattern files carry no acquisition time; upstream places pattern n at (n − 1) × 1140 s on the clock
of ``charge.txt`` (``H:MM:SS voltage current``, current unsigned): here charge is taken to end at the
voltage maximum. Fits the spinel (220) and (311) with the Kα2 doublet and prints centre vs voltage.

    python scripts/operando_xrd_lcov.py [DATA_FOLDER] [OUT_FOLDER]
"""

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from redoxmap.echem import standard_table
from redoxmap.pipeline.xrd_series import XrdSeriesConfig, run_xrd_series

DATA = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/work/shared/data/operando/xrd_operando/Data")
OUT = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("lcov-xrd-output")
SCAN_INTERVAL_S = 1140.0


def voltage_log(path: Path) -> pd.DataFrame:
    """charge.txt into the standard table; the current (unit not stated) is signed by charge/discharge."""
    raw = pd.read_csv(path, sep=r"\s+", header=None, names=["clock", "voltage_v", "current"])
    parts = raw.clock.str.split(":", expand=True).astype(float)
    time_s = (parts[0] * 3600 + parts[1] * 60 + parts[2]).to_numpy()
    top = time_s[int(np.argmax(raw.voltage_v.to_numpy()))]
    sign = np.where(time_s <= top, 1.0, -1.0)
    table = standard_table(time_s, raw.voltage_v.to_numpy(), sign * raw.current.to_numpy() * 1e-6)
    table.attrs = {"source": str(path), "format": "xrd_operando charge.txt"}
    return table


def main() -> None:
    paths = sorted(DATA.glob("[0-9]*.txt"), key=lambda p: int(p.stem))
    numbers = np.array([int(p.stem) for p in paths])
    config = XrdSeriesConfig(patterns=paths, out=OUT, ka2=True, cell="cubic", overwrite=True,
                             scan_time_s=((numbers - 1) * SCAN_INTERVAL_S).tolist(),
                             windows={"220": (29.9, 31.6), "400": (43.0, 44.5), "511": (57.2, 58.9),
                                      "440": (62.6, 64.8)}, contour_window=(29.5, 37.5))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        series, peaks, cell = run_xrd_series(config, cycler=voltage_log(DATA / "charge.txt"))
    for w in caught:
        print("warning:", w.message)
    print(f"{'n':>3} {'t/h':>6} {'V':>6} {'(220)/deg':>10} {'±':>7} {'(440)/deg':>10} {'±':>7} {'a/Å':>8} "
          f"{'±':>7} {'chi2':>5} in_range")
    for i, n in enumerate(numbers):
        c220, e220 = float(peaks.center.sel(peak="220")[i]), float(peaks.center_err.sel(peak="220")[i])
        c440, e440 = float(peaks.center.sel(peak="440")[i]), float(peaks.center_err.sel(peak="440")[i])
        print(f"{n:3d} {series.cycler_time_s.values[i] / 3600:6.2f} {series.voltage_v.values[i]:6.3f} "
              f"{c220:10.4f} {e220:7.4f} {c440:10.4f} {e440:7.4f} {float(cell.a[i]):8.4f} "
              f"{float(cell.a_err[i]):7.4f} {float(cell.chi2_red[i]):5.1f} {bool(series.in_range.values[i])}")


if __name__ == "__main__":
    main()
