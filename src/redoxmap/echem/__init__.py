"""Electrochemistry: cycler files into one standard table, cycling metrics, dQ/dV, GITT, scans placed
on the cycler's clock, and the report of a cycler file.

>>> import tempfile
>>> from pathlib import Path
>>> from redoxmap.simulate import galvanostatic_cycle, write_mpt
>>> path = write_mpt(galvanostatic_cycle(n_cycles=2), Path(tempfile.mkdtemp()) / "cell.mpt")
>>> cycles = cycle_table(read_cycler(path), mass_mg=10.0)
>>> cycles.discharge_capacity_mah_g.round(1).tolist()  # mAh per g of active mass
[129.8, 129.8]
"""

from redoxmap.echem.cycling import cycle_segment, cycle_table
from redoxmap.echem.dqdv import cycle_dqdv, dqdv, dqdv_peaks
from redoxmap.echem.gitt import gitt, split_pulses
from redoxmap.echem.readers import read_cycler
from redoxmap.echem.report import (
    capacity_figure,
    dqdv_figure,
    dqdv_table,
    gitt_figure,
    profiles_figure,
    retention_figure,
    write_echem_report,
)
from redoxmap.echem.sync import attach_cycler, sync_scans
from redoxmap.echem.table import accumulate, standard_table, step_types
from redoxmap.errors import CycleError, GittError

__all__ = ["CycleError", "GittError", "accumulate", "attach_cycler", "capacity_figure", "cycle_dqdv",
           "cycle_segment", "cycle_table", "dqdv", "dqdv_figure", "dqdv_peaks", "dqdv_table", "gitt",
           "gitt_figure", "profiles_figure", "read_cycler", "retention_figure", "split_pulses",
           "standard_table", "step_types", "sync_scans", "write_echem_report"]
