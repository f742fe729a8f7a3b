"""Voxel classes by composition ratio against a target stoichiometry (Liu et al., Nat.
Nanotechnol. 2024, Liu et al. 2024, Fig. 2: every voxel classified by its TM/O ratio with a 5.0 %
deviation threshold; 93.6 % of the pristine particle at the target composition)."""

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
    """Classes: 1 where |ratio/target − 1| ≤ ``tolerance``, 2 below, 3 above, 0 outside ``mask``.

    ``smooth_sigma_vox`` averages the ratio over a Gaussian neighbourhood inside the mask first
    (normalised convolution, so the mask edge does not pull values down): noise in a single
    voxel's ratio is often larger than a 5 % threshold. ``names`` relabels the classes, e.g.
    ``{2: "TM-poor", 3: "TM-rich/O-poor"}`` for a TM/O ratio.
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
    """Fraction of the classified voxels in each class (classes > 0), overall or per shell
    (``shells`` labels 1..n from :func:`redoxmap.stats.shells.equal_volume_shells`)."""
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
