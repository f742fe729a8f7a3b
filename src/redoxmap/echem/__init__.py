"""Electrochemistry: cycler files, cycling metrics and differential capacity."""

from redoxmap.echem.cycling import cycle_table
from redoxmap.echem.dqdv import dqdv, dqdv_peaks
from redoxmap.echem.readers import read_cycler, step_types

__all__ = ["cycle_table", "dqdv", "dqdv_peaks", "read_cycler", "step_types"]
