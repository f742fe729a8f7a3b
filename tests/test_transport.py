"""Profiles versus distance from the edge, and diffusion versus core–shell fits (seed 003)."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from redoxmap.errors import FitError, MaskError
from redoxmap.models.transport import (
    compare_models,
    core_shell_profile,
    diffusion_profile,
    fit_profile,
    sphere_diffusion,
    time_at_high_soc_s,
)
from redoxmap.stats.profiles import edge_distance_profile, weighted_mean_stderr

RADIUS_NM = 100.0
D_TRUE = 1e-17  # cm²/s, seed 003
# 125 cycles at C/3 (6 h per cycle) with 15 % of each cycle above the high-voltage threshold
# (an assumed protocol; seed 003 gives the cycle count, not the time at high state of charge)
TIME_S = time_at_high_soc_s(125, 1 / 3, 0.15)
DEPTH_NM = np.arange(1.0, 100.0, 2.0)  # 2 nm bins from the edge
NOISE = 0.03


def test_time_at_high_soc():
    assert TIME_S == pytest.approx(125 * 6 * 0.15 * 3600)
    with pytest.raises(FitError, match="fraction_above"):
        time_at_high_soc_s(125, 1 / 3, 1.5)


def test_sphere_series_limits():
    r = np.array([1.0, 50.0, 99.999])
    assert sphere_diffusion(r, RADIUS_NM, D_TRUE, 1e3)[:2] == pytest.approx([0, 0], abs=1e-6)
    assert sphere_diffusion(r, RADIUS_NM, D_TRUE, 1e9) == pytest.approx([1, 1, 1], abs=1e-6)
    # projection of a uniform particle is uniform; a surface-rich profile looks flatter in projection
    flat = diffusion_profile(DEPTH_NM, RADIUS_NM, D_TRUE, 1e9, 0.5, 0.5, view="projection")
    assert flat == pytest.approx(np.full(DEPTH_NM.size, 0.5))
    section = diffusion_profile(DEPTH_NM, RADIUS_NM, D_TRUE, TIME_S, 1.0, 0.0)
    projection = diffusion_profile(DEPTH_NM, RADIUS_NM, D_TRUE, TIME_S, 1.0, 0.0, view="projection")
    assert projection[-1] > section[-1]


def test_diffusivity_recovered_and_model_chosen_over_100_realisations():
    rng = np.random.default_rng(2021)
    sigma = np.full(DEPTH_NM.size, NOISE)
    within, prefers_diffusion, prefers_core_shell = 0, 0, 0
    for _ in range(100):
        noise = rng.normal(0, NOISE, DEPTH_NM.size)
        y = diffusion_profile(DEPTH_NM, RADIUS_NM, D_TRUE, TIME_S, 0.6, 0.1) + noise
        ranked = compare_models(DEPTH_NM, y, sigma, RADIUS_NM, TIME_S)
        diffusion = next(f for f in ranked if f.model == "diffusion")
        within += 1 / 1.5 <= diffusion.params["d_cm2_s"] / D_TRUE <= 1.5
        prefers_diffusion += ranked[0].model == "diffusion"
        y = core_shell_profile(DEPTH_NM, RADIUS_NM, 25.0, 0.6, 0.1) + rng.normal(0, NOISE, DEPTH_NM.size)
        prefers_core_shell += compare_models(DEPTH_NM, y, sigma, RADIUS_NM, TIME_S)[0].model == "core-shell"
    assert within >= 90
    assert prefers_diffusion >= 95
    assert prefers_core_shell >= 95


def test_fit_reports_interval_and_fit_statistics():
    y = diffusion_profile(DEPTH_NM, RADIUS_NM, D_TRUE, TIME_S, 0.6, 0.1)
    fit = fit_profile(DEPTH_NM, y + 0.0, np.full(DEPTH_NM.size, NOISE), "diffusion", RADIUS_NM, TIME_S)
    lo, hi = fit.ci95["d_cm2_s"]
    assert lo < D_TRUE < hi
    assert fit.chi2_red < 1e-6 and fit.bic > fit.aic - 10
    with pytest.raises(FitError, match="model 'fick' is not one of"):
        fit_profile(DEPTH_NM, y, np.ones_like(y), "fick", RADIUS_NM, TIME_S)


def test_weighted_standard_error_matches_direct_computation():
    rng = np.random.default_rng(0)
    x, w = rng.random(50), rng.random(50) + 0.5
    mean, se = weighted_mean_stderr(x, w)
    m = np.sum(w * x) / np.sum(w)
    direct = np.sqrt(50 / 49 * np.sum((w * (x - m)) ** 2)) / np.sum(w)
    assert mean == pytest.approx(m) and se == pytest.approx(direct)
    assert weighted_mean_stderr(x, np.ones(50))[1] == pytest.approx(np.std(x, ddof=1) / np.sqrt(50))


def test_edge_profile_of_a_disk_with_empty_bins():
    n, radius = 101, 40.0
    yy, xx = np.indices((n, n)) - n // 2
    rho = np.hypot(yy, xx)
    disk = xr.DataArray(rho <= radius, dims=("y", "x"))
    field = xr.DataArray(np.clip(1 - rho / radius, 0, 1), dims=("y", "x"))  # grows with depth
    profile = edge_distance_profile(field, disk, pixel_size_nm=10.0, bins_nm=np.arange(0, 600.0, 50.0))
    filled = profile["count"].values > 0
    assert np.all(np.diff(profile["mean"].values[filled]) > 0)
    assert np.isnan(profile["mean"].values[~filled]).all() and (~filled).any()
    with pytest.raises(MaskError, match="selects no pixel"):
        edge_distance_profile(field, disk & False, 10.0, np.arange(0, 100.0, 10))


def test_profile_command_on_a_simulated_particle_map(tmp_path):
    """A disk whose fraction follows the diffusion model, written as maps.nc; the command recovers D."""
    from typer.testing import CliRunner

    from redoxmap.cli import app

    px = 2.0
    n = 121
    yy, xx = (np.indices((n, n)) - n // 2) * px
    depth = RADIUS_NM - np.hypot(yy, xx)
    disk = depth > 0
    truth = diffusion_profile(np.clip(depth, 0, RADIUS_NM).ravel(), RADIUS_NM, D_TRUE, TIME_S, 0.6, 0.1)
    noise = np.random.default_rng(0).normal(0, 0.01, disk.shape)
    value = np.where(disk, truth.reshape(disk.shape), 0.0) + noise
    maps = xr.Dataset({"valence": (("y", "x"), value), "mask": (("y", "x"), disk)})
    maps.to_netcdf(tmp_path / "maps.nc", engine="h5netcdf")
    result = CliRunner().invoke(app, ["profile", str(tmp_path / "maps.nc"), "--var", "valence",
                                      "--pixel-size-nm", "2", "--bin-nm", "4", "--radius-nm", "100",
                                      "--time-s", str(TIME_S), "--report", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    fits = pd.read_csv(tmp_path / "out" / "fits.csv")
    assert fits.model.iloc[0] == "diffusion"
    assert 1 / 1.5 < fits.set_index("model").loc["diffusion", "d_cm2_s"] / D_TRUE < 1.5
