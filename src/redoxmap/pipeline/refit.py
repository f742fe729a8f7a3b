"""Fit one pixel (or the mean of a region) of a maps file again, from the stack that made it.

A maps file of ``xanes2d`` or ``valence`` keeps its job's settings (attribute ``job``, see
:meth:`redoxmap.pipeline.jobs.JobConfig.record`) and the drift shifts it applied (``shift_y``,
``shift_x``). :func:`fit_inputs` rebuilds the spectra the job fitted from those: the stack is read
with the same reader options, cut to the same energies, binned, and moved by the recorded shifts
(no new registration); the references or standards are loaded as the job loaded them. That is done
once per maps file; :func:`refit` then fits any pixel or region with the job's own fitting path
(:func:`redoxmap.fit.lincomb`), so a pixel's fractions equal those stored in the map.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from redoxmap.errors import FormatError, MaskError
from redoxmap.fit.lincomb import STATUS_MEANINGS, lincomb
from redoxmap.fit.valence import valence_inputs
from redoxmap.pipeline.valence import ValenceConfig
from redoxmap.pipeline.xanes2d import Xanes2DConfig
from redoxmap.preprocess.align import apply_shifts
from redoxmap.preprocess.resample import bin_pixels, energy_window
from redoxmap.preprocess.stacks import open_stack
from redoxmap.spectra.library import load_library
from redoxmap.spectra.references import load_references

__all__ = ["FitInputs", "fit_inputs", "refit"]

_CONFIGS = {"xanes2d": Xanes2DConfig, "valence": ValenceConfig}


@dataclass
class FitInputs:
    """What a job fitted: the spectra ``(energy, y, x)`` in the maps' pixel frame, the references
    ``(component, energy)`` on the same energies and the fit mode.

    Parameters
    ----------
    spectra : xarray.DataArray
        Optical density (or normalized μ for a normalized valence fit), ``(energy, y, x)`` with
        energy in eV, moved by the drift shifts the job recorded.
    refs : xarray.DataArray
        References ``(component, energy)`` on the same energies (with ``valence`` for standards).
    mode : str
        The fit mode the job used (``nnls``, ``sum1`` …).
    """

    spectra: xr.DataArray
    refs: xr.DataArray
    mode: str


def _job_record(maps: xr.Dataset) -> tuple[str, dict]:
    """The job name and settings a maps file records (attribute ``job``).

    Raises :class:`FormatError` when the maps hold none (written by an older redoxmap or by
    :func:`redoxmap.fit.lincomb` directly).
    """
    text = maps.attrs.get("job")
    source = maps.attrs.get("source", "the maps")
    if not text:
        raise FormatError(f"maps of {source}: no 'job' attribute; expected the settings of the xanes2d "
                          "or valence job that made them (maps written by redoxmap 0.x before the "
                          "napari plugin cannot be fitted again: run the job again)")
    record = json.loads(text)
    if record.get("job") not in _CONFIGS:
        raise FormatError(f"maps of {source}: job {record.get('job')!r}; expected one of "
                          f"{', '.join(_CONFIGS)}")
    return record["job"], record["settings"]


def _located(path: str, folder: Path | None) -> str:
    """``path`` if it exists, else the file of that name beside the maps file (a moved folder)."""
    if Path(path).exists() or folder is None:
        return path
    moved = folder / Path(path).name
    return str(moved) if moved.exists() else path


def fit_inputs(maps: xr.Dataset, maps_path: str | Path | None = None) -> FitInputs:
    """Rebuild the spectra and references the job behind ``maps`` fitted.

    Parameters
    ----------
    maps : xarray.Dataset
        Maps written by the ``xanes2d`` or ``valence`` job (its ``job`` attribute and drift shifts
        are used).
    maps_path : str or pathlib.Path, optional
        Where the maps were read from; input files missing at their recorded path are looked for
        beside it (by name), so a moved results folder still works.

    Returns
    -------
    FitInputs
        The stack is read once; with the job's ``chunks_px`` it stays lazy and :func:`refit`
        reads only the chunks a pixel needs.

    Raises
    ------
    FormatError
        If the maps record no job (written by :func:`redoxmap.fit.lincomb` directly, or by an older
        redoxmap), or an input cannot be read.
    ConfigError
        If a recorded input file is missing (also beside ``maps_path``).
    """
    job, settings = _job_record(maps)
    folder = None if maps_path is None else Path(maps_path).parent
    config_type = _CONFIGS[job]
    for name in config_type.INPUTS:
        value = settings.get(name)
        if isinstance(value, list):
            settings[name] = [_located(v, folder) for v in value]
        elif value is not None:
            settings[name] = _located(value, folder)
    config = config_type(**settings)
    shifts = maps[["shift_y", "shift_x"]] if "shift_y" in maps else None
    if job == "xanes2d":
        return _xanes2d_inputs(config, shifts, maps.attrs["fit_mode"])
    return _valence_inputs(config, shifts, maps)


def _xanes2d_inputs(config: Xanes2DConfig, shifts: xr.Dataset | None, mode: str) -> FitInputs:
    """The steps of :func:`redoxmap.pipeline.run_xanes2d` before the fit, with the recorded shifts."""
    stack = open_stack(config.stack, energies=config.energies, flats=config.flats, darks=config.darks,
                       data=config.data_dataset, energy=config.energy_dataset, chunks=config.chunks_px,
                       i0_spectrum=config.i0, i0_fraction=config.i0_fraction)
    if config.min_ev is not None or config.max_ev is not None:
        stack = energy_window(stack, config.min_ev, config.max_ev)
    stack = bin_pixels(stack, config.bin_px)
    if shifts is not None:
        stack = apply_shifts(stack, shifts.sel(energy=stack["energy"].values))
    refs = load_references(config.references, energy=stack["energy"].values, names=config.names)
    return FitInputs(spectra=stack, refs=refs, mode=mode)


def _valence_inputs(config: ValenceConfig, shifts: xr.Dataset | None, maps: xr.Dataset) -> FitInputs:
    """The steps of :func:`redoxmap.pipeline.run_valence` before the fit, with the recorded shifts
    and the normalization choice the job made."""
    stack = open_stack(config.stack, energies=config.energies, i0_spectrum=config.i0,
                       i0_fraction=config.i0_fraction)
    if shifts is not None:
        stack = apply_shifts(stack, shifts.sel(energy=stack["energy"].values))
    window = None if config.min_ev is None or config.max_ev is None else (config.min_ev, config.max_ev)
    spectra, refs, _ = valence_inputs(stack, load_library(config.library), window,
                                      bool(maps.attrs["normalized"]), config.standards)
    return FitInputs(spectra=spectra, refs=refs, mode=maps.attrs["fit_mode"])


def refit(inputs: FitInputs, y: int | None = None, x: int | None = None,
          region: np.ndarray | None = None) -> xr.Dataset:
    """Fit the spectrum of pixel (``y``, ``x``), or the mean spectrum of the pixels of ``region``.

    The fit is :func:`redoxmap.fit.lincomb` in the job's mode (Wang et al. 2021, Methods,
    Eqs. 2–3: OD(E) = Σ_k w_k μ_k(E) [+ background], f_k = w_k / Σ_j w_j,
    R = Σ_E (data − fit)² / Σ_E data²).

    Parameters
    ----------
    inputs : FitInputs
        From :func:`fit_inputs`.
    y, x : int, optional
        The pixel (row, column of the maps, px).
    region : numpy.ndarray of bool, optional
        A ``(y, x)`` mask instead of a pixel: its mean spectrum is fitted.

    Returns
    -------
    xarray.Dataset
        ``measured`` and ``fit`` (energy; OD or normalized μ), ``weighted`` (component, energy:
        each reference times its weight), ``background`` (the constant of ``sum1-scaled``, else
        0), ``fraction`` and ``fraction_err`` (component), ``r_factor``, ``valence`` and
        ``valence_err`` when the references have valences, and the attribute ``status``
        (``fitted`` or why not).

    Raises
    ------
    MaskError
        If the pixel lies outside the map, or ``region`` does not match it or selects no pixel.

    Examples
    --------
    >>> import tempfile
    >>> from redoxmap.io import write_dxchange
    >>> from redoxmap.pipeline import Xanes2DConfig, run_xanes2d
    >>> from redoxmap.simulate import demo_dataset
    >>> folder = Path(tempfile.mkdtemp())
    >>> sim = demo_dataset(shape=(24, 24))
    >>> write_dxchange(sim.raw, folder / "scan.h5")
    >>> refs = []
    >>> for name in sim.refs.component.values:
    ...     refs.append(folder / f"{name}.csv")
    ...     np.savetxt(refs[-1], np.column_stack([sim.refs.energy, sim.refs.sel(component=name)]),
    ...                delimiter=",")
    >>> maps = run_xanes2d(Xanes2DConfig(stack=folder / "scan.h5", references=refs, align=False)).maps
    >>> pixel = refit(fit_inputs(maps), y=12, x=12)
    >>> pixel.attrs["status"], bool(np.allclose(pixel.fraction, maps.fraction.isel(y=12, x=12)))
    ('fitted', True)
    """
    spectra = inputs.spectra.transpose("energy", "y", "x")
    if region is None:
        if y is None or x is None or not (0 <= y < spectra.sizes["y"] and 0 <= x < spectra.sizes["x"]):
            raise MaskError(f"pixel ({y}, {x}) lies outside the {spectra.sizes['y']} × "
                            f"{spectra.sizes['x']} map")
        # The pixel's whole row is fitted, as the job fitted many pixels at once: the float32
        # products then run through the same matrix-product kernel, in the same order.
        row = _plain(spectra.isel(y=[y]))
        out = _spectrum_fit(row, inputs.refs, inputs.mode, x)
        out.attrs["where"] = f"pixel (y={y}, x={x})"
        return out
    region = np.asarray(region, bool)
    if region.shape != spectra.shape[1:] or not region.any():
        raise MaskError(f"region of shape {region.shape} with {int(region.sum())} pixels; expected "
                        f"a mask of shape {spectra.shape[1:]} selecting at least one pixel")
    rows, cols = np.nonzero(region)
    picked = spectra.isel(y=xr.DataArray(rows, dims="pixel"), x=xr.DataArray(cols, dims="pixel"))
    mean = _plain(picked.mean("pixel")).expand_dims(y=1, x=1).transpose("energy", "y", "x")
    out = _spectrum_fit(mean, inputs.refs, inputs.mode, 0)
    out.attrs["where"] = f"mean of {rows.size} pixels"
    return out


def _plain(spectra: xr.DataArray) -> xr.DataArray:
    """In memory, without the coordinates that do not index (``valid``, shifts …)."""
    return spectra.drop_vars([c for c in spectra.coords if c not in spectra.dims]).compute()


def _spectrum_fit(row: xr.DataArray, refs: xr.DataArray, mode: str, x: int) -> xr.Dataset:
    """Fit the spectra of a row ``(energy, 1, x)``; the curves and numbers of pixel ``x``, NaN
    numbers if its fit failed (with the reason in the attribute ``status``)."""
    measured = row.isel(y=0, x=x, drop=True).astype(float)
    components = refs["component"].values
    n_ref = len(components)
    try:
        maps = lincomb(row, refs, mode=mode)
        status = STATUS_MEANINGS[int(maps["fit_status"].isel(y=0, x=x))]
    except MaskError:  # no pixel of the row could be fitted
        maps, status = None, "not fitted"
    fitted = maps.isel(y=0, x=x, drop=True) if status == "fitted" else None
    nan = np.full(n_ref, np.nan)
    weights = nan if fitted is None else fitted["weight"].values
    background = float(fitted["background_od"]) if fitted is not None and "background_od" in fitted else 0.0
    weighted = xr.DataArray(weights[:, None] * np.asarray(refs.values, float), dims=("component", "energy"),
                            coords={"component": components, "energy": measured["energy"].values})
    out = xr.Dataset({
        "measured": measured,
        "fit": weighted.sum("component", skipna=False) + background,
        "weighted": weighted,
        "background": background,
        "fraction": ("component", nan if fitted is None else fitted["fraction"].values),
        "fraction_err": ("component", nan if fitted is None else fitted["fraction_err"].values),
        "r_factor": np.nan if fitted is None else float(fitted["r_factor"]),
    }, coords={"component": components})
    if "valence" in refs.coords:
        out = out.assign_coords(standard_valence=("component", np.asarray(refs["valence"].values, float)))
        for name in ("valence", "valence_err"):
            out[name] = np.nan if fitted is None else float(fitted[name])
    out.attrs["status"] = status
    out.attrs["fit_mode"] = mode
    return out
