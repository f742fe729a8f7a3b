"""Map values versus particle thickness (Csernica et al., Nat. Energy 2021, Fig. 5d:
fraction of the reduced component versus thickness; Fig. 4c: agglomerates compared at fixed
thickness)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from redoxmap.errors import MaskError
from redoxmap.stats.profiles import binned_mean_stderr


def binned_by(values: np.ndarray, key: np.ndarray, bins: np.ndarray,
              weights: np.ndarray | None = None) -> xr.Dataset:
    """Weighted mean, standard error and count of ``values`` in bins of ``key`` (1-D arrays), with
    :func:`redoxmap.stats.profiles.binned_mean_stderr`; values outside the bins are left out and
    empty bins are NaN with count 0.

    Parameters
    ----------
    values : the values (1-D).
    key : what is binned on, e.g. thickness (1-D, same length).
    bins : bin edges (increasing).
    weights : weights of the values (default 1).

    Returns
    -------
    Dataset over ``bin`` (the bin centres) with ``mean``, ``stderr`` and ``count``.

    Examples
    --------
    >>> out = binned_by(np.array([1.0, 3.0, 5.0]), np.array([0.1, 0.2, 0.9]), np.array([0.0, 0.5, 1.0]))
    >>> out["mean"].values.tolist(), out["count"].values.tolist()
    ([2.0, 5.0], [2, 1])
    """
    bins = np.asarray(bins, float)
    n = bins.size - 1
    which = np.digitize(key, bins) - 1
    inside = (which >= 0) & (which < n)
    w = np.ones_like(values, dtype=float) if weights is None else np.asarray(weights, float)
    mean, stderr, count = binned_mean_stderr(which[inside], np.asarray(values, float)[inside], w[inside], n)
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
