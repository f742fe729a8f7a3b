"""Reference spectra: reading two-column files and resampling them onto a stack's energies."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from redoxmap.errors import EnergyError, FormatError
from redoxmap.history import with_history
from redoxmap.io.energies import check_increasing, to_ev

_SPLIT = re.compile(r"[,\s;]+")


def read_spectrum(path: str | Path) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Read a two-column spectrum (energy, absorption) from text or CSV.

    Columns may be separated by commas, tabs, semicolons or spaces; a header (any lines before
    the numbers) and ``#`` comments are allowed; extra columns are ignored. Energies in keV are
    recognised and converted to eV. Returns ``(energy_ev, absorption, note)`` sorted by energy.
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: reference spectrum file not found")
    rows = []
    for n, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        fields = [f for f in _SPLIT.split(text) if f]
        try:
            values = [float(f) for f in fields[:2]]
        except ValueError:
            if rows:
                raise FormatError(
                    f"{path}, line {n}: {line.strip()!r} is not two numbers; expected "
                    "energy and absorption columns"
                ) from None
            continue  # header line
        if len(values) < 2:
            raise FormatError(f"{path}, line {n}: one column found; expected energy and absorption")
        rows.append(values)
    if len(rows) < 2:
        raise FormatError(f"{path}: fewer than two data rows; expected energy, absorption columns")
    data = np.array(rows)
    energy, note = to_ev(data[:, 0], str(path))
    order = np.argsort(energy, kind="stable")
    energy, absorption = energy[order], data[order, 1]
    check_increasing(energy, str(path))
    return energy, absorption, note


def load_references(paths: Sequence[str | Path], energy: np.ndarray | xr.DataArray,
                    names: Sequence[str] | None = None,
                    valence: Sequence[float] | None = None) -> xr.DataArray:
    """Load reference spectra and resample them (linear interpolation) onto ``energy`` (eV).

    The ``component`` coordinate is each file's stem unless ``names`` is given. A reference that
    does not cover the whole energy range raises :class:`EnergyError`: we never extrapolate.

    >>> from redoxmap.data import demo_reference_paths
    >>> refs = load_references(demo_reference_paths(), energy=np.arange(6520, 6630.0))
    >>> refs.dims
    ('component', 'energy')
    """
    paths = [Path(p) for p in paths]
    target = np.asarray(energy, dtype=float)
    if names is not None and len(names) != len(paths):
        raise FormatError(f"{len(names)} names given for {len(paths)} reference files")
    if valence is not None and len(valence) != len(paths):
        raise FormatError(f"{len(valence)} valences given for {len(paths)} reference files")
    spectra, attrs = [], {"history": []}
    for path in paths:
        ref_e, ref_mu, note = read_spectrum(path)
        if note:
            attrs = with_history(attrs, "note", text=note)
        lo, hi = target.min(), target.max()
        if ref_e[0] > lo + 1e-6 or ref_e[-1] < hi - 1e-6:
            raise EnergyError(
                f"{path}: reference covers {ref_e[0]:g}–{ref_e[-1]:g} eV but the stack spans "
                f"{lo:g}–{hi:g} eV; expected a reference covering every stack energy "
                "(crop the stack with an energy window or extend the reference)"
            )
        spectra.append(np.interp(target, ref_e, ref_mu))
    component = list(names) if names is not None else [p.stem for p in paths]
    if len(set(component)) != len(component):
        raise FormatError(f"reference names are not unique: {component}; name them explicitly")
    refs = xr.DataArray(np.array(spectra), dims=("component", "energy"),
                        coords={"component": component, "energy": target},
                        attrs=with_history(attrs, "load_references",
                                           files=[str(p) for p in paths]))
    refs["energy"].attrs["units"] = "eV"
    if valence is not None:
        refs = refs.assign_coords(valence=("component", np.asarray(valence, dtype=float)))
    return refs
