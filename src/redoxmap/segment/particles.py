"""Particle and agglomerate labels from a mask, and a per-particle table in physical units.

Touching particles are split by a watershed on the distance transform (markers at its maxima a
minimum distance apart), as is usual for roughly convex particles; objects smaller than
``min_size_nm2`` (area in 2D, volume in nm³ in 3D) are dropped. Works in 2D and 3D.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from scipy import ndimage
from skimage.feature import peak_local_max
from skimage.segmentation import watershed

from redoxmap.errors import MaskError


def label_particles(mask: xr.DataArray, pixel_size_nm: float, min_size_nm2: float = 0.0,
                    split: bool = True, min_distance_px: int = 5) -> xr.DataArray:
    """Labels 1..n of the particles in ``mask`` (0 background)."""
    inside = np.asarray(mask, bool)
    if not inside.any():
        raise MaskError("the mask selects no pixel; expected particles (lower the threshold)")
    if split:
        distance = ndimage.distance_transform_edt(inside)
        peaks = peak_local_max(distance, min_distance=min_distance_px, labels=ndimage.label(inside)[0],
                               exclude_border=False)
        markers = np.zeros(inside.shape, np.int32)
        markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
        labels = watershed(-distance, markers, mask=inside)
    else:
        labels, _ = ndimage.label(inside)
    unit = pixel_size_nm**inside.ndim
    sizes = np.bincount(labels.ravel()) * unit
    small = np.flatnonzero(sizes < min_size_nm2)
    labels[np.isin(labels, small[small > 0])] = 0
    labels, _, _ = _relabel(labels)
    return xr.DataArray(labels, dims=mask.dims, coords=mask.coords, attrs={"long_name": "particle labels",
                                                                            "pixel_size_nm": pixel_size_nm})


def _relabel(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    values = np.unique(labels)
    values = values[values > 0]
    lookup = np.zeros(labels.max() + 1, np.int32)
    lookup[values] = np.arange(1, values.size + 1)
    return lookup[labels], values, lookup


def particle_table(labels: xr.DataArray, maps: dict[str, xr.DataArray] | None = None) -> pd.DataFrame:
    """One row per particle: label, size (area nm² or volume nm³), equivalent diameter (nm), and the
    mean, median and standard deviation of each map in ``maps``."""
    lab = np.asarray(labels)
    pixel = float(labels.attrs["pixel_size_nm"])
    index = np.arange(1, lab.max() + 1)
    count = ndimage.sum_labels(np.ones(lab.shape), lab, index)
    size = count * pixel**lab.ndim
    diameter = 2 * np.sqrt(size / np.pi) if lab.ndim == 2 else (6 * size / np.pi) ** (1 / 3)
    table = pd.DataFrame({"label": index, "area_nm2" if lab.ndim == 2 else "volume_nm3": size,
                          "equivalent_diameter_nm": diameter})
    for name, values in (maps or {}).items():
        v = np.asarray(values, float)
        table[f"{name}_mean"] = ndimage.mean(v, lab, index)
        table[f"{name}_median"] = ndimage.median(v, lab, index)
        table[f"{name}_std"] = ndimage.standard_deviation(v, lab, index)
    return table
