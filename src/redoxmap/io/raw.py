"""The raw acquisition a reader returns: counts, flats (I0) and darks, before any correction."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from redoxmap.errors import RedoxmapWarning


def _average_repeats(frames: np.ndarray, n_energy: int, what: str, source: str) -> np.ndarray:
    """Mean of repeated flat or dark images, warning when the count could have meant one image per
    energy: a spectral stack of ``n_energy`` energies given a different number (> 1) of frames.

    Parameters
    ----------
    frames : the images (n, y, x).
    n_energy : energies of the stack (1 for a single-energy acquisition, -1 to always average).
    what : "flat-field images" or "dark images", for the warning.
    source : the file, for the warning.

    Returns
    -------
    The mean image (y, x).
    """
    if n_energy > 1 and frames.shape[0] > 1:
        warnings.warn(f"{source}: {frames.shape[0]} {what} for a stack of {n_energy} energies; they are "
                      f"averaged into one image for every energy (expected {n_energy}, one per energy, "
                      "to correct each energy with its own)", RedoxmapWarning, stacklevel=3)
    return frames.mean(axis=0)


@dataclass
class RawStack:
    """The counts of one image stack as read from a file, before any correction.

    Parameters
    ----------
    counts : xarray.DataArray
        Counts ``(energy, y, x)`` with an ``energy`` coordinate in eV (``(angle, y, x)`` for
        projections).
    flats : xarray.DataArray, optional
        I0: one image ``(y, x)``, one image per energy ``(energy, y, x)``, or one value per energy
        ``(energy,)``; None when the file holds I/I0 already or has none.
    darks : xarray.DataArray, optional
        Dark images, as ``flats``.
    counts_are_transmission : bool
        The file already held I/I0 (``flats``/``darks`` are None).
    notes : list of str
        What the reader noticed (units converted, frames averaged …), kept in the history.
    """

    counts: xr.DataArray
    flats: xr.DataArray | None = None
    darks: xr.DataArray | None = None
    counts_are_transmission: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def energy_ev(self) -> np.ndarray:
        """Energies of the counts (eV)."""
        return np.asarray(self.counts["energy"].values, dtype=float)
