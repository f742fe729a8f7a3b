"""Per-cycle metrics from the standard cycler table (see :mod:`redoxmap.echem.readers`).

For each cycle n, with ΔQ_i the charge passed between points i−1 and i (the rise of the cumulative
charge or discharge counter) and V̄_i = (V_i + V_{i−1})/2:

* capacity            Q_n = Σ_{i∈n} ΔQ_i                                   (Ah)
* energy              E_n = Σ_{i∈n} ΔQ_i V̄_i  (trapezoid rule for ∫V dQ)  (Wh)
* mean voltage        V̄_n = E_n / Q_n                                      (V)
* Coulombic efficiency CE_n = Q_dis,n / Q_ch,n
* specific capacity   q_n = Q_n / m  (mAh/g, with the active mass m)
* capacity retention  Q_dis,n / Q_dis,ref and voltage decay V̄_dis,n − V̄_dis,ref against a reference
  cycle (by default the first cycle with a discharge), as reported e.g. in Wang et al. 2021 Fig. 1
  ("85 % after 200 cycles at 0.3 C").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from redoxmap.errors import CycleError


def cycle_table(data: pd.DataFrame, mass_mg: float | None = None,
                reference_cycle: int | None = None) -> pd.DataFrame:
    """Per-cycle metrics of a cycler record (equations in the module doc; capacity retention and
    voltage decay as reported in Wang et al. 2021, Fig. 1).

    Cycles are those the cycler numbered. Where a file has no cycle count (BioLogic files without
    ``cycle number``) the reader numbers them from half cycles: a cycle is a charge and the
    discharge after it, and a discharge before the first charge is a cycle of its own.

    Only charge passed within the record is counted. A file that starts in the middle of a charge
    (an export that begins after the test did) has a first charge that is only the part recorded:
    ``arbin_example.csv`` starts with Arbin's charge counter at 0.880 Ah, so cycle 1 charges
    191.9 mAh here, while BEEP, which takes the counter's maximum, reports 1071.9 mAh (including
    the 0.880 Ah passed before the record). Its Coulombic efficiency is then not meaningful. The
    same holds for a last cycle cut short, which the readers report with a
    :class:`~redoxmap.errors.TruncatedFileWarning`.

    Parameters
    ----------
    data : pandas.DataFrame
        The standard table of :func:`read_cycler` (or :func:`standard_table`).
    mass_mg : float, optional
        Active mass (mg), for specific capacities and energy.
    reference_cycle : int, optional
        Cycle that retention and voltage decay are taken against; default the first cycle with a
        discharge.

    Returns
    -------
    pandas.DataFrame
        One row per cycle: ``cycle``, ``charge_capacity_ah``, ``discharge_capacity_ah``,
        ``charge_energy_wh``, ``discharge_energy_wh``, ``mean_charge_voltage_v``,
        ``mean_discharge_voltage_v``, ``coulombic_efficiency``, ``capacity_retention``,
        ``voltage_decay_v`` and, given ``mass_mg``, ``charge_capacity_mah_g``,
        ``discharge_capacity_mah_g`` and ``discharge_energy_wh_kg``.

    Raises
    ------
    CycleError
        If standard columns are missing or the reference cycle has no discharge.

    Examples
    --------
    >>> from redoxmap.echem import standard_table
    >>> t = np.linspace(0, 7200, 721); i = np.where(t <= 3600, 1e-3, -1e-3)
    >>> table = cycle_table(standard_table(t, 3.5 + 0 * t, i))
    >>> round(float(table.charge_capacity_ah.iloc[0]) * 1e3, 2)
    1.0
    """
    needed = ("cycle", "voltage_v", "charge_capacity_ah", "discharge_capacity_ah")
    missing = [c for c in needed if c not in data]
    if missing:
        raise CycleError(f"{data.attrs.get('source', 'table')}: no column(s) {missing}; expected the "
                         "standard table of redoxmap.echem.read_cycler")
    voltage = data["voltage_v"].to_numpy(float)
    v_mid = (voltage + np.concatenate([voltage[:1], voltage[:-1]])) / 2
    per_point = pd.DataFrame({"cycle": data["cycle"].to_numpy()})
    for kind in ("charge", "discharge"):
        counter = data[f"{kind}_capacity_ah"].to_numpy(float)
        dq = np.clip(np.diff(counter, prepend=counter[:1]), 0, None)
        per_point[f"{kind}_capacity_ah"] = dq
        per_point[f"{kind}_energy_wh"] = dq * v_mid
    table = per_point.groupby("cycle", sort=True).sum().reset_index()
    for kind in ("charge", "discharge"):
        q = table[f"{kind}_capacity_ah"]
        table[f"mean_{kind}_voltage_v"] = table[f"{kind}_energy_wh"] / q.where(q > 0)
    table["coulombic_efficiency"] = table.discharge_capacity_ah / table.charge_capacity_ah.where(
        table.charge_capacity_ah > 0)
    discharged = table[table.discharge_capacity_ah > 0]
    if reference_cycle is None:
        reference_cycle = int(discharged.cycle.iloc[0]) if len(discharged) else None
    elif reference_cycle not in set(discharged.cycle):
        raise CycleError(f"reference cycle {reference_cycle} has no discharge; cycles with a discharge: "
                         f"{discharged.cycle.tolist()[:20]}")
    if reference_cycle is not None:
        ref = table.set_index("cycle").loc[reference_cycle]
        table["capacity_retention"] = table.discharge_capacity_ah / ref.discharge_capacity_ah
        table["voltage_decay_v"] = table.mean_discharge_voltage_v - ref.mean_discharge_voltage_v
    else:
        table["capacity_retention"] = np.nan
        table["voltage_decay_v"] = np.nan
    table.attrs = {"reference_cycle": reference_cycle, "source": data.attrs.get("source", "")}
    if mass_mg:
        for kind in ("charge", "discharge"):
            table[f"{kind}_capacity_mah_g"] = table[f"{kind}_capacity_ah"] * 1e3 / (mass_mg * 1e-3)
        table["discharge_energy_wh_kg"] = table.discharge_energy_wh / (mass_mg * 1e-6)
    return table


def cycle_segment(data: pd.DataFrame, cycle: int, kind: str = "discharge") -> pd.DataFrame:
    """The rows of one cycle's charge or discharge, with a constant-voltage hold at the end removed (rows
    after the voltage first comes within 2 mV of its end-of-segment extreme), so that dQ/dV is not
    dominated by charge passed at constant voltage.

    Parameters
    ----------
    data : pandas.DataFrame
        The standard table.
    cycle : int
        The cycle number.
    kind : {"charge", "discharge"}
        Which half of the cycle.

    Returns
    -------
    pandas.DataFrame
        The rows of that segment.

    Raises
    ------
    CycleError
        If ``kind`` is neither, or the cycle has no such segment.

    Examples
    --------
    >>> from redoxmap.simulate import galvanostatic_cycle
    >>> segment = cycle_segment(galvanostatic_cycle(), 1, "discharge")
    >>> segment.step_type.unique().tolist()
    ['discharge']
    """
    if kind not in ("charge", "discharge"):
        raise CycleError(f"kind must be 'charge' or 'discharge', not {kind!r}")
    part = data[(data["cycle"] == cycle) & (data["step_type"] == kind)]
    if part.empty:
        cycles = sorted(set(data.loc[data["step_type"] == kind, "cycle"]))
        raise CycleError(f"{data.attrs.get('source', 'table')}: cycle {cycle} has no {kind}; cycles with "
                         f"a {kind}: {cycles[:20]}")
    v = part["voltage_v"].to_numpy()
    extreme = v.max() if kind == "charge" else v.min()
    reached = np.abs(v - extreme) <= 0.002
    return part.iloc[: int(np.argmax(reached)) + 1]
