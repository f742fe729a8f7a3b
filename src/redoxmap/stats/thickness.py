"""Map values versus particle thickness (Csernica et al., Nat. Energy 2021, Fig. 5d:
fraction of the reduced component versus thickness; Fig. 4c: agglomerates compared at fixed
thickness)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from redoxmap.errors import MaskError
from redoxmap.stats.profiles import _binned_mean_stderr


def binned_by(values: np.ndarray, key: np.ndarray, bins: np.ndarray,
              weights: np.ndarray | None = None) -> xr.Dataset:
    """Weighted mean, standard error (:func:`~redoxmap.stats.weighted_mean_stderr`) and count of
    values in bins of a key; empty bins are NaN with count 0.

    Parameters
    ----------
    values : numpy.ndarray
        The values (1-D).
    key : numpy.ndarray
        The quantity binned on (1-D, e.g. thickness), the shape of ``values``.
    bins : numpy.ndarray
        Bin edges of ``key``, increasing.
    weights : numpy.ndarray, optional
        Weights of the values; default equal.

    Returns
    -------
    xarray.Dataset
        ``mean``, ``stderr`` and ``count`` over ``bin`` (bin centres).

    Examples
    --------
    >>> out = binned_by(np.array([1.0, 3.0, 5.0]), np.array([10.0, 20.0, 60.0]),
    ...                 np.array([0.0, 50.0, 100.0]))
    >>> out["mean"].values.tolist(), out["count"].values.tolist()
    ([2.0, 5.0], [2, 1])
    """
    bins = np.asarray(bins, float)
    n = bins.size - 1
    which = np.digitize(key, bins) - 1
    inside = (which >= 0) & (which < n)
    w = np.ones_like(values, dtype=float) if weights is None else np.asarray(weights, float)
    mean, stderr, count = _binned_mean_stderr(which[inside], np.asarray(values, float)[inside], w[inside], n)
    return xr.Dataset({"mean": ("bin", mean), "stderr": ("bin", stderr), "count": ("bin", count)},
                      coords={"bin": (bins[:-1] + bins[1:]) / 2})


def thickness_dependence(values: xr.DataArray, thickness: xr.DataArray, mask: xr.DataArray,
                         bins: np.ndarray, weights: xr.DataArray | None = None) -> xr.Dataset:
    """Weighted mean and standard error of a map per thickness bin over the mask (Csernica et al.
    2021, Fig. 5d: fraction of the reduced component versus thickness).

    Parameters
    ----------
    values : xarray.DataArray
        The map, e.g. a fraction.
    thickness : xarray.DataArray
        Thickness per pixel (e.g. nm, or edge jump as a proxy), the shape of ``values``.
    mask : xarray.DataArray
        Booleans of the pixels to use.
    bins : numpy.ndarray
        Bin edges of thickness, increasing, in the units of ``thickness``.
    weights : xarray.DataArray, optional
        Pixel weights; default equal.

    Returns
    -------
    xarray.Dataset
        ``mean``, ``stderr`` and ``count`` over ``thickness`` (bin centres).

    Raises
    ------
    MaskError
        If the mask selects no pixel.

    Examples
    --------
    >>> thickness = xr.DataArray([[10.0, 20.0], [60.0, 70.0]], dims=("y", "x"))
    >>> values = xr.DataArray([[0.2, 0.4], [0.6, 0.8]], dims=("y", "x"))
    >>> out = thickness_dependence(values, thickness, thickness > 0, np.array([0.0, 50.0, 100.0]))
    >>> out["mean"].values.round(6).tolist()
    [0.3, 0.7]
    """
    inside = np.asarray(mask, bool)
    if not inside.any():
        raise MaskError("the mask selects no pixel")
    w = None if weights is None else np.asarray(weights, float)[inside]
    out = binned_by(np.asarray(values, float)[inside], np.asarray(thickness, float)[inside], bins, w)
    return out.rename(bin="thickness")
