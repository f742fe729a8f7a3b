"""Porosity of a particle, overall and in equal-volume shells from the surface to the centre."""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import ndimage

from redoxmap.segment.pores import particle_envelope
from redoxmap.stats.shells import equal_volume_shells


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
