"""A simulated galvanostatic charge–discharge of a layered-oxide cathode, and an EC-Lab text file of it.

The open-circuit voltage of Li(1−x)MO2 is modelled as OCV(x) = V0 + s x + (RT/F)·k ln((x + ε)/(1 + ε − x))
(a sloping solid-solution curve with the ideal lattice-gas term of an insertion electrode, as in
the thermodynamics of insertion electrodes of Thomas & Newman 2003, J. Power Sources 119–121, 844;
the form only, no fitted parameters), shifted by +η on charge and −η on discharge. x is the fraction of Li
removed, x = Q / Q_max.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from redoxmap.echem.table import standard_table

_RT_F = 0.025693  # V at 298.15 K


def ocv_layered(x):
    """Open-circuit voltage of the simulated Li(1−x)MO2 (module doc):
    OCV(x) = V0 + s x + (RT/F)·k ln((x + ε)/(1 + ε − x)); 3.27 V at x = 0, 4.18 V at x = 0.75.

    Parameters
    ----------
    x : array_like
        Fraction of Li removed (0–1).

    Returns
    -------
    numpy.ndarray
        OCV (V).

    Examples
    --------
    >>> round(float(ocv_layered(0.5)), 3)
    3.925
    """
    x = np.asarray(x, float)
    return 3.55 + 0.75 * x + _RT_F * 2.4 * np.log((x + 0.01) / (1.01 - x))


def galvanostatic_cycle(*, capacity_ah: float = 2e-3, x_max: float = 0.75, x_return: float = 0.1,
                        n_cycles: int = 1, c_rate: float = 0.1, rest_s: float = 1800.0, step_s: float = 30.0,
                        overpotential_v: float = 0.04,
                        start_time: str = "2024-03-01T09:00:00") -> pd.DataFrame:
    """A simulated galvanostatic record: a rest, then ``n_cycles`` of charge to ``x_max`` and discharge
    to ``x_return`` at ``c_rate``, the voltage :func:`ocv_layered` ± ``overpotential_v``.

    Parameters
    ----------
    capacity_ah : float
        Charge of the full x = 0 → 1 delithiation (Ah).
    x_max : float
        Li fraction removed at the end of each charge.
    x_return : float
        Li fraction left removed at the end of each discharge (the first charge starts from x = 0).
    n_cycles : int
        Charge–discharge cycles, numbered 1, 2, … in the ``cycle`` column.
    c_rate : float
        Current as a fraction of ``capacity_ah`` per hour.
    rest_s : float
        Open-circuit rest before the first charge (s).
    step_s : float
        Recording interval (s).
    overpotential_v : float
        Added on charge, subtracted on discharge (V).
    start_time : str
        Clock time of ``time_s = 0`` (ISO 8601), stored as ``attrs["start_time"]``.

    Returns
    -------
    pandas.DataFrame
        The standard cycler table (:mod:`redoxmap.echem.readers`) plus ``x`` (Li removed), with
        ``attrs["start_time"]``.

    Examples
    --------
    >>> table = galvanostatic_cycle(n_cycles=2)
    >>> round(float(table.x.max()), 3), int(table.cycle.max())
    (0.75, 2)
    """
    current_a = c_rate * capacity_ah
    hours_per_x = capacity_ah / current_a * 3600.0
    knots_t, knots_x, knots_cycle = [0.0, rest_s], [0.0, 0.0], [1, 1]
    x_now = 0.0
    for cycle in range(1, n_cycles + 1):
        for x_next in (x_max, x_return):
            knots_t.append(knots_t[-1] + abs(x_next - x_now) * hours_per_x)
            knots_x.append(x_next)
            knots_cycle.append(cycle)
            x_now = x_next
    time_s = np.arange(0.0, knots_t[-1] + step_s / 2, step_s)
    x = np.interp(time_s, knots_t, knots_x)
    segment = np.clip(np.searchsorted(knots_t, time_s, side="left"), 1, len(knots_t) - 1)
    slope = np.sign(np.diff(knots_x))[segment - 1]
    current = slope * current_a
    voltage = ocv_layered(x) + np.sign(current) * overpotential_v
    cycle = np.asarray(knots_cycle)[segment]
    table = standard_table(time_s, voltage, current, cycle=cycle)
    table["x"] = x
    table.attrs = {"source": "simulated", "format": "simulated",
                   "start_time": pd.Timestamp(start_time).isoformat()}
    return table


def write_mpt(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a cycler table as an EC-Lab ASCII export (``.mpt``) that :func:`redoxmap.echem.read_cycler`
    reads, under a temporary name, then renamed.

    The file holds ``EC-Lab ASCII FILE``, ``Nb header lines : N``, ``Acquisition started on :
    MM/DD/YYYY HH:MM:SS.fff`` (from ``attrs["start_time"]``), then tab-separated columns named as
    EC-Lab names them (``time/s``, ``Ewe/V``, ``<I>/mA``, ``(Q-Qo)/mA.h``, ``cycle number``,
    ``Ns``), with decimal points.

    Parameters
    ----------
    table : pandas.DataFrame
        A standard cycler table with ``attrs["start_time"]`` (e.g. :func:`galvanostatic_cycle`).
    path : str or pathlib.Path
        The ``.mpt`` file to write.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import tempfile
    >>> from redoxmap.echem import read_cycler
    >>> table = galvanostatic_cycle()
    >>> path = write_mpt(table, Path(tempfile.mkdtemp()) / "cycle.mpt")
    >>> len(read_cycler(path)) == len(table)
    True
    """
    path = Path(path)
    start = pd.Timestamp(table.attrs["start_time"])
    columns = ["mode", "ox/red", "error", "Ns", "time/s", "Ewe/V", "<I>/mA", "(Q-Qo)/mA.h", "cycle number"]
    header = ["EC-Lab ASCII FILE", "Nb header lines : {n}", "",
              "Galvanostatic Cycling with Potential Limitation", "", "Run on channel : 1 (SN 0001)",
              "User : redoxmap simulation",
              f"Acquisition started on : {start.strftime('%m/%d/%Y %H:%M:%S.%f')[:-3]}",
              "Device : simulated", "", "\t".join(columns) + "\t"]
    header[1] = header[1].format(n=len(header))
    current_ma = table.current_a.to_numpy() * 1e3
    rows = pd.DataFrame({
        "mode": 1, "ox/red": (current_ma > 0).astype(int), "error": 0, "Ns": table.step.to_numpy(),
        "time/s": table.time_s.to_numpy(), "Ewe/V": table.voltage_v.to_numpy(), "<I>/mA": current_ma,
        "(Q-Qo)/mA.h": table.capacity_ah.to_numpy() * 1e3, "cycle number": table.cycle.to_numpy()})
    body = rows.to_csv(sep="\t", header=False, index=False, float_format="%.7E", lineterminator="\n")
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_bytes(("\n".join(header) + "\n" + body).encode("latin-1"))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
