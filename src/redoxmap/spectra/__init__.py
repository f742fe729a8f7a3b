"""Reference spectra (standards), libraries with valences, edge positions and valence maps."""

from redoxmap.spectra.athena import read_athena
from redoxmap.spectra.edges import EdgeCalibration, calibrate_edge, edge_energy_map, white_line_map
from redoxmap.spectra.library import (
    ACQUISITION_RANGES_EV,
    ANALYSIS_WINDOWS_EV,
    load_library,
    make_library,
    resample_library,
    write_library,
)
from redoxmap.spectra.references import load_references, resample
from redoxmap.spectra.xdi import read_xdi

__all__ = [
    "ACQUISITION_RANGES_EV", "ANALYSIS_WINDOWS_EV", "EdgeCalibration", "calibrate_edge",
    "edge_energy_map", "load_library", "load_references", "make_library", "read_athena", "read_xdi",
    "resample", "resample_library", "white_line_map", "write_library",
]
