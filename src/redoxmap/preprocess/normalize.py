"""Edge position and edge jump of every pixel of a stack."""

from __future__ import annotations

import numpy as np
import xarray as xr

from redoxmap.errors import EnergyError
from redoxmap.history import with_history

#: Pre-edge points lie at least this far below E0, post-edge points at least this far above (eV).
PRE_EDGE_GAP_EV = 10.0
POST_EDGE_GAP_EV = 25.0


def edge_energy(od: xr.DataArray) -> float:
    """E0 of the stack (eV): the energy of the steepest rise of the mean spectrum, dμ/dE max."""
    spatial = [d for d in od.dims if d != "energy"]
    mean = od.where(od.coords["valid"]) if "valid" in od.coords else od
    spectrum = np.asarray(mean.mean(spatial).values, dtype=float)
    energy = od["energy"].values.astype(float)
    return float(energy[np.argmax(np.gradient(spectrum, energy))])


def edge_jump(od: xr.DataArray, e0_ev: float | None = None,
              pre_gap_ev: float = PRE_EDGE_GAP_EV, post_gap_ev: float = POST_EDGE_GAP_EV) -> xr.DataArray:
    """Edge jump per pixel: mean OD above E0 + ``post_gap_ev`` minus mean OD below
    E0 − ``pre_gap_ev``. It is proportional to the amount of the absorbing element in the beam
    path (the thickness proxy used for the particle mask).
    """
    energy = od["energy"].values
    e0 = edge_energy(od) if e0_ev is None else float(e0_ev)
    pre = energy <= e0 - pre_gap_ev
    post = energy >= e0 + post_gap_ev
    if not pre.any() or not post.any():
        raise EnergyError(
            f"the stack spans {energy.min():g}–{energy.max():g} eV; an edge jump at E0 = {e0:g} eV "
            f"needs energies below {e0 - pre_gap_ev:g} eV and above {e0 + post_gap_ev:g} eV"
        )
    jump = od.isel(energy=post).mean("energy") - od.isel(energy=pre).mean("energy")
    jump = jump.drop_vars([c for c in jump.coords if c not in jump.dims and c != "valid"])
    jump.attrs = with_history(od.attrs, "edge_jump", e0_ev=e0, pre_gap_ev=pre_gap_ev,
                              post_gap_ev=post_gap_ev)
    jump.attrs.update(units="1", long_name="edge jump (optical density)", e0_ev=e0)
    return jump
