"""Per-cycle metrics from the standard cycler table (see :mod:`redoxmap.echem.readers`)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def cycle_table(data: pd.DataFrame, mass_mg: float | None = None) -> pd.DataFrame:
    """Charge and discharge capacity (Ah; mAh/g with ``mass_mg``), Coulombic efficiency
    (discharge / charge), mean charge and discharge voltage (∫V dQ / Q) and energy (Wh) per cycle.

    Capacities are the change of the cumulative charge / discharge capacity within the cycle, so
    counters that run across cycles (as Arbin's do within a step) are handled.
    """
    rows = []
    for cycle, group in data.groupby("cycle", sort=True):
        row = {"cycle": int(cycle)}
        for kind, column in (("charge", "charge_capacity_ah"), ("discharge", "discharge_capacity_ah")):
            part = group[group["step_type"] == kind]
            if part.empty:
                row.update({f"{kind}_capacity_ah": 0.0, f"{kind}_energy_wh": 0.0,
                            f"mean_{kind}_voltage_v": np.nan})
                continue
            q = part[column].to_numpy()
            dq = np.abs(np.diff(q, prepend=q[0]))
            capacity = float(dq.sum())
            energy = float((dq * part["voltage_v"].to_numpy()).sum())
            row.update({f"{kind}_capacity_ah": capacity, f"{kind}_energy_wh": energy,
                        f"mean_{kind}_voltage_v": energy / capacity if capacity > 0 else np.nan})
        rows.append(row)
    table = pd.DataFrame(rows)
    table["coulombic_efficiency"] = np.where(table["charge_capacity_ah"] > 0,
                                             table["discharge_capacity_ah"] / table["charge_capacity_ah"],
                                             np.nan)
    if mass_mg:
        for kind in ("charge", "discharge"):
            table[f"{kind}_capacity_mah_g"] = table[f"{kind}_capacity_ah"] * 1e3 / (mass_mg * 1e-3)
    return table
