"""Galvanostatic intermittent titration (GITT): pulses, IR drop, ΔEs, ΔEτ, diffusivity, overpotential.

Weppner & Huggins, J. Electrochem. Soc. 124, 1569 (1977), Eq. 40 (τ ≪ L²/D):

    D = 4/(π τ) · (m_B V_M / (M_B S))² · (ΔEs / ΔEτ)²                        (cm²/s)

with m_B V_M / (M_B S) = V/S, the volume-to-surface ratio of the active particles; V/S = R/3 for
spheres of radius R. ΔEs is the change of the relaxed (end-of-rest) voltage across a pulse; ΔEτ is
the voltage change during the current pulse of length τ without the IR drop. In the same short-time
limit the pulse voltage is linear in √t (Weppner & Huggins, Eq. 38): E(t) = E₀ + k√t. With
``method="sqrt"`` (default) E₀ and k are fitted to the pulse and ΔEτ = k√τ, which does not depend on
how soon after the current step the first point was recorded; with ``method="endpoints"``
ΔEτ = E(last point) − E(first point). The IR drop is the jump from the relaxed voltage to the first
point of the pulse (an upper bound when the cycler samples slowly), and the overpotential is
η = E(end of pulse) − E(relaxed, after the pulse).

A pulse is flagged (``valid`` False, first reason in ``flag``) when the voltage does not change during
it, when ΔEs or ΔEτ do not have the sign of the current (the relaxed voltage must rise on charge), when
E(t) is not linear in √t (R² < 0.9), when D is not finite, or when τ·D/L² ≥ 0.1 with L = V/S (the
formula needs τ ≪ L²/D).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from redoxmap.errors import GittError

#: A pulse is valid when τ·D/L² is below this (the short-time condition of the formula).
VALIDITY_LIMIT = 0.1
#: A pulse is valid when E(t) is linear in √t with R² at least this.
LINEARITY_LIMIT = 0.9


def _segments(kind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last index of each run of equal step type."""
    change = np.flatnonzero(kind[1:] != kind[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change - 1, [kind.size - 1]])
    return starts, ends


def split_pulses(data: pd.DataFrame) -> pd.DataFrame:
    """One row per current pulse that has a rest right before and after it (the pulses of a GITT
    record, Weppner & Huggins 1977).

    Parameters
    ----------
    data : pandas.DataFrame
        The standard table of a GITT record.

    Returns
    -------
    pandas.DataFrame
        Columns ``start``/``end`` (row indices of the pulse), ``tau_s`` (from the last rest point
        before the pulse to its last point), ``current_a`` (median), ``kind``,
        ``v_relaxed_before``, ``v_pulse_start``, ``v_pulse_end``, ``v_relaxed_after`` (V),
        ``rest_after_s``, ``capacity_ah`` (at the pulse end).

    Raises
    ------
    GittError
        If the record is too short or holds no pulse with a rest before and after it.

    Examples
    --------
    >>> from redoxmap.echem import standard_table
    >>> t = np.arange(0, 1801.0, 10.0)  # rest, 600 s pulse at 1 mA, rest
    >>> pulse = (t >= 600) & (t < 1200)
    >>> v = np.where(t < 600, 3.70, np.where(pulse, 3.71 + 0.05 * np.sqrt(np.clip(t - 590, 0, None) / 610),
    ...                                       3.705))
    >>> data = standard_table(t, v, np.where(pulse, 1e-3, 0.0))
    >>> split_pulses(data)[["tau_s", "v_relaxed_before", "v_relaxed_after"]].values.tolist()
    [[600.0, 3.7, 3.705]]
    """
    kind = data["step_type"].to_numpy().astype(str)
    if kind.size < 3:
        raise GittError(f"{data.attrs.get('source', 'table')}: {kind.size} rows; expected a GITT record")
    starts, ends = _segments(kind)
    rest = kind[starts] == "rest"
    j = np.flatnonzero(~rest[1:-1] & rest[:-2] & rest[2:]) + 1
    if j.size == 0:
        raise GittError(f"{data.attrs.get('source', 'table')}: no current pulse with a rest before and "
                        "after it; expected a GITT record")
    time = data["time_s"].to_numpy(float)
    volt = data["voltage_v"].to_numpy(float)
    curr = data["current_a"].to_numpy(float)
    segment = np.repeat(np.arange(starts.size), ends - starts + 1)
    median_current = pd.Series(curr).groupby(segment).median().to_numpy()[j]
    return pd.DataFrame({
        "start": starts[j], "end": ends[j], "tau_s": time[ends[j]] - time[ends[j - 1]],
        "current_a": median_current, "kind": kind[starts[j]],
        "v_relaxed_before": volt[ends[j - 1]], "v_pulse_start": volt[starts[j]],
        "v_pulse_end": volt[ends[j]], "v_relaxed_after": volt[ends[j + 1]],
        "rest_after_s": time[ends[j + 1]] - time[ends[j]],
        "capacity_ah": data["capacity_ah"].to_numpy(float)[ends[j]],
    })


def _sqrt_fit(data: pd.DataFrame, pulses: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares E = E₀ + k√t on each pulse (t from the last rest point), closed form from
    per-pulse sums; returns E₀, k and R²."""
    time = data["time_s"].to_numpy(float)
    volt = data["voltage_v"].to_numpy(float)
    lengths = (pulses.end - pulses.start + 1).to_numpy()
    rows = np.concatenate([np.arange(a, b + 1) for a, b in zip(pulses.start, pulses.end, strict=True)])
    pulse = np.repeat(np.arange(len(pulses)), lengths)
    t0 = time[pulses.start.to_numpy() - 1]
    x = np.sqrt(np.clip(time[rows] - t0[pulse], 0, None))
    y = volt[rows]
    keep = x > 0
    frame = pd.DataFrame({"p": pulse[keep], "x": x[keep], "y": y[keep]})
    frame["xx"], frame["xy"], frame["yy"] = frame.x**2, frame.x * frame.y, frame.y**2
    s = frame.groupby("p").agg(n=("x", "size"), x=("x", "sum"), y=("y", "sum"), xx=("xx", "sum"),
                               xy=("xy", "sum"), yy=("yy", "sum")).reindex(range(len(pulses)))
    sxx = s.xx - s.x**2 / s.n
    sxy = s.xy - s.x * s.y / s.n
    syy = s.yy - s.y**2 / s.n
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where((s.n >= 3) & (sxx > 0), sxy / sxx, np.nan)
        intercept = (s.y - slope * s.x) / s.n
        r2 = np.where(syy > 0, sxy**2 / (sxx * syy), np.nan)
    return np.asarray(intercept, float), np.asarray(slope, float), np.asarray(r2, float)


def gitt(data: pd.DataFrame, radius_nm: float | None = None, volume_to_area_nm: float | None = None,
         method: str = "sqrt") -> pd.DataFrame:
    """GITT analysis, one row per pulse: IR drop, ΔEs, ΔEτ, overpotential and the diffusion coefficient
    of Weppner & Huggins 1977, Eq. 40 (τ ≪ L²/D), D = 4/(π τ) · (V/S)² · (ΔEs / ΔEτ)² (cm²/s);
    definitions, the √t fit of ΔEτ and the validity flags in the module doc.

    Parameters
    ----------
    data : pandas.DataFrame
        The standard table of a GITT record.
    radius_nm : float, optional
        Particle radius (nm), for spheres: V/S = R/3.
    volume_to_area_nm : float, optional
        V/S (nm) directly; give exactly one of the two.
    method : {"sqrt", "endpoints"}
        ΔEτ from the fit E(t) = E₀ + k√t (ΔEτ = k√τ) or from the first and last pulse points.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`split_pulses` plus ``ir_drop_v``, ``resistance_ohm``, ``delta_es_v``,
        ``delta_etau_v``, ``overpotential_v``, ``diffusivity_cm2_s``, ``tau_d_over_l2``, ``valid``,
        ``flag`` (the first reason a pulse is not valid), ``soc`` (fraction of the record's capacity
        range) and ``sqrt_t_r2`` (R² of E against √t); ``attrs`` hold ``method``,
        ``volume_to_area_nm`` (the V/S used) and ``source``.

    Raises
    ------
    GittError
        If not exactly one particle size is given, it is not positive, ``method`` is unknown, or the
        record holds no pulse.

    Examples
    --------
    >>> from redoxmap.echem import standard_table
    >>> t = np.arange(0, 1801.0, 10.0)  # rest, 600 s pulse at 1 mA, rest
    >>> pulse = (t >= 600) & (t < 1200)
    >>> v = np.where(t < 600, 3.70, np.where(pulse, 3.71 + 0.05 * np.sqrt(np.clip(t - 590, 0, None) / 610),
    ...                                       3.705))
    >>> data = standard_table(t, v, np.where(pulse, 1e-3, 0.0))
    >>> table = gitt(data, radius_nm=3000.0)
    >>> f"{table.diffusivity_cm2_s[0]:.2e}", bool(table.valid[0])
    ('2.16e-13', True)
    """
    if (radius_nm is None) == (volume_to_area_nm is None):
        raise GittError("give exactly one of radius_nm (spheres, V/S = R/3) or volume_to_area_nm")
    length_nm = radius_nm / 3.0 if radius_nm is not None else float(volume_to_area_nm)
    if not np.isfinite(length_nm) or length_nm <= 0:
        raise GittError(f"the particle size must be positive; got radius_nm={radius_nm}, "
                        f"volume_to_area_nm={volume_to_area_nm}")
    length_cm = length_nm * 1e-7  # D in cm²/s
    if method not in ("sqrt", "endpoints"):
        raise GittError(f"method must be 'sqrt' or 'endpoints', not {method!r}")
    pulses = split_pulses(data)
    sign = np.sign(pulses["current_a"])
    e0, slope, r2 = _sqrt_fit(data, pulses)
    pulses["sqrt_t_r2"] = r2
    pulses["ir_drop_v"] = (pulses["v_pulse_start"] - pulses["v_relaxed_before"]) * sign
    pulses["sqrt_t_intercept_v"] = e0
    if method == "sqrt":
        pulses["delta_etau_v"] = slope * np.sqrt(pulses["tau_s"])
    else:
        pulses["delta_etau_v"] = pulses["v_pulse_end"] - pulses["v_pulse_start"]
    pulses["resistance_ohm"] = pulses["ir_drop_v"] / pulses["current_a"].abs()
    pulses["delta_es_v"] = pulses["v_relaxed_after"] - pulses["v_relaxed_before"]
    pulses["overpotential_v"] = pulses["v_pulse_end"] - pulses["v_relaxed_after"]
    moved = pulses["delta_etau_v"].abs() > 1e-6
    ratio = pulses["delta_es_v"] / pulses["delta_etau_v"].where(moved)
    pulses["diffusivity_cm2_s"] = 4.0 / (np.pi * pulses["tau_s"]) * length_cm**2 * ratio**2
    pulses["tau_d_over_l2"] = pulses["tau_s"] * pulses["diffusivity_cm2_s"] / length_cm**2
    finite = np.isfinite(pulses["diffusivity_cm2_s"]) & (pulses["diffusivity_cm2_s"] > 0)
    short = pulses["tau_d_over_l2"] < VALIDITY_LIMIT
    signed = (np.sign(pulses["delta_es_v"]) == sign) & (np.sign(pulses["delta_etau_v"]) == sign)
    linear = pulses["sqrt_t_r2"] >= LINEARITY_LIMIT
    pulses["valid"] = moved & signed & linear & finite & short
    pulses["flag"] = np.select(
        [~moved, ~signed, ~linear, ~finite, ~short],
        ["no voltage change during the pulse", "dEs or dEtau of the wrong sign for the current",
         f"E not linear in sqrt(t) (R^2 < {LINEARITY_LIMIT})", "D not finite",
         f"tau*D/L^2 >= {VALIDITY_LIMIT}: tau not << L^2/D"], "")
    q = data["capacity_ah"].to_numpy(float)
    span = np.nanmax(q) - np.nanmin(q)
    pulses["soc"] = (pulses["capacity_ah"] - np.nanmin(q)) / span if span > 0 else np.nan
    pulses.attrs = {"method": method, "volume_to_area_nm": length_nm,
                    "source": data.attrs.get("source", "")}
    return pulses
