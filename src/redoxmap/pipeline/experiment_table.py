"""The tidy per-particle table of an experiment: one row per particle of a sample's maps.

Particles are the regions of the map's mask (holes of fewer than ``min_particle_px`` pixels, such as
pixels that noise pushed below the mask threshold, filled in; objects smaller than that dropped;
touching particles split) labelled by :func:`redoxmap.segment.particles.label_particles`. Each row
holds the area (2D, nm²) or volume (3D, nm³) and equivalent diameter, the mean, median and standard
deviation of every map variable over the particle (NaN pixels — failed fits — left out), the mean
and standard error of the summary variable in equal-area (equal-volume) shells from the surface
(shell 1) to the centre (Liu et al., Nat. Nanotechnol. 2024, Fig. 3b–e), and, when the sample has
a profile step with a time at high state of charge, the profile of that variable versus distance from
the particle's own edge fitted with the diffusion and core–shell models of
:mod:`redoxmap.models.transport` (Csernica et al., Nat. Energy 6, 642 (2021), Fig. 2e/g), the
particle's radius taken as its equivalent radius: D with its 95 % interval, the surface and bulk
values, the front depth and the model preferred by AIC.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import ndimage

from redoxmap.errors import ConfigError, FitError, RedoxmapWarning

__all__: list[str] = []  # the tables of run_experiment; nothing here is public


def _map_variables(maps: xr.Dataset, dims: tuple[str, ...]) -> dict[str, xr.DataArray]:
    """Every float map over ``dims`` (one per component for per-component maps, named
    ``fraction_Mn3+``), except the mask."""
    out = {}
    for name, var in maps.data_vars.items():
        if name == "mask" or not np.issubdtype(var.dtype, np.floating):
            continue
        if var.dims == dims:
            out[str(name)] = var
        elif "component" in var.dims and tuple(d for d in var.dims if d != "component") == dims:
            for comp in var["component"].values:
                out[f"{name}_{comp}"] = var.sel(component=comp)
    return out


def _selected(maps: xr.Dataset, variable: str, component: str | None) -> xr.DataArray:
    if variable not in maps:
        raise ConfigError(f"summary.variable {variable!r} is not in the maps; expected one of "
                          f"{', '.join(map(str, maps.data_vars))}")
    values = maps[variable]
    if "component" in values.dims:
        if component is None:
            raise ConfigError(f"summary.variable {variable!r} has components "
                              f"{', '.join(map(str, values.component.values))}; expected summary.component")
        values = values.sel(component=component)
    return values


def _fill_small_holes(mask: np.ndarray, max_px: int) -> np.ndarray:
    """``mask`` with its holes of at most ``max_px`` pixels (voxels) filled."""
    holes, _ = ndimage.label(ndimage.binary_fill_holes(mask) & ~mask)
    small = np.bincount(holes.ravel()) <= max_px
    small[0] = False
    return mask | small[holes]


def _by_label(values: np.ndarray, lab: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """NaN-aware mean, median and standard deviation per label 1 … n."""
    ok = np.isfinite(values)
    lab_ok = np.where(ok, lab, 0)
    index = np.arange(1, n + 1)
    count = ndimage.sum_labels(np.ones(lab.shape), lab_ok, index)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.where(ok, values, 0.0)
        stats = {"mean": ndimage.mean(v, lab_ok, index), "median": ndimage.median(v, lab_ok, index),
                 "std": ndimage.standard_deviation(v, lab_ok, index)}
    return {k: np.where(count > 0, s, np.nan) for k, s in stats.items()}


def _shell_columns(values: np.ndarray, lab: np.ndarray, shells: np.ndarray, n_labels: int, n_shells: int,
                   name: str) -> dict[str, np.ndarray]:
    from redoxmap.stats import binned_by

    use = (lab > 0) & (shells > 0) & np.isfinite(values)
    group = (lab[use] - 1) * n_shells + (shells[use] - 1)
    binned = binned_by(values[use], group, np.arange(n_labels * n_shells + 1) - 0.5)
    mean = binned["mean"].values.reshape(n_labels, n_shells)
    stderr = binned["stderr"].values.reshape(n_labels, n_shells)
    out = {}
    for s in range(n_shells):
        out[f"{name}_shell{s + 1}_mean"] = mean[:, s]
        out[f"{name}_shell{s + 1}_stderr"] = stderr[:, s]
    return out


def _fit_columns(profile: xr.Dataset, radii_nm: np.ndarray, settings: dict[str, Any]) -> pd.DataFrame:
    """Per-particle model fits of the per-particle profiles (see the module docstring)."""
    from redoxmap.models.transport import compare_models

    models = [m for m in settings.get("model", ["diffusion", "core-shell"]) if m != "diffusion-mask"]
    rows = []
    for i, radius in enumerate(radii_nm):
        mean = profile["particle_mean"].values[i]
        err = profile["particle_stderr"].values[i]
        count = profile["particle_count"].values[i]
        ok = (count > 1) & np.isfinite(mean) & np.isfinite(err) & (err > 0)
        row: dict[str, Any] = {}
        try:
            fits = compare_models(profile.distance_nm.values[ok], mean[ok], err[ok], float(radius),
                                  float(settings["time_s"]), view=settings.get("view", "section"),
                                  geometry=settings.get("geometry", "sphere"), models=models)
        except FitError as exc:
            row["fit_note"] = str(exc)
            rows.append(row)
            continue
        row["preferred_model"] = fits[0].model
        for fit in fits:
            if fit.model == "diffusion":
                row.update(d_cm2_s=fit.params["d_cm2_s"], d_ci95_low_cm2_s=fit.ci95["d_cm2_s"][0],
                           d_ci95_high_cm2_s=fit.ci95["d_cm2_s"][1], c_surface=fit.params["c_surface"],
                           c_bulk=fit.params["c_bulk"], chi2_red_diffusion=fit.chi2_red,
                           aic_diffusion=fit.aic)
            elif fit.model == "core-shell":
                row.update(front_depth_nm=fit.params["front_depth_nm"], chi2_red_core_shell=fit.chi2_red,
                           aic_core_shell=fit.aic)
        rows.append(row)
    return pd.DataFrame(rows, index=range(len(radii_nm)))


def _particle_rows(maps: xr.Dataset, variable: str, component: str | None = None, shells: int = 5,
                  min_particle_px: int = 20, profile_settings: dict[str, Any] | None = None,
                  pixel_size_nm: float | None = None) -> tuple[pd.DataFrame, xr.Dataset | None]:
    """One row per particle of ``maps`` (see the module docstring).

    Parameters
    ----------
    maps : a maps Dataset (xanes2d, valence or tomo xanes) with a ``mask``.
    variable, component : the variable of the shells and profiles (``component`` for per-component
        variables such as ``fraction``).
    shells : number of equal-area (equal-volume) shells.
    min_particle_px : smallest particle, and largest hole filled, in pixels (voxels).
    profile_settings : settings of the sample's profile step (``bin_nm``, ``model``, ``geometry``,
        ``view``, ``time_s``); without them, or without ``time_s``, no model is fitted.
    pixel_size_nm : pixel (voxel) size if the maps record none.

    Returns
    -------
    The table, and the pooled profile of ``variable`` over all particles (mean, stderr, count per
    distance from the edge; None without ``profile_settings``).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> disc = np.hypot(*(np.indices((40, 40)) - 20)) < 12
    >>> maps = xr.Dataset({"mask": (("y", "x"), disc), "valence": (("y", "x"), np.where(disc, 3.5, np.nan))},
    ...                   attrs={"pixel_size_nm": 10.0})
    >>> table, _ = _particle_rows(maps, "valence")
    >>> len(table), round(float(table.valence_shell1_mean[0]), 2)
    (1, 3.5)
    """
    from redoxmap.segment.particles import label_particles, particle_table
    from redoxmap.stats.profiles import edge_distance_profile
    from redoxmap.stats.shells import equal_volume_shells

    pixel = pixel_size_nm or maps.attrs.get("pixel_size_nm") or maps.attrs.get("voxel_size_nm")
    if pixel is None:
        raise ConfigError("the maps record no pixel size; expected pixel_size_nm in the settings of the job "
                          "that made them (e.g. defaults.valence.pixel_size_nm)")
    pixel = float(pixel)
    values = _selected(maps, variable, component)
    raw_mask = np.asarray(maps["mask"], bool)
    mask = xr.DataArray(_fill_small_holes(raw_mask, min_particle_px), dims=maps["mask"].dims)
    labels = label_particles(mask, pixel, min_size_nm2=min_particle_px * pixel**mask.ndim)
    lab = np.asarray(labels)
    n = int(lab.max())
    if n == 0:
        warnings.warn(f"no particle of {min_particle_px} px or more in the mask", RedoxmapWarning,
                      stacklevel=2)
        return pd.DataFrame(), None
    table = particle_table(labels).rename(columns={"label": "particle"})
    for name, var in _map_variables(maps, mask.dims).items():
        for stat, column in _by_label(np.asarray(var, float), lab, n).items():
            table[f"{name}_{stat}"] = column
    v = np.asarray(values, float)
    particles = xr.DataArray(lab > 0, dims=mask.dims)
    shell_index = np.asarray(equal_volume_shells(particles, n=shells, labels=labels))
    label = variable if component is None else f"{variable}_{component}"
    for column, data in _shell_columns(v, lab, shell_index, n, shells, label).items():
        table[column] = data
    if not profile_settings:
        return table, None
    bin_nm = float(profile_settings.get("bin_nm", 10.0))
    depth_max = float(np.max(lab.shape)) * pixel / 2
    finite = np.isfinite(v)
    profile = edge_distance_profile(xr.DataArray(np.where(finite, v, 0.0), dims=mask.dims), lab > 0, pixel,
                                    np.arange(0, depth_max + bin_nm, bin_nm),
                                    weights=xr.DataArray(finite.astype(float), dims=mask.dims), labels=labels)
    if profile_settings.get("time_s"):
        radii = table["equivalent_diameter_nm"].to_numpy() / 2
        table = pd.concat([table, _fit_columns(profile, radii, profile_settings)], axis=1)
    pooled = profile[["mean", "stderr", "count"]]
    return table, pooled.where(pooled["count"] > 1, drop=True)


def _state_summary(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Per sample: number of particles and, for each column, the mean over particles, their standard
    deviation and the standard error of the mean (D: the geometric mean and the spread of log10 D)."""
    rows = []
    state_cols = [c for c in table.columns if c.startswith("state_")]
    for sample, group in table.groupby("sample", sort=False):
        row: dict[str, Any] = {"sample": sample, **group[state_cols].iloc[0].to_dict(),
                               "particles": len(group)}
        for column in columns:
            if column not in group:
                continue
            values = pd.to_numeric(group[column], errors="coerce").dropna().to_numpy()
            if column == "d_cm2_s":
                values = np.log10(values[values > 0])
            mean = float(values.mean()) if values.size else np.nan
            std = float(values.std(ddof=1)) if values.size > 1 else np.nan
            sem = std / np.sqrt(values.size) if values.size > 1 else np.nan
            if column == "d_cm2_s":
                row.update(d_geomean_cm2_s=10**mean, log10_d_std=std, log10_d_sem=sem)
            else:
                row.update({f"{column}": mean, f"{column}_std": std, f"{column}_sem": sem})
        rows.append(row)
    return pd.DataFrame(rows)
