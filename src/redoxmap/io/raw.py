"""The raw acquisition a reader returns: counts, flats (I0) and darks, before any correction."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr


@dataclass
class RawStack:
    """Counts of one spectral image stack as read from a file.

    ``counts`` has dims ``(energy, y, x)`` and an ``energy`` coordinate in eV. ``flats`` and
    ``darks`` are either ``None``, one image ``(y, x)``, or one image per energy
    ``(energy, y, x)``. When ``counts_are_transmission`` is true the file already held I/I0
    and ``flats``/``darks`` are ``None``.
    """

    counts: xr.DataArray
    flats: xr.DataArray | None = None
    darks: xr.DataArray | None = None
    counts_are_transmission: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def energy_ev(self) -> np.ndarray:
        return np.asarray(self.counts["energy"].values, dtype=float)
