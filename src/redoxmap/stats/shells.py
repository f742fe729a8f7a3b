"""Equal-area (2D) or equal-volume (3D) shells from the particle surface to its centre.

Liu et al. 2024, Fig. 3b–e: five regions of equal area from the surface inward (0–20 %, …,
80–100 %). Depth is the Euclidean distance to the nearest voxel outside the particle; voxels are
ranked by depth and cut into n groups of equal count, so each shell holds the same area or volume
whatever the particle's shape.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import ndimage

from redoxmap.errors import MaskError


def equal_volume_shells(mask: xr.DataArray, n: int = 5, labels: xr.DataArray | None = None) -> xr.DataArray:
    """Shell index 1 (outermost) … n (innermost) for every voxel of the mask (0 outside), each shell
    holding the same number of voxels (module doc; Liu et al. 2024, Fig. 3b–e).

    Works in 2D and 3D. Voids inside the mask do not count as outside unless excluded from it.

    Parameters
    ----------
    mask : xarray.DataArray
        Booleans of the particle(s).
    n : int
        Number of shells.
    labels : xarray.DataArray, optional
        Particle labels; the shells are then cut per particle, else over the whole mask.

    Returns
    -------
    xarray.DataArray
        int16 shell indices with the dims of ``mask``.

    Raises
    ------
    MaskError
        If the mask selects no pixel.

    Examples
    --------
    >>> yy, xx = np.indices((21, 21))
    >>> disk = xr.DataArray(np.hypot(yy - 10, xx - 10) <= 8, dims=("y", "x"))
    >>> np.bincount(equal_volume_shells(disk, n=4).values.ravel()).tolist()  # 0 = outside
    [244, 50, 49, 49, 49]
    """
    inside = np.asarray(mask, bool)
    if not inside.any():
        raise MaskError("the mask selects no pixel; expected a particle")
    depth = ndimage.distance_transform_edt(inside)
    shells = np.zeros(inside.shape, np.int16)
    groups = np.asarray(labels) if labels is not None else inside.astype(int)
    for label in np.unique(groups[inside]):
        where = inside & (groups == label)
        d = depth[where]
        rank = np.argsort(np.argsort(d, kind="stable"), kind="stable")  # 0 = shallowest
        shells[where] = 1 + (rank * n) // d.size
    return xr.DataArray(shells, dims=mask.dims, coords=mask.coords,
                        attrs={"long_name": "equal-volume shell (1 = surface)", "n_shells": n})


def shell_means(values: xr.DataArray, shells: xr.DataArray) -> xr.Dataset:
    """Mean, standard error (s/√n) and voxel count of a map in each shell.

    Parameters
    ----------
    values : xarray.DataArray
        The map or volume.
    shells : xarray.DataArray
        Shell indices 1…n (0 outside) from :func:`equal_volume_shells`.

    Returns
    -------
    xarray.Dataset
        ``mean``, ``stderr`` and ``count`` over ``shell`` (1 = surface).

    Examples
    --------
    >>> yy, xx = np.indices((21, 21))
    >>> shells = equal_volume_shells(xr.DataArray(np.hypot(yy - 10, xx - 10) <= 8, dims=("y", "x")), n=4)
    >>> shell_means(shells * 1.0, shells)["mean"].values.tolist()
    [1.0, 2.0, 3.0, 4.0]
    """
    v = np.asarray(values, float)
    s = np.asarray(shells)
    n = int(s.max())
    index = np.arange(1, n + 1)
    count = ndimage.sum_labels(np.ones_like(v), s, index)
    mean = ndimage.mean(v, s, index)
    var = ndimage.variance(v, s, index)
    return xr.Dataset({"mean": ("shell", mean), "stderr": ("shell", np.sqrt(var / np.maximum(count, 1))),
                       "count": ("shell", count.astype(int))}, coords={"shell": index})
