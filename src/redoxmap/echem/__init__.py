"""Electrochemistry: cycler files into one standard table, cycling metrics, dQ/dV and GITT.

>>> from redoxmap.echem import read_cycler, cycle_table, cycle_dqdv, gitt  # doctest: +SKIP
>>> data = read_cycler("cell.res")                                         # doctest: +SKIP
>>> cycles = cycle_table(data, mass_mg=12.0)                               # doctest: +SKIP
"""

from redoxmap.echem.cycling import cycle_segment, cycle_table
from redoxmap.echem.dqdv import cycle_dqdv, dqdv, dqdv_peaks
from redoxmap.echem.gitt import gitt, split_pulses
from redoxmap.echem.readers import read_cycler
from redoxmap.echem.sync import attach_cycler, sync_scans
from redoxmap.echem.table import accumulate, standard_table, step_types
from redoxmap.errors import CycleError, GittError

__all__ = ["CycleError", "GittError", "accumulate", "attach_cycler", "cycle_dqdv", "cycle_segment",
           "cycle_table", "dqdv", "dqdv_peaks", "gitt", "read_cycler", "split_pulses", "standard_table",
           "step_types", "sync_scans"]
