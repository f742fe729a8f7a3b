"""2θ, q and d: conversions with the wavelength (Bragg's law).

λ = 2 d sin θ and q = 4π sin θ / λ = 2π / d (e.g. Warren, *X-ray Diffraction*, 1969, ch. 1).
Angles in degrees of 2θ, q in Å⁻¹, d and λ in Å.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from redoxmap.errors import FormatError
from redoxmap.history import with_history
from redoxmap.io.xrd import AXIS_ATTRS

#: Cu Kα1 and Kα2 (Å) and the Kα2/Kα1 intensity ratio (International Tables for
#: Crystallography, Vol. C, Table 4.2.2.1; ratio 1/2 from the 2p3/2 : 2p1/2 occupancy).
CU_KA1_A = 1.5406
CU_KA2_A = 1.54439
KA2_RATIO = 0.5


def _check_wavelength(wavelength_a: float) -> float:
    if wavelength_a is None or not np.isfinite(wavelength_a) or wavelength_a <= 0:
        raise FormatError(f"wavelength {wavelength_a!r} Å; expected a positive wavelength "
                          "(give wavelength_a= or read a file whose header states it)")
    return float(wavelength_a)


def two_theta_to_q(two_theta_deg, wavelength_a: float):
    """q = 4π sin θ / λ (Å⁻¹).

    >>> round(float(two_theta_to_q(90.0, 1.0)), 6)
    8.885766
    """
    lam = _check_wavelength(wavelength_a)
    return 4 * np.pi * np.sin(np.radians(np.asarray(two_theta_deg, float)) / 2) / lam


def q_to_two_theta(q_a, wavelength_a: float):
    """2θ = 2 asin(qλ / 4π) (degrees); q beyond 4π/λ has no angle and raises.

    >>> round(float(q_to_two_theta(two_theta_to_q(30.0, 1.5406), 1.5406)), 9)
    30.0
    """
    lam = _check_wavelength(wavelength_a)
    s = np.asarray(q_a, float) * lam / (4 * np.pi)
    if np.any(np.abs(s) > 1):
        raise FormatError(f"q up to {np.max(np.abs(q_a)):g} Å⁻¹ exceeds 4π/λ = {4 * np.pi / lam:g} Å⁻¹ at "
                          f"λ = {lam:g} Å; no diffraction angle exists")
    return np.degrees(2 * np.arcsin(s))


def two_theta_to_d(two_theta_deg, wavelength_a: float):
    """d = λ / (2 sin θ) (Å).

    >>> round(float(two_theta_to_d(18.72, 1.5406)), 4)
    4.7363
    """
    lam = _check_wavelength(wavelength_a)
    return lam / (2 * np.sin(np.radians(np.asarray(two_theta_deg, float)) / 2))


def d_to_two_theta(d_a, wavelength_a: float):
    """2θ = 2 asin(λ / 2d) (degrees)."""
    return q_to_two_theta(2 * np.pi / np.asarray(d_a, float), wavelength_a)


def d_sigma(two_theta_deg, sigma_two_theta_deg, wavelength_a: float):
    """1σ of d from the 1σ of 2θ: σ_d = d cot θ σ_θ, σ_θ = σ_2θ / 2 in radians (from λ = 2d sin θ)."""
    theta = np.radians(np.asarray(two_theta_deg, float)) / 2
    return two_theta_to_d(two_theta_deg, wavelength_a) / np.tan(theta) * np.radians(
        np.asarray(sigma_two_theta_deg, float)) / 2


def ka2_two_theta(two_theta_ka1_deg, ka2_over_ka1: float = CU_KA2_A / CU_KA1_A):
    """Where the Kα2 line of a reflection seen at 2θ(Kα1) lies: sin θ₂ = (λ₂/λ₁) sin θ₁."""
    return np.degrees(2 * np.arcsin(ka2_over_ka1 * np.sin(np.radians(np.asarray(two_theta_ka1_deg,
                                                                                 float)) / 2)))


def convert_axis(pattern: xr.DataArray, to: str, wavelength_a: float | None = None) -> xr.DataArray:
    """The same intensities on a ``two_theta`` (deg) or ``q`` (Å⁻¹) axis.

    The wavelength comes from ``attrs["wavelength_a"]`` unless given. The new axis is not uniformly
    spaced; resample it with ``DataArray.interp`` if a uniform grid is needed.

    >>> p = xr.DataArray([1.0, 2.0], dims="two_theta", coords={"two_theta": [20.0, 40.0]},
    ...                  attrs={"wavelength_a": 1.5406})
    >>> [round(float(v), 4) for v in convert_axis(p, "q").q.values]
    [1.4164, 2.7898]
    """
    if to not in ("two_theta", "q"):
        raise FormatError(f"convert_axis: to={to!r}; expected 'two_theta' or 'q'")
    source = "q" if "q" in pattern.dims else "two_theta" if "two_theta" in pattern.dims else None
    if source is None:
        raise FormatError(f"convert_axis: pattern dims {pattern.dims} hold neither 'two_theta' nor 'q'")
    if source == to:
        return pattern
    lam = _check_wavelength(wavelength_a if wavelength_a is not None else pattern.attrs.get("wavelength_a"))
    values = pattern[source].values
    new = two_theta_to_q(values, lam) if to == "q" else q_to_two_theta(values, lam)
    out = pattern.rename({source: to}).assign_coords({to: (to, new, AXIS_ATTRS[to])})
    out.attrs = with_history({**pattern.attrs, "wavelength_a": lam}, "convert_axis", to=to,
                             wavelength_a=lam)
    return out
