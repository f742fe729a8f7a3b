"""Simulated operando bulk XAS: mixtures of measured standards whose fractions follow a cycler record,
with the true fractions and valence per scan.

The state of charge s = 0.1 + 0.8 x / max(x) (x the Li fraction removed in the cycler table) sets the
fractions of the K standards, ordered by valence, as Bernstein weights
f_k = C(K−1, k) s^k (1 − s)^(K−1−k): they are non-negative, sum to one, keep every standard present
and move the mean valence smoothly (for equally spaced valences v̄ = v₀ + s (K−1) Δv). Each scan is
μ(E) = J Σ f_k n_k(E) + a + b (E − E_first) + noise, with n_k the standards normalized each with its
own E0 (Athena/Larch, :func:`redoxmap.preprocess.normalize_stack`), J the edge step, a sloping
pre-edge background, and Gaussian noise of standard deviation ``noise`` · J.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import comb

from redoxmap.preprocess.normalize import normalize_stack

__all__ = ["simulate_xas_series"]


def simulate_xas_series(cycler: pd.DataFrame, scan_time_s, standards: xr.DataArray, *, noise: float = 0.003,
                        edge_step: float = 1.0, background: tuple[float, float] = (0.35, -4e-4),
                        seed: int | np.random.Generator = 0) -> tuple[xr.DataArray, xr.Dataset]:
    """μ(E) of mixtures of ``standards`` at the given cycler times, and the truth (module doc).

    Parameters
    ----------
    cycler
        A table from :func:`redoxmap.simulate.cycler.galvanostatic_cycle` (needs ``x`` and
        ``attrs["start_time"]``).
    scan_time_s
        Scan times (s) on the cycler's clock; outside the record the first/last state is used.
    standards
        Measured μ(E) of the standards, ``(component, energy)`` in eV with a ``valence`` coordinate.
    noise
        Standard deviation of the noise as a share of the edge step.
    edge_step, background
        J, and the pre-edge line's offset a and slope b (per eV).
    seed
        Seed or generator of the noise.

    Returns
    -------
    ``(series, truth)``: μ ``(scan, energy)`` with coords ``time`` (datetime64) and ``time_s``, and
    a Dataset with ``fraction`` ``(scan, component)``, ``valence``, ``x`` and ``voltage_v`` per scan.

    Examples
    --------
    >>> from redoxmap.simulate.cycler import galvanostatic_cycle
    >>> energy = np.arange(6500.0, 6650.0, 0.5)
    >>> edges = np.array([6544.0, 6549.0, 6553.0])
    >>> std = xr.DataArray(0.3 + np.arctan((energy - edges[:, None]) / 1.5) / np.pi + 0.5,
    ...                    dims=("component", "energy"), coords={"component": ["A", "B", "C"],
    ...                    "energy": energy, "valence": ("component", [2.0, 3.0, 4.0])})
    >>> series, truth = simulate_xas_series(galvanostatic_cycle(), [0.0, 20000.0], std)
    >>> truth.valence.values.round(3).tolist()
    [2.2, 3.279]
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    t = np.asarray(scan_time_s, float)
    x = np.interp(t, cycler.time_s.to_numpy(), cycler.x.to_numpy())
    s = 0.1 + 0.8 * x / max(float(cycler.x.max()), 1e-12)
    ordered = standards.sortby("valence")
    k = np.arange(ordered.sizes["component"])
    last = k[-1]
    fraction = comb(last, k)[None, :] * s[:, None] ** k[None, :] * (1 - s[:, None]) ** (last - k)[None, :]
    normalized = normalize_stack(ordered, e0_ev="each")["normalized"].transpose("component", "energy")
    energy = ordered["energy"].values.astype(float)
    mixture = edge_step * fraction @ normalized.values
    a, b = background
    mu = mixture + a + b * (energy - energy[0])[None, :] + rng.normal(0.0, noise * edge_step, mixture.shape)
    start = pd.Timestamp(cycler.attrs["start_time"])
    time = (start + pd.to_timedelta(t, unit="s")).to_numpy("datetime64[ns]")
    series = xr.DataArray(mu, dims=("scan", "energy"), name="mu",
                          coords={"scan": np.arange(t.size), "energy": ("energy", energy, {"units": "eV"}),
                                  "time": ("scan", time), "time_s": ("scan", t, {"units": "s"})},
                          attrs={"units": "1", "long_name": "μ(E)", "source": "simulated", "normalized": 0,
                                 "history": [f"simulate_xas_series(noise={noise}, edge_step={edge_step})"]})
    valence = fraction @ ordered["valence"].values.astype(float)
    voltage = np.interp(t, cycler.time_s.to_numpy(), cycler.voltage_v.to_numpy())
    truth = xr.Dataset({"fraction": (("scan", "component"), fraction), "valence": ("scan", valence),
                        "x": ("scan", x), "voltage_v": ("scan", voltage)},
                       coords={"scan": np.arange(t.size), "component": ordered["component"].values,
                               "time_s": ("scan", t)})
    return series, truth
