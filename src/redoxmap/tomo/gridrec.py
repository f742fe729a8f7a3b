"""Filtered back-projection in Fourier space ("gridrec"): each projection's spectrum times a filter,
gridded onto the slice's Cartesian Fourier grid by a type-1 non-uniform FFT.

By the Fourier-slice theorem, FBP over 180°,

    f(x, y) = ∫₀^π q_θ(x cos θ + y sin θ) dθ ≈ (π / n_angle) Σ_θ q_θ(t),   Q_θ(ω) = H(ω) P_θ(ω)

(Kak & Slaney, *Principles of Computerized Tomographic Imaging*, IEEE Press 1988, ch. 3, Eq. 45),
is the adjoint of the Fourier projector (:class:`redoxmap.tomo.radon.FourierRadon`) applied to the
filtered projections, scaled by the angular step. Gridding the polar samples with a convolution
kernel, one 2D FFT and a deapodisation (division by the kernel's transform) is Dowd et al.'s
gridrec (Proc. SPIE 3772, 224 (1999); Marone & Stampanoni, J. Synchrotron Rad. 19, 1029 (2012)),
done here by FINUFFT's exponential-of-semicircle kernel to 1e-5 relative accuracy. A slice costs
O(n² log n + m n_angle) instead of FBP's O(n² n_angle); two slices share each transform.
The projection between detector samples is the band-limited (sinc) interpolant, not the linear
one of scikit-image's ``iradon``, which also smooths: with the plain ramp gridrec is sharper
(noise-free Shepp–Logan 1024², 1000 views: RMSE 0.92× ``iradon``'s) and 1.45× noisier (RMSE
1.44× at 1e4 counts). The default filter ``"linear"`` (the ramp times sinc²(f), linear
interpolation's mean response) gives ``iradon``'s resolution with less noise: RMSE 1.04×
(noise-free) and 0.92× (1e4 counts) of ``iradon``'s.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from redoxmap.errors import FitError
from redoxmap.tomo.radon import FourierRadon, _padded_length

#: Filters of :func:`filter_response` (and of ``reconstruct(method="gridrec")``).
FILTERS = ("ramp", "linear", "shepp-logan", "cosine", "hann", "parzen")


def _window(name: str, u: np.ndarray) -> np.ndarray:
    """Apodising window of the ramp at u = |f| / f_cutoff (u ≤ 1)."""
    if name == "ramp":
        return np.ones_like(u)
    if name == "linear":
        return np.sinc(u / 2) ** 2  # the transform of a one-pixel triangle: linear interpolation
    if name == "shepp-logan":
        return np.sinc(u / 2)  # sin(π u / 2) / (π u / 2)
    if name == "cosine":
        return np.cos(np.pi * u / 2)
    if name == "hann":
        return 0.5 * (1 + np.cos(np.pi * u))
    return np.where(u <= 0.5, 1 - 6 * u**2 + 6 * u**3, 2 * (1 - u) ** 3)  # parzen


def _check_filter(filter_name: str, cutoff: float) -> None:
    """Raise :class:`~redoxmap.errors.FitError` unless ``filter_name`` is one of :data:`FILTERS` and
    0 < ``cutoff`` ≤ 1."""
    if filter_name not in FILTERS:
        raise FitError(f"filter {filter_name!r} is not one of {', '.join(FILTERS)}")
    if not 0 < cutoff <= 1:
        raise FitError(f"filter cutoff {cutoff} is outside (0, 1]; expected a fraction of the Nyquist "
                       "frequency")


def filter_response(m: int, filter_name: str = "ramp", cutoff: float = 1.0) -> np.ndarray:
    """Filter H(f) of filtered back-projection on the length-``m`` FFT grid (numpy order).

    The ramp is the transform of the band-limited ramp's samples, h(0) = 1/4, h(n) = −1/(π n)² for
    odd n, 0 for even n (Kak & Slaney, *Principles of Computerized Tomographic Imaging*, IEEE Press
    1988, ch. 3, Eq. 61): unlike |f| sampled directly, it keeps the mean of the slice right after
    zero padding. It is multiplied by a window of u = |f| / (cutoff · ½):

    - ``"ramp"``: 1
    - ``"linear"``: sinc²(u/2), the mean response of linear interpolation between detector samples
      (the transform of a one-pixel triangle), which scikit-image's ``iradon`` applies implicitly:
      with it gridrec has ``iradon``'s resolution and a little less noise (linear interpolation at a
      random sub-pixel position passes the noise power (2 + cos 2πf)/3 ≥ sinc⁴(f))
    - ``"shepp-logan"``: sinc(u/2)
    - ``"cosine"``: cos(πu/2)
    - ``"hann"``: ½(1 + cos πu)
    - ``"parzen"``: 1 − 6u² + 6u³ for u ≤ ½, 2(1 − u)³ above

    and is zero above the cutoff.

    Parameters
    ----------
    m : int
        Length of the (zero-padded) projection's FFT.
    filter_name : str
        One of :data:`FILTERS`.
    cutoff : float
        Highest frequency passed, as a fraction of the Nyquist frequency (0 < cutoff ≤ 1).

    Returns
    -------
    numpy.ndarray
        H at the frequencies ``scipy.fft.fftfreq(m)`` (cycles per detector pixel), float64.

    Raises
    ------
    FitError
        If ``filter_name`` is not one of :data:`FILTERS` or ``cutoff`` is outside (0, 1].

    Examples
    --------
    >>> h = filter_response(8)
    >>> [round(float(v), 3) for v in h[:5]]
    [0.025, 0.123, 0.25, 0.377, 0.475]
    """
    _check_filter(filter_name, cutoff)
    n = scipy.fft.fftfreq(m, 1.0 / m)
    h = np.zeros(m)
    h[0] = 0.25
    odd = n % 2 == 1
    h[odd] = -1.0 / (np.pi * n[odd]) ** 2
    ramp = scipy.fft.fft(h).real
    u = np.abs(scipy.fft.fftfreq(m)) / (0.5 * cutoff)
    return np.where(u <= 1, ramp * _window(filter_name, np.minimum(u, 1)), 0.0)


def _gridrec_block(block: np.ndarray, angles_deg: np.ndarray, center_px: float | None = None,
                   filter_name: str = "linear", cutoff: float = 1.0, threads: int = 1) -> np.ndarray:
    """Filtered back-projection of projections ``(angle, z, det)`` → slices ``(z, det, det)``:

        f = (π / n_angle) Aᵀ F⁻¹[H · F p]

    with A the Fourier projector (:class:`redoxmap.tomo.radon.FourierRadon`), F the FFT of each
    projection zero-padded to m ≥ 2 n_det, and H :func:`filter_response`. The rotation axis at
    detector position ``center_px`` (default ``det // 2``, as ``iradon``) enters as a phase ramp,
    so a sub-pixel centre costs nothing and needs no interpolation. Angles are taken as evenly
    spread over 180° (the weight π / n_angle, as ``iradon``). Pixels outside the inscribed circle
    are zero.

    >>> angles = np.linspace(0, 180, 90, endpoint=False)
    >>> sino = np.tile(2 * np.sqrt(np.clip(64 - (np.arange(32) - 16.0) ** 2, 0, None)), (90, 2, 1))
    >>> disc = _gridrec_block(sino, angles)  # a disc of radius 8, attenuation 1 per pixel
    >>> round(float(disc[0, 16, 16]), 1), round(float(disc[1, 16, 12]), 1)
    (1.0, 1.0)
    """
    n_angle, _, n_det = block.shape
    weights = filter_response(_padded_length(n_det), filter_name, cutoff) * (np.pi / n_angle)
    rows, cols = np.indices((n_det, n_det)) - n_det // 2
    op = FourierRadon(n_det, angles_deg, n_det, center_px, mask=rows**2 + cols**2 <= (n_det // 2) ** 2,
                      threads=threads)  # iradon's circle
    return op.adjoint(np.transpose(np.asarray(block, np.float32), (1, 0, 2)), weights)
