"""Phantom particles with known thickness and phase-fraction fields (ground truth for tests)."""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import ndimage


def sphere_thickness(shape: tuple[int, int], centers_px: np.ndarray, radii_px: np.ndarray) -> np.ndarray:
    """Projected thickness (chord length) of spheres: t = Σ 2√(r² − ρ²) where ρ < r, ρ the distance
    from a sphere's centre in the image plane.

    Parameters
    ----------
    shape : (int, int)
        Image size (y, x) in px.
    centers_px : numpy.ndarray
        Sphere centres (k × 2: y, x) in px.
    radii_px : numpy.ndarray
        Sphere radii (k) in px.

    Returns
    -------
    numpy.ndarray
        Thickness (px) per pixel.

    Examples
    --------
    >>> sphere_thickness((5, 5), np.array([[2.0, 2.0]]), np.array([2.0]))[2].round(3).tolist()
    [0.0, 3.464, 4.0, 3.464, 0.0]
    """
    yy, xx = np.indices(shape, dtype=float)
    thickness = np.zeros(shape)
    for (cy, cx), r in zip(np.atleast_2d(centers_px), np.atleast_1d(radii_px), strict=True):
        rho2 = (yy - cy) ** 2 + (xx - cx) ** 2
        thickness += 2.0 * np.sqrt(np.clip(r**2 - rho2, 0.0, None))
    return thickness


def _radial_fraction(shape: tuple[int, int], center_px: tuple[float, float], radius_px: float,
                    core: float, surface: float) -> np.ndarray:
    """Fraction rising from ``core`` at the centre to ``surface`` at the rim as (ρ/r)²."""
    yy, xx = np.indices(shape, dtype=float)
    rho = np.hypot(yy - center_px[0], xx - center_px[1]) / radius_px
    return core + (surface - core) * np.clip(rho, 0.0, 1.0) ** 2


def _blob_field(shape: tuple[int, int], sigma_px: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth random field scaled to [0, 1] (Gaussian-filtered white noise)."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma_px)
    return (field - field.min()) / (np.ptp(field) + 1e-12)


def particle_phantom(shape: tuple[int, int] = (256, 256), max_edge_jump: float = 1.2,
                     seed: int | np.random.Generator = 0) -> xr.Dataset:
    """Three overlapping spherical particles whose cycled-phase fraction is higher at the surface
    (rising as (ρ/r)² from the centre), with blob-like heterogeneity on top.

    Parameters
    ----------
    shape : (int, int)
        Image size (y, x) in px.
    max_edge_jump : float
        Edge jump (OD) of the thickest point.
    seed : int or numpy.random.Generator
        Seed or generator of the heterogeneity.

    Returns
    -------
    xarray.Dataset
        ``edge_jump`` (OD of a unit-edge-step spectrum, ∝ thickness) and ``fraction`` (of the
        second phase, 0 where there is no material) over ``(y, x)``.

    Examples
    --------
    >>> phantom = particle_phantom(shape=(32, 32))
    >>> float(phantom.edge_jump.max())
    1.2
    """
    rng = np.random.default_rng(seed)
    ny, nx = shape
    scale = min(ny, nx)
    centers = np.array([[0.45 * ny, 0.40 * nx], [0.62 * ny, 0.68 * nx], [0.28 * ny, 0.72 * nx]])
    radii = np.array([0.26, 0.18, 0.12]) * scale
    thickness = sphere_thickness(shape, centers, radii)
    fraction = np.zeros(shape)
    weight = np.zeros(shape)
    for (cy, cx), r, (core, surface) in zip(centers, radii, [(0.15, 0.85), (0.3, 0.7), (0.6, 0.9)],
                                            strict=True):
        t = sphere_thickness(shape, np.array([[cy, cx]]), np.array([r]))
        fraction += t * _radial_fraction(shape, (cy, cx), r, core, surface)
        weight += t
    fraction = np.where(weight > 0, fraction / np.where(weight > 0, weight, 1.0), 0.0)
    blobs = _blob_field(shape, sigma_px=scale / 25, rng=rng)
    fraction = np.clip(0.8 * fraction + 0.2 * blobs, 0.0, 1.0) * (thickness > 0)
    edge_jump = max_edge_jump * thickness / thickness.max()
    dims = ("y", "x")
    return xr.Dataset({"edge_jump": (dims, edge_jump), "fraction": (dims, fraction)},
                      attrs={"description": "three-sphere phantom, cycled fraction higher at surface"})
