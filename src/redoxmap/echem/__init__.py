"""Electrochemistry: cycler files, cycling metrics and differential capacity."""

from redoxmap.echem.cycling import cycle_table
from redoxmap.echem.dqdv import dqdv, dqdv_peaks
from redoxmap.echem.gitt import gitt, split_pulses
from redoxmap.echem.readers import read_cycler, standard_table, step_types

__all__ = ["cycle_table", "dqdv", "dqdv_peaks", "gitt", "read_cycler", "split_pulses", "standard_table",
           "step_types"]
