"""A matrix-free parallel-beam projector pair through the Fourier-slice theorem and non-uniform FFTs.

The 1D Fourier transform of the projection at angle θ is the central slice of the slice's 2D
Fourier transform along (ω cos θ, ω sin θ) (Fourier-slice theorem; Kak & Slaney, *Principles of
Computerized Tomographic Imaging*, IEEE Press 1988, ch. 3, Eq. 2), so

    A x:   P_θ(ω_k) = Σ_pixels x_p exp(−i ω_k t_p(θ))       (type-2 NUFFT: pixels → polar samples)
           p_θ(d)   = (1/m) Σ_k P_θ(ω_k) exp(i ω_k (d − c_det))   (inverse FFT of length m)
    Aᵀ s:  x_p      = (1/m) Σ_θ Σ_k S_θ(ω_k) exp(i ω_k (c_det + t_p(θ)))   (type-1 NUFFT)

with ω_k = 2π k / m, |k| ≤ (m − 1)/2, m > 2 n_det the odd padded detector length, S_θ the FFT of
the zero-padded projection, and t_p = x cos θ + y sin θ for the pixel at (x, y) = (j − c, c − i),
c = n // 2 — the geometry of :mod:`redoxmap.tomo.projector` and scikit-image's ``radon``. Each
pixel is a point mass and each detector bin samples the projection band-limited to its Nyquist
frequency (a periodic sinc of period m): no matrix is stored, a slice costs O(n² log n + m·n_angle)
instead of O(n²·n_angle) and the memory is the slab and a few copies of it. The NUFFTs are
FINUFFT's (Barnett, Magland & af Klinteberg, SIAM J. Sci. Comput. 41, C479 (2019)); its type-1
and type-2 transforms with the same kernel are exact adjoints, so ``adjoint`` is the transpose of
``forward`` to single-precision rounding. m is odd, so the frequencies are symmetric (no lone
Nyquist sample): a real slice has a real projection, the interpolant is exact at the detector
samples, and two real slices travel as the real and imaginary parts of one complex transform.
"""

from __future__ import annotations

import finufft
import numpy as np
import scipy.fft

#: Requested relative accuracy of the NUFFTs (single precision; a reconstruction's own error is
#: ≥ 1e-3 relative). 2e-5 is the finest that keeps FINUFFT's kernel at 8 points in single precision.
EPS = 2e-5
#: FINUFFT's oversampling of the fine grid: 1.25 (a wider kernel on a smaller FFT) was 1.7× faster
#: than 2.0 for 1024² slices from 1000 views, at the same accuracy.
UPSAMPFAC = 1.25
#: Complex values held per batch of transforms (64 MB of complex64).
BATCH_VALUES = 8_000_000


def _padded_length(n_det: int) -> int:
    """Odd FFT length m > 2 n_det with small prime factors: the zero padding that keeps a filtered
    or band-limited projection from wrapping onto itself."""
    m = scipy.fft.next_fast_len(2 * n_det + 1)
    while m % 2 == 0:
        m = scipy.fft.next_fast_len(m + 1)
    return m


class FourierRadon:
    """Matrix-free parallel-beam projector A (slices → sinograms) and its transpose Aᵀ, through the
    Fourier-slice theorem and a pair of non-uniform FFTs (equations in the module docstring).

    Pixels outside the inscribed circle (or outside ``mask``) are not part of the model:
    :meth:`forward` ignores them and :meth:`adjoint` returns zero there. Memory is the slab and a
    few copies of it; a slice costs O(n² log n + m · n_angle) per product.

    Parameters
    ----------
    n : int
        Slices are ``n`` × ``n`` pixels (the pixel is the length unit).
    angles_deg : numpy.ndarray
        Projection angles in degrees (scikit-image's convention: angle 0 integrates along rows).
    n_det : int, optional
        Detector bins per projection; default ``n``.
    center_px : float, optional
        Detector position of the rotation axis (px, sub-pixel); default ``n_det // 2``.
    mask : numpy.ndarray, optional
        ``(n, n)`` boolean image of the pixels in the model (e.g. a support), besides the circle.
    threads : int
        Threads of FINUFFT and of the FFTs.

    Examples
    --------
    >>> op = FourierRadon(32, np.linspace(0, 180, 40, endpoint=False))
    >>> disc = (np.hypot(*(np.indices((32, 32)) - 16)) <= 8).astype(np.float32)[None]
    >>> round(float(op.forward(disc)[0, 0, 16]), 1)  # the chord through the centre: 17 pixels
    17.0
    """

    #: Rays whose row sum (the band-limited projection of the pixels in the model, which rings by
    #: < 0.01 around zero beyond its edge) is not above half a pixel are left out.
    ray_floor = 0.5

    def __init__(self, n: int, angles_deg: np.ndarray, n_det: int | None = None,
                 center_px: float | None = None, mask: np.ndarray | None = None, threads: int = 1):
        self.n = int(n)
        self.n_det = self.n if n_det is None else int(n_det)
        self.n_angle = int(np.size(angles_deg))
        self.threads = max(int(threads), 1)
        self.m = _padded_length(self.n_det)
        k = scipy.fft.fftfreq(self.m, 1.0 / self.m)
        omega = 2 * np.pi * k / self.m
        theta = np.radians(np.asarray(angles_deg, float))
        # mode axis 0 is the pixel row i (y = c − i), axis 1 the column j (x = j − c)
        self._points = ((-np.sin(theta)[:, None] * omega).astype(np.float32).ravel(),
                        (np.cos(theta)[:, None] * omega).astype(np.float32).ravel())
        c_det = self.n_det // 2 if center_px is None else float(center_px)
        self._phase = np.exp(-1j * omega * c_det).astype(np.complex64)  # detector origin → axis
        rows, cols = np.indices((self.n, self.n)) - self.n // 2
        inside = rows**2 + cols**2 <= (self.n / 2.0) ** 2
        self.mask = inside if mask is None else inside & np.asarray(mask, bool)
        self._plans: dict[tuple[int, int], finufft.Plan] = {}

    def _plan(self, kind: int, n_trans: int) -> finufft.Plan:
        if (kind, n_trans) not in self._plans:
            plan = finufft.Plan(kind, (self.n, self.n), n_trans=n_trans, eps=EPS,
                                isign=1 if kind == 1 else -1, dtype="complex64",
                                nthreads=self.threads, upsampfac=UPSAMPFAC)
            plan.setpts(*self._points)
            self._plans[kind, n_trans] = plan
        return self._plans[kind, n_trans]

    def _pairs(self, n_slices: int) -> list[slice]:
        """Slices of the stack taken two by two (real + imaginary), ``per`` pairs per transform."""
        per = max(BATCH_VALUES // (self.n_angle * self.m), 1) * 2
        return [slice(s, min(s + per, n_slices)) for s in range(0, n_slices, per)]

    @staticmethod
    def _pack(stack: np.ndarray) -> np.ndarray:
        """(n_slices, …) real → (ceil(n_slices / 2), …) complex64: slices 2j and 2j + 1 as one."""
        packed = np.zeros(((stack.shape[0] + 1) // 2, *stack.shape[1:]), np.complex64)
        packed.real = stack[0::2]
        packed.imag[: stack.shape[0] // 2] = stack[1::2]
        return packed

    @staticmethod
    def _unpack(packed: np.ndarray, out: np.ndarray) -> None:
        out[0::2] = packed.real
        out[1::2] = packed.imag[: out.shape[0] // 2]

    def forward(self, volume: np.ndarray) -> np.ndarray:
        """Projections A x: line integrals through each slice at every angle.

        Parameters
        ----------
        volume : numpy.ndarray
            Slices ``(n_slices, n, n)``, attenuation per pixel.

        Returns
        -------
        numpy.ndarray
            Sinograms ``(n_slices, n_angle, n_det)``, float32 (attenuation × pixels).
        """
        volume = np.asarray(volume, np.float32)
        out = np.empty((volume.shape[0], self.n_angle, self.n_det), np.float32)
        for part in self._pairs(volume.shape[0]):
            packed = self._pack(volume[part] * self.mask)
            spectra = self._plan(2, packed.shape[0]).execute(packed)
            spectra = spectra.reshape(packed.shape[0], self.n_angle, self.m) * self._phase
            lines = scipy.fft.ifft(spectra, axis=-1, workers=self.threads)[..., : self.n_det]
            self._unpack(lines, out[part])
        return out

    def adjoint(self, sinograms: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Back-projection Aᵀ s, the exact transpose of :meth:`forward` (to single-precision rounding).

        Parameters
        ----------
        sinograms : numpy.ndarray
            ``(n_slices, n_angle, n_det)``.
        weights : numpy.ndarray, optional
            Length-m weights in FFT order (m the padded detector length) that multiply each
            projection's spectrum first: with a filter this is filtered back-projection up to the
            angular step π / n_angle.

        Returns
        -------
        numpy.ndarray
            Slices ``(n_slices, n, n)``, float32, zero outside the model's pixels.
        """
        sinograms = np.asarray(sinograms, np.float32)
        scale = np.conj(self._phase) / np.float32(self.m)
        if weights is not None:
            scale = (scale * weights).astype(np.complex64)
        out = np.empty((sinograms.shape[0], self.n, self.n), np.float32)
        for part in self._pairs(sinograms.shape[0]):
            packed = self._pack(sinograms[part])
            spectra = scipy.fft.fft(packed, n=self.m, axis=-1, workers=self.threads) * scale
            spectra = spectra.reshape(packed.shape[0], -1)
            images = self._plan(1, packed.shape[0]).execute(spectra).reshape(-1, self.n, self.n)
            self._unpack(images, out[part])
        out *= self.mask
        return out
