"""Porosity of a particle, overall and in equal-volume shells from the surface to the centre."""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import ndimage

from redoxmap.segment.pores import particle_envelope
from redoxmap.stats.shells import equal_volume_shells


def porosity(solid: xr.DataArray, closing_radius_vox: int = 3, n_shells: int = 5) -> xr.Dataset:
    """Porosity (void fraction of the envelope, :func:`redoxmap.segment.particle_envelope`) overall and
    in equal-volume shells (:func:`~redoxmap.stats.equal_volume_shells`) from the surface (shell 1)
    to the centre.

    Parameters
    ----------
    solid : xarray.DataArray
        Booleans, True on the particle's material.
    closing_radius_vox : int
        Radius of the closing ball of the envelope (voxels).
    n_shells : int
        Number of equal-volume shells.

    Returns
    -------
    xarray.Dataset
        ``porosity_by_shell`` over ``shell``; the overall porosity in ``attrs["porosity"]``.

    Examples
    --------
    >>> z, y, x = np.indices((24, 24, 24)) - 11.5
    >>> solid = xr.DataArray((np.sqrt(x**2 + y**2 + z**2) < 10)
    ...                      & ~(np.sqrt((x - 3)**2 + y**2 + z**2) < 2.5), dims=("z", "y", "x"))
    >>> result = porosity(solid, n_shells=3)
    >>> round(result.attrs["porosity"], 4), result.porosity_by_shell.values.round(4).tolist()
    (0.0133, [0.0, 0.0, 0.0398])
    """
    envelope = particle_envelope(solid, closing_radius_vox)
    voids = np.asarray(envelope, bool) & ~np.asarray(solid, bool)
    shells = np.asarray(equal_volume_shells(envelope, n_shells))
    index = np.arange(1, n_shells + 1)
    per_shell = ndimage.mean(voids.astype(float), shells, index)
    return xr.Dataset({"porosity_by_shell": ("shell", per_shell)}, coords={"shell": index},
                      attrs={"porosity": float(voids.sum() / np.asarray(envelope).sum())})
