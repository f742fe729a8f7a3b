"""Beer–Lambert acquisition of a phantom: flats, darks, Poisson noise and per-energy drift."""

from __future__ import annotations

import numpy as np
import xarray as xr

from redoxmap.io.raw import RawStack
from redoxmap.preprocess.align import shift_images


def phantom_od(phantom: xr.Dataset, refs: xr.DataArray) -> xr.DataArray:
    """Optical density of a two-phase phantom (Beer–Lambert; Wang et al. 2021, Methods, Eq. 2):
    OD(E, y, x) = edge_jump · [(1 − f) μ_0(E) + f μ_1(E)].

    Parameters
    ----------
    phantom : xarray.Dataset
        ``edge_jump`` and ``fraction`` (of the second phase) over ``(y, x)``, e.g.
        :func:`particle_phantom`.
    refs : xarray.DataArray
        Two phase spectra ``(component, energy)`` per unit edge jump, e.g. :func:`phase_spectra`.

    Returns
    -------
    xarray.DataArray
        OD over ``(energy, y, x)``.

    Examples
    --------
    >>> from redoxmap.simulate import particle_phantom, phase_spectra
    >>> od = phantom_od(particle_phantom(shape=(32, 32)), phase_spectra())
    >>> od.dims, od.shape
    (('energy', 'y', 'x'), (121, 32, 32))
    """
    mu0, mu1 = refs.isel(component=0), refs.isel(component=1)
    od = phantom.edge_jump * ((1 - phantom.fraction) * mu0 + phantom.fraction * mu1)
    return od.transpose("energy", "y", "x")


def random_drift(n_energy: int, max_px: float, rng: np.random.Generator) -> np.ndarray:
    """Per-energy sample drift: uniform in ±``max_px`` along y and x, a new value each energy.

    Parameters
    ----------
    n_energy : int
        Number of energies.
    max_px : float
        Largest drift (px).
    rng : numpy.random.Generator
        The random generator.

    Returns
    -------
    numpy.ndarray
        Drift (n_energy × 2: y, x) in px.

    Examples
    --------
    >>> random_drift(5, 2.0, np.random.default_rng(0)).shape
    (5, 2)
    """
    return rng.uniform(-max_px, max_px, size=(n_energy, 2))


def acquire(od: xr.DataArray, flat_counts: float = 4000.0, dark_counts: float = 100.0,
            drift_px: np.ndarray | None = None, seed: int | np.random.Generator = 0) -> RawStack:
    """Simulate a TXM energy scan of an optical density, with Poisson noise (Beer–Lambert: I = I0·e^−OD).

    Each energy gets a beam with a smooth illumination profile and an energy-dependent intensity
    (mean ``flat_counts`` per pixel), a sample image I = Poisson(I0 · exp(−OD shifted by the
    drift)) + dark, one flat Poisson(I0) + dark, and dark frames with 3-count read noise.

    Parameters
    ----------
    od : xarray.DataArray
        Optical density ``(energy, y, x)``, energies in eV.
    flat_counts : float
        Mean counts per pixel in the flat.
    dark_counts : float
        Mean dark counts.
    drift_px : numpy.ndarray, optional
        Sample drift per energy (n_energy × 2: y, x, px), moving the sample relative to the beam.
    seed : int or numpy.random.Generator
        Seed or generator of the noise.

    Returns
    -------
    RawStack
        Counts and flats ``(energy, y, x)``, one mean dark ``(y, x)``.

    Examples
    --------
    >>> from redoxmap.simulate import particle_phantom, phase_spectra
    >>> raw = acquire(phantom_od(particle_phantom(shape=(32, 32)), phase_spectra()), seed=0)
    >>> raw.counts.dims, raw.darks.dims
    (('energy', 'y', 'x'), ('y', 'x'))
    """
    rng = np.random.default_rng(seed)
    n_e, ny, nx = od.shape
    yy, xx = np.indices((ny, nx), dtype=float)
    profile = 1.0 - 0.25 * (((yy - ny / 2) / ny) ** 2 + ((xx - nx / 2) / nx) ** 2) * 4
    intensity = flat_counts * (1.0 + 0.08 * np.sin(np.linspace(0, 3, n_e)))
    counts = np.empty((n_e, ny, nx), dtype=np.float32)
    flats = np.empty_like(counts)
    darks = (dark_counts + 3.0 * rng.standard_normal((n_e, ny, nx))).astype(np.float32)
    values = np.asarray(od.values, dtype=float)
    for i in range(n_e):
        image = values[i]
        if drift_px is not None:
            image = shift_images(image[None], drift_px[i])[0]
        beam = intensity[i] * profile
        counts[i] = rng.poisson(beam * np.exp(-image)) + darks[i]
        flats[i] = rng.poisson(beam) + darks[i]
    energy = od["energy"].values
    return RawStack(
        counts=xr.DataArray(counts, dims=("energy", "y", "x"), coords={"energy": energy},
                            attrs={"source": "simulated", "history": []}),
        flats=xr.DataArray(flats, dims=("energy", "y", "x")),
        darks=xr.DataArray(darks.mean(axis=0), dims=("y", "x")),
    )
