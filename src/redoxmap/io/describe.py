"""A plain description of a stack file, for ``redoxmap info``: what the readers find in it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from redoxmap.io.hdf5 import _h5_errors, _list_datasets, _open_h5
from redoxmap.io.stack import detect_format, read_raw
from redoxmap.io.xradia import _read_xradia_reference, read_xradia

__all__ = ["describe_stack"]

#: Readable names of the layouts of :func:`redoxmap.io.detect_format`.
LAYOUTS = {"dxchange": "dxchange HDF5", "fxi": "NSLS-II FXI HDF5", "hdf5": "generic HDF5",
           "nxstxm": "NeXus NXstxm HDF5", "tiff": "multi-page TIFF", "stxm": "ALS STXM .hdr + .xim",
           "xradia": "Zeiss/Xradia OLE (.xrm/.txrm)"}


def describe_stack(path: str | Path, **options) -> list[tuple[str, str]]:
    """Rows (label, value) describing a stack file for ``redoxmap info``: layout, HDF5 datasets, image
    size, energies, flats and darks, and the readers' notes.

    Parameters
    ----------
    path : str or pathlib.Path
        Any stack file :func:`redoxmap.io.read_raw` reads.
    **options
        Those of :func:`redoxmap.io.read_raw` (``energies``, ``flats``, ``darks``, ``data``,
        ``energy``); a TIFF without ``energies`` is described by its pages only.

    Returns
    -------
    list of (str, str)
        The rows, in reading order.

    Examples
    --------
    >>> import tempfile
    >>> from redoxmap.io import write_dxchange
    >>> from redoxmap.simulate import demo_raw_stack
    >>> path = Path(tempfile.mkdtemp()) / "scan.h5"
    >>> write_dxchange(demo_raw_stack(shape=(16, 16)), path)
    >>> describe_stack(path)[:2]
    [('layout', 'dxchange HDF5'), ('/exchange/data', '(121, 16, 16) float32')]
    """
    path = Path(path)
    kind = detect_format(path)
    rows = [("layout", LAYOUTS.get(kind, kind))]
    if kind in ("dxchange", "fxi", "hdf5", "nxstxm"):
        with _open_h5(path) as h5, _h5_errors(path):
            rows += [(name, f"{h5[name].shape} {h5[name].dtype}") for name in _list_datasets(h5)]
    if kind == "hdf5" and (options.get("data") is None or options.get("energy") is None):
        rows.append(("note", "name the datasets of the images and energies (--data-dataset, "
                             "--energy-dataset) to read it"))
        return rows
    if kind == "tiff" and options.get("energies") is None:
        import tifffile

        with tifffile.TiffFile(path) as tif:
            rows.append(("pages", f"{len(tif.pages)} of {tif.pages[0].shape} {tif.pages[0].dtype}"))
        rows.append(("note", "a TIFF stack needs its energy list (--energies) to be read"))
        return rows
    if kind == "xradia" and options.get("flats") is None and _read_xradia_reference(path) is None:
        images = read_xradia(path)
        images = images if images.ndim == 3 else images.expand_dims("energy")
        energy = np.atleast_1d(np.asarray(images["energy"].values, float))
        rows.append(("images", f"{images.shape[0]} × {images.shape[1]} × {images.shape[2]} "
                               f"({images.dims[0]} × y × x)"))
        rows.append(("energy", f"{energy.min():.2f}–{energy.max():.2f} eV"))
        rows.append(("flats", "no reference image in the file: give the reference .xrm as --flats"))
        return rows
    raw = read_raw(path, chunks=256 if kind in ("dxchange", "fxi", "hdf5") else None,
                   **{k: v for k, v in options.items() if v is not None})
    counts, energy = raw.counts, raw.energy_ev
    step = float(np.median(np.diff(energy))) if energy.size > 1 else 0.0
    rows.append(("images", f"{counts.sizes['energy']} × {counts.sizes['y']} × {counts.sizes['x']} "
                           "(energy × y × x)"))
    rows.append(("energy", f"{energy[0]:.2f}–{energy[-1]:.2f} eV, median step {step:.3g} eV"))
    if "pixel_size_nm" in counts.attrs:
        rows.append(("pixel size", f"{float(counts.attrs['pixel_size_nm']):.4g} nm"))
    if raw.counts_are_transmission:
        rows.append(("values", "transmission I/I0 (no flats needed)"))
    for label, frames in (("flats", raw.flats), ("darks", raw.darks)):
        rows.append((label, "none" if frames is None else
                     ("per energy" if "energy" in frames.dims else "single image")))
    if raw.flats is None and not raw.counts_are_transmission:
        rows.append(("I0", "none in the file: taken from the brightest pixels, or give --i0"))
    rows += [("note", note) for note in raw.notes]
    return rows
