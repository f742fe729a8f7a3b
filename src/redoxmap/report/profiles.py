"""Figure of a profile versus distance from the edge with model curves (Csernica et al. 2021 Fig. 2e/2g)."""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from redoxmap.models.transport import ProfileFit, core_shell_profile, diffusion_profile


def profile_figure(profile: xr.Dataset, fits: list[ProfileFit], radius_nm: float, time_s: float,
                   label: str, view: str = "section", geometry: str = "sphere") -> Figure:
    """A profile versus distance from the edge, points with standard-error bars, and each fitted model's
    curve (Csernica et al. 2021, Fig. 2e,g): the series models as smooth curves, the model solved on
    the mask through its fitted values at the points.

    Parameters
    ----------
    profile : xarray.Dataset
        ``mean``, ``stderr`` over ``distance_nm`` (:func:`redoxmap.stats.edge_distance_profile`).
    fits : list of ProfileFit
        Fits of :func:`redoxmap.models.compare_models`.
    radius_nm : float
        Particle radius (nm).
    time_s : float
        Time at high state of charge (s).
    label : str
        Axis label of the profiled quantity.
    view : {"section", "projection"}
        How the series models are seen.
    geometry : {"sphere", "cylinder", "slab"}
        Which series.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig = Figure(figsize=(5.2, 3.8), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    ax.errorbar(profile.distance_nm, profile["mean"], yerr=profile["stderr"], fmt="o", ms=3,
                color="k", label="data")
    d = np.linspace(0, float(profile.distance_nm.max()), 300)
    for fit in fits:
        p = fit.params
        x = d
        if fit.model == "diffusion":
            y = diffusion_profile(d, radius_nm, p["d_cm2_s"], time_s, p["c_surface"], p["c_bulk"], view,
                                  geometry)
            text = f"diffusion ({geometry}), D = {p['d_cm2_s']:.2g} cm²/s"
        elif fit.model == "diffusion-mask":
            ok = np.isfinite(profile["mean"].values) & (profile["stderr"].values > 0)
            x, y = profile.distance_nm.values[ok], profile["mean"].values[ok] + fit.residuals
            text = f"diffusion on the mask, D = {p['d_cm2_s']:.2g} cm²/s"
        else:
            y = core_shell_profile(d, radius_nm, p["front_depth_nm"], p["c_surface"], p["c_bulk"], view,
                                   geometry)
            text = f"core–shell, front {p['front_depth_nm']:.0f} nm"
        ax.plot(x, y, label=f"{text} (AIC {fit.aic:.1f})")
    ax.set_xlabel("distance from particle edge (nm)")
    ax.set_ylabel(label)
    ax.legend(frameon=False, fontsize=7)
    return fig
