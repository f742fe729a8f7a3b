"""Thickness dependence and interior versus exterior of an agglomerate at fixed thickness."""

import numpy as np
import pytest
import xarray as xr

from redoxmap.stats import interior_vs_exterior, thickness_dependence


def agglomerate(seed=0):
    rng = np.random.default_rng(seed)
    shape = (200, 200)
    yy, xx = np.indices(shape)
    outline = (yy - 100) ** 2 + (xx - 100) ** 2 <= 80**2
    thickness = np.where(outline, rng.uniform(50, 250, shape), 0.0)
    depth_px = 80 - np.hypot(yy - 100, xx - 100)
    # reduced fraction: rises with thickness, and 0.1 higher in the outer 20 px (exterior)
    value = 0.2 + 0.001 * thickness + 0.1 * (depth_px <= 20) + rng.normal(0, 0.02, shape)
    dims = ("y", "x")
    return (xr.DataArray(value, dims=dims), xr.DataArray(outline, dims=dims),
            xr.DataArray(thickness, dims=dims))


def test_thickness_dependence_recovers_the_slope():
    value, outline, thickness = agglomerate()
    profile = thickness_dependence(value, thickness, outline, bins=np.arange(50, 260, 20.0))
    slope = np.polyfit(profile.thickness, profile["mean"], 1)[0]
    assert slope == pytest.approx(0.001, rel=0.15)
    assert (profile["count"] > 0).all()


def test_exterior_more_reduced_at_fixed_thickness():
    value, outline, thickness = agglomerate()
    result = interior_vs_exterior(value, outline, thickness, bins=np.arange(50, 260, 50.0),
                                  pixel_size_nm=10.0, exterior_depth_nm=200.0)
    difference = result["mean"].sel(region="exterior") - result["mean"].sel(region="interior")
    assert difference.values == pytest.approx(0.1, abs=0.01)
    assert (result["stderr"] < 0.005).all()
