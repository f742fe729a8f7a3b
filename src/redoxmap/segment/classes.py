"""Voxel classes by composition ratio against a target stoichiometry (Liu et al. 2024, Fig. 2:
every voxel classified by its TM/O ratio with a 5.0 % deviation threshold; 93.6 % of the pristine
particle at the target composition).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import ndimage

from redoxmap.errors import MaskError

#: Default class names: 0 is outside the mask.
CLASS_NAMES = {1: "target", 2: "below target", 3: "above target"}


def classify_stoichiometry(ratio: xr.DataArray, target: float, mask: xr.DataArray,
                           tolerance: float = 0.05, smooth_sigma_vox: float = 0.0,
                           names: dict[int, str] | None = None) -> xr.DataArray:
    """Composition class of every voxel: 1 where |ratio/target − 1| ≤ ``tolerance``, 2 below, 3 above,
    0 outside ``mask`` (Liu et al. 2024, Fig. 2: ±5 % of the target TM/O ratio).

    Parameters
    ----------
    ratio : xarray.DataArray
        Composition ratio per voxel (or pixel), e.g. the ratio of two element densities.
    target : float
        The target ratio.
    mask : xarray.DataArray
        Voxels of the particle (booleans, the shape of ``ratio``).
    tolerance : float
        Relative deviation still counted as the target (0.05 = ±5 %).
    smooth_sigma_vox : float
        Standard deviation (voxels) of a Gaussian average of the ratio inside the mask first
        (normalised convolution, so the mask edge does not pull values down): noise in a single
        voxel's ratio is often larger than a 5 % threshold. 0 for none.
    names : dict of int to str, optional
        Relabels classes, e.g. ``{2: "TM-poor", 3: "TM-rich/O-poor"}`` for a TM/O ratio; default
        :data:`CLASS_NAMES`.

    Returns
    -------
    xarray.DataArray
        int8 classes with the dims of ``ratio``; ``attrs["class_names"]`` lists ``"k: name"``.

    Raises
    ------
    MaskError
        If the mask selects no voxel.

    Examples
    --------
    >>> ratio = xr.DataArray([[1.0, 0.9, 1.1], [1.02, 0.5, 1.0]], dims=("y", "x"))
    >>> mask = xr.DataArray([[True, True, True], [True, False, True]], dims=("y", "x"))
    >>> classify_stoichiometry(ratio, 1.0, mask).values.tolist()
    [[1, 2, 3], [1, 0, 1]]
    """
    inside = np.asarray(mask, bool)
    if not inside.any():
        raise MaskError("the mask selects no voxel; expected the particle")
    values = np.where(inside, np.asarray(ratio, float), 0.0)
    if smooth_sigma_vox > 0:
        weight = ndimage.gaussian_filter(inside.astype(float), smooth_sigma_vox)
        values = ndimage.gaussian_filter(values, smooth_sigma_vox) / np.where(weight > 0, weight, 1)
    relative = values / target - 1.0
    classes = np.where(relative < -tolerance, 2, np.where(relative > tolerance, 3, 1))
    classes = np.where(inside, classes, 0).astype(np.int8)
    labels = {**CLASS_NAMES, **(names or {})}
    return xr.DataArray(classes, dims=ratio.dims, coords=ratio.coords,
                        attrs={"long_name": "stoichiometry class", "target": target,
                               "tolerance": tolerance, "smooth_sigma_vox": smooth_sigma_vox,
                               "class_names": [f"{k}: {v}" for k, v in sorted(labels.items())]})


def class_proportions(classes: xr.DataArray, shells: xr.DataArray | None = None) -> xr.DataArray:
    """Fraction of the classified voxels (classes > 0) in each class, overall or per shell.

    Parameters
    ----------
    classes : xarray.DataArray
        Classes from :func:`classify_stoichiometry` (0 outside).
    shells : xarray.DataArray, optional
        Shell labels 1…n (0 outside), e.g. from :func:`redoxmap.stats.equal_volume_shells`.

    Returns
    -------
    xarray.DataArray
        Fractions over ``class`` (1…max class), or over ``(shell, class)`` with ``shells``; each
        row sums to 1.

    Examples
    --------
    >>> classes = xr.DataArray([[1, 2, 3], [1, 0, 1]], dims=("y", "x"))
    >>> class_proportions(classes).values.round(3).tolist()
    [0.6, 0.2, 0.2]
    >>> shells = xr.DataArray([[1, 1, 1], [2, 0, 2]], dims=("y", "x"))
    >>> class_proportions(classes, shells).values.round(3).tolist()
    [[0.333, 0.333, 0.333], [1.0, 0.0, 0.0]]
    """
    values = np.asarray(classes)
    kinds = np.arange(1, max(int(values.max()), 1) + 1)
    if shells is None:
        counts = np.array([(values == k).sum() for k in kinds], float)
        return xr.DataArray(counts / max(counts.sum(), 1), dims="class", coords={"class": kinds})
    shell_values = np.asarray(shells)
    n = int(shell_values.max())
    table = np.array([[((values == k) & (shell_values == s)).sum() for k in kinds]
                      for s in range(1, n + 1)], float)
    table /= np.maximum(table.sum(axis=1, keepdims=True), 1)
    return xr.DataArray(table, dims=("shell", "class"),
                        coords={"shell": np.arange(1, n + 1), "class": kinds})
