"""Energy windows and spatial binning."""

from __future__ import annotations

import xarray as xr

from redoxmap.errors import EnergyError, ParameterError
from redoxmap.history import with_history


def energy_window(od: xr.DataArray, min_ev: float | None = None,
                  max_ev: float | None = None) -> xr.DataArray:
    """Keep the energies in [``min_ev``, ``max_ev``] (eV)."""
    out = od.sel(energy=slice(min_ev, max_ev))
    if out.sizes["energy"] < 2:
        raise EnergyError(
            f"energy window {min_ev}–{max_ev} eV keeps {out.sizes['energy']} of the stack's "
            f"energies ({float(od.energy.min()):g}–{float(od.energy.max()):g} eV); expected at least 2"
        )
    out.attrs = with_history(od.attrs, "energy_window", min_ev=min_ev, max_ev=max_ev)
    return out


def bin_pixels(od: xr.DataArray, factor: int) -> xr.DataArray:
    """Average ``factor`` × ``factor`` pixel blocks (edges that do not fill a block are dropped).

    A binned pixel is valid only if all its source pixels were; ``pixel_size_nm`` is scaled.
    """
    if factor < 1:
        raise ParameterError(f"binning factor {factor} (--bin-px) must be a positive integer")
    smallest = min(od.sizes["y"], od.sizes["x"])
    if factor > smallest // 2:
        raise ParameterError(f"binning factor {factor} (--bin-px) leaves fewer than 2 pixels across the "
                             f"{od.sizes['y']} × {od.sizes['x']} image; expected at most {smallest // 2}")
    if factor == 1:
        return od
    out = od.coarsen(y=factor, x=factor, boundary="trim").mean()
    if "valid" in od.coords:
        valid = od.coords["valid"].coarsen(y=factor, x=factor, boundary="trim").min()
        out = out.assign_coords(valid=valid.astype(bool))
    out.attrs = with_history(od.attrs, "bin_pixels", factor=factor)
    if "pixel_size_nm" in od.attrs:
        out.attrs["pixel_size_nm"] = od.attrs["pixel_size_nm"] * factor
    return out
