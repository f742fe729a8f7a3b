"""Simulated operando XRD of a layered R-3m cathode over a charge–discharge, with the true cell per scan.

The cell follows the Li fraction removed, x, of a cycler table (:mod:`redoxmap.simulate.cycler`):
a(x) = a₀ − 0.07 x and c(x) = c₀ + 0.60 x − 2.2 x⁴ (Å) — a shrinking a and a c that grows, peaks near
x ≈ 0.4 and collapses at high delithiation, the shape reported for layered NCM oxides (e.g.
Li et al. 2019, J. Am. Chem. Soc., doi:10.1021/jacs.8b13798: a c-axis collapse at deep charge
whatever the Ni content). Each reflection is a pseudo-Voigt at Bragg's angle for the
hexagonal d-spacing, with Caglioti widths FWHM² = U tan²θ + V tanθ + W (Caglioti, Paoletti & Ricci
1958, Nucl. Instrum. 3, 223), optionally with its Cu Kα2 copy (half the intensity), on a sloping
background; counts are Poisson.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from redoxmap.diffraction.lattice import d_hexagonal
from redoxmap.diffraction.peaks import pseudo_voigt
from redoxmap.diffraction.units import CU_KA1_A, CU_KA2_A, KA2_RATIO, d_to_two_theta, ka2_two_theta
from redoxmap.io.xrd import AXIS_ATTRS

#: Reflections of R-3m LiNiO2 below d = 1.3 Å with relative intensities at Cu Kα (pymatgen's
#: XRDCalculator for a = 2.878, c = 14.19 Å, O at z = 0.2412, rounded).
LAYERED_REFLECTIONS = {"003": 93.0, "101": 67.0, "006": 8.0, "012": 22.0, "104": 100.0, "015": 35.0,
                       "009": 7.0, "107": 10.0, "018": 27.0, "110": 28.0, "113": 15.0}
SYNCHROTRON_A = 0.7293


@dataclass(frozen=True)
class Instrument:
    """A powder diffractometer for :func:`simulate_xrd_series`.

    Peak widths follow Caglioti, Paoletti & Ricci 1958: FWHM² = U tan²θ + V tanθ + W.

    Parameters
    ----------
    wavelength_a : float
        Wavelength (Å; Kα1 with ``ka2``).
    caglioti : (float, float, float)
        U, V, W (deg²).
    eta : float
        Lorentzian fraction η of the pseudo-Voigt peaks.
    two_theta_range : (float, float)
        2θ range (degrees).
    step_deg : float
        2θ step (degrees).
    peak_counts : float
        Counts of the strongest reflection's peak.
    background_counts : float
        Background counts.
    ka2 : bool
        Add the Cu Kα2 copy of every peak (half the intensity).
    """

    wavelength_a: float
    caglioti: tuple[float, float, float]
    eta: float
    two_theta_range: tuple[float, float]
    step_deg: float
    peak_counts: float
    background_counts: float
    ka2: bool = False


LAB_CU = Instrument(CU_KA1_A, (0.004, -0.002, 0.008), 0.4, (15.0, 72.0), 0.01, 2.0e4, 400.0)
LAB_CU_DOUBLET = Instrument(CU_KA1_A, (0.004, -0.002, 0.008), 0.4, (15.0, 72.0), 0.01, 2.0e4, 400.0, ka2=True)
SYNCHROTRON = Instrument(SYNCHROTRON_A, (0.0005, -0.0002, 0.0004), 0.3, (6.0, 34.0), 0.004, 1.0e5, 2000.0)


def layered_cell(x):
    """True cell (a, c) of the simulated Li(1−x)MO2 (module doc): a(x) = 2.878 − 0.07 x and
    c(x) = 14.19 + 0.60 x − 2.2 x⁴ (Å).

    Parameters
    ----------
    x : array_like
        Fraction of Li removed.

    Returns
    -------
    a, c : numpy.ndarray
        Cell parameters (Å).

    Examples
    --------
    >>> [round(float(v), 4) for v in layered_cell(0.0)]
    [2.878, 14.19]
    """
    x = np.asarray(x, float)
    return 2.878 - 0.07 * x, 14.19 + 0.60 * x - 2.2 * x ** 4


def simulate_xrd_series(cycler: pd.DataFrame, scan_time_s, instrument: Instrument = LAB_CU,
                        seed: int | np.random.Generator = 0) -> tuple[xr.DataArray, xr.Dataset]:
    """Simulated operando powder patterns at the given cycler times, and the true cell of each scan
    (module doc).

    Parameters
    ----------
    cycler : pandas.DataFrame
        A table from :func:`redoxmap.simulate.galvanostatic_cycle` (needs ``x`` and
        ``attrs["start_time"]``).
    scan_time_s : array_like
        Scan times (s) on the cycler's clock; the cell at that instant is used. Times outside the
        record take the first/last record's state.
    instrument : Instrument
        :data:`LAB_CU`, :data:`LAB_CU_DOUBLET`, :data:`SYNCHROTRON` or another :class:`Instrument`.
    seed : int or numpy.random.Generator
        Seed or generator of the Poisson noise.

    Returns
    -------
    series : xarray.DataArray
        ``(scan, two_theta)`` counts with coords ``time`` (datetime64) and ``time_s``, and
        ``attrs["wavelength_a"]``.
    truth : xarray.Dataset
        ``x``, ``a``, ``c`` (Å), ``voltage_v`` over ``scan`` and the Kα1 ``two_theta`` and ``fwhm``
        of each reflection over ``(scan, peak)``.

    Examples
    --------
    >>> from redoxmap.simulate import galvanostatic_cycle
    >>> series, truth = simulate_xrd_series(galvanostatic_cycle(), [0.0, 20000.0])
    >>> series.dims, [round(float(c), 3) for c in truth.c]
    (('scan', 'two_theta'), [14.19, 14.35])
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    t = np.asarray(scan_time_s, float)
    x = np.interp(t, cycler.time_s.to_numpy(), cycler.x.to_numpy())
    a, c = layered_cell(x)
    names = list(LAYERED_REFLECTIONS)
    hkl = np.array([[int(ch) for ch in n] for n in names], float)
    d = d_hexagonal(hkl[None, :, :], a[:, None], c[:, None])  # (scan, peak)
    lam = instrument.wavelength_a
    inside = lam / (2 * d) < 1
    centers = np.where(inside, d_to_two_theta(np.where(inside, d, 10.0), lam), np.nan)
    lo, hi = instrument.two_theta_range
    grid = np.arange(lo, hi + instrument.step_deg / 2, instrument.step_deg)
    tan = np.tan(np.radians(centers) / 2)
    u, v, w = instrument.caglioti
    fwhm = np.sqrt(u * tan ** 2 + v * tan + w)
    weight = np.array(list(LAYERED_REFLECTIONS.values())) / 100.0
    area = instrument.peak_counts * weight * fwhm.mean() * 1.3  # areas for a peak height ~ peak_counts
    profile = np.zeros((t.size, grid.size))
    lines = [(centers, 1.0)]
    if instrument.ka2:
        lines.append((ka2_two_theta(centers, CU_KA2_A / CU_KA1_A), KA2_RATIO))
    for position, ratio in lines:
        shown = np.isfinite(position)
        contribution = pseudo_voigt(grid[None, None, :], np.where(shown, position, 0.0)[:, :, None],
                                    fwhm[:, :, None], instrument.eta, (area * ratio)[None, :, None])
        profile += np.sum(np.where(shown[:, :, None], contribution, 0.0), axis=1)
    background = instrument.background_counts * (1.0 + 0.5 * (hi - grid) / (hi - lo))
    counts = rng.poisson(profile + background[None, :]).astype(float)
    start = pd.Timestamp(cycler.attrs["start_time"])
    time = (start + pd.to_timedelta(t, unit="s")).to_numpy("datetime64[ns]")
    series = xr.DataArray(
        counts, dims=("scan", "two_theta"), name="intensity",
        coords={"scan": np.arange(t.size), "two_theta": ("two_theta", grid, AXIS_ATTRS["two_theta"]),
                "time": ("scan", time), "time_s": ("scan", t, {"units": "s"})},
        attrs={"units": "counts", "source": "simulated", "wavelength_a": lam,
               **({"wavelength_ka2_a": CU_KA2_A} if instrument.ka2 else {}),
               "history": [f"simulate_xrd_series(wavelength_a={lam}, ka2={instrument.ka2})"]})
    voltage = np.interp(t, cycler.time_s.to_numpy(), cycler.voltage_v.to_numpy())
    truth = xr.Dataset({"x": ("scan", x), "a": ("scan", a), "c": ("scan", c), "voltage_v": ("scan", voltage),
                        "two_theta": (("scan", "peak"), centers), "fwhm": (("scan", "peak"), fwhm)},
                       coords={"scan": np.arange(t.size), "peak": names, "time_s": ("scan", t)})
    return series, truth
