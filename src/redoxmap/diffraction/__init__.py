"""Powder diffraction: 2θ/q/d conversions, pseudo-Voigt peak fits over a series, R-3m lattice parameters.

>>> from redoxmap.simulate import galvanostatic_cycle, simulate_xrd_series
>>> series, truth = simulate_xrd_series(galvanostatic_cycle(), [0.0, 20000.0])
>>> peaks = fit_reflections(series, layered_windows(series.wavelength_a))
>>> cell = fit_hexagonal_cell(peaks)
>>> bool(abs(cell.c - truth.c).max() < 0.01)  # c (Å) of both scans
True
"""

from redoxmap.diffraction.lattice import (
    LAYERED_WINDOWS_D,
    d_hexagonal,
    fit_cubic_cell,
    fit_hexagonal_cell,
    layered_windows,
)
from redoxmap.diffraction.peaks import fit_peaks, fit_reflections, pseudo_voigt
from redoxmap.diffraction.units import (
    CU_KA1_A,
    CU_KA2_A,
    KA2_RATIO,
    convert_axis,
    d_sigma,
    d_to_two_theta,
    ka2_two_theta,
    q_to_two_theta,
    two_theta_to_d,
    two_theta_to_q,
)

__all__ = [
    "CU_KA1_A", "CU_KA2_A", "KA2_RATIO", "LAYERED_WINDOWS_D", "convert_axis", "d_hexagonal", "d_sigma",
    "d_to_two_theta", "fit_cubic_cell", "fit_hexagonal_cell", "fit_peaks", "fit_reflections", "ka2_two_theta",
    "layered_windows", "pseudo_voigt", "q_to_two_theta", "two_theta_to_d", "two_theta_to_q",
]
