"""Every combination of standards fitted and ranked, as Athena's "combinatorial fitting" and
Larch's ``lincombo_fitall`` do for one spectrum, here for any number of spectra at once."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import xarray as xr

from redoxmap.errors import FitError
from redoxmap.fit.lincomb import lincomb

#: A weight at or below this counts as absent: the fit is then that of a smaller combination.
ABSENT_WEIGHT = 5e-4


def rank_combinations(spectra: xr.DataArray, refs: xr.DataArray, mode: str = "sum1",
                      sizes: Sequence[int] | None = None) -> xr.Dataset:
    """Fit the spectra with every combination of ``sizes`` standards and rank the fits (Athena's
    combinatorial fitting, Ravel & Newville 2005; Larch's ``lincombo_fitall``, Newville 2013).

    Each combination is fitted by :func:`redoxmap.fit.lincomb` in ``mode``; the fits of each
    spectrum are ranked by their reduced χ² = RSS / (n_energy − n_params) (rank 1 = best). A fit
    in which a standard gets a weight ≤ :data:`ABSENT_WEIGHT` repeats a smaller combination: it is
    marked ``redundant`` and not ranked.

    Parameters
    ----------
    spectra : xarray.DataArray
        Spectra with an ``energy`` dimension (eV): one spectrum, scans or pixels.
    refs : xarray.DataArray
        Standards ``(component, energy)`` on the spectra's energies.
    mode : {"sum1", "nnls", "lsq", "sum1-scaled"}
        Fit mode of :func:`lincomb` (default ``"sum1"``, Larch's).
    sizes : sequence of int, optional
        Numbers of standards per combination; default 1 … K.

    Returns
    -------
    xarray.Dataset
        Over ``combination`` (coordinate: the standards joined by ``+``): ``weight``
        (combination, component, …; NaN for standards not in the combination), ``fraction_err``,
        ``reduced_chi2``, ``r_factor``, ``n_standards``, ``n_params``, ``redundant`` and ``rank``.

    Raises
    ------
    FitError
        If a size is below 1 or above the number of standards.

    Examples
    --------
    >>> energy = np.linspace(0.0, 10.0, 50)
    >>> refs = xr.DataArray(np.stack([np.sin(energy) + 2, np.cos(energy) + 2, energy / 10]),
    ...                     dims=("component", "energy"),
    ...                     coords={"component": ["a", "b", "c"], "energy": energy})
    >>> spectrum = 0.3 * refs.sel(component="a") + 0.7 * refs.sel(component="b")
    >>> ranked = rank_combinations(spectrum, refs, sizes=[2])
    >>> str(ranked.combination[int(ranked["rank"].argmin("combination"))].values)
    'a+b'
    """
    names = [str(c) for c in refs["component"].values]
    sizes = list(range(1, len(names) + 1)) if sizes is None else list(sizes)
    if not sizes or min(sizes) < 1 or max(sizes) > len(names):
        raise FitError(f"sizes {sizes}; expected numbers of standards from 1 to {len(names)}")
    fits, labels = [], []
    for size in sizes:
        for combo in itertools.combinations(range(len(names)), size):
            subset = refs.isel(component=list(combo))
            maps = lincomb(spectra, subset, mode=mode, mask=_everything(spectra))
            n_params = size - 1 if mode == "sum1" else size + (mode == "sum1-scaled")
            weight = maps["weight"].reindex(component=names)
            fits.append(xr.Dataset({
                "weight": weight,
                "fraction_err": maps["fraction_err"].reindex(component=names),
                "reduced_chi2": maps["residual_variance"],
                "r_factor": maps["r_factor"],
                "n_standards": size,
                "n_params": n_params,
                "redundant": (weight.fillna(1.0) <= ABSENT_WEIGHT).any("component"),
            }))
            labels.append("+".join(names[i] for i in combo))
    out = xr.concat(fits, dim="combination").assign_coords(combination=labels)
    score = out["reduced_chi2"].where(~out["redundant"])
    order = score.fillna(np.inf).argsort(axis=0).argsort(axis=0) + 1
    out["rank"] = order.where(~out["redundant"])
    out["rank"].attrs["long_name"] = "rank by reduced χ² among non-redundant fits (1 = best)"
    out["reduced_chi2"].attrs["long_name"] = "reduced χ² = RSS / (n_energy − n_params)"
    out.attrs["fit_mode"] = mode
    return out


def _everything(spectra: xr.DataArray) -> np.ndarray:
    spatial = [d for d in spectra.dims if d != "energy"]
    return np.ones([spectra.sizes[d] for d in spatial], bool)
