"""Ptychography reconstructions in CXI (HDF5): ``entry_1/image_1/data`` holds the complex
transmission of the object at one energy (``entry_1/instrument_1/source_1/energy`` in joules).
A stack is a list of such files, one per energy (e.g. ALS COSMIC / nanosurveyor)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from redoxmap.errors import EnergyError, FormatError
from redoxmap.io.atomic import atomic_output
from redoxmap.io.energies import check_increasing
from redoxmap.io.hdf5 import _h5_errors, _open_h5, _require_dataset
from redoxmap.io.raw import RawStack

IMAGE = "entry_1/image_1/data"
ENERGY_J = "entry_1/instrument_1/source_1/energy"
#: Joules per electronvolt (CODATA 2018, exact).
J_PER_EV = 1.602176634e-19


def _read_cxi_image(path: str | Path) -> tuple[np.ndarray, float]:
    """Complex object image and its photon energy (eV) from one CXI file."""
    with _open_h5(path) as h5, _h5_errors(path):
        image = _require_dataset(h5, IMAGE, "reconstructed object")[()]
        energy_j = float(_require_dataset(h5, ENERGY_J, "photon energy (J)")[()])
    if not np.iscomplexobj(image) or image.ndim != 2:
        raise FormatError(f"{path}: {IMAGE} is {image.dtype} {image.shape}; expected a complex image")
    if not (np.isfinite(energy_j) and energy_j > 0):
        raise EnergyError(f"{path}: {ENERGY_J} = {energy_j!r} J; expected a positive photon energy")
    return image, energy_j / J_PER_EV


def read_cxi_stack(paths: Sequence[str | Path]) -> RawStack:
    """Read ptychography reconstructions in CXI files (one per energy, any order) as a stack of intensity
    transmission |O|², sorted by energy.

    The amplitude of a reconstruction is known only up to a constant, so the intensities are treated
    as counts: take I0 from an empty region (:func:`redoxmap.preprocess.with_i0_region`) to get
    OD = −ln(|O|² / |O_empty|²) = −2 ln(|O| / |O_empty|).

    Parameters
    ----------
    paths : sequence of str or pathlib.Path
        The CXI files.

    Returns
    -------
    RawStack
        Counts ``(energy, y, x)`` (energies in eV), no flats.

    Raises
    ------
    FormatError
        If no file is given, a file holds no complex image, or the images differ in shape.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_cxi(0.9 * np.ones((8, 8), complex), 701.0, folder / "b.cxi")
    >>> write_cxi(np.ones((8, 8), complex), 700.0, folder / "a.cxi")
    >>> read_cxi_stack([folder / "b.cxi", folder / "a.cxi"]).counts.energy.values.tolist()
    [700.0, 701.0]
    """
    if not paths:
        raise FormatError("no CXI files given; expected one file per energy")
    images, energies = zip(*(_read_cxi_image(p) for p in paths), strict=True)
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise FormatError(f"CXI images differ in shape {sorted(shapes)}; expected one shape "
                          "(crop the reconstructions to a common field of view)")
    order = np.argsort(energies)
    energy = np.asarray(energies)[order]
    check_increasing(energy, "CXI stack")
    with np.errstate(over="ignore"):  # an intensity beyond float32 becomes inf, masked downstream
        intensity = np.stack([np.abs(images[i]) ** 2 for i in order]).astype(np.float32)
    counts = xr.DataArray(intensity, dims=("energy", "y", "x"), coords={"energy": energy},
                          attrs={"source": ", ".join(str(p) for p in paths), "history": []})
    counts["energy"].attrs["units"] = "eV"
    return RawStack(counts=counts, notes=["ptychography: counts are |O|^2 of the reconstruction"])


def write_cxi(image: np.ndarray, energy_ev: float, path: str | Path) -> None:
    """Write one complex object image as a CXI file (for tests and simulated data).

    Parameters
    ----------
    image : numpy.ndarray
        Complex transmission of the object ``(y, x)``.
    energy_ev : float
        Photon energy (eV), stored in joules.
    path : str or pathlib.Path
        The file to write.
    """
    import h5py

    with atomic_output(path, overwrite=True) as tmp, h5py.File(tmp, "w") as h5:
        h5["cxi_version"] = 150
        h5[IMAGE] = image.astype(np.complex64)
        h5[ENERGY_J] = energy_ev * J_PER_EV
