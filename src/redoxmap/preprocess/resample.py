"""Energy windows and spatial binning."""

from __future__ import annotations

import xarray as xr

from redoxmap.errors import EnergyError, ParameterError
from redoxmap.history import with_history


def energy_window(od: xr.DataArray, min_ev: float | None = None,
                  max_ev: float | None = None) -> xr.DataArray:
    """Keep the energies in [``min_ev``, ``max_ev``].

    Parameters
    ----------
    od : xarray.DataArray
        A stack with an increasing ``energy`` coordinate (eV).
    min_ev, max_ev : float, optional
        Window ends (eV), inclusive; None leaves that end open.

    Returns
    -------
    xarray.DataArray
        The stack within the window, with a history line.

    Raises
    ------
    EnergyError
        If fewer than two energies remain.

    Examples
    --------
    >>> import numpy as np
    >>> od = xr.DataArray(np.zeros(5), dims="energy", coords={"energy": [6530.0, 6540, 6550, 6560, 6570]})
    >>> energy_window(od, 6540, 6560).energy.values.tolist()
    [6540.0, 6550.0, 6560.0]
    """
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

    A binned pixel is valid only if all its source pixels were; ``attrs["pixel_size_nm"]`` is
    multiplied by ``factor``.

    Parameters
    ----------
    od : xarray.DataArray
        A stack with ``y`` and ``x`` dimensions.
    factor : int
        Block size in pixels (1 returns the stack unchanged).

    Returns
    -------
    xarray.DataArray
        The binned stack, with a history line.

    Raises
    ------
    FitError
        If ``factor`` is below 1.

    Examples
    --------
    >>> import numpy as np
    >>> od = xr.DataArray(np.ones((2, 5, 4)), dims=("energy", "y", "x"), attrs={"pixel_size_nm": 20.0})
    >>> binned = bin_pixels(od, 2)
    >>> binned.shape, binned.attrs["pixel_size_nm"]
    ((2, 2, 2), 40.0)
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
