"""Place scans (XRD patterns, XAS spectra) on the cycler's record: voltage, capacity and cycle per scan.

A scan's time on the cycler's clock is

    t = (scan time − cycler start) + offset_s          for absolute times (datetime64), or
    t = scan time + offset_s                            for times already in cycler seconds,

optionally moved to the middle of the exposure (+ exposure_s / 2). Voltage, current and capacities
are interpolated linearly between the two cycler records around t; cycle, step and step type are
those of the record at or before t. A scan before the first or after the last record is flagged
(``in_range`` False), gets NaN, and is counted in a warning: it is never extrapolated.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from redoxmap.errors import FormatError
from redoxmap.history import with_history

INTERPOLATED = ("voltage_v", "current_a", "capacity_ah", "charge_capacity_ah", "discharge_capacity_ah")
PREVIOUS = ("cycle", "step", "step_type")


def _cycler_start(cycler: pd.DataFrame, cycler_start) -> pd.Timestamp:
    start = cycler_start if cycler_start is not None else cycler.attrs.get("start_time")
    if start is None:
        raise FormatError(f"{cycler.attrs.get('source', 'cycler table')}: no start time "
                          "(attrs['start_time']) to place absolute scan times; pass cycler_start= or scan "
                          "times in cycler seconds")
    stamp = pd.Timestamp(start)
    return stamp.tz_localize(None) if stamp.tz is not None else stamp  # wall clock, as scan headers are


def sync_scans(scan_time: Sequence, cycler: pd.DataFrame, *, offset_s: float = 0.0,
               exposure_s: float | Sequence[float] | None = None, cycler_start=None) -> pd.DataFrame:
    """Voltage, current, capacity and cycle of the cycler at each scan's time (rules in the module doc):
    linear interpolation between the two records around the scan, cycle/step of the record at or
    before it, never extrapolated.

    Parameters
    ----------
    scan_time : sequence
        Scan start times: datetime-like (placed with the cycler's ``attrs["start_time"]`` or
        ``cycler_start``) or numbers in seconds on the cycler's ``time_s`` clock.
    cycler : pandas.DataFrame
        The standard table of :func:`redoxmap.echem.read_cycler` (or ``standard_table``).
    offset_s : float
        Added to every scan time (s), e.g. the scan computer's clock minus the cycler's.
    exposure_s : float or sequence of float, optional
        Scan duration(s) (s); if given, each scan is placed at its middle.
    cycler_start : datetime-like, optional
        Overrides ``attrs["start_time"]``.

    Returns
    -------
    pandas.DataFrame
        One row per scan: ``time_s`` (cycler clock), the interpolated ``voltage_v``, ``current_a``,
        ``capacity_ah``, ``charge_capacity_ah``, ``discharge_capacity_ah``, the previous record's
        ``cycle``, ``step``, ``step_type``, its index ``record``, and ``in_range``; a warning counts
        the scans outside the record (NaN there).

    Raises
    ------
    FormatError
        If no scan time is given, the cycler has fewer than two ordered records, a scan time is not a
        date, or absolute times come without a cycler start.

    Examples
    --------
    >>> import warnings
    >>> from redoxmap.echem import standard_table
    >>> table = standard_table(np.array([0.0, 60.0, 120.0]), np.array([3.0, 3.2, 3.4]), np.ones(3))
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     scans = sync_scans([30.0, 500.0], table)
    >>> scans.voltage_v.tolist(), scans.in_range.tolist(), len(caught)
    ([3.1, nan], [True, False], 1)
    """
    values = np.asarray(scan_time)
    if values.size == 0:
        raise FormatError("sync_scans: no scan times")
    if np.issubdtype(values.dtype, np.number):
        t = values.astype(float) + offset_s
    else:
        stamps = pd.to_datetime(pd.Series(values.ravel()), errors="coerce")
        if stamps.isna().any():
            i = int(np.argmax(stamps.isna().to_numpy()))
            raise FormatError(f"sync_scans: scan time '{values.ravel()[i]}' (scan {i}) is not a date "
                              "and time")
        if stamps.dt.tz is not None:
            stamps = stamps.dt.tz_localize(None)
        t = (stamps - _cycler_start(cycler, cycler_start)).dt.total_seconds().to_numpy() + offset_s
    if exposure_s is not None:
        t = t + np.asarray(exposure_s, float) / 2.0
    record_t = cycler.time_s.to_numpy(float)
    if record_t.size < 2 or np.any(np.diff(record_t) < 0):
        raise FormatError(f"{cycler.attrs.get('source', 'cycler table')}: time_s must hold at least two "
                          "non-decreasing records to interpolate scans on")
    inside = (t >= record_t[0]) & (t <= record_t[-1])
    out = pd.DataFrame({"time_s": t})
    for name in INTERPOLATED:
        if name in cycler:
            out[name] = np.where(inside, np.interp(t, record_t, cycler[name].to_numpy(float)), np.nan)
    record = np.clip(np.searchsorted(record_t, t, side="right") - 1, 0, record_t.size - 1)
    for name in PREVIOUS:
        if name in cycler:
            column = cycler[name].to_numpy()
            out[name] = np.where(inside, column[record], -1 if name != "step_type" else "")
    out["record"] = np.where(inside, record, -1)
    out["in_range"] = inside
    if not inside.all():
        outside = np.flatnonzero(~inside)
        warnings.warn(f"{int(outside.size)} of {t.size} scan(s) lie outside the cycler record "
                      f"({record_t[0]:g}–{record_t[-1]:g} s): scans {outside.tolist()[:10]} at "
                      f"t = {np.round(t[outside][:10], 1).tolist()} s get NaN voltage and capacity "
                      "(in_range False)", stacklevel=2)
    out.index.name = "scan"
    return out


def attach_cycler(series: xr.DataArray | xr.Dataset, cycler: pd.DataFrame,
                  **kwargs) -> xr.DataArray | xr.Dataset:
    """A scan series with the :func:`sync_scans` columns attached as coordinates along ``scan``.

    Scan times come from the ``time`` coordinate (datetime64) or, failing that, ``time_s`` (cycler
    seconds).

    Parameters
    ----------
    series : xarray.DataArray or xarray.Dataset
        Scans along ``scan`` with a ``time`` or ``time_s`` coordinate (e.g. an XRD series).
    cycler : pandas.DataFrame
        The standard table of :func:`redoxmap.echem.read_cycler`.
    **kwargs
        Options of :func:`sync_scans` (``offset_s``, ``exposure_s``, ``cycler_start``).

    Returns
    -------
    xarray.DataArray or xarray.Dataset
        The series with coordinates ``cycler_time_s``, ``voltage_v``, ``current_a``,
        ``capacity_ah``, … and ``in_range`` along ``scan``.

    Raises
    ------
    FormatError
        If the series has no time coordinate along ``scan``.

    Examples
    --------
    >>> from redoxmap.echem import standard_table
    >>> table = standard_table(np.array([0.0, 60.0, 120.0]), np.array([3.0, 3.2, 3.4]), np.ones(3))
    >>> series = xr.DataArray([1.0, 2.0], dims="scan", coords={"time_s": ("scan", [30.0, 90.0])})
    >>> attach_cycler(series, table).voltage_v.values.tolist()
    [3.1, 3.3]
    """
    if "time" in series.coords:
        times = series.time.values
    elif "time_s" in series.coords:
        times = series.time_s.values
    else:
        raise FormatError("attach_cycler: the series has no 'time' or 'time_s' coordinate along 'scan'")
    table = sync_scans(times, cycler, **kwargs)
    coords = {f"cycler_{name}" if name == "time_s" else name: ("scan", table[name].to_numpy())
              for name in table.columns}
    out = series.assign_coords(coords)
    out.attrs = with_history(series.attrs, "attach_cycler", cycler=cycler.attrs.get("source", "table"),
                             **{k: v for k, v in kwargs.items() if not isinstance(v, np.ndarray)})
    return out
