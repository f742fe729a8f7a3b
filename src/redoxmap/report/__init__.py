"""Figures, tables and report folders: maps of fitted stacks (HTML), volumes, profiles, operando series
and the particle model. Every figure function returns a :class:`matplotlib.figure.Figure` (no pyplot
state); every file is written under a temporary name and renamed (:mod:`redoxmap.report.files`)."""

from redoxmap.report.experiment import (
    experiment_maps_figure,
    experiment_profiles_figure,
    experiment_trend_figure,
    write_experiment_report,
)
from redoxmap.report.figures import (
    difference_map,
    edge_energy_figure,
    fitted_spectrum,
    fraction_histogram,
    fraction_map,
    orthogonal_slices,
    pixel_fits,
    r_factor_map,
    shifts_plot,
    valence_histogram,
    valence_map_figure,
)
from redoxmap.report.files import save_figure, save_table, save_text
from redoxmap.report.html import summary_numbers, write_report
from redoxmap.report.operando import fractions_time_figure, operando_contour_figure, quantity_vs_cycler_figure
from redoxmap.report.particle import (
    concentration_figure,
    concentration_table,
    fem_fields_figure,
    hoop_profiles_figure,
    run_table,
    stress_vs_dod_figure,
    von_mises_history_figure,
    write_particle_report,
)
from redoxmap.report.profiles import profile_figure
from redoxmap.report.volumes import (
    class_names,
    class_slices,
    pore_figure,
    pore_size_figure,
    proportions_figure,
    proportions_table,
    surface_rendering,
    write_volume_report,
)

__all__ = [
    "class_names", "class_slices", "concentration_figure", "concentration_table", "difference_map",
    "edge_energy_figure", "experiment_maps_figure", "experiment_profiles_figure",
    "experiment_trend_figure", "fem_fields_figure", "fitted_spectrum", "fraction_histogram",
    "fraction_map", "fractions_time_figure", "hoop_profiles_figure", "operando_contour_figure",
    "orthogonal_slices", "pixel_fits", "pore_figure", "pore_size_figure", "profile_figure",
    "proportions_figure", "proportions_table", "quantity_vs_cycler_figure", "r_factor_map", "run_table",
    "save_figure", "save_table", "save_text", "shifts_plot", "stress_vs_dod_figure", "summary_numbers",
    "surface_rendering", "valence_histogram", "valence_map_figure", "von_mises_history_figure",
    "write_experiment_report", "write_particle_report", "write_report", "write_volume_report",
]
