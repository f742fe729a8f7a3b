"""ALS STXM stacks: a ``.hdr`` header (Dwell, PAxis/QAxis pixel positions, StackAxis energies)
and one tab-separated ``.xim`` text image per energy (``<stem>_a000.xim``, ``_a001`` …), as
written by ALS 5.3.2/11.0.2 and read by aXis2000 and MANTiS.

The images hold transmitted counts; I0 comes from an empty region of the image (see
:mod:`redoxmap.preprocess.i0`) or from a separate I0 spectrum file.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import xarray as xr

from redoxmap.errors import FormatError
from redoxmap.io.atomic import atomic_output
from redoxmap.io.energies import check_increasing
from redoxmap.io.raw import RawStack

_AXIS = r"{name}\s*=\s*\{{[^{{}}]*?Points\s*=\s*\(([^)]*)\)"


def _axis_points(text: str, name: str, path: Path) -> np.ndarray:
    match = re.search(_AXIS.format(name=name), text, flags=re.S)
    if match is None:
        raise FormatError(f"{path}: header has no {name} with Points = (n, ...); expected an ALS "
                          "STXM .hdr file")
    try:
        values = np.array([float(v) for v in match.group(1).replace("\n", " ").split(",") if v.strip()])
    except ValueError as exc:
        raise FormatError(f"{path}: {name} Points are not numbers") from exc
    n = int(values[0])
    if n != values.size - 1:
        raise FormatError(f"{path}: {name} declares {n} points but lists {values.size - 1}")
    return values[1:]


def _read_stxm_header(path: str | Path) -> dict:
    """Parse the parts of an ALS ``.hdr`` that a stack needs: energies (eV), x/y positions (µm),
    dwell (ms) and scan type."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: STXM header not found")
    text = path.read_text(errors="replace")
    if "ScanDefinition" not in text:
        raise FormatError(f"{path}: no ScanDefinition; expected an ALS STXM .hdr header")
    energy = _axis_points(text, "StackAxis", path)
    check_increasing(energy, f"{path}: StackAxis")
    x_um = _axis_points(text, "PAxis", path)
    y_um = _axis_points(text, "QAxis", path)
    dwell = re.search(r"Dwell\s*=\s*([-0-9.eE+]+)", text)
    scan_type = re.search(r'Type\s*=\s*"([^"]*)"', text)
    return {"energy_ev": energy, "x_um": x_um, "y_um": y_um,
            "dwell_ms": float(dwell.group(1)) if dwell else None,
            "type": scan_type.group(1) if scan_type else ""}


def _read_xim(path: Path, shape: tuple[int, int]) -> np.ndarray:
    if not path.is_file():
        raise FormatError(f"{path}: image file of the stack is missing")
    try:
        image = np.loadtxt(path, delimiter="\t", usecols=range(shape[1]), ndmin=2)
    except ValueError as exc:
        raise FormatError(f"{path}: not a tab-separated image of {shape[1]} columns ({exc})") from exc
    if image.shape != shape:
        raise FormatError(f"{path}: image is {image.shape}, expected {shape} from the header")
    return image


def read_stxm(path: str | Path) -> RawStack:
    """Read an ALS STXM stack (``.hdr`` plus its ``.xim`` images) as transmitted counts.

    ``pixel_size_nm`` comes from the PAxis step. No flats are attached: give the stack an I0 with
    :func:`redoxmap.preprocess.with_i0_region` or :func:`~redoxmap.preprocess.with_i0_spectrum`.

    Parameters
    ----------
    path : str or pathlib.Path
        The ``.hdr`` header; the images ``<stem>_a000.xim`` … lie beside it.

    Returns
    -------
    RawStack
        Counts ``(energy, y, x)`` with energies in eV.

    Examples
    --------
    >>> import tempfile
    >>> from redoxmap.simulate import demo_raw_stack
    >>> path = Path(tempfile.mkdtemp()) / "stack.hdr"
    >>> write_stxm(demo_raw_stack(shape=(16, 16)), path)
    >>> read_stxm(path).counts.shape
    (121, 16, 16)
    """
    path = Path(path)
    header = _read_stxm_header(path)
    shape = (header["y_um"].size, header["x_um"].size)
    images = np.stack([_read_xim(path.with_name(f"{path.stem}_a{i:03d}.xim"), shape)
                       for i in range(header["energy_ev"].size)]).astype(np.float32)
    pixel_nm = float(np.median(np.abs(np.diff(header["x_um"])))) * 1000.0 if shape[1] > 1 else None
    counts = xr.DataArray(
        images, dims=("energy", "y", "x"),
        coords={"energy": header["energy_ev"], "y": header["y_um"], "x": header["x_um"]},
        attrs={"source": str(path), "history": [], "dwell_ms": header["dwell_ms"],
               **({"pixel_size_nm": pixel_nm} if pixel_nm else {})},
    )
    counts["energy"].attrs["units"] = "eV"
    counts["x"].attrs["units"] = counts["y"].attrs["units"] = "µm"
    return RawStack(counts=counts)


def write_stxm(raw: RawStack, path: str | Path, x_um: np.ndarray | None = None,
               y_um: np.ndarray | None = None, dwell_ms: float = 1.0) -> None:
    """Write counts as an ALS ``.hdr`` and ``.xim`` files (for tests and simulated data).

    Parameters
    ----------
    raw : RawStack
        Counts ``(energy, y, x)``.
    path : str or pathlib.Path
        The ``.hdr`` to write; the images go beside it.
    x_um, y_um : numpy.ndarray, optional
        Pixel positions (µm); default 0.05 µm steps.
    dwell_ms : float
        Dwell time per pixel (ms).
    """
    path = Path(path)
    counts = np.asarray(raw.counts.values)
    n_e, ny, nx = counts.shape
    x_um = np.arange(nx) * 0.05 if x_um is None else x_um
    y_um = np.arange(ny) * 0.05 if y_um is None else y_um

    def points(values: np.ndarray) -> str:
        return f"({values.size}, " + ", ".join(f"{v:.4f}" for v in values) + ")"

    text = (
        f'ScanDefinition = {{ Label = "{path.name}"; Type = "NEXAFS Image Scan"; '
        f'Flags = "Image Stack"; Dwell = {dwell_ms};\n\tRegions = (1,\n{{\n'
        f'\t\t\tPAxis = {{ Name = "Sample X"; Unit = "um"; Min = {x_um.min()}; Max = {x_um.max()}; '
        f'Dir = 1;\n\t\t\t\tPoints = {points(x_um)};\n}};\n\n'
        f'\t\t\tQAxis = {{ Name = "Sample Y"; Unit = "um"; Min = {y_um.min()}; Max = {y_um.max()}; '
        f'Dir = 1;\n\t\t\t\tPoints = {points(y_um)};\n}};\n}});\n\n'
        f'\tStackAxis = {{ Name = "Energy"; Unit = "eV"; Min = {raw.energy_ev.min()}; '
        f'Max = {raw.energy_ev.max()}; Dir = 1;\n\t\tPoints = {points(raw.energy_ev)};\n}};\n}};\n'
    )
    for i in range(n_e):  # frames first: the header names a complete stack once it exists
        with atomic_output(path.with_name(f"{path.stem}_a{i:03d}.xim"), overwrite=True) as tmp:
            np.savetxt(tmp, counts[i], fmt="%.6f", delimiter="\t")
    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(text)
