"""Reference spectra: reading two-column files and resampling them onto a stack's energies."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr
from scipy.interpolate import interp1d

from redoxmap.errors import EnergyError, FormatError, ResampleWarning
from redoxmap.history import with_history
from redoxmap.io.spectrum import read_spectrum


def resample(energy_ev: np.ndarray, values: np.ndarray, target_ev: np.ndarray,
             source: str) -> tuple[np.ndarray, str | None]:
    """Spectra sampled at ``energy_ev``, linearly interpolated onto ``target_ev``.

    A spectrum that ends short of the target by less than one target energy step at that end is
    extended flat (its end value repeated), as Larch does silently; here with a
    :class:`~redoxmap.errors.ResampleWarning` and a returned note for the history. Further short
    raises: a measured edge is never extrapolated.

    Parameters
    ----------
    energy_ev : numpy.ndarray
        Increasing energies of the spectra (eV).
    values : numpy.ndarray
        Spectra, energy along the last axis.
    target_ev : numpy.ndarray
        Energies to resample onto (eV), increasing.
    source : str
        The file or name the spectra come from, for messages.

    Returns
    -------
    resampled : numpy.ndarray
        The spectra on ``target_ev``.
    note : str or None
        A note when they were extended, else None.

    Raises
    ------
    EnergyError
        If the spectra end short of ``target_ev`` by one energy step or more.

    Examples
    --------
    >>> out, note = resample(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 2.0]),
    ...                      np.array([1.5, 2.5]), "example")
    >>> out.tolist(), note
    ([0.5, 1.5], None)
    """
    energy_ev = np.asarray(energy_ev, float)
    target = np.asarray(target_ev, float)
    lo, hi = target.min(), target.max()
    step_lo = target[1] - target[0] if target.size > 1 else 0.0
    step_hi = target[-1] - target[-2] if target.size > 1 else 0.0
    short_lo = max(energy_ev[0] - lo, 0.0)
    short_hi = max(hi - energy_ev[-1], 0.0)
    if short_lo > 1e-6 and short_lo >= step_lo or short_hi > 1e-6 and short_hi >= step_hi:
        raise EnergyError(
            f"{source}: reference covers {energy_ev[0]:g}–{energy_ev[-1]:g} eV but the stack spans "
            f"{lo:g}–{hi:g} eV; expected a reference covering every stack energy, or ending short "
            "by less than one energy step (crop the stack with an energy window or extend the reference)"
        )
    note = None
    if short_lo > 1e-6 or short_hi > 1e-6:
        note = (f"{source}: reference extended flat by {short_lo:.3g} eV below and {short_hi:.3g} eV "
                f"above its range {energy_ev[0]:g}–{energy_ev[-1]:g} eV (less than one energy step)")
        warnings.warn(note, ResampleWarning, stacklevel=3)
    held = np.clip(target, energy_ev[0], energy_ev[-1])  # flat beyond the ends
    return interp1d(energy_ev, np.asarray(values, float), axis=-1, assume_sorted=True)(held), note


def load_references(paths: Sequence[str | Path], energy: np.ndarray | xr.DataArray,
                    names: Sequence[str] | None = None,
                    valence: Sequence[float] | None = None) -> xr.DataArray:
    """Load reference spectra (two-column files, :func:`redoxmap.io.read_spectrum`) and resample them
    linearly onto ``energy``.

    A reference that does not cover the whole energy range raises (it is never extrapolated) unless
    it ends short by less than one energy step: see :func:`resample`.

    Parameters
    ----------
    paths : sequence of str or pathlib.Path
        One file per reference (energy, absorption; eV or keV).
    energy : numpy.ndarray or xarray.DataArray
        Energies to resample onto (eV), e.g. ``stack.energy``.
    names : sequence of str, optional
        Component names; default each file's stem.
    valence : sequence of float, optional
        Valence of each reference, stored as a ``valence`` coordinate.

    Returns
    -------
    xarray.DataArray
        References ``(component, energy)`` with a history of the files read.

    Raises
    ------
    FormatError
        If ``names`` or ``valence`` do not give one entry per file, the names repeat, or a file
        cannot be read.
    EnergyError
        If a reference does not cover ``energy``.

    Examples
    --------
    >>> from redoxmap.data import demo_reference_paths
    >>> refs = load_references(demo_reference_paths(), energy=np.arange(6520, 6630.0))
    >>> refs.dims, refs.component.values.tolist()
    (('component', 'energy'), ['Li2MnO3_MnK', 'Mn2O3_MnK'])
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
        resampled, extended = resample(ref_e, ref_mu, target, str(path))
        if extended:
            attrs = with_history(attrs, "note", text=extended)
        spectra.append(resampled)
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
