"""Pore-size distribution by local thickness (Hildebrand & Rüegsegger 1997) on phantoms of known
size: spheres, disks, slabs and inclined cracks."""

import numpy as np
import pytest
import xarray as xr

from redoxmap.errors import MaskError, RedoxmapError
from redoxmap.segment.pores import local_thickness, pore_size_distribution

VOXEL_NM = 50.0


def balls(shape, items):
    """Label image of spheres (disks in 2D): voxels whose centres lie closer than D/2 to the centre."""
    grid = np.indices(shape).astype(float)
    labels = np.zeros(shape, int)
    for k, (centre, diameter) in enumerate(items, start=1):
        r2 = sum((g - c) ** 2 for g, c in zip(grid, centre, strict=True))
        labels[r2 < (diameter / 2) ** 2] = k
    return labels


def peaks(psd, min_fraction=0.01):
    """Bin centres (nm) where the volume fraction is a local maximum above ``min_fraction``."""
    f = np.concatenate([[0.0], psd.volume_fraction.values, [0.0]])
    is_peak = (f[1:-1] >= f[:-2]) & (f[1:-1] > f[2:]) & (f[1:-1] > min_fraction)
    return psd.thickness_nm.values[is_peak]


def test_spheres_of_6_10_16_voxels():
    """Three spheres at random sub-voxel positions: one peak per sphere within one voxel of its
    diameter, and each sphere's share of the void volume in its size class within 10 %."""
    rng = np.random.default_rng(7)
    items = [((10, 10, 10), 6), ((12, 28, 28), 10), ((30, 14, 29), 16)]
    items = [(tuple(np.add(c, rng.random(3))), d) for c, d in items]
    labels = balls((42, 42, 42), items)
    void = xr.DataArray(labels > 0, dims=("z", "y", "x"))
    thickness = local_thickness(void, VOXEL_NM)
    assert thickness.attrs["units"] == "nm" and thickness.dims == ("z", "y", "x")
    assert bool(np.isnan(thickness.values[labels == 0]).all())
    psd = pore_size_distribution(void, VOXEL_NM, thickness=thickness)
    found = peaks(psd) / VOXEL_NM
    assert found.size == 3
    np.testing.assert_allclose(found, [6, 10, 16], atol=1.0)  # measured: 6, 9, 16
    # size classes split half-way between the diameters: [0, 8), [8, 13), [13, ∞) voxels
    tau = psd.thickness_nm / VOXEL_NM
    for k, (lo, hi) in enumerate([(0, 8), (8, 13), (13, np.inf)], start=1):
        share = float(psd.volume_fraction.where((tau >= lo) & (tau < hi), 0.0).sum())
        true = (labels == k).sum() / (labels > 0).sum()  # 0.041, 0.189, 0.770
        assert share == pytest.approx(true, rel=0.10)  # measured: exact (0.0 %)
    assert float(psd.volume_fraction.sum()) == pytest.approx(1.0)


def test_surface_correction_keeps_small_class_clean():
    """Without the surface correction, staircase voxels of the large spheres fall into the
    smallest class (measured +9 % on this phantom); with it the class is exact."""
    labels = balls((42, 42, 42), [((10.2, 10.9, 10.4), 6), ((30.7, 14.1, 29.5), 16)])
    void = xr.DataArray(labels > 0, dims=("z", "y", "x"))
    true = (labels == 1).sum() / (labels > 0).sum()
    for correction, low, high in ((True, 0.95, 1.05), (False, 1.05, 2.0)):
        tau = local_thickness(void, 1.0, surface_correction=correction).values[labels > 0]
        assert low < np.mean(tau < 11) / true < high


def test_disks_2d():
    """Disks of 8 and 20 pixels: each disk's most common value within one pixel of its diameter
    (measured 7 and 20), every pixel in its own class."""
    labels = balls((64, 64), [((16.4, 16.8), 8), ((40.3, 40.1), 20)])
    void = xr.DataArray(labels > 0, dims=("y", "x"))
    tau = local_thickness(void, VOXEL_NM).values / VOXEL_NM
    for k, d in ((1, 8), (2, 20)):
        values, counts = np.unique(np.round(tau[labels == k]), return_counts=True)
        assert abs(values[np.argmax(counts)] - d) <= 1
    assert (tau[labels == 1] < 14).all() and (tau[labels == 2] >= 14).all()
    psd = pore_size_distribution(void, VOXEL_NM)
    assert psd.volume_nm3.attrs["units"] == "nm2"
    np.testing.assert_allclose(np.sort(peaks(psd)) / VOXEL_NM, [8, 20], atol=1.0)


@pytest.mark.parametrize("t", [2, 3, 4, 5, 8])
def test_slab_crack_thickness(t):
    """A sheet-like crack t voxels thick: τ = t for even t, t + 1 for odd t (the voxel-centre
    discretisation); a crack inclined by 30° gives a median within one voxel of t
    (measured 2.83, 4.00, 4.47, 5.66, 8.49)."""
    void = np.zeros((24, 24, 24), bool)
    void[:, :, 5:5 + t] = True
    tau = local_thickness(xr.DataArray(void, dims=("z", "y", "x")), VOXEL_NM).values[void] / VOXEL_NM
    np.testing.assert_array_equal(np.unique(tau), [t + t % 2])
    z, _, x = np.indices((40, 40, 40)).astype(float)
    crack = np.abs((x - 20) * np.cos(np.radians(30)) + (z - 20) * np.sin(np.radians(30))) < t / 2
    tau = local_thickness(xr.DataArray(crack, dims=("z", "y", "x")), VOXEL_NM).values[crack] / VOXEL_NM
    assert abs(np.median(tau) - t) <= 1.0


def test_distribution_bins_cumulative_and_attrs():
    labels = balls((30, 30, 30), [((8.5, 8.5, 8.5), 6), ((19.3, 19.6, 19.1), 12)])
    void = xr.DataArray(labels > 0, dims=("z", "y", "x"))
    thickness = local_thickness(void, VOXEL_NM)
    psd = pore_size_distribution(void, VOXEL_NM, thickness=thickness)
    cumulative = psd.cumulative_fraction.values
    assert np.all(np.diff(cumulative) >= 0) and cumulative[-1] == pytest.approx(1.0)
    np.testing.assert_allclose(cumulative, np.cumsum(psd.volume_fraction.values))
    assert float(psd.volume_nm3.sum()) == pytest.approx((labels > 0).sum() * VOXEL_NM**3)
    assert psd.attrs["void_volume_nm3"] == pytest.approx((labels > 0).sum() * VOXEL_NM**3)
    assert psd.attrs["mean_thickness_nm"] == pytest.approx(float(thickness.mean()), rel=1e-6)
    assert psd.attrs["median_thickness_nm"] == pytest.approx(float(thickness.median()), rel=1e-6)
    assert "pore_size_distribution" in psd.attrs["history"][-1]
    # bins given in nm: a coarse split at 450 nm (9 voxels) separates the two spheres
    coarse = pore_size_distribution(void, VOXEL_NM, bins_nm=[0, 450, 1000], thickness=thickness)
    true_small = (labels == 1).sum() / (labels > 0).sum()
    assert float(coarse.volume_fraction[0]) == pytest.approx(true_small, rel=0.1)
    with pytest.warns(UserWarning, match=r"outside bins_nm \[0, 300\] nm"):
        clipped = pore_size_distribution(void, VOXEL_NM, bins_nm=[0, 300], thickness=thickness)
    assert clipped.attrs["fraction_outside_bins"] > 0.5


def test_quantised_radii():
    """A 79-pixel disk has 399 distinct radii: the default quantises them to 0.25 voxel (history
    says so), and the result differs from the exact one by less than two steps."""
    yy, xx = np.mgrid[:90, :90]
    void = xr.DataArray((yy - 45.3) ** 2 + (xx - 44.6) ** 2 < 40**2, dims=("y", "x"))
    exact = local_thickness(void, 1.0, radius_step_vox=0)
    default = local_thickness(void, 1.0)
    assert "radius_step_vox=0.0" in exact.attrs["history"][-1]
    assert "radius_step_vox=0.25" in default.attrs["history"][-1]
    difference = (exact - default).values[void.values]
    assert difference.min() >= -1e-5 and difference.max() < 2 * 2 * 0.25
    coarse = local_thickness(void, 1.0, radius_step_vox=1.0).values[void.values]
    assert (coarse <= exact.values[void.values] + 1e-5).all()


def test_bad_input_messages():
    empty = xr.DataArray(np.zeros((5, 5, 5), bool), dims=("z", "y", "x"))
    with pytest.raises(MaskError, match="void mask selects no voxel"):
        local_thickness(empty, VOXEL_NM)
    grey = xr.DataArray(np.full((5, 5), 0.5), dims=("y", "x"))
    with pytest.raises(MaskError, match="values other than 0/1"):
        local_thickness(grey, VOXEL_NM)
    void = xr.DataArray(np.ones((5, 5), bool), dims=("y", "x"))
    with pytest.raises(RedoxmapError, match=r"voxel_size_nm = 0; expected a positive size in nm"):
        local_thickness(void, 0)
    with pytest.raises(RedoxmapError, match="expected at least two increasing bin edges"):
        pore_size_distribution(void, VOXEL_NM, bins_nm=[100, 50])
    with pytest.raises(MaskError, match=r"thickness has shape \(4, 4\), expected \(5, 5\)"):
        pore_size_distribution(void, VOXEL_NM, thickness=xr.DataArray(np.ones((4, 4)), dims=("y", "x")))
