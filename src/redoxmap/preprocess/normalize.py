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


def _line_fit(od: xr.DataArray, select: np.ndarray) -> tuple[xr.DataArray, xr.DataArray]:
    """Least-squares line a + b·(E − E_ref) through every pixel's points at ``select`` energies,
    all pixels at once: coefficients = pinv(X) · OD."""
    energy = od["energy"].values.astype(float)
    e_ref = energy[select].mean()
    design = np.column_stack([np.ones(select.sum()), energy[select] - e_ref])
    pinv = xr.DataArray(np.linalg.pinv(design), dims=("coef", "energy"))
    coef = xr.dot(pinv, od.isel(energy=np.flatnonzero(select)).drop_vars("energy"), dim="energy")
    intercept = coef.isel(coef=0) - coef.isel(coef=1) * e_ref
    return intercept.drop_vars("coef", errors="ignore"), coef.isel(coef=1).drop_vars("coef", errors="ignore")


def _default_window(energy: np.ndarray, window: tuple[float, float], low: bool) -> tuple[float, float]:
    """``window`` if it holds ≥ 3 energies, else the lowest (or highest) tenth of the range
    (at least 3 energies): short soft-X-ray scans rarely reach 10 eV below / 25 eV above E0."""
    inside = (energy >= window[0]) & (energy <= window[1])
    if inside.sum() >= 3:
        return (float(window[0]), float(window[1]))
    n = max(3, energy.size // 10)
    return (float(energy[0]), float(energy[n - 1])) if low else (float(energy[-n]), float(energy[-1]))


def normalize_stack(od: xr.DataArray, e0_ev: float | None = None,
                    pre_ev: tuple[float, float] | None = None,
                    post_ev: tuple[float, float] | None = None) -> xr.Dataset:
    """Pre-edge subtraction and edge-jump normalization of every pixel at once (Athena style).

    A line fitted over the pre-edge window is subtracted; a line fitted over the post-edge window
    (after subtraction) gives the edge jump J at E0; normalized μ = (OD − pre(E)) / J. Windows are
    absolute energies in eV; by default pre = [E_min, E0 − 10] and post = [E0 + 25, E_max], or
    the lowest / highest tenth of the scan where those hold fewer than 3 energies.
    The parameters used are returned as attributes, so results can be compared and reproduced.

    Returns a Dataset with ``normalized`` (energy, …), ``edge_jump`` and ``pre_edge_od`` (the
    pre-edge line at E0, a thickness proxy of the non-resonant absorption).
    """
    energy = od["energy"].values.astype(float)
    e0 = edge_energy(od) if e0_ev is None else float(e0_ev)
    pre_ev = _default_window(energy, (energy.min(), e0 - PRE_EDGE_GAP_EV), low=True) \
        if pre_ev is None else pre_ev
    post_ev = _default_window(energy, (e0 + POST_EDGE_GAP_EV, energy.max()), low=False) \
        if post_ev is None else post_ev
    pre = (energy >= pre_ev[0]) & (energy <= pre_ev[1])
    post = (energy >= post_ev[0]) & (energy <= post_ev[1])
    for name, sel, window in (("pre-edge", pre, pre_ev), ("post-edge", post, post_ev)):
        if sel.sum() < 2:
            raise EnergyError(f"{name} window {window[0]:g}–{window[1]:g} eV holds {int(sel.sum())} "
                              f"of the stack's energies ({energy.min():g}–{energy.max():g} eV); "
                              "expected at least 2")
    a_pre, b_pre = _line_fit(od, pre)
    e = od["energy"]
    subtracted = od - (a_pre + b_pre * e)
    a_post, b_post = _line_fit(subtracted, post)
    jump = a_post + b_post * e0
    safe = jump.where(np.abs(jump) > 1e-12, 1.0)
    normalized = (subtracted / safe).where(np.abs(jump) > 1e-12, 0.0)
    params = {"e0_ev": e0, "pre_ev": [float(v) for v in pre_ev], "post_ev": [float(v) for v in post_ev]}
    ds = xr.Dataset({"normalized": normalized.transpose(*od.dims), "edge_jump": jump,
                     "pre_edge_od": a_pre + b_pre * e0})
    ds["normalized"].attrs = with_history(od.attrs, "normalize_stack", **params)
    ds["normalized"].attrs.update(long_name="normalized μ(E)", units="1")
    ds.attrs.update(params)
    ds.attrs["pre_ev"] = list(params["pre_ev"])
    return ds
