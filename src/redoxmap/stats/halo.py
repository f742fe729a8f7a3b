"""Element density outside a particle versus distance from its boundary: a dissolution halo (Wang et
al. 2021, Fig. 3: a low-Ni halo around cycled particles).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import ndimage

from redoxmap.errors import MaskError


def halo_profile(density: xr.DataArray, particle: xr.DataArray, voxel_size_nm: float,
                 shell_nm: float, n_shells: int = 12, gap_vox: float = 2.0) -> xr.Dataset:
    """Mean density in shells of thickness ``shell_nm`` outside the particle, starting ``gap_vox``
    voxels beyond the boundary (to skip partial-volume voxels).

    Parameters
    ----------
    density : xarray.DataArray
        Element density per voxel (e.g. g/cm³), 2D or 3D.
    particle : xarray.DataArray
        Booleans of the particle, the shape of ``density``.
    voxel_size_nm : float
        Voxel size (nm).
    shell_nm : float
        Thickness of each shell (nm).
    n_shells : int
        Number of shells.
    gap_vox : float
        Distance from the boundary to the first shell (voxels).

    Returns
    -------
    xarray.Dataset
        ``mean`` and ``count`` over ``distance_nm`` (shell centres, nm from the boundary).

    Raises
    ------
    MaskError
        If the particle mask is empty.

    Examples
    --------
    >>> z, y, x = np.indices((24, 24, 24)) - 11.5
    >>> r = np.sqrt(x**2 + y**2 + z**2)
    >>> density = xr.DataArray(np.where(r < 6, 3.0, np.where(r < 8.5, 0.3, 0.0)), dims=("z", "y", "x"))
    >>> profile = halo_profile(density, density > 1, 50.0, shell_nm=50.0, n_shells=6, gap_vox=1.0)
    >>> profile["mean"].values.round(3).tolist()
    [0.3, 0.266, 0.007, 0.0, 0.0, 0.0]
    """
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
    """Test for a halo: the mean of the ``near_shells`` closest shells against the ``far_shells``
    farthest.

    The noise scale is the scatter (standard deviation) of the far shells' means, so spatially
    correlated noise is accounted for, unlike a per-voxel standard error; z = (near − far mean) /
    that scatter. A halo is reported when z > ``z_threshold``. The far shells must lie beyond any
    halo: choose the profile's extent accordingly.

    Parameters
    ----------
    profile : xarray.Dataset
        Output of :func:`halo_profile`.
    near_shells : int
        Shells next to the particle that form the "near" mean.
    far_shells : int
        Outermost shells that form the background (at least 3).
    z_threshold : float
        z above which a halo is reported.

    Returns
    -------
    dict of str to float
        ``near_mean``, ``background_mean``, ``background_scatter``, ``z`` and ``detected``.

    Raises
    ------
    MaskError
        If fewer than 3 far shells are asked for or the profile is too short.

    Examples
    --------
    >>> profile = xr.Dataset({"mean": ("distance_nm", [0.30, 0.27, 0.01, 0.0, -0.01, 0.0])})
    >>> detect_halo(profile, near_shells=2, far_shells=3)["detected"]
    True
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
