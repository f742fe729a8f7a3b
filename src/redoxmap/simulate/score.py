"""Recovered-versus-true numbers for a fit of a simulated acquisition."""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import ndimage


def truth_in_aligned_frame(truth: xr.Dataset, reference_energy_ev: float | None) -> xr.Dataset:
    """The truth maps moved by the sample drift at the alignment's reference energy: aligned images sit
    in that energy's frame, not in the drift-free one.

    Parameters
    ----------
    truth : xarray.Dataset
        The truth of a :class:`Simulation` (``drift_y``/``drift_x`` per energy).
    reference_energy_ev : float or None
        The alignment's reference energy (eV); None returns the truth unchanged.

    Returns
    -------
    xarray.Dataset
        The truth maps in the aligned frame.

    Examples
    --------
    >>> from redoxmap.simulate import demo_dataset
    >>> sim = demo_dataset(shape=(32, 32))
    >>> truth_in_aligned_frame(sim.truth, None) is sim.truth
    True
    """
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
    """Recovered versus true fraction: RMSE and mean error of ``maps.fraction[component]`` against
    ``truth.fraction`` where the true edge jump exceeds ``min_edge_jump_od``, and the mean reported
    1σ error there.

    Parameters
    ----------
    maps : xarray.Dataset
        Output of :func:`redoxmap.fit.lincomb`.
    truth : xarray.Dataset
        The truth of the :class:`Simulation`.
    component : str
        The component whose fraction the truth holds (``"cycled"`` in the demo).
    min_edge_jump_od : float
        Pixels with a smaller true edge jump (OD) are left out.
    reference_energy_ev : float, optional
        Reference energy of a drift alignment (eV), see :func:`truth_in_aligned_frame`.

    Returns
    -------
    dict of str to float
        ``pixels``, ``rmse``, ``mean_recovered``, ``mean_true``, ``mean_error`` and
        ``mean_reported_err``.

    Examples
    --------
    >>> from redoxmap.fit import lincomb
    >>> from redoxmap.simulate import demo_dataset
    >>> sim = demo_dataset(shape=(32, 32))
    >>> score = score_fraction(lincomb(sim.stack, sim.refs), sim.truth, "cycled")
    >>> score["pixels"], bool(score["rmse"] < 0.05)
    (302, True)
    """
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
    """Per-energy error of estimated drift shifts against the true drift relative to the reference
    energy (the correction is minus the relative drift), the larger of y and x.

    Parameters
    ----------
    shift_y, shift_x : numpy.ndarray
        Estimated shifts per energy (px), e.g. from :func:`redoxmap.preprocess.estimate_shifts`.
    truth : xarray.Dataset
        The truth of the :class:`Simulation` (``drift_y``/``drift_x``).
    reference_energy_ev : float
        The alignment's reference energy (eV).

    Returns
    -------
    numpy.ndarray
        Error (px) per energy.

    Examples
    --------
    >>> from redoxmap.simulate import demo_dataset
    >>> sim = demo_dataset(shape=(32, 32))  # no drift
    >>> float(score_shifts(np.zeros(121), np.zeros(121), sim.truth, 6559.0).max())
    0.0
    """
    i = int(np.argmin(np.abs(truth["energy"].values - reference_energy_ev)))
    true_y = -(truth.drift_y.values - truth.drift_y.values[i])
    true_x = -(truth.drift_x.values - truth.drift_x.values[i])
    return np.maximum(np.abs(shift_y - true_y), np.abs(shift_x - true_x))
