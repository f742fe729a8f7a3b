"""Recovered-versus-true numbers for a fit of a simulated acquisition."""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import ndimage


def truth_in_aligned_frame(truth: xr.Dataset, reference_energy_ev: float | None) -> xr.Dataset:
    """The truth maps moved by the sample drift at the alignment's reference energy: aligned
    images sit in that energy's frame, not in the drift-free one."""
    if reference_energy_ev is None:
        return truth
    i = int(np.argmin(np.abs(truth["energy"].values - reference_energy_ev)))
    drift = (float(truth.drift_y[i]), float(truth.drift_x[i]))
    moved = {name: (("y", "x"), ndimage.shift(truth[name].values, drift, order=1, mode="nearest"))
             for name in ("fraction", "edge_jump")}
    return truth.assign(moved)


def score_fraction(maps: xr.Dataset, truth: xr.Dataset, component: str,
                   min_edge_jump_od: float = 0.3,
                   reference_energy_ev: float | None = None) -> dict[str, float]:
    """RMSE and mean error of ``maps.fraction[component]`` against ``truth.fraction`` where the
    true edge jump exceeds ``min_edge_jump_od``; also the mean reported 1σ error there."""
    truth = truth_in_aligned_frame(truth, reference_energy_ev)
    region = truth.edge_jump.values > min_edge_jump_od
    found = maps.fraction.sel(component=component).values[region]
    true = truth.fraction.values[region]
    return {
        "pixels": int(region.sum()),
        "rmse": float(np.sqrt(np.mean((found - true) ** 2))),
        "mean_recovered": float(found.mean()),
        "mean_true": float(true.mean()),
        "mean_error": float(found.mean() - true.mean()),
        "mean_reported_err": float(maps.fraction_err.sel(component=component).values[region].mean()),
    }


def score_shifts(shift_y: np.ndarray, shift_x: np.ndarray, truth: xr.Dataset,
                 reference_energy_ev: float) -> np.ndarray:
    """Per-energy error (px, the larger of y and x) of estimated shifts against the true drift
    relative to the reference energy (the correction is minus the relative drift)."""
    i = int(np.argmin(np.abs(truth["energy"].values - reference_energy_ev)))
    true_y = -(truth.drift_y.values - truth.drift_y.values[i])
    true_x = -(truth.drift_x.values - truth.drift_x.values[i])
    return np.maximum(np.abs(shift_y - true_y), np.abs(shift_x - true_x))
