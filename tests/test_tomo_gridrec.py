"""Gridrec (Fourier-space FBP) against scikit-image's iradon on a 256² Shepp–Logan slice, the rotation
centre as a phase ramp, two slices per transform, and the filters."""

import numpy as np
import pytest
import xarray as xr
from scipy import ndimage
from skimage.data import shepp_logan_phantom
from skimage.transform import iradon, radon, resize

from redoxmap.errors import FitError
from redoxmap.tomo.gridrec import FILTERS, _gridrec_block, filter_response
from redoxmap.tomo.reconstruct import reconstruct

N = 256
ANGLES = np.linspace(0, 180, 256, endpoint=False)


@pytest.fixture(scope="module")
def phantom():
    return resize(shepp_logan_phantom(), (N, N), order=1, anti_aliasing=False)


@pytest.fixture(scope="module")
def sinogram(phantom):
    """(angle, det) line integrals, and the same with Poisson noise at 1e4 counts (largest line
    integral scaled to 2), back in the phantom's units."""
    clean = radon(phantom, ANGLES, circle=True).T
    scale = 2.0 / clean.max()
    counts = np.random.default_rng(0).poisson(1e4 * np.exp(-scale * clean))
    return clean, -np.log(np.maximum(counts, 1) / 1e4) / scale


def rmse_in_disc(image, truth):
    rows, cols = np.indices((N, N)) - N // 2
    disc = rows**2 + cols**2 <= (0.9 * N / 2) ** 2
    return float(np.sqrt(np.mean((image - truth)[disc] ** 2)))


def test_gridrec_is_as_accurate_as_iradon(phantom, sinogram):
    """Default filter (ramp × linear interpolation's response): noise-free RMSE ≤ 1.1× iradon's
    (ramp; measured 1.05×), with Poisson noise ≤ 1.05× (measured 1.01×); the plain ramp is sharper,
    noise-free ≤ 0.95× (measured 0.82×: band-limited instead of linear interpolation between
    detector samples)."""
    theirs = [iradon(sino.T, ANGLES, filter_name="ramp", circle=True) for sino in sinogram]
    ours = _gridrec_block(np.stack(sinogram, axis=1), ANGLES)
    ramp = _gridrec_block(np.stack(sinogram, axis=1), ANGLES, filter_name="ramp")
    error = {name: [rmse_in_disc(v, phantom) for v in volumes]
             for name, volumes in (("iradon", theirs), ("linear", ours), ("ramp", ramp))}
    assert error["linear"][0] <= 1.1 * error["iradon"][0]
    assert error["linear"][1] <= 1.05 * error["iradon"][1]
    assert error["ramp"][0] <= 0.95 * error["iradon"][0]
    for k in range(2):
        assert ours[k].mean() == pytest.approx(theirs[k].mean(), rel=0.01)


def test_rotation_centre_offset_is_a_phase_ramp(phantom, sinogram):
    """The axis 2.3 px right of the detector centre, on the phantom blurred by σ = 1.5 px (each
    projection blurred along the detector, where a cubic-spline shift is exact enough):
    reconstructed with ``center_px`` it matches the centred reconstruction (measured 0.02 % of the
    slice's RMS), without it it does not (measured 45 %)."""
    smooth = ndimage.gaussian_filter1d(sinogram[0], 1.5, axis=1)
    moved = ndimage.shift(smooth, (0, 2.3), order=3, mode="constant")
    centred = _gridrec_block(smooth[:, None, :], ANGLES)[0]
    scale = rmse_in_disc(centred, 0.0)
    offset = _gridrec_block(moved[:, None, :], ANGLES, center_px=N // 2 + 2.3)[0]
    assert rmse_in_disc(offset, centred) <= 0.01 * scale
    unaware = _gridrec_block(moved[:, None, :], ANGLES)[0]
    assert rmse_in_disc(unaware, centred) >= 0.2 * scale


def test_two_slices_per_transform_do_not_mix(sinogram):
    """Three different slices at once (two packed as real + imaginary, one alone) equal each slice
    reconstructed on its own."""
    clean, noisy = sinogram
    block = np.stack([clean, noisy, clean[:, ::-1]], axis=1)
    together = _gridrec_block(block, ANGLES, center_px=127.6)
    for k in range(3):
        alone = _gridrec_block(block[:, k:k + 1], ANGLES, center_px=127.6)[0]
        np.testing.assert_allclose(together[k], alone, atol=1e-5 * float(np.abs(alone).max()))


def test_filters_keep_the_mean_and_smooth_the_noise(phantom, sinogram):
    """Every filter keeps the slice's mean (the ramp's zero frequency is that of the band-limited
    ramp); windows and a lower cutoff trade resolution for noise: the noise (reconstruction of the
    noisy minus the noise-free sinogram) falls from ramp to Shepp–Logan to linear to cosine to Hann,
    and with the cutoff; its ratio to the ramp's follows ∫f²W²: 0.78 (Shepp–Logan), 0.63 (linear)."""
    clean, noisy = sinogram
    noise = {}
    for name in FILTERS:
        volume = _gridrec_block(np.stack([clean, noisy], axis=1), ANGLES, filter_name=name)
        assert volume[0].mean() == pytest.approx(phantom.mean(), rel=0.02)
        noise[name] = float(np.std(volume[1] - volume[0]))
    assert noise["ramp"] > noise["shepp-logan"] > noise["linear"] > noise["cosine"] > noise["hann"]
    assert noise["parzen"] < noise["linear"]
    assert noise["shepp-logan"] / noise["ramp"] == pytest.approx(0.78, abs=0.05)
    assert noise["linear"] / noise["ramp"] == pytest.approx(0.63, abs=0.05)
    half = _gridrec_block(np.stack([clean, noisy], axis=1), ANGLES, filter_name="ramp", cutoff=0.5)
    assert float(np.std(half[1] - half[0])) < 0.5 * noise["ramp"]
    response = filter_response(64, "hann", cutoff=0.5)
    assert response[np.abs(np.fft.fftfreq(64)) > 0.25].max() == 0


def test_reconstruct_defaults_to_gridrec_and_checks_its_options(sinogram):
    proj = xr.DataArray(np.stack([sinogram[0]] * 2, axis=1).astype(np.float32), dims=("angle", "y", "x"),
                        coords={"angle": ANGLES})
    volume = reconstruct(proj, cutoff=0.8)
    assert volume.attrs["history"][-1].startswith("reconstruct(method='gridrec'")
    assert "filter_name='linear', cutoff=0.8" in volume.attrs["history"][-1]
    chunked = reconstruct(proj, cutoff=0.8, slices_per_chunk=1, threads=2).compute()
    np.testing.assert_allclose(chunked.values, volume.values, atol=1e-5 * float(volume.max()))
    with pytest.raises(FitError, match="filter 'butterworth' is not one of ramp, linear, shepp-logan"):
        reconstruct(proj, filter_name="butterworth")
    with pytest.raises(FitError, match=r"cutoff 1.5 is outside \(0, 1\]"):
        reconstruct(proj, cutoff=1.5)
    with pytest.raises(FitError, match="filters apply to 'gridrec' only"):
        reconstruct(proj, "fbp", filter_name="hann")
