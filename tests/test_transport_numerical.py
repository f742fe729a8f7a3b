"""Finite-difference diffusion on a particle's mask against the sphere, cylinder and slab series.

The solver puts the surface value on the mask's staircase of voxel faces, so on a disk or a ball
its error against the series is first order in pixel size / radius (largest in the outermost
voxels, whose centres lie between 0 and 1 px inside the circle of the equal-area radius but all
sit half a pixel from their own boundary face). Flat faces carry no staircase error (slab test).
Each comparison evaluates the series at each voxel centre's distance from the particle centre, for
the radius of the disk (ball) with the mask's area (volume), with √(Dt) = 0.3 R.
"""

import numpy as np
import pytest
import xarray as xr

from redoxmap.errors import FitError, MaskError
from redoxmap.models.diffusion_fd import _mask_laplacian, diffusion_on_mask
from redoxmap.models.transport import cylinder_diffusion, slab_diffusion, sphere_diffusion

NM2_PER_CM2 = 1e14
PIXEL_NM = 5.0
D_CM2_S = 1e-15


def time_for(diffusion_length_px: float) -> float:
    """Time (s) at which √(D t) is ``diffusion_length_px`` pixels, for D = 1e-15 cm²/s."""
    return (diffusion_length_px * PIXEL_NM) ** 2 / (D_CM2_S * NM2_PER_CM2)


def round_mask(radius_px: int, ndim: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Voxels within ``radius_px`` of the array centre, their radii (px), and the radius of the disk
    or ball with the same area or volume (px)."""
    n = 2 * radius_px + 3
    r = np.sqrt(((np.indices((n,) * ndim) - n // 2) ** 2).sum(axis=0))
    mask = r <= radius_px
    equal = np.sqrt(mask.sum() / np.pi) if ndim == 2 else (3 * mask.sum() / (4 * np.pi)) ** (1 / 3)
    return mask, r, float(equal)


def errors_against(series, radius_px: int, ndim: int) -> dict[str, float]:
    """Solver minus series at every voxel: max |difference| (all voxels; voxels more than 2 px inside
    the equal-size radius) and max |mean difference| in 1 px radius bins, in % of the surface value."""
    mask, r, equal = round_mask(radius_px, ndim)
    time_s = time_for(0.3 * radius_px)
    field = diffusion_on_mask(mask, PIXEL_NM, D_CM2_S, time_s).values[mask]
    diff = field - series(r[mask] * PIXEL_NM, equal * PIXEL_NM, D_CM2_S, time_s)
    bins = np.floor(r[mask]).astype(int)
    binned = np.bincount(bins, diff) / np.bincount(bins)
    return {"pointwise": 100 * np.abs(diff).max(), "deep": 100 * np.abs(diff[r[mask] < equal - 2]).max(),
            "binned": 100 * np.abs(binned).max()}


def test_laplacian_has_half_cell_surface_faces():
    rng = np.random.default_rng(5)
    mask = rng.random((12, 13)) < 0.7
    lap = _mask_laplacian(mask)
    assert abs(lap - lap.T).max() == 0
    padded = np.pad(mask, 1)
    outside_faces = sum((~np.roll(padded, s, axis=a))[1:-1, 1:-1][mask] for a in (0, 1) for s in (-1, 1))
    # rows sum to −2 per outside face, so c = 1 everywhere is steady: L·1 + 2·faces = 0
    assert np.asarray(lap.sum(axis=1)).ravel() == pytest.approx(-2.0 * outside_faces)
    assert _mask_laplacian(np.ones((1, 1, 1), bool)).toarray().tolist() == [[-12.0]]


def test_limits_scaling_and_labelled_output():
    mask, _, _ = round_mask(12, 2)
    labelled = xr.DataArray(mask, dims=("row", "col"), coords={"row": np.arange(mask.shape[0]) * 5.0})
    start = diffusion_on_mask(labelled, PIXEL_NM, D_CM2_S, 0.0)
    assert start.dims == ("row", "col") and "row" in start.coords
    assert start.attrs["history"][-1].startswith("diffusion_on_mask(pixel_size_nm=5.0")
    assert (start.values[mask] == 0).all() and np.isnan(start.values[~mask]).all()
    late = diffusion_on_mask(mask, PIXEL_NM, D_CM2_S, time_for(200))
    assert late.values[mask] == pytest.approx(1, abs=1e-6)
    # the field depends on D t / h² only
    base = diffusion_on_mask(mask, PIXEL_NM, D_CM2_S, time_for(4)).values
    np.testing.assert_allclose(diffusion_on_mask(mask, PIXEL_NM, 2 * D_CM2_S, time_for(4) / 2).values, base)
    np.testing.assert_allclose(diffusion_on_mask(mask, 2 * PIXEL_NM, 4 * D_CM2_S, time_for(4)).values, base)
    # the array border counts as outside: a full array behaves as the same block padded by background
    block = np.ones((9, 11), bool)
    padded = diffusion_on_mask(np.pad(block, 2), PIXEL_NM, D_CM2_S, time_for(2)).values[2:-2, 2:-2]
    np.testing.assert_allclose(diffusion_on_mask(block, PIXEL_NM, D_CM2_S, time_for(2)).values, padded)


def test_factorised_and_conjugate_gradient_steps_agree():
    rng = np.random.default_rng(1)
    blob = np.pad(rng.random((14, 15, 16)) < 0.8, 1)
    for mask in (blob, blob[8]):
        lu = diffusion_on_mask(mask, PIXEL_NM, D_CM2_S, time_for(3), solver="lu").values
        cg = diffusion_on_mask(mask, PIXEL_NM, D_CM2_S, time_for(3), solver="cg").values
        np.testing.assert_allclose(cg, lu, atol=1e-8)
        fine = diffusion_on_mask(mask, PIXEL_NM, D_CM2_S, time_for(3), n_steps=400).values
        assert np.nanmax(np.abs(fine - lu)) < 1e-4  # time-stepping error of the default 40 steps


def test_slab_series_matches_solver_across_a_flat_particle():
    """A 30 × 240 px strip: across its middle the field is that of a slab of half-thickness 15 px."""
    strip = np.ones((30, 240), bool)
    time_s = time_for(0.3 * 15)
    column = diffusion_on_mask(strip, PIXEL_NM, D_CM2_S, time_s).values[:, 120]
    x_nm = (np.arange(30) - 14.5) * PIXEL_NM
    assert np.abs(column - slab_diffusion(x_nm, 15 * PIXEL_NM, D_CM2_S, time_s)).max() < 0.003  # 0.16 %


def test_cylinder_series_matches_solver_on_a_disk():
    """Measured (% of surface value): radius 80 px, 20 081 unknowns: 0.62 pointwise; radius 40 px:
    1.28 pointwise, 0.92 deeper than 2 px, 0.68 in 1 px radius bins — first order in 1/R."""
    large, small = errors_against(cylinder_diffusion, 80, 2), errors_against(cylinder_diffusion, 40, 2)
    assert large["pointwise"] < 1.0
    assert small["binned"] < 1.0 and small["deep"] < 1.0
    assert 1.6 < small["pointwise"] / large["pointwise"] < 2.4


def test_sphere_series_matches_solver_on_a_ball():
    """Issue 5 acceptance, within 1 % of the surface value at every voxel: radius 40 voxels
    (267 761 unknowns, ~5 s). Measured (% of surface value): 0.87 pointwise (outermost voxels),
    0.55 deeper than 2 voxels, 0.25 in 1-voxel radius bins; at radius 24 the staircase gives 1.35
    pointwise and at 34 1.02 (first order in 1/R)."""
    errors = errors_against(sphere_diffusion, 40, 3)
    assert errors["pointwise"] < 1.0
    assert errors["deep"] < 0.7
    assert errors["binned"] < 0.5


def test_bad_input_messages():
    with pytest.raises(MaskError, match="selects no pixel"):
        diffusion_on_mask(np.zeros((5, 5), bool), PIXEL_NM, D_CM2_S, 1.0)
    with pytest.raises(MaskError, match="1 dimensions; expected a 2D map or a 3D volume"):
        diffusion_on_mask(np.ones(5, bool), PIXEL_NM, D_CM2_S, 1.0)
    with pytest.raises(FitError, match="time_s=-1.0"):
        diffusion_on_mask(np.ones((5, 5), bool), PIXEL_NM, D_CM2_S, -1.0)
    with pytest.raises(FitError, match="solver 'qr' is not one of auto, lu, cg"):
        diffusion_on_mask(np.ones((5, 5), bool), PIXEL_NM, D_CM2_S, 1.0, solver="qr")
