"""Readers and writers by format. ``read_raw(path)`` recognises a stack's layout and returns its counts;
:func:`redoxmap.preprocess.open_stack` turns them into optical density."""

from redoxmap.io.cxi import read_cxi_stack, write_cxi
from redoxmap.io.dxchange import read_dxchange, write_dxchange
from redoxmap.io.energies import read_energy_list
from redoxmap.io.fxi import read_fxi, write_fxi
from redoxmap.io.hdf5 import read_hdf5, write_hdf5
from redoxmap.io.nxstxm import read_nxstxm, write_nxstxm
from redoxmap.io.raw import RawStack
from redoxmap.io.spectrum import read_spectrum
from redoxmap.io.stack import detect_format, read_raw
from redoxmap.io.stxm import read_stxm, write_stxm
from redoxmap.io.tiff import read_tiff, write_tiff
from redoxmap.io.writers import write_dataset
from redoxmap.io.xradia import read_xradia, read_xradia_raw, read_xrm_folder, read_xrm_series, write_xradia

__all__ = [
    "RawStack", "detect_format", "read_cxi_stack", "read_dxchange", "read_energy_list", "read_fxi",
    "read_hdf5", "read_nxstxm", "read_raw", "read_spectrum", "read_stxm", "read_tiff", "read_xradia",
    "read_xradia_raw", "read_xrm_folder", "read_xrm_series", "write_cxi", "write_dataset",
    "write_dxchange", "write_fxi", "write_hdf5", "write_nxstxm", "write_stxm", "write_tiff", "write_xradia",
]
