"""Pores and cracks inside a particle (Liu et al., Nat. Nanotechnol. 2024, seed 001, Fig. 5a–c:
isolated internal pores versus an interconnected crack network).

The particle envelope is the solid closed by a ball and hole-filled; voids are envelope minus
solid. Each 26-connected void is measured and classified: a crack is elongated or flat (ratio of
the largest to the smallest principal axis of its voxel cloud above ``crack_aspect``) or reaches
the surface; the rest are isolated pores.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from scipy import ndimage
from skimage.morphology import ball

from redoxmap.errors import MaskError
from redoxmap.stats.shells import equal_volume_shells


def particle_envelope(solid: xr.DataArray, closing_radius_vox: int = 3) -> xr.DataArray:
    """Solid plus everything it encloses (closing by a ball, then hole filling)."""
    values = np.asarray(solid, bool)
    if not values.any():
        raise MaskError("the solid mask selects no voxel; expected a particle")
    closed = ndimage.binary_closing(values, ball(closing_radius_vox), border_value=0) \
        if closing_radius_vox else values
    filled = ndimage.binary_fill_holes(closed | values)
    return xr.DataArray(filled, dims=solid.dims, coords=solid.coords, attrs={"long_name": "envelope"})


def _principal_axes(coords: np.ndarray) -> np.ndarray:
    if coords.shape[0] < 2:
        return np.array([0.5, 0.5, 0.5])
    eig = np.linalg.eigvalsh(np.cov(coords.T) + np.eye(coords.shape[1]) / 12.0)
    return np.sqrt(np.clip(eig[::-1], 1e-12, None))


def analyze_pores(solid: xr.DataArray, voxel_size_nm: float, closing_radius_vox: int = 3,
                  crack_aspect: float = 3.0, min_voxels: int = 4) -> tuple[pd.DataFrame, xr.DataArray]:
    """Table of voids (one row each) and the void labels.

    Columns: label, voxels, volume_nm3, equivalent_diameter_nm, aspect (largest / smallest
    principal axis), depth_nm (distance of the void's deepest-lying surface point, i.e. its
    minimum distance to the outside), reaches_surface, kind ("pore" or "crack").
    """
    envelope = np.asarray(particle_envelope(solid, closing_radius_vox), bool)
    voids = envelope & ~np.asarray(solid, bool)
    labels, n = ndimage.label(voids, structure=np.ones((3,) * voids.ndim))
    depth = ndimage.distance_transform_edt(envelope)
    rows = []
    for index, region in enumerate(ndimage.find_objects(labels), start=1):
        where = labels[region] == index
        count = int(where.sum())
        if count < min_voxels:
            labels[region][where] = 0
            continue
        coords = np.argwhere(where)
        axes = _principal_axes(coords)
        aspect = float(axes[0] / axes[-1])
        d_min = float(depth[region][where].min())
        reaches = d_min <= 1.0
        volume = count * voxel_size_nm**voids.ndim
        rows.append({
            "label": index, "voxels": count, "volume_nm3": volume,
            "equivalent_diameter_nm": float((6 * volume / np.pi) ** (1 / 3)) if voids.ndim == 3
            else float(2 * np.sqrt(volume / np.pi)),
            "aspect": aspect, "depth_nm": d_min * voxel_size_nm, "reaches_surface": bool(reaches),
            "kind": "crack" if aspect > crack_aspect or reaches else "pore",
        })
    table = pd.DataFrame(rows, columns=["label", "voxels", "volume_nm3", "equivalent_diameter_nm",
                                        "aspect", "depth_nm", "reaches_surface", "kind"])
    out = xr.DataArray(labels, dims=solid.dims, coords=solid.coords, attrs={"long_name": "void labels"})
    return table, out


def porosity(solid: xr.DataArray, closing_radius_vox: int = 3, n_shells: int = 5) -> xr.Dataset:
    """Porosity (void fraction of the envelope) overall and in equal-volume shells from the
    surface (shell 1) to the centre."""
    envelope = particle_envelope(solid, closing_radius_vox)
    voids = np.asarray(envelope, bool) & ~np.asarray(solid, bool)
    shells = np.asarray(equal_volume_shells(envelope, n_shells))
    index = np.arange(1, n_shells + 1)
    per_shell = ndimage.mean(voids.astype(float), shells, index)
    return xr.Dataset({"porosity_by_shell": ("shell", per_shell)}, coords={"shell": index},
                      attrs={"porosity": float(voids.sum() / np.asarray(envelope).sum())})
