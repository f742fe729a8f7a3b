"""Readers and writers by format. ``read_raw(path)`` recognises a stack's layout and returns its counts;
:func:`redoxmap.preprocess.open_stack` turns them into optical density. Every writer goes through
:func:`atomic_output` (a temporary name, renamed when complete)."""

from redoxmap.io.athena import read_athena, read_athena_scans
from redoxmap.io.atomic import atomic_output
from redoxmap.io.chunkstore import ChunkStore
from redoxmap.io.cxi import read_cxi_stack, write_cxi
from redoxmap.io.describe import describe_stack
from redoxmap.io.dxchange import read_dxchange, write_dxchange
from redoxmap.io.energies import check_increasing, read_energy_list, to_ev
from redoxmap.io.fxi import read_fxi, write_fxi
from redoxmap.io.hdf5 import read_hdf5, write_hdf5
from redoxmap.io.nxstxm import read_nxstxm, write_nxstxm
from redoxmap.io.nxxas import read_nxxas
from redoxmap.io.omezarr import read_ome_zarr, write_ome_zarr
from redoxmap.io.projections import (
    projection_energies,
    projections_shape,
    read_projection_series_dxchange,
    read_projections_dxchange,
    write_projection_series_dxchange,
    write_projections_dxchange,
)
from redoxmap.io.raw import RawStack
from redoxmap.io.spectrum import read_spectrum
from redoxmap.io.stack import detect_format, read_raw
from redoxmap.io.stxm import read_stxm, write_stxm
from redoxmap.io.tiff import read_tiff, write_tiff
from redoxmap.io.writers import spill_folder, write_dataset
from redoxmap.io.xas_scan import XasScan
from redoxmap.io.xas_series import read_xas_scans, read_xas_series
from redoxmap.io.xas_text import read_xas_text
from redoxmap.io.xdi import read_xdi, read_xdi_scan, write_xdi
from redoxmap.io.xradia import (
    read_xradia,
    read_xradia_metadata,
    read_xradia_raw,
    read_xrm_folder,
    read_xrm_series,
    write_xradia,
)
from redoxmap.io.xrd import read_pattern, read_xrd_series, write_fxye

__all__ = [
    "ChunkStore", "RawStack", "XasScan", "atomic_output", "check_increasing", "describe_stack",
    "detect_format", "projection_energies", "projections_shape", "read_athena", "read_athena_scans",
    "read_cxi_stack", "read_dxchange", "read_energy_list", "read_fxi", "read_hdf5", "read_nxstxm",
    "read_nxxas", "read_ome_zarr", "read_pattern", "read_projection_series_dxchange",
    "read_projections_dxchange", "read_raw", "read_spectrum", "read_stxm", "read_tiff",
    "read_xas_scans", "read_xas_series", "read_xas_text", "read_xdi", "read_xdi_scan",
    "read_xradia", "read_xradia_metadata", "read_xradia_raw", "read_xrd_series", "read_xrm_folder",
    "read_xrm_series", "spill_folder", "to_ev", "write_cxi", "write_dataset", "write_dxchange",
    "write_fxi", "write_fxye", "write_hdf5", "write_nxstxm", "write_ome_zarr",
    "write_projection_series_dxchange", "write_projections_dxchange", "write_stxm", "write_tiff",
    "write_xdi", "write_xradia",
]
