"""One-dimensional powder-diffraction patterns: readers, a series reader and an FXYE writer.

A pattern is a ``DataArray`` named ``intensity`` with one dimension, ``two_theta`` (degrees) or
``q`` (Å⁻¹, pyFAI's ``q_nm^-1`` is divided by 10), the intensity's 1σ as the coordinate
``intensity_sigma`` where the file states it, and attrs ``source``, ``format``, ``history`` and,
where the header says so, ``wavelength_a`` (Å; Kα1 when the header names a Kα1/Kα2 pair, with
``wavelength_ka2_a`` beside it) and ``start_time`` (ISO 8601 text, the scan's start).

The format is recognised from the content, not the extension:

* GSAS raw files (``.gsas``, ``.gsa``, ``.raw``, ``.fxye``, ``.xra`` …): a title line, then a
  ``BANK`` line ``BANK n NCHAN NREC CONS|CONST BCOEF1 BCOEF2 0 0 TYPE`` with TYPE ``STD`` (ten
  ``I2,F6.0`` count/intensity fields a line), ``ESD`` (five ``F8.0,F8.0`` intensity/σ pairs),
  ``FXY`` or ``FXYE`` (free-format 2θ in centidegrees, intensity, σ). Constant-wavelength banks
  only (GSAS manual, Larson & Von Dreele, LAUR 86-748, "Powder data files").
* pyFAI-integrated ASCII (``integrate1d(..., filename=...)``): ``#`` header with the wavelength
  in metres (``# Wavelength: 1e-10 m`` or the PONI JSON ``"wavelength": 1e-10``) and the unit as
  the first word of the column line (``2th_deg``, ``2th_rad``, ``q_nm^-1``, ``q_A^-1``).
* Fit2D ``.chi``: title, x label (e.g. ``2-Theta Angle (Degrees)``), y label, point count, rows.
* Column text (``.xy``, ``.xye``, ``.dat``, ``.txt``, GADDS ``.plt`` …): the first block of rows of
  two or three numbers (x, intensity, σ); header lines before it are searched for a wavelength
  (``Lambda1 =``, ``Wavelengths``, ``wavelength =``) and a start time (``Scan time =``,
  ``Time at start =``, ``Start time =``). Without a unit in the header, x is 2θ in degrees.
* any of these compressed with gzip (``.gz``).
"""

from __future__ import annotations

import gzip
import io
import os
import re
import uuid
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from redoxmap.errors import FormatError
from redoxmap.history import with_history

#: pyFAI unit names → (dimension, factor to degrees or Å⁻¹).
UNITS = {"2th_deg": ("two_theta", 1.0), "2th_rad": ("two_theta", 180.0 / np.pi),
         "q_nm^-1": ("q", 0.1), "q_A^-1": ("q", 1.0)}
AXIS_ATTRS = {"two_theta": {"units": "deg", "long_name": "2θ"},
              "q": {"units": "1/angstrom", "long_name": "q = 4π sin θ / λ"}}
GZIP_MAGIC = b"\x1f\x8b"
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_TIME_KEYS = re.compile(r"(?:Scan time|Time at start|Start time)\s*[=:]\s*(.+)$", re.IGNORECASE)


@dataclass
class _Parsed:
    x: np.ndarray
    y: np.ndarray
    sigma: np.ndarray | None
    unit: str | None
    fmt: str
    attrs: dict = field(default_factory=dict)


def _header_attrs(header: str) -> dict:
    """Wavelength (Å) and start time stated in header text."""
    attrs: dict = {}
    pair = {k: re.search(rf"Lambda{k}\s*=\s*({_NUMBER})", header) for k in ("1", "2")}
    gadds = re.search(rf"Wavelengths\s+({_NUMBER})\s+({_NUMBER})\s+({_NUMBER})", header)
    plain = re.search(rf"wavelength\"?\s*[:=]?\s*({_NUMBER})\s*(m\b|nm\b|A\b|Å|angstrom)?", header,
                      re.IGNORECASE)
    if pair["1"]:
        attrs["wavelength_a"] = float(pair["1"].group(1))
        if pair["2"]:
            attrs["wavelength_ka2_a"] = float(pair["2"].group(1))
    elif gadds:  # GADDS: mean, Kα1, Kα2
        attrs["wavelength_a"], attrs["wavelength_ka2_a"] = float(gadds.group(2)), float(gadds.group(3))
    elif plain:
        value, unit = float(plain.group(1)), (plain.group(2) or "").lower()
        scale = 1e10 if unit == "m" or (not unit and value < 1e-6) else 10.0 if unit == "nm" else 1.0
        attrs["wavelength_a"] = round(value * scale, 9)
    for line in header.splitlines():
        match = _TIME_KEYS.search(line.lstrip("#!; "))
        if match:
            stamp = pd.to_datetime(match.group(1).strip(), errors="coerce", format="mixed")
            if stamp is not pd.NaT and not pd.isna(stamp):
                attrs["start_time"] = stamp.isoformat()
                break
    return attrs


def _floats(line: str) -> list[float] | None:
    """The numbers of a data row (whitespace, tab or comma separated), or None for other lines."""
    parts = line.replace(",", " ").split()
    try:
        return [float(p) for p in parts] if parts else None
    except ValueError:
        return None


def _parse_gsas(path: Path, lines: list[str], bank: int) -> _Parsed:
    banks = [i for i, ln in enumerate(lines) if ln.startswith("BANK")]
    numbers = [int(lines[i].split()[1]) if len(lines[i].split()) > 1 and lines[i].split()[1].isdigit()
               else -1 for i in banks]
    if bank not in numbers:
        raise FormatError(f"{path}: GSAS file has banks {numbers}, not bank {bank}")
    start = banks[numbers.index(bank)]
    head = lines[start].split()
    if len(head) < 7:
        raise FormatError(f"{path}: GSAS BANK line {lines[start].strip()!r} has {len(head)} fields; "
                          "expected 'BANK n NCHAN NREC CONS start step 0 0 TYPE'")
    binning = head[4].upper()
    if binning not in ("CONS", "CONST"):
        raise FormatError(f"{path}: GSAS bank {bank} has binning {head[4]!r} (time of flight or energy "
                          "dispersive); redoxmap reads constant-wavelength (CONS) banks only")
    kind = head[-1].upper() if head[-1].upper() in ("STD", "ESD", "FXY", "FXYE", "ALT") else "STD"
    try:
        n_points, first, step = int(head[2]), float(head[5]), float(head[6])
    except ValueError:
        raise FormatError(f"{path}: GSAS BANK line {lines[start].strip()!r}: NCHAN, start and step "
                          "are not numbers") from None
    body = []
    for ln in lines[start + 1:]:
        if ln.startswith(("BANK", "#")):
            break
        body.append(ln.rstrip("\n\r\x1a"))
    sigma = None
    if kind in ("FXY", "FXYE"):  # free format: 2θ (centidegrees), intensity[, σ]
        table = _table(path, [ln for ln in body if ln.strip()])
        if kind == "FXYE" and table.shape[1] < 3:
            raise FormatError(f"{path}: GSAS FXYE bank {bank} has {table.shape[1]} columns; expected x y esd")
        x, y = table[:, 0] / 100.0, table[:, 1]
        sigma = table[:, 2] if kind == "FXYE" else None
    elif kind in ("STD", "ESD"):
        width = 8 if kind == "STD" else 16
        fields = [ln[i:i + width] for ln in body for i in range(0, len(ln), width) if ln[i:i + width].strip()]
        try:
            if kind == "STD":  # I2 counter count (blank = 1), F6.0 intensity; σ² = I / count
                count = np.array([int(f[:2]) if f[:2].strip() else 1 for f in fields], float)
                y = np.array([float(f[2:]) for f in fields])
                sigma = np.sqrt(np.clip(y, 1.0, None) / np.maximum(count, 1.0))
            else:
                y = np.array([float(f[:8]) for f in fields])
                sigma = np.array([float(f[8:]) for f in fields])
        except ValueError as exc:
            raise FormatError(f"{path}: GSAS {kind} data of bank {bank} hold a field that is not a "
                              f"number ({exc})") from None
        x = (first + step * np.arange(y.size)) / 100.0
    else:
        raise FormatError(f"{path}: GSAS bank {bank} in {kind} format (time of flight); expected STD, "
                          "ESD, FXY or FXYE")
    if y.size < n_points:
        raise FormatError(f"{path}: truncated: GSAS bank {bank} states {n_points} points, "
                          f"the file holds {y.size}")
    header = "\n".join(lines[:start])
    return _Parsed(x[:n_points], y[:n_points], None if sigma is None else sigma[:n_points], "2th_deg",
                   f"gsas-{kind.lower()}", {"title": lines[0].strip(), **_header_attrs(header)})


def _parse_pyfai(path: Path, lines: list[str], unit: str | None) -> _Parsed:
    header = [ln for ln in lines if ln.startswith("#")]
    data = [ln for ln in lines if ln.strip() and not ln.startswith("#")]
    column_line = header[-1][1:].split() if header else []
    stated = column_line[0] if column_line and column_line[0] in UNITS else None
    if stated is None and unit is None:
        raise FormatError(f"{path}: pyFAI file whose column line {header[-1].strip()!r} names no x unit "
                          f"(pyFAI 2026.9 writes such a line when it saves errors); pass unit= one "
                          f"of {sorted(UNITS)}")
    table = _table(path, data)
    attrs = _header_attrs("\n".join(header))
    return _Parsed(table[:, 0], table[:, 1], table[:, 2] if table.shape[1] > 2 else None,
                   unit or stated, "pyfai", attrs)


def _chi_unit(label: str) -> str | None:
    text = label.lower()
    if "theta" in text and "deg" in text:
        return "2th_deg"
    if text.startswith("q") and "nm" in text:
        return "q_nm^-1"
    if text.startswith("q") and ("angstrom" in text or "a-1" in text or "å" in text):
        return "q_A^-1"
    return None


def _parse_chi(path: Path, lines: list[str], unit: str | None) -> _Parsed:
    n_points = int(lines[3].strip())
    stated = _chi_unit(lines[1].strip())
    if stated is None and unit is None:
        raise FormatError(f"{path}: Fit2D .chi x label {lines[1].strip()!r} is not 2θ in degrees or q; "
                          f"pass unit= one of {sorted(UNITS)}")
    data = [ln for ln in lines[4:] if ln.strip()]
    table = _table(path, data)
    if table.shape[0] != n_points:
        raise FormatError(f"{path}: Fit2D .chi states {n_points} points on line 4, the file holds "
                          f"{table.shape[0]}")
    return _Parsed(table[:, 0], table[:, 1], table[:, 2] if table.shape[1] > 2 else None,
                   unit or stated, "fit2d-chi", {"title": lines[0].strip()})


def _table(path: Path, rows: list[str]) -> np.ndarray:
    """Rows of 2–3 numbers (x, intensity[, σ]) as an array; numpy's parser first, line by line only
    to name a bad row or to read comma-separated or ragged rows."""
    if not rows:
        raise FormatError(f"{path}: no data rows; expected rows of x, intensity[, sigma]")
    try:
        table = np.loadtxt(rows, ndmin=2, dtype=float)
        if table.shape[1] >= 2:
            return table[:, :3]
    except ValueError:
        pass
    parsed = [_floats(r) for r in rows]
    bad = [i for i, r in enumerate(parsed) if r is None or len(r) < 2]
    if bad:
        raise FormatError(f"{path}: data row {rows[bad[0]].strip()[:60]!r} is not two or three numbers "
                          "(x, intensity[, sigma])")
    width = min(len(r) for r in parsed)
    return np.array([r[:min(width, 3)] for r in parsed], float)


_STARTS_NUMERIC = re.compile(r"^\s*[-+]?(?:\d|\.\d)")


def _parse_columns(path: Path, lines: list[str], unit: str | None) -> _Parsed:
    numeric = np.array([bool(_STARTS_NUMERIC.match(ln)) for ln in lines])
    rows = [i for i in np.flatnonzero(numeric)[:50] if (r := _floats(lines[i])) and 2 <= len(r) <= 4]
    if not rows:
        raise FormatError(f"{path}: no rows of numbers; expected columns of x (2θ or q), intensity "
                          "and optionally sigma")
    start = int(rows[0])
    stop = start + (int(np.argmin(numeric[start:])) if not numeric[start:].all() else len(lines) - start)
    block = _table(path, lines[start:stop])
    rest = [lines[i] for i in range(stop, len(lines)) if numeric[i]]
    if rest:
        try:
            same = np.array_equal(_table(path, rest), block)
        except FormatError:
            same = False
        if not same:
            warnings.warn(f"{path}: {len(rest)} data row(s) after the first block (line {stop + 1}) "
                          "ignored; the first block is read", stacklevel=3)
    header = "\n".join(lines[:start])
    hint = next((u for u, pat in (("q_nm^-1", r"q_nm\^-1|q \(nm"), ("q_A^-1", r"q_A\^-1|q \(A"),
                                  ("2th_deg", r"2[- ]?theta|degrees")) if re.search(pat, header, re.I)),
                None)
    chosen = unit or hint or "2th_deg"
    if chosen == "2th_deg" and np.nanmax(block[:, 0]) > 180:
        raise FormatError(f"{path}: x reaches {np.nanmax(block[:, 0]):g}, which is not 2θ in degrees; "
                          f"pass unit= one of {sorted(UNITS)}")
    return _Parsed(block[:, 0], block[:, 1], block[:, 2] if block.shape[1] > 2 else None, chosen,
                   "columns", _header_attrs(header))


def _text_lines(path: Path, raw: bytes) -> list[str]:
    if b"\x00" in raw[:512]:
        raise FormatError(f"{path}: a binary file (Bruker .raw/.brml, image?); expected a text pattern "
                          "(.xy, .xye, .chi, .dat, GSAS .gsas/.fxye or pyFAI output)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.splitlines()


def read_pattern(path: str | Path, *, unit: str | None = None, wavelength_a: float | None = None,
                 bank: int = 1) -> xr.DataArray:
    """Read one 1D diffraction pattern; the format (GSAS, pyFAI, Fit2D ``.chi``, column text) is
    recognised from the content (module doc).

    Parameters
    ----------
    path : str or pathlib.Path
        The pattern file (may be gzip-compressed).
    unit : str, optional
        The x unit when the file does not state it (``2th_deg``, ``2th_rad``, ``q_nm^-1``,
        ``q_A^-1``); it overrides a stated one.
    wavelength_a : float, optional
        Wavelength (Å), overriding the header's.
    bank : int
        GSAS bank number.

    Returns
    -------
    xarray.DataArray
        ``intensity`` with dim ``two_theta`` (degrees) or ``q`` (Å⁻¹), ascending; the 1σ as the
        ``intensity_sigma`` coordinate where the file states it; attrs ``source``, ``format``,
        ``history`` and, where known, ``wavelength_a`` and ``start_time``.

    Raises
    ------
    FormatError
        If ``unit`` is unknown, the file is missing, empty, damaged, binary or not a pattern.

    Examples
    --------
    >>> import tempfile
    >>> pattern = xr.DataArray([10.0, 50.0, 12.0], dims="two_theta", name="intensity",
    ...                        coords={"two_theta": [18.0, 18.5, 19.0]}, attrs={"wavelength_a": 1.5406})
    >>> back = read_pattern(write_fxye(pattern, Path(tempfile.mkdtemp()) / "p.fxye"))
    >>> back.values.tolist(), back.attrs["format"], back.attrs["wavelength_a"]
    ([10.0, 50.0, 12.0], 'gsas-fxye', 1.5406)
    """
    path = Path(path)
    if unit is not None and unit not in UNITS:
        raise FormatError(f"unit={unit!r} is not one of {sorted(UNITS)}")
    if not path.is_file():
        raise FormatError(f"{path}: file not found")
    raw = path.read_bytes()
    if not raw.strip():
        raise FormatError(f"{path}: empty file; expected a diffraction pattern")
    if raw.startswith(GZIP_MAGIC):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise FormatError(f"{path}: truncated or damaged gzip file ({exc})") from None
    lines = _text_lines(path, raw)
    head = lines[:60]
    if any(ln.startswith("BANK") for ln in head[1:]):
        parsed = _parse_gsas(path, lines, bank)
        parsed.unit = unit or parsed.unit
    elif head[0].startswith("# == pyFAI") or any('"poni_version"' in ln or ln.startswith("# --> ")
                                                  for ln in head):
        parsed = _parse_pyfai(path, lines, unit)
    elif len(lines) > 4 and lines[3].strip().isdigit() and _floats(lines[1]) is None \
            and _floats(lines[4]) is not None:
        parsed = _parse_chi(path, lines, unit)
    else:
        parsed = _parse_columns(path, lines, unit)
    return _to_dataarray(path, parsed, wavelength_a)


def _to_dataarray(path: Path, parsed: _Parsed, wavelength_a: float | None) -> xr.DataArray:
    dim, factor = UNITS[parsed.unit]
    x, y = parsed.x * factor, parsed.y
    sigma = parsed.sigma
    good = np.isfinite(x) & np.isfinite(y)
    if not good.all():
        warnings.warn(f"{path}: {int((~good).sum())} row(s) without a finite x or intensity dropped",
                      stacklevel=3)
        x, y = x[good], y[good]
        sigma = None if sigma is None else sigma[good]
    if x.size < 3:
        raise FormatError(f"{path}: {x.size} data row(s); expected a pattern of at least 3 points")
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    if np.any(np.diff(x) <= 0):
        i = int(np.argmax(np.diff(x) <= 0))
        raise FormatError(f"{path}: x value {x[i]:g} appears twice; expected distinct 2θ or q values")
    coords = {dim: (dim, x, AXIS_ATTRS[dim])}
    if sigma is not None:
        coords["intensity_sigma"] = (dim, np.asarray(sigma, float)[order])
    attrs = {"units": "counts", "source": str(path), "format": parsed.fmt,
             **{k: v for k, v in parsed.attrs.items() if v not in (None, "")}}
    if wavelength_a is not None:
        attrs["wavelength_a"] = float(wavelength_a)
        attrs.pop("wavelength_ka2_a", None)
    attrs = with_history(attrs, "read_pattern", path=str(path), unit=parsed.unit)
    return xr.DataArray(y, dims=(dim,), coords=coords, name="intensity", attrs=attrs)


def read_xrd_series(paths: Sequence[str | Path], *, times: Sequence | None = None,
                    time_s: Sequence[float] | None = None, unit: str | None = None,
                    wavelength_a: float | None = None) -> xr.DataArray:
    """Read a series of patterns into one ``(scan, two_theta)`` or ``(scan, q)`` array.

    Patterns on the first pattern's grid are stacked; others are interpolated linearly onto it (NaN
    outside their range) with a warning that counts them.

    Parameters
    ----------
    paths : sequence of str or pathlib.Path
        Pattern files in scan order.
    times : sequence, optional
        Scan start times (anything ``numpy.datetime64`` accepts); default: the headers' start
        times, when every file states one.
    time_s : sequence of float, optional
        Scan times in seconds on the cycler's clock, when no absolute time is known.
    unit : str, optional
        As in :func:`read_pattern`.
    wavelength_a : float, optional
        As in :func:`read_pattern`.

    Returns
    -------
    xarray.DataArray
        Coords ``scan`` (0…n−1), ``file`` and, where known, ``time`` (datetime64) and ``time_s``.

    Raises
    ------
    FormatError
        If no file is given, the files state different wavelengths or axes, or ``times``/``time_s``
        do not give one time per file.

    Examples
    --------
    >>> import tempfile
    >>> pattern = xr.DataArray([10.0, 50.0, 12.0], dims="two_theta", name="intensity",
    ...                        coords={"two_theta": [18.0, 18.5, 19.0]}, attrs={"wavelength_a": 1.5406})
    >>> path = write_fxye(pattern, Path(tempfile.mkdtemp()) / "p.fxye")
    >>> series = read_xrd_series([path, path], time_s=[0.0, 60.0])
    >>> series.dims, series.time_s.values.tolist()
    (('scan', 'two_theta'), [0.0, 60.0])
    """
    if len(paths) == 0:
        raise FormatError("read_xrd_series: no files given; expected one pattern file per scan")
    patterns = [read_pattern(p, unit=unit, wavelength_a=wavelength_a) for p in paths]
    first = patterns[0]
    dim = first.dims[0]
    grid = first[dim].values
    stacked, moved = [], 0
    for path, pattern in zip(paths, patterns, strict=True):
        if pattern.dims[0] != dim:
            raise FormatError(f"{path}: x axis is {pattern.dims[0]}, the series' first file has {dim}")
        x = pattern[dim].values
        same = x.size == grid.size and np.allclose(x, grid, rtol=0, atol=1e-6 * np.ptp(grid))
        if not same:
            moved += 1
        stacked.append(pattern.values if same else np.interp(grid, x, pattern.values, np.nan, np.nan))
    if moved:
        warnings.warn(f"{moved} of {len(paths)} pattern(s) lie on another {dim} grid than "
                      f"{paths[0]} and were interpolated onto it", stacklevel=2)
    lengths = {round(p.attrs["wavelength_a"], 6) for p in patterns if "wavelength_a" in p.attrs}
    if len(lengths) > 1:
        raise FormatError(f"read_xrd_series: the files state different wavelengths {sorted(lengths)} Å; "
                          "expected one series at one wavelength")
    coords = {"scan": np.arange(len(paths)), dim: first[dim],
              "file": ("scan", [Path(p).name for p in paths])}
    if "intensity_sigma" in first.coords and moved == 0 and all("intensity_sigma" in p.coords
                                                                for p in patterns):
        coords["intensity_sigma"] = (("scan", dim), np.stack([p.intensity_sigma.values for p in patterns]))
    if times is None and all("start_time" in p.attrs for p in patterns):
        times = [p.attrs["start_time"] for p in patterns]
    if times is not None:
        if len(times) != len(paths):
            raise FormatError(f"read_xrd_series: {len(times)} times for {len(paths)} files")
        coords["time"] = ("scan", pd.to_datetime(list(times)).to_numpy("datetime64[ns]"))
    if time_s is not None:
        if len(time_s) != len(paths):
            raise FormatError(f"read_xrd_series: {len(time_s)} times for {len(paths)} files")
        coords["time_s"] = ("scan", np.asarray(time_s, float), {"units": "s"})
    attrs = {k: v for k, v in first.attrs.items() if k not in ("start_time", "history", "title")}
    attrs["source"] = str(Path(paths[0]).parent)
    attrs = with_history(attrs, "read_xrd_series", files=len(paths), first=str(paths[0]))
    return xr.DataArray(np.stack(stacked), dims=("scan", dim), coords=coords, name="intensity",
                        attrs=attrs)


def write_fxye(pattern: xr.DataArray, path: str | Path, *, title: str | None = None) -> Path:
    """Write a 2θ pattern as a GSAS FXYE file (2θ in centidegrees, intensity, σ), under a temporary name,
    then renamed.

    The header holds ``# Scan time =`` (from ``attrs["start_time"]``) and ``# Calibrated
    wavelength =`` lines as 11-BM (APS) writes them, so :func:`read_pattern` recovers both. σ is the
    ``intensity_sigma`` coordinate, or √max(I, 1).

    Parameters
    ----------
    pattern : xarray.DataArray
        One pattern with dim ``two_theta`` (degrees).
    path : str or pathlib.Path
        The file to write.
    title : str, optional
        The title line; default "redoxmap pattern".

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    FormatError
        If the pattern is not on a ``two_theta`` axis alone.

    Examples
    --------
    >>> import tempfile
    >>> pattern = xr.DataArray([10.0, 50.0], dims="two_theta", coords={"two_theta": [18.0, 18.5]})
    >>> write_fxye(pattern, Path(tempfile.mkdtemp()) / "p.fxye").read_text().splitlines()[0]
    'redoxmap pattern'
    """
    path = Path(path)
    if pattern.dims != ("two_theta",):
        raise FormatError(f"write_fxye: pattern dims are {pattern.dims}; expected ('two_theta',)")
    x = 100.0 * pattern.two_theta.values
    y = pattern.values.astype(float)
    sigma = (pattern.intensity_sigma.values if "intensity_sigma" in pattern.coords
             else np.sqrt(np.clip(y, 1.0, None)))
    lines = [(title or pattern.attrs.get("title") or "redoxmap pattern")[:80]]
    if "start_time" in pattern.attrs:
        stamp = pd.Timestamp(pattern.attrs["start_time"])
        lines.append(f"# Scan time =             {stamp.strftime('%b %d, %Y %H:%M:%S.%f').upper()}")
    if "wavelength_a" in pattern.attrs:
        lines.append(f"# Calibrated wavelength = {pattern.attrs['wavelength_a']:.6f}")
    step = float(np.median(np.diff(x)))
    lines.append(f"BANK 1 {x.size} {x.size} CONS {x[0]:.6f} {step:.6f}  0 0 FXYE")
    buffer = io.StringIO()
    np.savetxt(buffer, np.column_stack([x, y, sigma]), fmt="%.6f")
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text("\n".join(lines) + "\n" + buffer.getvalue())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
