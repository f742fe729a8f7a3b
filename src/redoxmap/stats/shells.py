"""Equal-area (2D) or equal-volume (3D) shells from the particle surface to its centre.

Liu et al., Nat. Nanotechnol. 2024 (Liu et al. 2024, Fig. 3b–e): five regions of equal area from the
surface inward (0–20 %, …, 80–100 %). Depth is the Euclidean distance to the nearest voxel outside
the particle; voxels are ranked by depth and cut into n groups of equal count, so each shell holds
the same area or volume whatever the particle's shape.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import ndimage

from redoxmap.errors import MaskError


def equal_volume_shells(mask: xr.DataArray, n: int = 5, labels: xr.DataArray | None = None) -> xr.DataArray:
    """Shell index 1 (outermost) … n (innermost) for every voxel of ``mask`` (0 outside).

    With ``labels`` (particle labels) the shells are cut per particle, else over the whole mask.
    Works in 2D and 3D. Voids inside the mask do not count as outside unless excluded from it.
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
    """Mean, standard error and voxel count of ``values`` in each shell."""
    v = np.asarray(values, float)
    s = np.asarray(shells)
    n = int(s.max())
    index = np.arange(1, n + 1)
    count = ndimage.sum_labels(np.ones_like(v), s, index)
    mean = ndimage.mean(v, s, index)
    var = ndimage.variance(v, s, index)
    return xr.Dataset({"mean": ("shell", mean), "stderr": ("shell", np.sqrt(var / np.maximum(count, 1))),
                       "count": ("shell", count.astype(int))}, coords={"shell": index})
