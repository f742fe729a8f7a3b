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
    """Values per thickness bin for the exterior (within ``exterior_depth_nm`` of the agglomerate's
    outline) and the interior of an agglomerate; ``material`` restricts both to pixels with
    material (e.g. edge jump above a threshold), the agglomerate being its filled outline."""
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
