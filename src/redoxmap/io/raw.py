"""The raw acquisition a reader returns: counts, flats (I0) and darks, before any correction."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr


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
