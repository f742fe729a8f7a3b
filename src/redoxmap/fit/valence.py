"""Oxidation-state (valence) maps: every pixel fitted with standards of known valence.

Csernica et al., Nat. Energy 6, 642 (2021) (Csernica et al. 2021, STXM/ptychography, Figs. 2, 4, 5) and Liu
et al., Nat. Nanotechnol. (2024) (Liu et al. 2024, Methods): each spectrum is a linear combination of
standards (e.g. Mn2+, Mn3+, Mn4+); the fractions f_k (non-negative, summing to one) give the
effective valence v̄ = Σ f_k v_k. Uses the one fitting path, :func:`redoxmap.fit.lincomb`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import xarray as xr

from redoxmap.errors import FitError
from redoxmap.fit.lincomb import lincomb
from redoxmap.history import with_history
from redoxmap.preprocess.mask import otsu_threshold
from redoxmap.preprocess.normalize import edge_energy, edge_jump, is_short_scan, normalize_stack
from redoxmap.preprocess.resample import energy_window
from redoxmap.spectra.library import ANALYSIS_WINDOWS_EV, resample_library


def valence_inputs(stack: xr.DataArray, library: xr.DataArray,
                   window_ev: tuple[float, float] | None = None,
                   normalize: bool | Literal["auto"] = "auto",
                   standards: Literal["own", "shared"] = "own",
                   e0_ev: Literal["mean", "each"] = "mean",
                   ) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """The spectra and standards :func:`valence_map` fits, and the edge-jump map.

    With ``normalize`` the stack is pre-edge subtracted and edge-step normalized per pixel with one
    E0 (that of its mean spectrum; with ``e0_ev="each"`` each spectrum's own, as for a series of bulk
    scans) and Larch's default windows
    (:func:`redoxmap.preprocess.normalize_stack`; Ravel & Newville 2005). The standards are
    normalized each with its own E0 and windows over its own measured range, then resampled onto the
    stack's energies (``standards="own"``, what Athena does); with ``standards="shared"`` they get
    the stack's E0 and windows instead. Both are then cut to ``window_ev``, by default the library
    edge's analysis window (e.g. Mn L3 638–648 eV) when the stack covers it.

    Parameters
    ----------
    stack : xarray.DataArray
        Optical density ``(energy, …)``, energies in eV.
    library : xarray.DataArray
        Standards ``(component, energy)`` with a ``valence`` coordinate
        (:func:`redoxmap.spectra.load_library`).
    window_ev : (float, float), optional
        Fit window (eV); default the edge's analysis window.
    normalize : bool or "auto"
        Normalize stack and standards (else both are fitted as given); ``"auto"``: for hard-X-ray
        scans, not for short soft-X-ray scans (see :func:`valence_map`).
    standards : {"own", "shared"}
        Normalization parameters of the standards: their own, or the stack's.
    e0_ev : {"mean", "each"}
        One E0 for the stack, or every spectrum its own.

    Returns
    -------
    data : xarray.DataArray
        The spectra to fit (normalized or OD), cut to the window.
    refs : xarray.DataArray
        The standards on the same energies; ``refs.attrs`` records ``edge``, ``window_ev`` and
        ``normalized`` (0 or 1, the choice made).
    edge_jump : xarray.DataArray
        The edge step of each pixel's normalization or, without normalization, the edge jump of
        :func:`redoxmap.preprocess.edge_jump` (OD).

    Raises
    ------
    FitError
        If the library has no ``valence`` coordinate or ``standards`` is not "own" or "shared".

    Examples
    --------
    >>> from redoxmap.simulate.valence import mn_l3_standards, reduced_surface_particle
    >>> sim = reduced_surface_particle(shape=(32, 32))
    >>> data, refs, jump = valence_inputs(sim.stack, mn_l3_standards(sim.stack.energy.values))
    >>> refs.attrs["window_ev"], refs.attrs["normalized"]
    ([638.0, 648.0], 0)
    """
    if normalize == "auto":
        normalize = not bool(is_short_scan(stack["energy"].values, edge_energy(stack)))
    if "valence" not in library.coords:
        raise FitError("the library has no 'valence' coordinate; expected one valence per standard "
                       "(load it with redoxmap.spectra.load_library)")
    if standards not in ("own", "shared"):
        raise FitError(f"standards={standards!r}; expected 'own' or 'shared'")
    edge = library.attrs.get("edge")
    source = library.attrs.get("source", "the library")
    data, jump = stack, None if normalize else edge_jump(stack)
    if normalize and standards == "own":
        library = normalize_stack(library, e0_ev="each")["normalized"].assign_coords(
            valence=library["valence"])
    refs = resample_library(library, stack["energy"].values, source)
    if normalize:
        norm = normalize_stack(stack, e0_ev=e0_ev)
        data, jump = norm["normalized"], norm["edge_step"]
        if standards == "shared":
            e0 = float(norm["e0_ev"].values.flat[0])
            windows = {k: float(norm[k].values.flat[0])
                       for k in ("pre1_ev", "pre2_ev", "norm1_ev", "norm2_ev")}
            refs = normalize_stack(refs, e0_ev=e0, nnorm=int(norm["nnorm"].values.flat[0]),
                                   **windows)["normalized"]
    if window_ev is None and edge in ANALYSIS_WINDOWS_EV:
        lo, hi = ANALYSIS_WINDOWS_EV[edge]
        if data.energy.min() <= lo and data.energy.max() >= hi:
            window_ev = (lo, hi)
    if window_ev is not None:
        data = energy_window(data, *window_ev)
        refs = refs.sel(energy=data["energy"].values)
    refs.attrs["edge"] = edge
    refs.attrs["window_ev"] = None if window_ev is None else [float(v) for v in window_ev]
    refs.attrs["normalized"] = int(normalize)
    return data, refs, jump


def valence_map(stack: xr.DataArray, library: xr.DataArray, mode: str = "auto",
                window_ev: tuple[float, float] | None = None, normalize: bool | Literal["auto"] = "auto",
                mask: xr.DataArray | None = None,
                standards: Literal["own", "shared"] = "own",
                e0_ev: Literal["mean", "each"] = "mean",
                store: Callable[[xr.DataArray], xr.DataArray] | None = None) -> xr.Dataset:
    """Fractions of each standard, effective valence v̄ = Σ f_k v_k with its standard error, and R per
    pixel, from standards of known valence (the linear-combination fit of :func:`lincomb`).

    Spectra and standards are prepared by :func:`valence_inputs` (normalization and window).
    ``mask`` defaults to the pixels whose edge jump is above Otsu's threshold (Otsu 1979) of the
    edge-jump map (all pixels, with a warning, when the map cannot be split). Pixels whose fit fails
    or whose valence leaves the standards' range by more than 3σ are NaN, with the reason in
    ``fit_status`` and counted in the attributes.

    The defaults depend on the scan (:func:`redoxmap.preprocess.is_short_scan`), as measured:

    - hard-X-ray K-edge scans: spectra and standards normalized (each standard with its own
      parameters, as Athena does), fitted with ``"sum1"`` (non-negative fractions summing to
      one, nothing else free; Larch's and Athena's LCF). The XAS Data Library Mn3O4 from its
      MnO/Mn2O3/MnO2 standards gives 2.65 (literature 8/3, Larch 2.656); ``"sum1-scaled"`` gives
      2.59.
    - short soft-X-ray L- and O K-edge scans: the optical density itself is fitted with
      ``"sum1-scaled"`` (fractions times a free thickness scale plus a free background, the OD
      fit of aXis2000 and Csernica et al. 2021). A per-pixel edge step measured over a 30 eV
      scan is small and noisy (on the real ALS Fe L-edge stack it is negative in a third of the
      pixels and the normalized fit leaves R ≈ 0.4), while the OD fit gives R ≈ 4e-4 there; on
      simulated Mn L3 particles the OD fit gives valence RMSE 0.006 (0.8× its reported error)
      against 0.010 normalized and 0.06 normalized with ``"sum1"``.

    Parameters
    ----------
    stack : xarray.DataArray
        Optical density ``(energy, y, x)`` (or any spatial dims), energies in eV.
    library : xarray.DataArray
        Standards ``(component, energy)`` with a ``valence`` coordinate.
    mode : {"auto", "lsq", "nnls", "sum1", "sum1-scaled"}
        Fit mode of :func:`lincomb`, or ``"auto"`` (see above).
    window_ev : (float, float), optional
        Fit window (eV); default the edge's analysis window.
    normalize : bool or "auto"
        Normalize stack and standards first, or ``"auto"`` (see above).
    mask : xarray.DataArray, optional
        Pixels to report statistics over; default Otsu's threshold of the edge jump.
    standards : {"own", "shared"}
        ``"own"`` (default, Athena) or ``"shared"`` normalization of the standards.
    e0_ev : {"mean", "each"}
        ``"mean"`` (image stacks) or ``"each"`` (series of bulk scans): see :func:`valence_inputs`.
    store : callable, optional
        Where a dask stack's per-pixel results are computed (:func:`lincomb`).

    Returns
    -------
    xarray.Dataset
        The :func:`lincomb` Dataset (``valence``, ``valence_err``, ``fraction``, ``fit_status`` …)
        plus ``edge_jump`` (thickness proxy, OD); attributes record the mode, window and whether
        the spectra were normalized.

    Examples
    --------
    >>> from redoxmap.simulate.valence import mn_l3_standards, reduced_surface_particle
    >>> sim = reduced_surface_particle(shape=(32, 32))
    >>> maps = valence_map(sim.stack, mn_l3_standards(sim.stack.energy.values))
    >>> maps.attrs["fit_mode"]
    'sum1-scaled'
    >>> float(abs(maps.valence - sim.truth.valence).where(maps.mask).mean()) < 0.02
    True
    """
    data, refs, jump = valence_inputs(stack, library, window_ev, normalize, standards, e0_ev)
    normalize = bool(refs.attrs["normalized"])
    if mode == "auto":
        mode = "sum1" if normalize else "sum1-scaled"
    if mask is None:
        threshold = otsu_threshold(np.asarray(jump.values))
        mask = xr.ones_like(jump, dtype=bool) if threshold is None else jump > threshold
    maps = lincomb(data, refs, mode=mode, mask=mask, store=store)
    maps["edge_jump"] = jump.reset_coords(drop=True)
    maps["edge_jump"].attrs.update(units="1", long_name="edge jump (OD)")
    maps.attrs = with_history(maps.attrs, "valence_map", mode=mode, normalize=normalize,
                              standards=standards, window_ev=refs.attrs["window_ev"],
                              edge=refs.attrs["edge"])
    maps.attrs["normalized"] = int(normalize)
    return maps
