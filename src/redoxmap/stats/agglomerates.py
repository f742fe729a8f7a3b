"""Interior versus exterior of agglomerates at fixed thickness (Csernica et al. 2021, Fig. 4c–d: primary
particles at the exterior of large agglomerates are more reduced than those inside, also when
compared at the same thickness)."""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import ndimage

from redoxmap.errors import MaskError
from redoxmap.stats.thickness import binned_by


def interior_vs_exterior(values: xr.DataArray, agglomerate: xr.DataArray, thickness: xr.DataArray,
                         bins: np.ndarray, pixel_size_nm: float, exterior_depth_nm: float,
                         material: xr.DataArray | None = None) -> xr.Dataset:
    """Map values per thickness bin for the exterior and the interior of an agglomerate (Csernica et al.
    2021, Fig. 4c–d: primary particles at the exterior of large agglomerates are more reduced than
    those inside, also when compared at the same thickness).

    The exterior is the part within ``exterior_depth_nm`` of the agglomerate's outline; the rest is
    the interior. Each is binned by thickness with :func:`~redoxmap.stats.binned_by`.

    Parameters
    ----------
    values : xarray.DataArray
        The map, e.g. a fraction.
    agglomerate : xarray.DataArray
        Booleans of the agglomerate's filled outline.
    thickness : xarray.DataArray
        Thickness per pixel, in the units of ``bins``.
    bins : numpy.ndarray
        Bin edges of thickness, increasing.
    pixel_size_nm : float
        Pixel size (nm).
    exterior_depth_nm : float
        Depth of the exterior below the outline (nm).
    material : xarray.DataArray, optional
        Booleans restricting both parts to pixels with material (e.g. edge jump above a threshold).

    Returns
    -------
    xarray.Dataset
        ``mean``, ``stderr`` and ``count`` over ``(region, thickness)``, region "exterior" and
        "interior".

    Raises
    ------
    MaskError
        If the agglomerate is empty or one part holds no pixel.

    Examples
    --------
    >>> yy, xx = np.indices((21, 21))
    >>> rho = np.hypot(yy - 10, xx - 10)
    >>> result = interior_vs_exterior(xr.DataArray((rho > 5) * 1.0, dims=("y", "x")),
    ...                               xr.DataArray(rho <= 8, dims=("y", "x")),
    ...                               xr.DataArray(np.full((21, 21), 50.0), dims=("y", "x")),
    ...                               np.array([0.0, 100.0]), pixel_size_nm=10.0, exterior_depth_nm=30.0)
    >>> result["mean"].values.tolist()
    [[1.0], [0.0]]
    """
    outline = np.asarray(agglomerate, bool)
    if not outline.any():
        raise MaskError("the agglomerate mask selects no pixel")
    depth = ndimage.distance_transform_edt(outline) * pixel_size_nm
    solid = outline if material is None else outline & np.asarray(material, bool)
    v, t = np.asarray(values, float), np.asarray(thickness, float)
    parts = {}
    for name, where in (("exterior", solid & (depth <= exterior_depth_nm)),
                        ("interior", solid & (depth > exterior_depth_nm))):
        if not where.any():
            raise MaskError(f"the agglomerate has no {name} pixels for "
                            f"exterior_depth_nm = {exterior_depth_nm}")
        parts[name] = binned_by(v[where], t[where], bins)
    return xr.concat([parts["exterior"], parts["interior"]], dim="region").assign_coords(
        region=["exterior", "interior"]).rename(bin="thickness")
