"""Profiles versus distance from the edge, and diffusion versus core–shell fits (Csernica et al. 2021)."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import ndimage
from scipy.special import erfc

from redoxmap.errors import FitError, MaskError
from redoxmap.models.diffusion_fd import diffusion_on_mask, mask_profile_table
from redoxmap.models.transport import (
    J0_ROOTS,
    compare_models,
    core_shell_profile,
    cylinder_diffusion,
    diffusion_profile,
    fit_profile,
    slab_diffusion,
    sphere_diffusion,
    time_at_high_soc_s,
)
from redoxmap.stats.profiles import edge_distance_profile, weighted_mean_stderr

RADIUS_NM = 100.0
D_TRUE = 1e-17  # cm²/s, Csernica et al. 2021
# 125 cycles at C/3 (6 h per cycle) with 15 % of each cycle above the high-voltage threshold
# (an assumed protocol; Csernica et al. 2021 gives the cycle count, not the time at high state of charge)
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
    assert fit.chi2_red < 1e-6
    # BIC − AIC = k (ln n − 2) for the same χ²: three parameters, 50 points
    assert fit.bic - fit.aic == pytest.approx(3 * (np.log(DEPTH_NM.size) - 2))
    with pytest.raises(FitError, match="model 'fick' is not one of diffusion, core-shell, diffusion-mask"):
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


def test_profile_command_with_the_mask_model_and_per_particle_profiles(tmp_path):
    """Two separate disks whose values follow diffusion solved on their own (2D, prism) mask: the
    mask model recovers D within 10 %, the cylinder series within 1.5×, and one profile per
    particle is written."""
    from typer.testing import CliRunner

    from redoxmap.cli import app
    from redoxmap.models.diffusion_fd import diffusion_on_mask

    px, n = 4.0, 140
    yy, xx = np.indices((n, n))
    disks = (np.hypot(yy - 35, xx - 35) < 25) | (np.hypot(yy - 100, xx - 100) < 25)
    field = diffusion_on_mask(disks, px, D_TRUE, TIME_S).fillna(0).values
    value = np.where(disks, 0.1 + 0.5 * field, 0.0) + np.random.default_rng(1).normal(0, 0.005, disks.shape)
    xr.Dataset({"fraction": (("y", "x"), value), "mask": (("y", "x"), disks)}).to_netcdf(
        tmp_path / "maps.nc", engine="h5netcdf")
    result = CliRunner().invoke(app, ["profile", str(tmp_path / "maps.nc"), "--pixel-size-nm", "4",
                                      "--bin-nm", "8", "--model", "diffusion-mask", "--model", "diffusion",
                                      "--geometry", "cylinder", "--radius-nm", "100", "--time-s", str(TIME_S),
                                      "--per-particle", "--report", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    fits = pd.read_csv(tmp_path / "out" / "fits.csv").set_index("model")
    assert fits.loc["diffusion-mask", "d_cm2_s"] / D_TRUE == pytest.approx(1.0, abs=0.1)
    assert 1 / 1.5 < fits.loc["diffusion", "d_cm2_s"] / D_TRUE < 1.5
    assert fits.geometry.eq("cylinder").all()
    per = pd.read_csv(tmp_path / "out" / "profile_per_particle.csv")
    assert sorted(per.particle.unique()) == [1, 2]
    assert (tmp_path / "out" / "profile.png").stat().st_size > 10_000


def dt_for(fraction_of_radius: float) -> float:
    """Time (s) at which √(D t) is this fraction of RADIUS_NM, for D = D_TRUE."""
    return (fraction_of_radius * RADIUS_NM) ** 2 / (D_TRUE * 1e14)


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5])
def test_series_uptake_matches_crank_fractional_uptake(fraction):
    """Volume averages of the three series equal Crank's uptake series (Eqs. 6.20, 5.23, 4.18),
    which use only the eigenvalues: a check of each profile series' coefficients."""
    t, tau = dt_for(fraction), fraction**2
    r = np.linspace(0.0, RADIUS_NM, 20001)
    n = np.arange(1, 400)
    sphere = 3 * np.trapezoid(sphere_diffusion(r, RADIUS_NM, D_TRUE, t) * r**2, r) / RADIUS_NM**3
    uptake = 1 - 6 / np.pi**2 * np.sum(np.exp(-(n**2) * np.pi**2 * tau) / n**2)
    assert sphere == pytest.approx(uptake, abs=1e-6)
    cylinder = 2 * np.trapezoid(cylinder_diffusion(r, RADIUS_NM, D_TRUE, t) * r, r) / RADIUS_NM**2
    assert cylinder == pytest.approx(1 - np.sum(4 / J0_ROOTS**2 * np.exp(-(J0_ROOTS**2) * tau)), abs=1e-6)
    slab = np.trapezoid(slab_diffusion(r, RADIUS_NM, D_TRUE, t), r) / RADIUS_NM
    m = 2 * n - 1
    uptake = 1 - np.sum(8 / (m * np.pi) ** 2 * np.exp(-(m**2) * np.pi**2 * tau / 4))
    assert slab == pytest.approx(uptake, abs=1e-6)


def test_series_at_short_time_and_curvature_order():
    """At √(Dt) = 0.02 R the slab is Crank's erfc pair (Eq. 4.16, first terms) and the sphere
    (R/r)·erfc (Eq. 6.21, first terms); curvature concentrates inflow: sphere ≥ cylinder ≥ slab."""
    r = np.linspace(80.0, RADIUS_NM, 41)
    root = 2 * 0.02 * RADIUS_NM
    slab = slab_diffusion(r, RADIUS_NM, D_TRUE, dt_for(0.02))
    assert slab == pytest.approx(erfc((RADIUS_NM - r) / root) + erfc((RADIUS_NM + r) / root), abs=1e-9)
    sphere = sphere_diffusion(r, RADIUS_NM, D_TRUE, dt_for(0.02))
    short = RADIUS_NM / r * (erfc((RADIUS_NM - r) / root) - erfc((RADIUS_NM + r) / root))
    assert sphere == pytest.approx(short, abs=1e-9)
    r = np.linspace(0.0, RADIUS_NM, 101)
    for fraction in (0.05, 0.3, 1.0):
        sphere, cylinder, slab = (f(r, RADIUS_NM, D_TRUE, dt_for(fraction))
                                  for f in (sphere_diffusion, cylinder_diffusion, slab_diffusion))
        assert (sphere >= cylinder - 1e-12).all() and (cylinder >= slab - 1e-12).all()
        assert (sphere - slab).max() > 1e-3
        assert [sphere[-1], cylinder[-1], slab[-1]] == pytest.approx([1, 1, 1], abs=1e-12)
    assert cylinder_diffusion(r, RADIUS_NM, D_TRUE, 1e3)[:50] == pytest.approx(np.zeros(50), abs=1e-6)


def test_projection_views_by_geometry():
    t = dt_for(0.2)
    section = diffusion_profile(DEPTH_NM, RADIUS_NM, D_TRUE, t, 1.0, 0.0, "section", "slab")
    edge_on = diffusion_profile(DEPTH_NM, RADIUS_NM, D_TRUE, t, 1.0, 0.0, "projection", "slab")
    assert edge_on == pytest.approx(section)
    assert section == pytest.approx(slab_diffusion(RADIUS_NM - DEPTH_NM, RADIUS_NM, D_TRUE, t))
    # a cylinder seen across its axis: the mean of c(√(ρ² + z²)) over the chord at ρ = R − d
    across = diffusion_profile(DEPTH_NM, RADIUS_NM, D_TRUE, t, 1.0, 0.0, "projection", "cylinder")
    rho = RADIUS_NM - DEPTH_NM[10]
    z = np.linspace(0, np.sqrt(RADIUS_NM**2 - rho**2), 4001)
    chord = np.trapezoid(cylinder_diffusion(np.hypot(rho, z), RADIUS_NM, D_TRUE, t), z) / z[-1]
    assert across[10] == pytest.approx(chord, abs=2e-3)
    along = diffusion_profile(DEPTH_NM, RADIUS_NM, D_TRUE, t, 1.0, 0.0, "section", "cylinder")
    assert (across[5:] > along[5:]).all()
    shell = core_shell_profile(DEPTH_NM, RADIUS_NM, 25.0, 1.0, 0.0, "projection", "slab")
    assert shell == pytest.approx((DEPTH_NM <= 25.0).astype(float))
    with pytest.raises(FitError, match="geometry 'cube' is not one of sphere, cylinder, slab"):
        diffusion_profile(DEPTH_NM, RADIUS_NM, D_TRUE, t, 1.0, 0.0, geometry="cube")
    with pytest.raises(FitError, match="view 'side' is not one of section, projection"):
        core_shell_profile(DEPTH_NM, RADIUS_NM, 25.0, 1.0, 0.0, "side", "cylinder")


@pytest.mark.parametrize("geometry", ["cylinder", "slab"])
def test_diffusivity_recovered_in_each_geometry(geometry):
    """Noisy profiles of each geometry: D within 1.5× with that geometry; the sphere series, which
    fills faster, gives a D 0.70× (slab) or 0.84× (cylinder) the truth on exact data."""
    rng = np.random.default_rng(7)
    sigma = np.full(DEPTH_NM.size, NOISE)
    exact = diffusion_profile(DEPTH_NM, RADIUS_NM, D_TRUE, TIME_S, 0.6, 0.1, geometry=geometry)
    ranked = compare_models(DEPTH_NM, exact + rng.normal(0, NOISE, DEPTH_NM.size), sigma, RADIUS_NM, TIME_S,
                            geometry=geometry)
    assert ranked[0].model == "diffusion"
    assert 1 / 1.5 < ranked[0].params["d_cm2_s"] / D_TRUE < 1.5
    as_sphere = fit_profile(DEPTH_NM, exact, sigma, "diffusion", RADIUS_NM, TIME_S)
    assert as_sphere.params["d_cm2_s"] / D_TRUE < 0.9


def test_diffusion_fitted_on_the_particle_mask():
    """A rectangular particle (60 × 90 px, 5 nm pixels; a prism, diffusion in the map's plane) whose
    map follows the numerical solution: the tabulated mask model recovers D (measured 1.008×, in
    0.02 s after a 0.3 s table) and beats the cylinder (0.95×) and slab (1.41×) series on AIC."""
    px, shape = 5.0, (90, 130)
    mask = np.zeros(shape, bool)
    mask[15:75, 20:110] = True
    d_true, time_s = 1e-15, (0.3 * 35 * px) ** 2 / 1e-1
    field = diffusion_on_mask(mask, px, d_true, time_s).fillna(0).values
    noise = np.random.default_rng(0).normal(0, 0.02, shape)
    values = xr.DataArray(np.where(mask, 0.1 + 0.5 * field, 0) + noise, dims=("y", "x"))
    bins = np.arange(0, 40 * px, 2 * px)
    profile = edge_distance_profile(values, xr.DataArray(mask, dims=("y", "x")), px, bins)
    profile = profile.where(profile["count"] > 1, drop=True)
    table = mask_profile_table(mask, px, bins)
    x, y, s = profile.distance_nm.values, profile["mean"].values, profile.stderr.values
    radius = np.sqrt(mask.sum() / np.pi) * px
    fit = fit_profile(x, y, s, "diffusion-mask", radius, time_s, mask_table=table)
    assert fit.params["d_cm2_s"] / d_true == pytest.approx(1, abs=0.05)
    assert fit.ci95["d_cm2_s"][0] < d_true < fit.ci95["d_cm2_s"][1]
    for geometry in ("cylinder", "slab"):
        assert fit.aic < fit_profile(x, y, s, "diffusion", radius, time_s, geometry=geometry).aic - 10
    ranked = compare_models(x, y, s, radius, time_s, geometry="cylinder", mask_table=table)
    assert [f.model for f in ranked][0] == "diffusion-mask" and len(ranked) == 3
    with pytest.raises(FitError, match="needs mask_table"):
        fit_profile(x, y, s, "diffusion-mask", radius, time_s)
    with pytest.raises(FitError, match="not in mask_table's distance_nm"):
        fit_profile(x + 1.0, y, s, "diffusion-mask", radius, time_s, mask_table=table)


def direct_profile(values, weights, distance, bins):
    """The loop the vectorised profile replaced: weighted_mean_stderr of each bin."""
    which = np.digitize(distance, bins) - 1
    rows = [weighted_mean_stderr(values[which == b], weights[which == b]) for b in range(bins.size - 1)]
    count = [int((which == b).sum()) for b in range(bins.size - 1)]
    return np.array(rows).T, np.array(count)


def test_vectorised_profile_equals_the_loop_over_bins():
    rng = np.random.default_rng(3)
    n = 61
    rho = np.hypot(*(np.indices((n, n)) - n // 2))
    disk = rho <= 25
    distance_map = (ndimage.distance_transform_edt(disk) - 0.5) * 10.0
    values, weights = rng.normal(5.0, 1.0, disk.shape), rng.random(disk.shape) + 0.2
    bins = np.array([0, 1, 2, 3, 5, 8, 13, 21, 34, 60, 70, 80]) * 10.0  # empty bins past the centre
    weights[(distance_map >= 20) & (distance_map < 30)] = 0.0  # Σw = 0 in a bin: NaN mean, count kept
    profile = edge_distance_profile(xr.DataArray(values), xr.DataArray(disk), 10.0, bins,
                                    weights=xr.DataArray(weights))
    distance = distance_map[disk]
    (mean, stderr), count = direct_profile(values[disk], weights[disk], distance, bins)
    np.testing.assert_allclose(profile["mean"].values, mean, rtol=1e-12)
    np.testing.assert_allclose(profile["stderr"].values, stderr, rtol=1e-10)
    np.testing.assert_array_equal(profile["count"].values, count)
    assert (count == 0).any() and np.isnan(profile["mean"].values[count == 0]).all()
    assert np.isnan(profile["mean"].values[2]) and count[2] > 0  # the zero-weight bin


def two_touching_disks():
    """Two disks (radii 30 and 28 px) overlapping by 13 px, labelled by the nearer edge."""
    yy, xx = np.indices((80, 140))
    first, second = np.hypot(yy - 40, xx - 40), np.hypot(yy - 40, xx - 85)
    mask = (first <= 30) | (second <= 28)
    labels = np.where(mask, np.where(first - 30 <= second - 28, 1, 2), 0)
    return xr.DataArray(mask, dims=("y", "x")), xr.DataArray(labels, dims=("y", "x"))


def test_per_particle_profiles_measure_from_each_particle_own_edge():
    mask, labels = two_touching_disks()
    own = np.zeros(mask.shape)
    for k in (1, 2):
        region = labels.values == k
        own[region] = ndimage.distance_transform_edt(region)[region] - 0.5
    values = xr.DataArray(own * 10.0, dims=mask.dims)  # the value is the distance from the own edge
    bins = np.arange(0, 320.0, 10.0)  # 1 px bins
    rng = np.random.default_rng(4)
    weights = xr.DataArray(rng.random(mask.shape) + 0.5, dims=mask.dims)
    profile = edge_distance_profile(values, mask, 10.0, bins, weights=weights, labels=labels)
    assert profile["particle_mean"].dims == ("particle", "distance_nm")
    assert profile.particle.values.tolist() == [1, 2]
    pooled = edge_distance_profile(values, mask, 10.0, bins, weights=weights)
    for name in ("mean", "stderr", "count"):
        np.testing.assert_array_equal(profile[name].values, pooled[name].values)
    for i, k in enumerate((1, 2)):
        region = labels.values == k
        (mean, stderr), count = direct_profile(values.values[region], weights.values[region],
                                               own[region] * 10.0, bins)
        np.testing.assert_allclose(profile["particle_mean"].values[i], mean, rtol=1e-12)
        np.testing.assert_allclose(profile["particle_stderr"].values[i], stderr, rtol=1e-10)
        np.testing.assert_array_equal(profile["particle_count"].values[i], count)
        assert count.sum() == region.sum()
        # values equal own distances, so every bin mean lies inside its bin …
        filled = count > 0
        assert ((profile["particle_mean"].values[i][filled] >= bins[:-1][filled])
                & (profile["particle_mean"].values[i][filled] < bins[1:][filled])).all()
    # … which distances from the union mask's edge break: pixels by the contact line are near their
    # own edge but deep in the union, and pull deep bins' means down by up to 6 px (measured)
    union = (ndimage.distance_transform_edt(mask.values) - 0.5) * 10.0
    region = labels.values == 1
    (mean, _), count = direct_profile(values.values[region], weights.values[region], union[region], bins)
    assert np.nanmax(bins[:-1] - mean) > 30.0
    with pytest.raises(MaskError, match=r"labels have shape \(80, 139\); expected the mask's shape"):
        edge_distance_profile(values, mask, 10.0, bins, labels=labels[:, 1:])
    with pytest.raises(MaskError, match="labels hold no particle"):
        edge_distance_profile(values, mask, 10.0, bins, labels=labels * 0)
