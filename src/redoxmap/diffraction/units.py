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
    """Scattering vector magnitude from the diffraction angle: q = 4π sin θ / λ (Bragg's law; Warren,
    *X-ray Diffraction*, 1969, ch. 1).

    Parameters
    ----------
    two_theta_deg : array_like
        Diffraction angle 2θ (degrees).
    wavelength_a : float
        Wavelength λ (Å).

    Returns
    -------
    numpy.ndarray
        q (Å⁻¹), the shape of ``two_theta_deg``.

    Raises
    ------
    FormatError
        If the wavelength is missing, not finite or not positive.

    Examples
    --------
    >>> round(float(two_theta_to_q(90.0, 1.0)), 6)
    8.885766
    """
    lam = _check_wavelength(wavelength_a)
    return 4 * np.pi * np.sin(np.radians(np.asarray(two_theta_deg, float)) / 2) / lam


def q_to_two_theta(q_a, wavelength_a: float):
    """Diffraction angle from the scattering vector: 2θ = 2 asin(qλ / 4π) (inverse of :func:`two_theta_to_q`).

    Parameters
    ----------
    q_a : array_like
        Scattering vector magnitude q (Å⁻¹).
    wavelength_a : float
        Wavelength λ (Å).

    Returns
    -------
    numpy.ndarray
        2θ (degrees), the shape of ``q_a``.

    Raises
    ------
    FormatError
        If the wavelength is not positive, or some |q| exceeds 4π/λ (no diffraction angle exists).

    Examples
    --------
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
    """Lattice spacing from the diffraction angle: d = λ / (2 sin θ) (Bragg's law).

    Parameters
    ----------
    two_theta_deg : array_like
        Diffraction angle 2θ (degrees).
    wavelength_a : float
        Wavelength λ (Å).

    Returns
    -------
    numpy.ndarray
        d (Å), the shape of ``two_theta_deg``.

    Raises
    ------
    FormatError
        If the wavelength is missing, not finite or not positive.

    Examples
    --------
    >>> round(float(two_theta_to_d(18.72, 1.5406)), 4)
    4.7363
    """
    lam = _check_wavelength(wavelength_a)
    return lam / (2 * np.sin(np.radians(np.asarray(two_theta_deg, float)) / 2))


def d_to_two_theta(d_a, wavelength_a: float):
    """Diffraction angle of a lattice spacing: 2θ = 2 asin(λ / 2d) (Bragg's law).

    Parameters
    ----------
    d_a : array_like
        Lattice spacing d (Å).
    wavelength_a : float
        Wavelength λ (Å).

    Returns
    -------
    numpy.ndarray
        2θ (degrees), the shape of ``d_a``.

    Examples
    --------
    >>> round(float(d_to_two_theta(4.7363, 1.5406)), 2)
    18.72
    """
    return q_to_two_theta(2 * np.pi / np.asarray(d_a, float), wavelength_a)


def d_sigma(two_theta_deg, sigma_two_theta_deg, wavelength_a: float):
    """Standard error of d from that of 2θ: σ_d = d cot θ · σ_θ with σ_θ = σ_2θ / 2 in radians (the
    derivative of λ = 2d sin θ).

    Parameters
    ----------
    two_theta_deg : array_like
        Diffraction angle 2θ (degrees).
    sigma_two_theta_deg : array_like
        1σ of 2θ (degrees), broadcast against ``two_theta_deg``.
    wavelength_a : float
        Wavelength λ (Å).

    Returns
    -------
    numpy.ndarray
        1σ of d (Å).

    Examples
    --------
    >>> round(float(d_sigma(90.0, 0.01, 1.0)), 8)
    6.171e-05
    """
    theta = np.radians(np.asarray(two_theta_deg, float)) / 2
    return two_theta_to_d(two_theta_deg, wavelength_a) / np.tan(theta) * np.radians(
        np.asarray(sigma_two_theta_deg, float)) / 2


def ka2_two_theta(two_theta_ka1_deg, ka2_over_ka1: float = CU_KA2_A / CU_KA1_A):
    """Position of the Kα2 line of a reflection seen at 2θ(Kα1): sin θ₂ = (λ₂/λ₁) sin θ₁.

    Parameters
    ----------
    two_theta_ka1_deg : array_like
        2θ of the Kα1 line (degrees).
    ka2_over_ka1 : float
        Wavelength ratio λ₂/λ₁; default Cu (:data:`CU_KA2_A` / :data:`CU_KA1_A`).

    Returns
    -------
    numpy.ndarray
        2θ of the Kα2 line (degrees).

    Examples
    --------
    >>> round(float(ka2_two_theta(44.0)), 3)
    44.114
    """
    return np.degrees(2 * np.arcsin(ka2_over_ka1 * np.sin(np.radians(np.asarray(two_theta_ka1_deg,
                                                                                 float)) / 2)))


def convert_axis(pattern: xr.DataArray, to: str, wavelength_a: float | None = None) -> xr.DataArray:
    """The same intensities on a ``two_theta`` (degrees) or ``q`` (Å⁻¹) axis (:func:`two_theta_to_q`,
    :func:`q_to_two_theta`).

    The new axis is not uniformly spaced; resample it with ``DataArray.interp`` if a uniform grid is
    needed.

    Parameters
    ----------
    pattern : xarray.DataArray
        Pattern or series with a ``two_theta`` or a ``q`` dimension.
    to : {"two_theta", "q"}
        The axis wanted.
    wavelength_a : float, optional
        Wavelength λ (Å); default ``pattern.attrs["wavelength_a"]``.

    Returns
    -------
    xarray.DataArray
        The pattern on the new axis (unchanged if it is already on it), with ``wavelength_a`` in its
        attributes and a history line.

    Raises
    ------
    FormatError
        If ``to`` is not an axis name, the pattern has neither axis, or no positive wavelength is known.

    Examples
    --------
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
