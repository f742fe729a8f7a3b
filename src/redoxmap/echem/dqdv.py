"""Differential capacity dQ/dV that keeps peak positions.

Method: resample V(Q) of one charge or discharge onto an even capacity grid, smooth V with a
Savitzky–Golay filter (polynomial order 3) and take its derivative from the same filter;
dQ/dV = 1 / (dV/dQ). Smoothing V(Q) rather than dQ/dV(V) avoids dividing by noisy voltage steps on
plateaus, and a symmetric polynomial filter does not shift peaks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import find_peaks, savgol_filter

from redoxmap.errors import FitError


def dqdv(capacity_ah: np.ndarray, voltage_v: np.ndarray, points: int = 2000,
         window: int = 41) -> pd.DataFrame:
    """dQ/dV (Ah/V) versus voltage for one monotonic segment (a charge or a discharge)."""
    q = np.abs(np.asarray(capacity_ah, float) - capacity_ah[0])
    v = np.asarray(voltage_v, float)
    order = np.argsort(q, kind="stable")
    q, v = q[order], v[order]
    if q[-1] <= 0 or q.size < 10:
        raise FitError("the segment passes no charge; expected one charge or discharge")
    grid = np.linspace(0, q[-1], points)
    v_grid = np.interp(grid, q, v)
    step = grid[1] - grid[0]
    window = min(window | 1, points - (1 - points % 2))
    slope = savgol_filter(v_grid, window, 3, deriv=1, delta=step)
    voltage = savgol_filter(v_grid, window, 3)
    with np.errstate(divide="ignore"):
        derivative = np.where(np.abs(slope) > 1e-12, 1.0 / np.abs(slope), np.nan)
    return pd.DataFrame({"voltage_v": voltage, "dqdv_ah_v": derivative, "capacity_ah": grid})


def dqdv_peaks(curve: pd.DataFrame, prominence_fraction: float = 0.1) -> pd.DataFrame:
    """Peaks of dQ/dV with prominence above ``prominence_fraction`` of the highest value."""
    y = np.nan_to_num(curve["dqdv_ah_v"].to_numpy(), nan=0.0)
    index, props = find_peaks(y, prominence=prominence_fraction * y.max())
    return pd.DataFrame({"voltage_v": curve["voltage_v"].to_numpy()[index], "dqdv_ah_v": y[index],
                         "prominence": props["prominences"]})
