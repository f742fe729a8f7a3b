"""Map values versus particle thickness (Csernica et al., Nat. Energy 2021, Fig. 5d:
fraction of the reduced component versus thickness; Fig. 4c: agglomerates compared at fixed
thickness)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from redoxmap.errors import MaskError
from redoxmap.stats.profiles import weighted_mean_stderr


def binned_by(values: np.ndarray, key: np.ndarray, bins: np.ndarray,
              weights: np.ndarray | None = None) -> xr.Dataset:
    """Weighted mean, standard error and count of ``values`` in bins of ``key`` (1-D arrays);
    empty bins are NaN with count 0."""
    bins = np.asarray(bins, float)
    which = np.digitize(key, bins) - 1
    w = np.ones_like(values, dtype=float) if weights is None else weights
    n = bins.size - 1
    mean, stderr, count = np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, int)
    for b in range(n):
        sel = which == b
        count[b] = int(sel.sum())
        if count[b]:
            mean[b], stderr[b] = weighted_mean_stderr(values[sel], w[sel])
    return xr.Dataset({"mean": ("bin", mean), "stderr": ("bin", stderr), "count": ("bin", count)},
                      coords={"bin": (bins[:-1] + bins[1:]) / 2})


def thickness_dependence(values: xr.DataArray, thickness: xr.DataArray, mask: xr.DataArray,
                         bins: np.ndarray, weights: xr.DataArray | None = None) -> xr.Dataset:
    """Weighted mean and standard error of ``values`` per thickness bin over the mask."""
    inside = np.asarray(mask, bool)
    if not inside.any():
        raise MaskError("the mask selects no pixel")
    w = None if weights is None else np.asarray(weights, float)[inside]
    out = binned_by(np.asarray(values, float)[inside], np.asarray(thickness, float)[inside], bins, w)
    return out.rename(bin="thickness")
