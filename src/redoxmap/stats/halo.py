"""Element density outside a particle versus distance from its boundary: a dissolution halo
(Wang et al., Nat. Commun. 2021, Fig. 3: a low-Ni halo around cycled particles)."""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import ndimage

from redoxmap.errors import MaskError


def halo_profile(density: xr.DataArray, particle: xr.DataArray, voxel_size_nm: float,
                 shell_nm: float, n_shells: int = 12, gap_vox: float = 2.0) -> xr.Dataset:
    """Mean density in shells of thickness ``shell_nm`` outside the particle, starting
    ``gap_vox`` voxels beyond the boundary (to skip partial-volume voxels)."""
    inside = np.asarray(particle, bool)
    if not inside.any():
        raise MaskError("the particle mask is empty")
    distance = ndimage.distance_transform_edt(~inside)
    bins = gap_vox + np.arange(n_shells + 1) * shell_nm / voxel_size_nm
    index = np.digitize(distance, bins)
    index[inside | (distance < gap_vox)] = 0
    labels = np.arange(1, n_shells + 1)
    values = np.asarray(density, float)
    mean = ndimage.mean(values, index, labels)
    count = ndimage.sum_labels(np.ones_like(values), index, labels)
    centres = (bins[:-1] + bins[1:]) / 2 * voxel_size_nm
    return xr.Dataset({"mean": ("distance_nm", mean), "count": ("distance_nm", count.astype(int))},
                      coords={"distance_nm": centres})


def detect_halo(profile: xr.Dataset, near_shells: int = 2, far_shells: int = 4,
                z_threshold: float = 3.0) -> dict[str, float]:
    """Compare the mean of the ``near_shells`` closest shells with the ``far_shells`` farthest.

    The noise scale is the scatter of the far shells' means (so spatially correlated noise is
    accounted for, unlike a per-voxel standard error); ``z`` = (near − far mean) / that scatter.
    A halo is reported when z > ``z_threshold``. The far shells must lie beyond any halo: choose
    the profile's extent accordingly.
    """
    mean = profile["mean"].values
    if far_shells < 3 or mean.size < near_shells + far_shells:
        raise MaskError(f"{mean.size} shells cannot hold {near_shells} near and ≥ 3 far shells")
    near = float(np.mean(mean[:near_shells]))
    far = mean[-far_shells:]
    scatter = float(np.std(far, ddof=1)) or 1e-30
    z = (near - float(far.mean())) / scatter
    return {"near_mean": near, "background_mean": float(far.mean()), "background_scatter": scatter,
            "z": z, "detected": bool(z > z_threshold)}
