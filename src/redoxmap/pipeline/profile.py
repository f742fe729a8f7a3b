"""Heterogeneity profile of a map (Csernica et al., Nat. Energy 6, 642 (2021), Fig. 2e/2g): any
map variable versus distance from the particle edge, optionally per particle, with diffusion and
core–shell models fitted and ranked."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
import xarray as xr
from pydantic import Field

from redoxmap.errors import ConfigError, FormatError
from redoxmap.pipeline.jobs import JobConfig, JobResult, Progress

__all__ = ["ProfileConfig", "run_profile"]

MODEL = Literal["diffusion", "core-shell", "diffusion-mask"]


class ProfileConfig(JobConfig):
    """Settings of ``redoxmap profile``: ``output`` is the profile table (CSV), ``report`` the folder
    for it, the per-particle table, the fits and the figure. The model fits need both
    ``radius_nm`` and ``time_s`` (the time the particle spent at high state of charge).

    Parameters
    ----------
    maps : pathlib.Path
        Maps file (``.nc`` or ``.zarr``) of ``xanes2d`` or ``valence`` (``MAPS``).
    var : str
        The map variable to profile (``fraction``, ``valence`` …).
    component : str, optional
        Component of a per-component variable (``fraction``).
    pixel_size_nm : float, optional
        Pixel size (nm); default: the one the maps record.
    bin_nm : float
        Width (nm) of the distance bins.
    model : list of {"diffusion", "core-shell", "diffusion-mask"}
        Models fitted and ranked by AIC (:func:`redoxmap.models.compare_models`).
    geometry : {"sphere", "cylinder", "slab"}
        Shape of the series models.
    view : {"section", "projection"}
        A thin slice through the particle, or the projection through it.
    radius_nm : float, optional
        Particle radius (nm) for the model fits.
    time_s : float, optional
        Time at high state of charge (s) for the model fits.
    per_particle : bool
        Also one profile per particle (watershed labels).
    output : pathlib.Path, optional
        The profile table (``.csv``).
    report : pathlib.Path, optional
        Folder for the tables, fits and figure.
    overwrite : bool
        Replace an existing table or report.

    Raises
    ------
    ConfigError
        If only one of ``radius_nm`` and ``time_s`` is given.
    """

    maps: Path
    var: str = "fraction"
    component: str | None = None
    pixel_size_nm: float | None = Field(None, gt=0)
    bin_nm: float = Field(10.0, gt=0)
    model: list[MODEL] = Field(default_factory=lambda: ["diffusion", "core-shell"], min_length=1)
    geometry: Literal["sphere", "cylinder", "slab"] = "sphere"
    view: Literal["section", "projection"] = "section"
    radius_nm: float | None = Field(None, gt=0)
    time_s: float | None = Field(None, gt=0)
    per_particle: bool = False

    INPUTS: ClassVar[tuple[str, ...]] = ("maps",)
    ARGUMENTS: ClassVar[tuple[str, ...]] = ("maps",)
    OUTPUT_SUFFIXES: ClassVar[tuple[str, ...]] = (".csv",)

    def check(self) -> None:
        super().check()
        if (self.radius_nm is None) != (self.time_s is None):
            raise ConfigError("model fits need both --radius-nm and --time-s (or neither, for the profile "
                              "alone)")


def _open_maps(path: Path) -> xr.Dataset:
    return xr.open_zarr(path) if path.suffix.lower() == ".zarr" else xr.open_dataset(path)


def run_profile(config: ProfileConfig, progress: Progress | None = None) -> JobResult:
    """Bin ``var`` over the map's mask by distance from the edge, with weighted means and standard
    errors (Csernica et al. 2021, Fig. 2d–g); fit the diffusion and core–shell models and rank
    them by AIC = χ² + 2k.

    Parameters
    ----------
    config : ProfileConfig
        The settings.
    progress : callable, optional
        Called as ``progress(stage, done, total)`` as the job advances (the command line draws
        bars from it).

    Returns
    -------
    JobResult
        ``values`` hold ``profile`` (Dataset: mean, stderr, count per ``distance_nm``),
        ``per_particle`` (with ``per_particle``) and ``fits`` (ranked by AIC; D in cm²/s).

    Raises
    ------
    FormatError
        If the maps hold no variable ``var``.
    ConfigError
        If ``component`` is missing for a per-component variable, or no pixel size is known.
    """
    from redoxmap.models.transport import compare_models
    from redoxmap.stats.profiles import edge_distance_profile

    maps = _open_maps(config.maps)
    if config.var not in maps:
        raise FormatError(f"{config.maps}: no variable {config.var!r} (--var); variables: "
                          f"{', '.join(map(str, maps.data_vars))}")
    values = maps[config.var]
    if "component" in values.dims:
        if config.component is None:
            raise ConfigError(f"{config.var} has components {list(map(str, maps.component.values))}; "
                              "expected --component")
        values = values.sel(component=config.component)
    pixel = config.pixel_size_nm or maps.attrs.get("pixel_size_nm")
    if pixel is None:
        raise ConfigError(f"{config.maps} records no pixel size; expected --pixel-size-nm")
    pixel = float(pixel)
    mask = maps["mask"].astype(bool)
    labels = None
    if config.per_particle:
        from redoxmap.segment.particles import label_particles

        labels = label_particles(mask, pixel)
    depth_max = float(np.max(np.asarray(mask).shape)) * pixel / 2
    bins = np.arange(0, depth_max + config.bin_nm, config.bin_nm)
    full = edge_distance_profile(values, mask, pixel, bins, labels=labels)
    prof = full[["mean", "stderr", "count"]]
    prof = prof.where(prof["count"] > 1, drop=True)
    fits = []
    if config.radius_nm is not None:
        mask_table = None
        if "diffusion-mask" in config.model:
            from redoxmap.models.diffusion_fd import mask_profile_table

            mask_table = mask_profile_table(mask, pixel, bins)
        fits = compare_models(prof.distance_nm.values, prof["mean"].values, prof.stderr.values,
                              config.radius_nm, config.time_s, view=config.view, geometry=config.geometry,
                              mask_table=mask_table, models=config.model)
    per = None
    if labels is not None:
        per = full[["particle_mean", "particle_stderr", "particle_count"]].to_dataframe().reset_index()
        per = per[per.particle_count > 0]
    written = []
    if config.output is not None:
        from redoxmap.report.files import save_table

        written.append(save_table(prof.to_dataframe(), config.output.parent, config.output.name, index=True))
    if config.report is not None:
        written += _write(config, prof, per, fits)
    summary = [(f"{d:.0f} nm", f"{m:.4f} ± {e:.4f} ({int(n)} px)")
               for d, m, e, n in zip(prof.distance_nm.values, prof["mean"].values, prof.stderr.values,
                                     prof["count"].values, strict=True)]
    summary += [(f"fit: {f.model}", ", ".join(f"{k} {v:.3g}" for k, v in f.params.items())
                 + f"; reduced χ² {f.chi2_red:.2f}, AIC {f.aic:.1f}") for f in fits]
    return JobResult(title=f"{config.var} versus distance from the edge", summary=summary, written=written,
                     values={"profile": prof, "per_particle": per, "fits": fits})


def _write(config: ProfileConfig, prof: xr.Dataset, per, fits) -> list[Path]:
    import pandas as pd

    from redoxmap.report.files import save_figure, save_table
    from redoxmap.report.profiles import profile_figure

    folder = config.report
    written = [save_table(prof.to_dataframe(), folder, "profile.csv", index=True)]
    if per is not None:
        written.append(save_table(per, folder, "profile_per_particle.csv"))
    if fits:
        rows = [{"model": f.model, "geometry": config.geometry, "view": config.view, **f.params,
                 "chi2_red": f.chi2_red, "aic": f.aic, "bic": f.bic} for f in fits]
        written.append(save_table(pd.DataFrame(rows), folder, "fits.csv"))
        figure = profile_figure(prof, fits, config.radius_nm, config.time_s, config.var, view=config.view,
                                geometry=config.geometry)
        written.append(save_figure(figure, folder, "profile.png"))
    return written
