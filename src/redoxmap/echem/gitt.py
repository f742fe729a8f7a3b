"""Galvanostatic intermittent titration (GITT): pulses, IR drop, ΔEs, ΔEτ, diffusivity, overpotential.

Weppner & Huggins, J. Electrochem. Soc. 124, 1569 (1977), for τ ≪ L²/D:
    D = 4/(π τ) · (m_B V_M / (M_B S))² · (ΔEs / ΔEτ)²,
with V/S = R/3 for spherical particles of radius R (m_B V_M / (M_B S) = V/S). ΔEs is the change of
the relaxed voltage between the rests before and after a pulse; ΔEτ is the voltage change during
the pulse without the IR drop (the jump at the pulse start). The overpotential η is the voltage at
the end of the pulse minus the relaxed voltage after it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from redoxmap.errors import FitError

#: A pulse is valid when τ·D/L² is below this (the short-time condition of the formula).
VALIDITY_LIMIT = 0.1


def split_pulses(data: pd.DataFrame) -> pd.DataFrame:
    """One row per current pulse that has a rest before and after it: start/end index, duration
    τ (s), current (A), and the voltages the analysis needs."""
    kind = data["step_type"].to_numpy()
    active = kind != "rest"
    edges = np.flatnonzero(np.diff(active.astype(int))) + 1
    bounds = np.concatenate([[0], edges, [len(data)]])
    segments = [(a, b, active[a]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    time = data["time_s"].to_numpy()
    volt = data["voltage_v"].to_numpy()
    curr = data["current_a"].to_numpy()
    rows = []
    for i in range(1, len(segments) - 1):
        (_, r0b, was), (pa, pb, is_pulse), (r1a, r1b, after) = segments[i - 1], segments[i], segments[i + 1]
        if not is_pulse or was or after:
            continue
        rows.append({
            "start": pa, "end": pb - 1, "tau_s": time[pb - 1] - time[pa - 1],
            "current_a": float(np.median(curr[pa:pb])), "kind": kind[pa],
            "v_relaxed_before": volt[r0b - 1], "v_pulse_start": volt[pa], "v_pulse_end": volt[pb - 1],
            "v_relaxed_after": volt[r1b - 1], "rest_after_s": time[r1b - 1] - time[r1a - 1],
            "capacity_ah": float(data["capacity_ah"].to_numpy()[pb - 1]),
        })
    if not rows:
        raise FitError("no current pulse with a rest before and after it; expected a GITT record")
    return pd.DataFrame(rows)


def gitt(data: pd.DataFrame, radius_um: float | None = None,
         volume_to_area_cm: float | None = None) -> pd.DataFrame:
    """GITT table: per pulse IR drop, ΔEs, ΔEτ, η, D (cm²/s) and whether τ ≪ L²/D holds.

    Give either ``radius_um`` (spherical particles: V/S = R/3) or ``volume_to_area_cm``
    (m_B V_M / (M_B S) in cm). Rows with ΔEτ = 0 get D = NaN.
    """
    if (radius_um is None) == (volume_to_area_cm is None):
        raise FitError("give exactly one of radius_um (spheres) or volume_to_area_cm")
    length_cm = radius_um * 1e-4 / 3.0 if radius_um is not None else float(volume_to_area_cm)
    if length_cm <= 0:
        raise FitError("the particle size must be positive")
    pulses = split_pulses(data)
    sign = np.sign(pulses["current_a"])
    pulses["ir_drop_v"] = (pulses["v_pulse_start"] - pulses["v_relaxed_before"]) * sign
    pulses["delta_es_v"] = pulses["v_relaxed_after"] - pulses["v_relaxed_before"]
    pulses["delta_etau_v"] = pulses["v_pulse_end"] - pulses["v_pulse_start"]
    pulses["overpotential_v"] = pulses["v_pulse_end"] - pulses["v_relaxed_after"]
    ratio = pulses["delta_es_v"] / pulses["delta_etau_v"].where(pulses["delta_etau_v"] != 0)
    pulses["diffusivity_cm2_s"] = 4.0 / (np.pi * pulses["tau_s"]) * length_cm**2 * ratio**2
    pulses["tau_d_over_l2"] = pulses["tau_s"] * pulses["diffusivity_cm2_s"] / length_cm**2
    pulses["valid"] = pulses["tau_d_over_l2"] < VALIDITY_LIMIT
    return pulses
