"""Differential capacity dQ/dV that keeps peak positions.

Method (kernel density of the voltage, weighted by charge): each interval between two recorded points
passes ΔQ_i at the mean voltage V̄_i; dQ/dV is the charge per unit voltage,

    dQ/dV(V) = Σ_i ΔQ_i · K_h(V − V̄_i),   K_h Gaussian with standard deviation h (``bandwidth_v``)   (Ah/V)

computed as a ΔQ-weighted histogram on a fine voltage grid (``step_v``) smoothed by a Gaussian filter.
This is the incremental-capacity histogram of Feng et al., J. Power Sources 232, 209 (2013) with a
Gaussian instead of a box kernel. A symmetric kernel does not move a symmetric peak, and noise in the
voltage only widens the kernel (σ² → h² + σ_V²), so peak positions are kept; unlike a derivative of
V(Q) the estimate never divides by a small, noisy voltage step on a plateau. dQ/dV is positive for
charge and discharge. A constant-voltage hold would show as a spike at the hold voltage: leave it out
(:func:`cycle_dqdv` does).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks

from redoxmap.errors import FitError


def dqdv(capacity_ah: np.ndarray, voltage_v: np.ndarray, bandwidth_v: float = 0.005,
         step_v: float = 0.0005) -> pd.DataFrame:
    """Differential capacity dQ/dV versus voltage for one charge or discharge, by a charge-weighted
    Gaussian kernel density of the voltage (module doc; the incremental-capacity histogram of Feng et
    al. 2013 with a Gaussian kernel).

    Parameters
    ----------
    capacity_ah : numpy.ndarray
        Cumulative charge of the segment (Ah).
    voltage_v : numpy.ndarray
        Voltage at each point (V).
    bandwidth_v : float
        Standard deviation h of the kernel (V).
    step_v : float
        Spacing of the voltage grid (V).

    Returns
    -------
    pandas.DataFrame
        Columns ``voltage_v`` (the grid) and ``dqdv_ah_v`` (Ah/V, positive).

    Raises
    ------
    FitError
        If the segment has fewer than 10 points or passes no charge, or the bandwidth or step is not
        positive.

    Examples
    --------
    >>> v = np.linspace(3.5, 3.9, 2000); q = 1e-3 / (1 + np.exp(-(v - 3.7) / 0.02))  # plateau at 3.7 V
    >>> curve = dqdv(q, v)
    >>> round(float(curve.voltage_v[curve.dqdv_ah_v.idxmax()]), 3)
    3.7
    """
    q = np.asarray(capacity_ah, float)
    v = np.asarray(voltage_v, float)
    good = np.isfinite(q) & np.isfinite(v)
    q, v = q[good], v[good]
    if q.size < 10 or np.ptp(q) <= 0:
        raise FitError(f"the segment has {q.size} points and passes {np.ptp(q) if q.size else 0:.3g} Ah; "
                       "expected one charge or discharge with at least 10 points")
    if not (bandwidth_v > 0 and step_v > 0):
        raise FitError(f"bandwidth_v and step_v must be positive; got {bandwidth_v}, {step_v}")
    dq = np.abs(np.diff(q))
    v_mid = (v[1:] + v[:-1]) / 2
    margin = 4 * bandwidth_v
    edges = np.arange(v.min() - margin, v.max() + margin + step_v, step_v)
    hist, _ = np.histogram(v_mid, bins=edges, weights=dq)
    density = gaussian_filter1d(hist / step_v, bandwidth_v / step_v, mode="constant")
    return pd.DataFrame({"voltage_v": (edges[1:] + edges[:-1]) / 2, "dqdv_ah_v": density})


def cycle_dqdv(data: pd.DataFrame, cycle: int, kind: str = "discharge", **kwargs) -> pd.DataFrame:
    """dQ/dV of one cycle's charge or discharge from the standard table, a constant-voltage hold at the
    end left out (:func:`redoxmap.echem.cycle_segment`).

    Parameters
    ----------
    data : pandas.DataFrame
        The standard table.
    cycle : int
        The cycle number.
    kind : {"charge", "discharge"}
        Which half of the cycle.
    **kwargs
        Options of :func:`dqdv` (``bandwidth_v``, ``step_v``).

    Returns
    -------
    pandas.DataFrame
        Columns ``voltage_v`` and ``dqdv_ah_v`` (Ah/V).

    Examples
    --------
    >>> from redoxmap.simulate import galvanostatic_cycle
    >>> curve = cycle_dqdv(galvanostatic_cycle(), 1, "charge")
    >>> curve.columns.tolist()
    ['voltage_v', 'dqdv_ah_v']
    """
    from redoxmap.echem.cycling import cycle_segment

    part = cycle_segment(data, cycle, kind)
    column = f"{kind}_capacity_ah"
    return dqdv(part[column].to_numpy(), part["voltage_v"].to_numpy(), **kwargs)


def dqdv_peaks(curve: pd.DataFrame, prominence_fraction: float = 0.1) -> pd.DataFrame:
    """Peaks of a dQ/dV curve (``scipy.signal.find_peaks``) with a prominence above
    ``prominence_fraction`` of the highest value, positions refined by a parabola through the three
    grid points around each.

    Parameters
    ----------
    curve : pandas.DataFrame
        Output of :func:`dqdv` or :func:`cycle_dqdv`.
    prominence_fraction : float
        Least prominence, as a fraction of the curve's maximum.

    Returns
    -------
    pandas.DataFrame
        One row per peak: ``voltage_v``, ``dqdv_ah_v``, ``prominence``.

    Examples
    --------
    >>> v = np.linspace(3.5, 3.9, 2000); q = 1e-3 / (1 + np.exp(-(v - 3.7) / 0.02))
    >>> dqdv_peaks(dqdv(q, v)).voltage_v.round(3).tolist()
    [3.7]
    """
    y = np.nan_to_num(curve["dqdv_ah_v"].to_numpy(), nan=0.0, posinf=0.0)
    index, props = find_peaks(y, prominence=prominence_fraction * y.max())
    # sub-grid position: vertex of the parabola through the peak and its neighbours
    inner = (index > 0) & (index < y.size - 1)
    left, mid, right = (y[np.clip(index + k, 0, y.size - 1)] for k in (-1, 0, 1))
    denom = left - 2 * mid + right
    shift = np.where(inner & (denom < 0), 0.5 * (left - right) / np.where(denom < 0, denom, -1), 0.0)
    grid = curve["voltage_v"].to_numpy()
    step = grid[1] - grid[0] if grid.size > 1 else 0.0
    return pd.DataFrame({"voltage_v": grid[index] + shift * step, "dqdv_ah_v": y[index],
                         "prominence": props["prominences"]})
