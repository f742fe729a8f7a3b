"""Particle masks."""

from __future__ import annotations

import numpy as np
import xarray as xr
from skimage.filters import threshold_otsu

from redoxmap.errors import MaskError
from redoxmap.preprocess.normalize import edge_jump


def particle_mask(od: xr.DataArray, threshold_od: float | None = None,
                  e0_ev: float | None = None) -> xr.DataArray:
    """Pixels on the particle: edge jump above ``threshold_od`` (Otsu's threshold of the edge-jump
    map when None), restricted to valid pixels. Raises :class:`MaskError` when empty."""
    jump = edge_jump(od, e0_ev=e0_ev)
    values = np.asarray(jump.values)
    if threshold_od is None:
        threshold_od = float(threshold_otsu(values[np.isfinite(values)]))
    mask = jump > threshold_od
    if "valid" in od.coords:
        mask = mask & od.coords["valid"]
    mask = mask.reset_coords(drop=True)
    if not bool(mask.any()):
        raise MaskError(
            f"particle mask is empty: no pixel has an edge jump above {threshold_od:g} OD "
            f"(largest edge jump {float(np.nanmax(values)):g}); expected a lower threshold"
        )
    mask.attrs = {"long_name": "particle mask", "threshold_od": float(threshold_od),
                  "e0_ev": jump.attrs["e0_ev"]}
    return mask
