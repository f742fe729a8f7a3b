"""One bulk XAS scan as the readers of :mod:`redoxmap.io.xas_series` return it, and the header times
they look for.

A scan's *time* is when its acquisition started; ``time_offset_s`` is the time from that start to
the moment the scan stands for (the middle of the scan, or of the scans averaged into it) where the
file says so: half of ``Scan.end_time`` − ``Scan.start_time`` in XDI, SOLEIL's ``Time from start``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["XasScan"]

#: Header keys that state a scan's start time: XDI ``Scan.start_time``, SOLEIL ``Time at start``,
#: SPEC ``#D``, and the common ``Start time``/``start_time``/``Scan time``/``date``.
TIME_KEY = re.compile(r"^(?:(?:Scan\.start_time|Time at start|Start[ _]time|Scan time|Date)\s*[=:]\s*|D\s+)",
                      re.IGNORECASE)
#: SOLEIL's extranormal: seconds from the scan's start to the mean time of the averaged scans.
OFFSET_KEY = re.compile(r"^Time from start \(seconds\)\s*=\s*([-+0-9.eE]+)", re.IGNORECASE)


@dataclass
class XasScan:
    """One XAS scan as a reader found it: energy, μ(E), a label, and what the file says about when
    it was measured (module doc for *time* and *offset*).

    Parameters
    ----------
    energy_ev : numpy.ndarray
        Energies (eV), increasing.
    mu : numpy.ndarray
        μ(E) on those energies (dimensionless: absorbance, or edge-step normalized when
        ``normalized``).
    label : str
        The scan's name (sample name, column name or file stem).
    source : str
        The file it came from.
    fmt : str
        The reader: ``"xdi"``, ``"columns"``, ``"nxxas"`` or ``"athena"``.
    start_time : pandas.Timestamp, optional
        Wall-clock time the acquisition started, where the file states it.
    time_offset_s : float
        Time (s) from ``start_time`` to the moment the scan stands for; NaN where not stated.
    normalized : bool
        The file holds μ normalized to a unit edge step.
    notes : list of str
        What the reader changed (e.g. energies converted from keV), kept in the history.

    Examples
    --------
    >>> scan = XasScan(np.array([6530.0, 6560.0]), np.array([0.1, 1.0]), "MnO", "MnO.xdi", "xdi")
    >>> scan.time_offset_s, scan.normalized
    (nan, False)
    """

    energy_ev: np.ndarray
    mu: np.ndarray
    label: str
    source: str
    fmt: str
    start_time: pd.Timestamp | None = None
    time_offset_s: float = float("nan")
    normalized: bool = False
    notes: list[str] = field(default_factory=list)


def _parse_time(text: str) -> pd.Timestamp | None:
    """A date and time from header text (ISO 8601, SPEC's ``Thu Mar 16 14:48:54 2002`` …), as a
    wall-clock time (a time zone, if stated, is dropped), or None.

    >>> str(_parse_time("2022-07-26 23:01:58.055"))
    '2022-07-26 23:01:58.055000'
    >>> _parse_time("not a time") is None
    True
    """
    text = text.strip().strip("'\"")
    if not text or not re.search(r"\d{1,2}:\d{2}", text):
        return None
    stamp = pd.to_datetime(text, errors="coerce", format="mixed")
    if stamp is None or pd.isna(stamp):
        return None
    return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp


def _header_time(lines: list[str]) -> tuple[pd.Timestamp | None, float]:
    """Start time and time offset (s, NaN if not stated) from header lines (``#``, ``!`` or ``;``
    comment marks are ignored).

    >>> _header_time(["# Time at start= 2022-07-26 23:01:58", "# Time from start (seconds) = 120"])
    (Timestamp('2022-07-26 23:01:58'), 120.0)
    """
    start, offset = None, float("nan")
    for line in lines:
        body = line.lstrip("#!; \t")
        if start is None and (match := TIME_KEY.match(body)):
            start = _parse_time(body[match.end():])
        elif match := OFFSET_KEY.match(body):
            offset = float(match.group(1))
    return start, offset
