"""Voxel classes by composition ratio against a target stoichiometry (Liu et al. 2024, Fig. 2:
every voxel classified by its TM/O ratio with a 5.0 % deviation threshold; 93.6 % of the pristine
particle at the target composition).
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import xarray as xr
from scipy import ndimage

from redoxmap.errors import MaskError


def class_labels(tolerance: float) -> dict[int, str]:
    """Names of the classes of :func:`classify_stoichiometry` that say what each holds.

    Parameters
    ----------
    tolerance : float
        Relative deviation still counted as the target (0.05 = ±5 %).

    Returns
    -------
    dict of int to str
        ``{1: "within ±5 % of target", 2: "more than 5 % below target", 3: "more than 5 % above
        target"}`` for ``tolerance=0.05``; 0 (outside the mask) has no name.

    Examples
    --------
    >>> class_labels(0.05)[2]
    'more than 5 % below target'
    """
    percent = f"{100 * tolerance:.3g} %"
    return {1: f"within ±{percent} of target", 2: f"more than {percent} below target",
            3: f"more than {percent} above target"}


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
        :func:`class_labels` (``"within ±5 % of target"`` …).

    Returns
    -------
    xarray.DataArray
        int8 classes with the dims of ``ratio``; ``attrs["class_names"]`` lists ``"k: name"`` for
        all three classes (also those no voxel falls in), ``attrs["class_bounds"]`` the ratios
        ``target · (1 ∓ tolerance)`` between them.

    Raises
    ------
    MaskError
        If the mask selects no voxel.

    Examples
    --------
    >>> ratio = xr.DataArray([[1.0, 0.9, 1.1], [1.02, 0.5, 1.0]], dims=("y", "x"))
    >>> mask = xr.DataArray([[True, True, True], [True, False, True]], dims=("y", "x"))
    >>> classes = classify_stoichiometry(ratio, 1.0, mask)
    >>> classes.values.tolist()
    [[1, 2, 3], [1, 0, 1]]
    >>> classes.attrs["class_names"][1]
    '2: more than 5 % below target'
    """
    if isinstance(ratio.data, da.Array) or isinstance(mask.data, da.Array):
        inside = da.asarray(mask.data).astype(bool)
        if not bool(inside.any().compute()):
            raise MaskError("the mask selects no voxel; expected the particle")
        values = da.asarray(ratio.data)
        inside = inside.rechunk(values.chunks)
        # a halo of the Gaussian's radius (scipy's: 4 σ + ½) makes each block's interior exact
        # (the filter is separable); the volume's own faces are mirrored as in memory (boundary "none")
        depth = int(4.0 * smooth_sigma_vox + 0.5) if smooth_sigma_vox > 0 else 0
        classes = da.map_overlap(_classify_block, values, inside, depth=depth, boundary="none",
                                 dtype=np.int8, target=target, tolerance=tolerance,
                                 smooth_sigma_vox=smooth_sigma_vox)
    else:
        inside = np.asarray(mask, bool)
        if not inside.any():
            raise MaskError("the mask selects no voxel; expected the particle")
        classes = _classify_block(np.asarray(ratio), inside, target, tolerance, smooth_sigma_vox)
    labels = {**class_labels(tolerance), **(names or {})}
    return xr.DataArray(classes, dims=ratio.dims, coords=ratio.coords,
                        attrs={"long_name": "stoichiometry class", "target": target,
                               "tolerance": tolerance, "smooth_sigma_vox": smooth_sigma_vox,
                               "class_names": [f"{k}: {v}" for k, v in sorted(labels.items())],
                               "class_bounds": [target * (1 - tolerance), target * (1 + tolerance)]})



def _classify_block(ratio: np.ndarray, inside: np.ndarray, target: float, tolerance: float,
                    smooth_sigma_vox: float) -> np.ndarray:
    """The classes of :func:`classify_stoichiometry` for one array (a whole volume or one block
    with its halo)."""
    values = np.where(inside, np.asarray(ratio, float), 0.0)
    if smooth_sigma_vox > 0:
        weight = ndimage.gaussian_filter(inside.astype(float), smooth_sigma_vox)
        values = ndimage.gaussian_filter(values, smooth_sigma_vox) / np.where(weight > 0, weight, 1)
    relative = values / target - 1.0
    classes = np.where(relative < -tolerance, 2, np.where(relative > tolerance, 3, 1))
    return np.where(inside, classes, 0).astype(np.int8)

def _named(classes: xr.DataArray) -> set[int]:
    """Class numbers listed in the ``class_names`` attribute (``"k: name"``)."""
    numbers = set()
    for item in classes.attrs.get("class_names", []):
        number = str(item).partition(":")[0].strip()
        if number.isdigit():
            numbers.add(int(number))
    return numbers


def class_counts(classes: xr.DataArray, shells: xr.DataArray | None = None) -> xr.DataArray:
    """Number of voxels in each class (classes > 0), overall or per shell. Every class from 1 to the
    largest one present or named in ``attrs["class_names"]`` gets a count, so a class no voxel falls
    in is counted 0 rather than left out.

    Parameters
    ----------
    classes : xarray.DataArray
        Classes from :func:`classify_stoichiometry` (0 outside).
    shells : xarray.DataArray, optional
        Shell labels 1…n (0 outside), e.g. from :func:`redoxmap.stats.equal_volume_shells`.

    Returns
    -------
    xarray.DataArray
        int64 counts over ``class``, or over ``(shell, class)`` with ``shells``.

    Examples
    --------
    >>> classes = xr.DataArray([[1, 1, 2], [1, 0, 1]], dims=("y", "x"),
    ...                        attrs={"class_names": ["1: target", "2: below", "3: above"]})
    >>> class_counts(classes).values.tolist()  # nothing above the target: 0, not left out
    [4, 1, 0]
    """
    if isinstance(classes.data, da.Array):
        return _class_counts_chunked(classes, shells)
    values = np.asarray(classes).astype(np.int64)
    n_classes = max(int(values.max(initial=0)), max(_named(classes), default=0), 1)
    kinds = np.arange(1, n_classes + 1)
    if shells is None:
        return xr.DataArray(_block_counts(values, None, n_classes, 0), dims="class", coords={"class": kinds})
    shell_values = np.asarray(shells).astype(np.int64)
    n = max(int(shell_values.max(initial=0)), 0)
    return xr.DataArray(_block_counts(values, shell_values, n_classes, n), dims=("shell", "class"),
                        coords={"shell": np.arange(1, n + 1), "class": kinds})


def _block_counts(classes: np.ndarray, shells: np.ndarray | None, n_classes: int,
                  n_shells: int) -> np.ndarray:
    """Voxels per class (1…n_classes) of one block, or per (shell, class) with ``shells``."""
    values = np.asarray(classes).astype(np.int64).ravel()
    if shells is None:
        keep = values > 0
        return np.bincount(values[keep] - 1, minlength=n_classes)
    shell_values = np.asarray(shells).astype(np.int64).ravel()
    keep = (values > 0) & (shell_values > 0)
    flat = np.bincount((shell_values[keep] - 1) * n_classes + values[keep] - 1,
                       minlength=n_shells * n_classes)
    return flat.reshape(n_shells, n_classes)


def _class_counts_chunked(classes: xr.DataArray, shells: xr.DataArray | None) -> xr.DataArray:
    """:func:`class_counts` of a dask-backed class volume: per-block counts, summed."""
    import dask

    data = classes.data
    n_classes = max(int(data.max().compute()), max(_named(classes), default=0), 1)
    kinds = np.arange(1, n_classes + 1)
    if shells is None:
        parts = [dask.delayed(_block_counts)(block, None, n_classes, 0)
                 for block in data.to_delayed().ravel()]
        return xr.DataArray(np.sum(dask.compute(*parts), axis=0), dims="class", coords={"class": kinds})
    layers = da.asarray(shells.data).rechunk(data.chunks)
    n = max(int(layers.max().compute()), 0)
    parts = [dask.delayed(_block_counts)(block, layer, n_classes, n)
             for block, layer in zip(data.to_delayed().ravel(), layers.to_delayed().ravel(), strict=True)]
    return xr.DataArray(np.sum(dask.compute(*parts), axis=0), dims=("shell", "class"),
                        coords={"shell": np.arange(1, n + 1), "class": kinds})


def class_proportions(classes: xr.DataArray, shells: xr.DataArray | None = None) -> xr.DataArray:
    """Fraction of the classified voxels (classes > 0) in each class, overall or per shell: the counts
    of :func:`class_counts` over their sum (0 for a class no voxel falls in).

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
        row with voxels sums to 1.

    Examples
    --------
    >>> classes = xr.DataArray([[1, 2, 3], [1, 0, 1]], dims=("y", "x"))
    >>> class_proportions(classes).values.round(3).tolist()
    [0.6, 0.2, 0.2]
    >>> shells = xr.DataArray([[1, 1, 1], [2, 0, 2]], dims=("y", "x"))
    >>> class_proportions(classes, shells).values.round(3).tolist()
    [[0.333, 0.333, 0.333], [1.0, 0.0, 0.0]]
    """
    counts = class_counts(classes, shells).astype(float)
    return counts / np.maximum(counts.sum("class"), 1)
