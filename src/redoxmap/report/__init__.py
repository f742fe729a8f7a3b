"""Figures and HTML reports of fitted maps."""

from redoxmap.report.figures import (
    difference_map,
    fitted_spectrum,
    fraction_histogram,
    fraction_map,
    pixel_fits,
    r_factor_map,
    shifts_plot,
    valence_map_figure,
)
from redoxmap.report.html import summary_numbers, write_report

__all__ = [
    "difference_map", "fitted_spectrum", "fraction_histogram", "fraction_map", "pixel_fits",
    "r_factor_map", "shifts_plot", "summary_numbers", "valence_map_figure", "write_report",
]
