"""TV-regularised reconstruction (method ``"tv"``) for limited-angle tilt series, on small slices."""

import numpy as np
import pytest
import xarray as xr

from redoxmap.tomo.iterative import _gradient, _gradient_adjoint, _tv_block
from redoxmap.tomo.projector import system_matrix
from redoxmap.tomo.reconstruct import reconstruct

N = 48
ANGLES = np.arange(-65.0, 65.5, 1.0)


def two_level_disc(n_z: int = 4) -> np.ndarray:
    """A disc of attenuation 0.02 per voxel with an outer ring at 0.014 (a 30 % step), (z, y, x)."""
    yy, xx = np.indices((N, N)) - N // 2
    r = np.hypot(yy, xx)
    slice_ = np.where(r <= 16, np.where(r > 11, 0.014, 0.02), 0.0)
    return np.repeat(slice_[None], n_z, axis=0).astype(np.float32)


def projections(volume: np.ndarray, angles: np.ndarray, noise: float = 0.0, seed: int = 0) -> xr.DataArray:
    """Line integrals A x (angle, y, x) with the reconstruction's own projector, plus Gaussian noise."""
    a = system_matrix(N, angles)
    sino = (a @ volume.reshape(volume.shape[0], -1).T).reshape(angles.size, N, volume.shape[0])
    sino = sino + noise * np.random.default_rng(seed).standard_normal(sino.shape)
    return xr.DataArray(np.transpose(sino, (0, 2, 1)).astype(np.float32), dims=("angle", "y", "x"),
                        coords={"angle": angles})


def test_gradient_adjoint_is_the_transpose():
    rng = np.random.default_rng(0)
    volume = rng.standard_normal((5, 6, 7))
    field = rng.standard_normal((3, 5, 6, 7))
    lhs = float((_gradient(volume, np.empty_like(field)) * field).sum())
    assert lhs == pytest.approx(float((volume * _gradient_adjoint(field)).sum()), rel=1e-10)


def test_tv_recovers_consistent_full_angle_data():
    """Exact data over 180° with a small weight: the minimiser is the phantom up to the TV bias."""
    truth = two_level_disc()
    volume = reconstruct(projections(truth, np.arange(0.0, 180.0, 2.0)), "tv", iterations=300,
                         tv_weight=0.01)
    inside = truth > 0
    assert np.abs(volume.values - truth)[inside].mean() <= 0.05 * truth[inside].mean()
    assert volume.attrs["history"][-1].count("tv_weight=0.01") == 1


def test_tv_beats_sirt_on_a_noisy_tilt_series():
    """±65°: with the support, TV leaves fewer voxels off their true value by more than 5 % (the
    classes' tolerance) than SIRT does (measured: 22 % vs 51 % of the disc)."""
    truth = two_level_disc()
    proj = projections(truth, ANGLES, noise=0.02, seed=1)
    support = np.repeat((np.hypot(*(np.indices((N, N)) - N // 2)) <= 18)[None], truth.shape[0], axis=0)
    inside = truth > 0

    def error(method, **kw):
        volume = reconstruct(proj, method, support=support, **kw).values
        assert (volume >= 0).all() and not volume[~support].any()
        return float(np.mean(np.abs(volume[inside] / truth[inside] - 1) > 0.05))

    assert error("tv", iterations=250) <= 0.6 * error("sirt", iterations=40)


def test_tv_weight_is_relative_to_the_data():
    """Scaling the projections scales the volume: λ follows the data's own scale."""
    truth = two_level_disc(2)
    sino = projections(truth, ANGLES, noise=0.02, seed=2).transpose("angle", "y", "x").values
    one = _tv_block(sino, ANGLES, iterations=60)
    ten = _tv_block(10.0 * sino, ANGLES, iterations=60)
    np.testing.assert_allclose(ten, 10.0 * one, atol=1e-4 * float(ten.max()))


def test_tv_default_weight_and_empty_support():
    proj = projections(two_level_disc(2), ANGLES)
    volume = reconstruct(proj, "tv", iterations=5)
    assert volume.attrs["history"][-1].count("tv_weight=0.5") == 1
    empty = reconstruct(proj, "tv", iterations=5, support=np.zeros((2, N, N), bool))
    assert not empty.values.any()
