"""Zeiss/Xradia TXM files: ``.xrm`` (one image) and ``.txrm`` (a tilt or energy series).

Both are OLE2 compound documents (Microsoft "structured storage", [MS-CFB]) read with
``olefile``. The streams used here:

=============================  ==================================================================
``ImageInfo/NoOfImages``       number of images n (uint32)
``ImageInfo/ImageWidth``       x size in pixels (uint32); ``ImageHeight``: y size
``ImageInfo/DataType``         pixel type code: 5 = uint16, 10 = float32 (see :data:`DATA_TYPES`)
``ImageData<k>/Image<i>``      image i = 1…n, row-major (y, x), little-endian; k = ceil(i / 100)
``ImageInfo/Angles``           n rotation angles, degrees (float32)
``ImageInfo/Energy``           n energies, eV (float32; 0 when the beamline did not set it)
``ImageInfo/ExpTimes``         n exposure times, s (float32)
``ImageInfo/PixelSize``        pixel size at the sample, µm (float32)
``ImageInfo/Date``             n fixed-length records, "MM/DD/YY hh:mm:ss" then NUL padding
``ReferenceData/Image``        optional reference (flat-field, sample out) image (y, x)
``ReferenceData/DataType``     its pixel type code; ``ReferenceData/ExpTime`` its exposure, s
=============================  ==================================================================

The layout is the one read by dxchange (``read_xrm``/``read_txrm``) and xanespy; this module
was written from that description, not from their code. Images are returned in stored order,
row 0 first (no flip).

Known quirk: SSRL 6-2c files store ``Energy = 0.0`` and put the energy in the file name
(``…_08324.0_eV_001of003.xrm``); the reader then takes the energy from the name and records
``energy_source = "file name"`` in the attributes.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from redoxmap.errors import EnergyError, FormatError
from redoxmap.io.atomic import atomic_output
from redoxmap.io.raw import RawStack

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
XRADIA_SUFFIXES = {".xrm", ".txrm"}

#: ``ImageInfo/DataType`` codes (Xradia ``XRM_*`` enumeration; "long" is 32-bit on Windows).
DATA_TYPES: dict[int, np.dtype] = {
    2: np.dtype("<i1"), 3: np.dtype("<u1"), 4: np.dtype("<i2"), 5: np.dtype("<u2"),
    6: np.dtype("<i4"), 7: np.dtype("<u4"), 8: np.dtype("<i4"), 9: np.dtype("<u4"),
    10: np.dtype("<f4"), 11: np.dtype("<f8"),
}
_CODE_OF = {np.dtype("<u2"): 5, np.dtype("<f4"): 10, np.dtype("<i2"): 4, np.dtype("<u1"): 3,
            np.dtype("<i4"): 6, np.dtype("<u4"): 7, np.dtype("<f8"): 11}

#: Energy in a file name: ``_08324.0_eV_`` (SSRL) or ``_8250_0eV`` (APS, "_" as decimal mark).
_NAME_ENERGY = re.compile(r"(?<![\d.])(\d{3,6}(?:[._]\d+)?)_?eV", flags=re.IGNORECASE)
#: A reference (flat-field) frame by name: ``ref_…`` (APS) or ``…_ref_…`` (SSRL).
_REF_NAME = re.compile(r"(^|[_\-.])ref([_\-.]|$)", flags=re.IGNORECASE)


def _image_stream_name(index: int) -> str:
    """Stream of image ``index`` (1-based): ``ImageData<ceil(index / 100)>/Image<index>``."""
    return f"ImageData{math.ceil(index / 100)}/Image{index}"


def _energy_from_name(path: str | Path) -> float | None:
    """Energy in eV written in a file name (``…_08324.0_eV_…`` → 8324.0, ``…_8250_0eV`` → 8250.0),
    or ``None`` when the name holds none.

    >>> _energy_from_name("rep01_20161456_ssrl-test-data_08324.0_eV_001of003.xrm")
    8324.0
    """
    matches = list(_NAME_ENERGY.finditer(Path(path).name))
    if not matches:
        return None
    # the last match: a sample name may hold other numbers before the energy
    value = float(matches[-1].group(1).replace("_", "."))
    return value if value > 0 else None


def _is_xradia(path: str | Path) -> bool:
    """True when ``path`` is an OLE2 file with an ``ImageInfo`` storage (an Xradia image)."""
    import olefile

    path = Path(path)
    if not path.is_file():
        return False
    with open(path, "rb") as fh:
        if fh.read(8) != OLE_MAGIC:
            return False
    try:
        with olefile.OleFileIO(str(path)) as ole:
            return ole.exists("ImageInfo")
    except (OSError, ValueError, OverflowError):  # a damaged header: _open names it
        return False


def _open(path: Path):
    """Open read-only with errors that name the file."""
    import olefile

    if not path.is_file():
        raise FormatError(f"{path}: file not found; expected a Zeiss/Xradia .xrm or .txrm file")
    with open(path, "rb") as fh:
        magic = fh.read(8)
    if magic != OLE_MAGIC:
        raise FormatError(
            f"{path}: not an OLE2 compound document (first bytes {magic!r}, expected {OLE_MAGIC!r}); "
            "expected a Zeiss/Xradia .xrm or .txrm file"
        )
    try:
        return olefile.OleFileIO(str(path))
    except (OSError, ValueError, OverflowError) as exc:
        # olefile raises OSError subclasses for broken headers/FATs, and ValueError or OverflowError
        # for absurd sizes (a sector shift of thousands of bits: 2**shift has too many digits to print)
        raise FormatError(f"{path}: unreadable OLE2 file ({exc}); the file may be truncated") from exc


def _storages(ole) -> str:
    names = sorted({entry[0] for entry in ole.listdir(streams=True, storages=True)})
    return ", ".join(names) or "none"


def _values(ole, path: Path, name: str, dtype: str, count: int | None = None,
            required: bool = False) -> np.ndarray | None:
    """The first ``count`` values (all when None) of stream ``name`` as ``dtype``, or None if the
    stream is absent and not ``required``."""
    if not ole.exists(name):
        if required:
            raise FormatError(f"{path}: stream {name!r} is missing; expected an Xradia image file "
                              f"(storages present: {_storages(ole)})")
        return None
    raw = ole.openstream(name).read()
    item = np.dtype(dtype).itemsize
    n = len(raw) // item if count is None else count
    if len(raw) < n * item:
        raise FormatError(f"{path}: stream {name!r} holds {len(raw)} bytes, expected at least "
                          f"{n * item} ({n} values of {np.dtype(dtype).name}); the file may be truncated")
    return np.frombuffer(raw[: n * item], dtype=dtype).copy()


def _scalar(ole, path: Path, name: str, dtype: str, required: bool = False) -> float | int | None:
    values = _values(ole, path, name, dtype, 1, required)
    return None if values is None else values[0].item()


def _dates(ole, path: Path, n: int) -> list[str]:
    """ISO 8601 timestamps from ``ImageInfo/Date`` (n fixed-length "MM/DD/YY hh:mm:ss" records)."""
    if not ole.exists("ImageInfo/Date"):
        return []
    raw = ole.openstream("ImageInfo/Date").read()
    size = len(raw) // n if n and len(raw) % n == 0 else len(raw)
    out = []
    for i in range(min(n, len(raw) // max(size, 1))):
        text = raw[i * size:(i + 1) * size].split(b"\x00", 1)[0].decode("latin-1").strip()
        try:
            out.append(datetime.strptime(text, "%m/%d/%y %H:%M:%S").isoformat())
        except ValueError:
            out.append(text)
    return out


def _dtype(ole, path: Path, streams: Sequence[str], image: str, shape: tuple[int, int]) -> np.dtype:
    """Pixel type from the first present ``streams`` (a DataType code) or, when none is present,
    from the bytes per pixel of ``image`` (2 → uint16, 4 → float32)."""
    stream = next((s for s in streams if ole.exists(s)), None)
    if stream is None:
        size = ole.get_size(image) if ole.exists(image) else 0
        per_pixel = size / (shape[0] * shape[1])
        dtype = {2: np.dtype("<u2"), 4: np.dtype("<f4")}.get(per_pixel)
        if dtype is None:
            raise FormatError(f"{path}: no {streams[0]} and {image} holds {size} bytes ({per_pixel:g} "
                              "per pixel); expected a DataType stream or 2 (uint16) or 4 (float32) bytes "
                              "per pixel")
        return dtype
    code = _scalar(ole, path, stream, "<u4", required=True)
    if code not in DATA_TYPES:
        raise FormatError(f"{path}: {stream} = {code} is not a supported pixel type; expected one of "
                          f"{sorted(DATA_TYPES)} (5 = uint16, 10 = float32)")
    return DATA_TYPES[code]


def _image(ole, path: Path, stream: str, shape: tuple[int, int], dtype: np.dtype,
           what: str) -> np.ndarray:
    if not ole.exists(stream):
        raise FormatError(f"{path}: stream {stream!r} ({what}) is missing; expected an Xradia "
                          f"image file (storages present: {_storages(ole)})")
    raw = ole.openstream(stream).read()
    expected = shape[0] * shape[1] * dtype.itemsize
    if len(raw) != expected:
        raise FormatError(
            f"{path}: stream {stream!r} ({what}) holds {len(raw)} bytes, expected {expected} "
            f"({shape[0]} × {shape[1]} {dtype.name} from ImageInfo); the file is truncated or corrupt"
        )
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


def _f32(values: np.ndarray | float) -> np.ndarray:
    """float32 header values as the shortest decimals that round-trip in float32 (an exposure
    of 0.3 s reads 0.3, not 0.30000001192092896)."""
    values = np.asarray(values, dtype=np.float32)
    return np.array([float(np.format_float_positional(v)) for v in values.ravel()]).reshape(values.shape)


def _per_image(ole, path: Path, name: str, n: int) -> np.ndarray:
    """n float values of a per-image stream; NaN when the stream is absent."""
    values = _values(ole, path, name, "<f4")
    if values is None:
        return np.full(n, np.nan)
    if values.size < n:
        raise FormatError(f"{path}: stream {name!r} holds {values.size} values for {n} images; "
                          "expected one per image")
    return _f32(values[:n])


def read_xradia_metadata(path: str | Path) -> dict[str, Any]:
    """Header of an ``.xrm``/``.txrm`` without reading the images (streams in the module doc).

    Parameters
    ----------
    path : str or pathlib.Path
        The Xradia file.

    Returns
    -------
    dict
        ``n_images``, ``shape`` (y, x), ``dtype``, ``energy_ev`` (n values, eV), ``energy_source``
        ("header", "file name" or "none"), ``angle_deg`` (n values, degrees), ``exposure_s``
        (n values, s; NaN if absent), ``pixel_size_nm`` (``ImageInfo/PixelSize`` µm × 1000),
        ``binning``, ``date`` (list of ISO strings), ``has_reference``, ``reference_exposure_s`` and
        ``notes`` (list of strings).

    Raises
    ------
    FormatError
        If the file is missing, not an OLE2 document, or has no valid ``ImageInfo``.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "tilt.txrm"
    >>> write_xradia(path, np.zeros((3, 8, 8), np.uint16), angle_deg=[-60, 0, 60], energy_ev=8333.0,
    ...              reference=np.ones((8, 8), np.uint16))
    >>> meta = read_xradia_metadata(path)
    >>> meta["n_images"], meta["angle_deg"].tolist(), meta["pixel_size_nm"]
    (3, [-60.0, 0.0, 60.0], 30.0)
    """
    path = Path(path)
    with _open(path) as ole:
        return _metadata(ole, path)


def _metadata(ole, path: Path) -> dict[str, Any]:
    if not ole.exists("ImageInfo"):
        raise FormatError(f"{path}: no ImageInfo storage; expected a Zeiss/Xradia .xrm or .txrm file "
                          f"(storages present: {_storages(ole)})")
    n = int(_scalar(ole, path, "ImageInfo/NoOfImages", "<u4", required=True))
    width = int(_scalar(ole, path, "ImageInfo/ImageWidth", "<u4", required=True))
    height = int(_scalar(ole, path, "ImageInfo/ImageHeight", "<u4", required=True))
    if n < 1 or width < 1 or height < 1:
        raise FormatError(f"{path}: ImageInfo declares {n} images of {height} × {width} pixels; "
                          "expected at least one image of at least one pixel")
    notes: list[str] = []
    energy = _per_image(ole, path, "ImageInfo/Energy", n)
    if np.all(np.isfinite(energy)) and np.any(energy != 0):
        source = "header"
        if np.all(np.abs(energy) < 100.0):  # a lab source writes keV
            energy = energy * 1000.0
            notes.append(f"{path.name}: ImageInfo/Energy read as keV (all < 100) and converted to eV")
    else:
        found = "missing" if np.all(np.isnan(energy)) else "0"
        named = _energy_from_name(path)
        if named is not None:
            energy, source = np.full(n, named), "file name"
            notes.append(f"{path.name}: ImageInfo/Energy is {found}; energy {named:g} eV taken from "
                         "the file name")
        else:
            energy, source = np.full(n, np.nan), "none"
            notes.append(f"{path.name}: ImageInfo/Energy is {found} and the file name holds no "
                         "energy; energy unknown")
    pixel_um = _scalar(ole, path, "ImageInfo/PixelSize", "<f4")
    binning = _scalar(ole, path, "ImageInfo/HorizontalBin", "<u4")
    has_ref = ole.exists("ReferenceData/Image")
    ref_exposure = _scalar(ole, path, "ReferenceData/ExpTime", "<f4") if has_ref else None
    return {
        "n_images": n, "shape": (height, width),
        "dtype": _dtype(ole, path, ("ImageInfo/DataType",), _image_stream_name(1), (height, width)),
        "energy_ev": energy, "energy_source": source,
        "angle_deg": _per_image(ole, path, "ImageInfo/Angles", n),
        "exposure_s": _per_image(ole, path, "ImageInfo/ExpTimes", n),
        "pixel_size_nm": None if not pixel_um else round(float(_f32(pixel_um)) * 1000.0, 6),
        "binning": binning, "date": _dates(ole, path, n), "has_reference": has_ref,
        "reference_exposure_s": None if ref_exposure is None else float(_f32(ref_exposure)),
        "notes": notes,
    }


def _stack_dim(meta: dict[str, Any], dim: str | None, path: Path) -> str:
    if dim is not None:
        if dim not in ("angle", "energy"):
            raise FormatError(f"{path}: dim={dim!r}; expected 'angle' or 'energy'")
        return dim
    energy = meta["energy_ev"]
    varies = bool(np.all(np.isfinite(energy)) and np.ptp(energy) > 0.01)
    return "energy" if varies else "angle"


def _attrs(meta: dict[str, Any], path: Path) -> dict[str, Any]:
    attrs: dict[str, Any] = {"source": str(path), "history": [], "units": "counts",
                             "energy_source": meta["energy_source"]}
    if meta["pixel_size_nm"] is not None:
        attrs["pixel_size_nm"] = meta["pixel_size_nm"]
    exposure = meta["exposure_s"]
    if np.all(np.isfinite(exposure)) and np.ptp(exposure) == 0:
        attrs["exposure_s"] = float(exposure[0])
    if meta["binning"] is not None:
        attrs["binning"] = int(meta["binning"])
    if meta["date"]:
        attrs["date"] = meta["date"][0]
    if meta["notes"]:
        attrs["notes"] = list(meta["notes"])
    return attrs


def read_xradia(path: str | Path, dim: str | None = None) -> xr.DataArray:
    """Read the images of an ``.xrm``/``.txrm`` as counts in the stored pixel type.

    A file with one image and not named ``.txrm`` gives dims ``(y, x)`` with scalar ``energy`` (eV)
    and ``angle`` (degree) coordinates. Otherwise dims are ``(dim, y, x)`` where ``dim`` is
    ``"energy"`` when the energies differ between images and ``"angle"`` otherwise (or as given),
    with per-image coordinates ``energy``, ``angle`` and ``exposure_s``.

    Parameters
    ----------
    path : str or pathlib.Path
        The Xradia file.
    dim : {"angle", "energy"}, optional
        The stacking dimension; default recognised from the energies.

    Returns
    -------
    xarray.DataArray
        Counts with attributes ``units`` ("counts"), ``pixel_size_nm``, ``exposure_s`` (when equal
        for every image), ``binning``, ``date`` (first image, ISO 8601), ``energy_source``,
        ``source`` (the path) and ``notes``.

    Raises
    ------
    FormatError
        If the file is not an Xradia image file, a stream is missing or short, or ``dim`` is neither.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "tilt.txrm"
    >>> write_xradia(path, np.zeros((3, 8, 8), np.uint16), angle_deg=[-60, 0, 60], energy_ev=8333.0,
    ...              reference=np.ones((8, 8), np.uint16))
    >>> read_xradia(path).dims
    ('angle', 'y', 'x')
    """
    path = Path(path)
    with _open(path) as ole:
        meta = _metadata(ole, path)
        n, shape, dtype = meta["n_images"], meta["shape"], meta["dtype"]
        images = np.empty((n, *shape), dtype=dtype)
        for i in range(n):
            images[i] = _image(ole, path, _image_stream_name(i + 1), shape, dtype,
                               f"image {i + 1} of {n}")
    attrs = _attrs(meta, path)
    if n == 1 and path.suffix.lower() != ".txrm":
        out = xr.DataArray(images[0], dims=("y", "x"), attrs=attrs,
                           coords={"energy": float(meta["energy_ev"][0]),
                                   "angle": float(meta["angle_deg"][0])})
    else:
        name = _stack_dim(meta, dim, path)
        coords = {"energy": (name, meta["energy_ev"]), "angle": (name, meta["angle_deg"]),
                  "exposure_s": (name, meta["exposure_s"])}
        out = xr.DataArray(images, dims=(name, "y", "x"), coords=coords, attrs=attrs)
        out["exposure_s"].attrs["units"] = "s"
    out["energy"].attrs["units"] = "eV"
    out["angle"].attrs["units"] = "degree"
    return out


def _read_xradia_reference(path: str | Path) -> xr.DataArray | None:
    """The reference (flat-field) image stored in a ``.txrm``/``.xrm`` (``ReferenceData/Image``),
    dims ``(y, x)``, in counts, with attr ``exposure_s`` (``ReferenceData/ExpTime``, if present);
    ``None`` when the file has none."""
    path = Path(path)
    with _open(path) as ole:
        meta = _metadata(ole, path)
        if not meta["has_reference"]:
            return None
        dtype = _dtype(ole, path, ("ReferenceData/DataType", "ReferenceData/ImageInfo/DataType"),
                       "ReferenceData/Image", meta["shape"])
        image = _image(ole, path, "ReferenceData/Image", meta["shape"], dtype, "reference image")
    attrs: dict[str, Any] = {"source": str(path), "units": "counts", "long_name": "reference (I0)"}
    if meta["reference_exposure_s"]:
        attrs["exposure_s"] = meta["reference_exposure_s"]
    return xr.DataArray(image, dims=("y", "x"), attrs=attrs)


def _per_second(images: np.ndarray, exposure_s: np.ndarray, where: str) -> np.ndarray:
    exposure_s = np.asarray(exposure_s, dtype=float)
    bad = ~(np.isfinite(exposure_s) & (exposure_s > 0))
    if np.any(bad):
        raise FormatError(f"{where}: exposure time {exposure_s[bad][0]!r} s; expected a positive "
                          "ImageInfo/ExpTimes (or ReferenceData/ExpTime) to turn counts into counts/s")
    shape = (-1,) + (1,) * (images.ndim - 1)
    return images.astype(np.float32) / exposure_s.reshape(shape).astype(np.float32)


def read_xradia_raw(path: str | Path, references: str | Path | Sequence[str | Path] | None = None,
                    dim: str | None = None) -> RawStack:
    """An ``.txrm``/``.xrm`` as a :class:`RawStack` in counts per second, ready for
    :func:`redoxmap.preprocess.optical_density`.

    Counts are divided by each image's exposure (``ImageInfo/ExpTimes``) and the flat by its own
    (``ReferenceData/ExpTime``, or the reference files' ``ExpTimes``), so that T = (I/t_I) / (I0/t_I0)
    holds when sample and reference were exposed differently. The flat is the reference stored in the
    file, or the mean of the ``references`` files (``.xrm``) when given.

    Parameters
    ----------
    path : str or pathlib.Path
        The Xradia file.
    references : str, pathlib.Path or sequence of them, optional
        Reference ``.xrm`` files to use as the flat instead of the stored reference.
    dim : {"angle", "energy"}, optional
        The stacking dimension (see :func:`read_xradia`).

    Returns
    -------
    RawStack
        Counts ``(energy, y, x)`` or ``(angle, y, x)`` (a single image gets an ``energy`` dim of
        length one) and one flat ``(y, x)``, in counts per second.

    Raises
    ------
    FormatError
        If there is no flat (no stored reference and no reference files), or an exposure is not
        positive.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "tilt.txrm"
    >>> write_xradia(path, np.zeros((3, 8, 8), np.uint16), angle_deg=[-60, 0, 60], energy_ev=8333.0,
    ...              reference=np.ones((8, 8), np.uint16))
    >>> read_xradia_raw(path).flats.dims
    ('y', 'x')
    """
    path = Path(path)
    stack = read_xradia(path, dim=dim)
    if stack.ndim == 2:
        stack = stack.expand_dims("energy").assign_coords(exposure_s=("energy", [stack.attrs.get(
            "exposure_s", np.nan)]))
    notes = list(stack.attrs.get("notes", []))
    name = stack.dims[0]
    counts = _per_second(stack.values, stack["exposure_s"].values, str(path))
    if references is None:
        reference = _read_xradia_reference(path)
        if reference is None:
            raise FormatError(
                f"{path}: no ReferenceData/Image in the file and no reference files given; expected "
                "a flat-field: give the reference .xrm file(s) as flats (--flats REF.xrm)"
            )
        flat = _per_second(reference.values[None], [reference.attrs.get("exposure_s", np.nan)],
                           f"{path}: ReferenceData")[0]
        notes.append(f"flat-field from ReferenceData/Image of {path.name}, "
                     f"{reference.attrs['exposure_s']:g} s")
    else:
        ref_paths = [references] if isinstance(references, str | Path) else list(references)
        flat = _mean_per_second(ref_paths, stack.shape[-2:], "reference")
    attrs = {**stack.attrs, "units": "counts/s"}
    attrs.pop("notes", None)
    da = xr.DataArray(counts, dims=stack.dims, coords=stack.coords, attrs=attrs)
    exposures = np.unique(stack["exposure_s"].values)
    notes.append(f"counts divided by the sample exposure ({', '.join(f'{e:g}' for e in exposures)} s) "
                 "and the flat by its own: counts per second")
    if name == "energy":
        da = da.sortby("energy")
    return RawStack(counts=da, flats=xr.DataArray(flat, dims=("y", "x"), attrs={"units": "counts/s"}),
                    notes=notes)


def _mean_per_second(paths: Sequence[str | Path], shape: tuple[int, ...], what: str) -> np.ndarray:
    """Mean over files (and their images) of counts/exposure, checking the image shape."""
    total = None
    count = 0
    for p in paths:
        frames = read_xradia(p)
        frames = frames if frames.ndim == 3 else frames.expand_dims("image").assign_coords(
            exposure_s=("image", [frames.attrs.get("exposure_s", np.nan)]))
        if frames.shape[-2:] != tuple(shape):
            raise FormatError(f"{p}: {what} image is {frames.shape[-2:]}, expected {tuple(shape)} to "
                              "match the sample images")
        per_s = _per_second(frames.values, frames["exposure_s"].values, str(p))
        total = per_s.sum(axis=0) if total is None else total + per_s.sum(axis=0)
        count += per_s.shape[0]
    if total is None:
        raise FormatError(f"no {what} files given; expected at least one .xrm")
    return (total / count).astype(np.float32)


def _group_by_energy(paths: Iterable[str | Path], tol_ev: float, what: str
                     ) -> list[tuple[float, list[Path], float]]:
    """[(energy eV, files, exposure s)] sorted by energy; files within ``tol_ev`` are one group."""
    items = []
    for p in paths:
        p = Path(p)
        meta = read_xradia_metadata(p)
        if meta["n_images"] != 1:
            raise FormatError(f"{p}: {what} file holds {meta['n_images']} images; expected one image "
                              "per .xrm (read a .txrm with read_xradia_raw)")
        energy = float(meta["energy_ev"][0])
        if not np.isfinite(energy):
            raise EnergyError(f"{p}: no energy in ImageInfo/Energy nor in the file name; expected the "
                              f"energy of each {what} frame")
        items.append((energy, p, float(meta["exposure_s"][0])))
    if not items:
        raise FormatError(f"no {what} files given; expected at least one .xrm")
    items.sort(key=lambda item: item[0])
    groups: list[tuple[float, list[Path], float]] = []
    for energy, p, exposure in items:
        if groups and energy - groups[-1][0] <= tol_ev:
            groups[-1][1].append(p)
        else:
            groups.append((energy, [p], exposure))
    return groups


def read_xrm_series(samples: Sequence[str | Path], references: Sequence[str | Path],
                    energy_tol_ev: float = 0.5) -> RawStack:
    """Sample ``.xrm`` frames and their reference ``.xrm`` frames as a :class:`RawStack` with counts and
    flats ``(energy, y, x)`` in counts per second.

    Frames are grouped by energy (header, or file name when the header holds 0; frames within
    ``energy_tol_ev`` are one energy). Each frame is divided by its own exposure time
    (``ImageInfo/ExpTimes``), then repeats at one energy are averaged, so that
    T = (I/t_I) / (I0/t_I0) (Beer–Lambert with exposure normalisation; e.g. SSRL 6-2c takes samples
    at 0.5 s and references at 0.3 s). Every sample energy needs references within
    ``energy_tol_ev``.

    Parameters
    ----------
    samples : sequence of str or pathlib.Path
        Sample frames.
    references : sequence of str or pathlib.Path
        Reference (flat-field) frames.
    energy_tol_ev : float
        Frames closer than this (eV) belong to one energy.

    Returns
    -------
    RawStack
        Counts and flats ``(energy, y, x)`` in counts per second, energies in eV.

    Raises
    ------
    FormatError
        If no files are given, a file holds several images, or a sample energy has no reference.
    EnergyError
        If a frame's energy is neither in its header nor in its file name.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name, counts, energy in [("s_8333.0_eV.xrm", 100, 8333.0), ("ref_8333.0_eV.xrm", 400, 8333.0),
    ...                              ("s_8350.0_eV.xrm", 90, 8350.0), ("ref_8350.0_eV.xrm", 400, 8350.0)]:
    ...     write_xradia(folder / name, np.full((8, 8), counts, np.uint16), energy_ev=energy)
    >>> raw = read_xrm_series(sorted(folder.glob("s_*.xrm")), sorted(folder.glob("ref_*.xrm")))
    >>> raw.counts.energy.values.tolist(), raw.flats.dims
    ([8333.0, 8350.0], ('energy', 'y', 'x'))
    """
    sample_groups = _group_by_energy(samples, energy_tol_ev, "sample")
    all_ref_groups = _group_by_energy(references, energy_tol_ev, "reference")
    ref_energies = np.array([g[0] for g in all_ref_groups])
    first = read_xradia(sample_groups[0][1][0])
    shape = first.shape[-2:]
    counts, flats, ref_groups = [], [], []
    for energy, files, _ in sample_groups:
        nearest = int(np.argmin(np.abs(ref_energies - energy)))
        if abs(ref_energies[nearest] - energy) > energy_tol_ev:
            raise FormatError(
                f"{files[0]}: no reference frame within {energy_tol_ev:g} eV of {energy:g} eV; "
                f"reference energies: {', '.join(f'{e:g}' for e in ref_energies)} eV"
            )
        ref_groups.append(all_ref_groups[nearest])
        counts.append(_mean_per_second(files, shape, "sample"))
        flats.append(_mean_per_second(all_ref_groups[nearest][1], shape, "reference"))
    energy_ev = np.array([g[0] for g in sample_groups])
    sample_exp = sorted({g[2] for g in sample_groups})
    ref_exp = sorted({g[2] for g in ref_groups})
    notes = [f"counts and flats divided by their exposure times (samples {sample_exp} s, "
             f"references {ref_exp} s): counts per second"]
    all_samples = [p for g in sample_groups for p in g[1]]
    all_refs = [p for g in ref_groups for p in g[1]]
    notes.extend(n for p in (*all_samples, *all_refs) for n in read_xradia_metadata(p)["notes"])
    folder = all_samples[0].parent if len(all_samples) > 1 else all_samples[0]
    attrs = {key: first.attrs[key] for key in ("pixel_size_nm", "binning", "date") if key in first.attrs}
    attrs.update({"source": str(folder), "history": [], "units": "counts/s",
                  "energy_source": first.attrs["energy_source"],
                  "sample_files": [p.name for p in all_samples],
                  "reference_files": [p.name for p in all_refs],
                  "exposure_s": sample_exp[0] if len(sample_exp) == 1 else sample_exp,
                  "reference_exposure_s": ref_exp[0] if len(ref_exp) == 1 else ref_exp})
    da = xr.DataArray(np.stack(counts), dims=("energy", "y", "x"), coords={"energy": energy_ev},
                      attrs=attrs)
    da["energy"].attrs["units"] = "eV"
    fl = xr.DataArray(np.stack(flats), dims=("energy", "y", "x"), coords={"energy": energy_ev},
                      attrs={"units": "counts/s", "long_name": "reference (I0)"})
    return RawStack(counts=da, flats=fl, notes=notes)


def _split_references(paths: Iterable[str | Path]) -> tuple[list[Path], list[Path]]:
    """Split ``.xrm`` paths into (samples, references) by a ``ref`` token in the file name
    (``ref_…`` at APS 8-BM, ``…_ref_…`` at SSRL 6-2c)."""
    samples, refs = [], []
    for p in map(Path, paths):
        (refs if _REF_NAME.search(p.stem) else samples).append(p)
    return samples, refs


def read_xrm_folder(folder: str | Path, pattern: str = "*.xrm", energy_tol_ev: float = 0.5) -> RawStack:
    """All ``.xrm`` frames of a folder as a :class:`RawStack`: files with a ``ref`` token in the name
    (``ref_…`` at APS 8-BM, ``…_ref_…`` at SSRL 6-2c) are references, the rest samples (see
    :func:`read_xrm_series`).

    Parameters
    ----------
    folder : str or pathlib.Path
        The folder.
    pattern : str
        Glob pattern of the frames.
    energy_tol_ev : float
        Frames closer than this (eV) belong to one energy.

    Returns
    -------
    RawStack
        Counts and flats ``(energy, y, x)`` in counts per second.

    Raises
    ------
    FormatError
        If the folder lacks samples or references.

    Examples
    --------
    >>> read_xrm_folder("ssrl_xanes/").counts.dims  # doctest: +SKIP
    ('energy', 'y', 'x')
    """
    folder = Path(folder)
    files = sorted(folder.glob(pattern))
    samples, refs = _split_references(files)
    if not samples or not refs:
        raise FormatError(f"{folder}: {len(samples)} sample and {len(refs)} reference files match "
                          f"{pattern!r}; expected both (references are named ref_… or …_ref_…)")
    return read_xrm_series(samples, refs, energy_tol_ev)


# --- writing (tests and simulated data) -------------------------------------------------------

_SECTOR, _MINI, _CUTOFF = 512, 64, 4096
_END, _FREE, _FATSECT, _NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


def _write_ole(path: str | Path, streams: Mapping[str, bytes]) -> None:
    """Write a minimal OLE2 compound document (MS-CFB version 3, 512-byte sectors) holding
    ``streams`` (``"Storage/Sub/Stream" → bytes``). Enough for :mod:`olefile` and for tests;
    files up to ~7 MB (109 FAT sectors, no DIFAT)."""
    nodes: list[dict[str, Any]] = [{"name": "Root Entry", "type": 5, "children": [], "data": b""}]
    index = {"": 0}
    for full, data in streams.items():
        parts = full.strip("/").split("/")
        parent = ""
        for depth, part in enumerate(parts):
            if len(part) > 31:
                raise FormatError(f"{path}: OLE name {part!r} is longer than 31 characters")
            key = "/".join(parts[: depth + 1])
            last = depth == len(parts) - 1
            if key in index:
                if last or nodes[index[key]]["type"] == 2:
                    raise FormatError(f"{path}: {key!r} is both a stream and a storage")
            else:
                index[key] = len(nodes)
                nodes.append({"name": part, "type": 2 if last else 1, "children": [],
                              "data": bytes(data) if last else b""})
                nodes[index[parent]]["children"].append(index[key])
            parent = key

    fat: list[int] = []
    body = bytearray()

    def allocate(data: bytes) -> int:
        n = -(-len(data) // _SECTOR)
        start = len(fat)
        fat.extend(range(start + 1, start + n))
        fat.append(_END)
        body.extend(data.ljust(n * _SECTOR, b"\0"))
        return start

    mini = bytearray()
    minifat: list[int] = []
    for node in nodes[1:]:
        data = node["data"]
        node["size"] = len(data)
        if node["type"] != 2 or not data:
            node["start"] = _END if node["type"] == 2 else 0
        elif len(data) >= _CUTOFF:
            node["start"] = allocate(data)
        else:
            n = -(-len(data) // _MINI)
            node["start"] = len(minifat)
            minifat.extend(range(len(minifat) + 1, len(minifat) + n))
            minifat.append(_END)
            mini.extend(data.ljust(n * _MINI, b"\0"))
    nodes[0]["start"] = allocate(bytes(mini)) if mini else _END
    nodes[0]["size"] = len(mini)
    if minifat:
        per = _SECTOR // 4
        padded = minifat + [_FREE] * (-len(minifat) % per)
        minifat_start, n_minifat = allocate(struct.pack(f"<{len(padded)}I", *padded)), len(padded) // per
    else:
        minifat_start, n_minifat = _END, 0

    def key(i: int) -> tuple[int, str]:
        return len(nodes[i]["name"]), nodes[i]["name"].upper()

    def tree(ids: list[int]) -> int:
        if not ids:
            return _NOSTREAM
        mid = len(ids) // 2
        node = nodes[ids[mid]]
        node["left"], node["right"] = tree(ids[:mid]), tree(ids[mid + 1:])
        return ids[mid]

    for node in nodes:
        node["child"] = tree(sorted(node["children"], key=key))
    nodes[0]["left"] = nodes[0]["right"] = _NOSTREAM
    entries = bytearray()
    for node in nodes:
        name = (node["name"] + "\0").encode("utf-16-le")
        entries += struct.pack("<64sHBB3I16sI16sIQ", name, len(name), node["type"], 1, node["left"],
                               node["right"], node["child"], b"\0" * 16, 0, b"\0" * 16, node["start"],
                               node["size"])
    empty = struct.pack("<64sHBB3I16sI16sIQ", b"", 0, 0, 0, _NOSTREAM, _NOSTREAM, _NOSTREAM, b"\0" * 16,
                        0, b"\0" * 16, 0, 0)
    entries += empty * (-len(nodes) % 4)
    dir_start = allocate(bytes(entries))

    per = _SECTOR // 4
    n_fat = 1
    while n_fat * per < len(fat) + n_fat:
        n_fat += 1
    if n_fat > 109:
        raise FormatError(f"{path}: {len(body) / 1e6:.1f} MB is too large for this minimal OLE writer "
                          "(at most 109 FAT sectors, about 7 MB)")
    fat_start = len(fat)
    fat.extend([_FATSECT] * n_fat)
    fat.extend([_FREE] * (n_fat * per - len(fat)))
    difat = list(range(fat_start, fat_start + n_fat)) + [_FREE] * (109 - n_fat)
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII109I", OLE_MAGIC, b"\0" * 16, 0x3E, 3, 0xFFFE, 9, 6,
                         b"\0" * 6, 0, n_fat, dir_start, 0, _CUTOFF, minifat_start, n_minifat, _END, 0,
                         *difat)
    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_bytes(header + bytes(body) + struct.pack(f"<{len(fat)}I", *fat))


def _xradia_streams(images: np.ndarray, *, energy_ev: float | Sequence[float] = 0.0,
                    angle_deg: float | Sequence[float] = 0.0, exposure_s: float | Sequence[float] = 1.0,
                    pixel_size_nm: float = 30.0, binning: int = 1,
                    date: str | datetime = "2016-07-02T22:21:26",
                    reference: np.ndarray | None = None, reference_exposure_s: float = 1.0,
                    ) -> dict[str, bytes]:
    """The streams of an Xradia file holding ``images`` (``(y, x)`` or ``(n, y, x)``, uint16 or
    float32) and per-image energies (eV), angles (degree) and exposures (s); see the module
    docstring for the layout. Pass the result, edited if needed, to :func:`_write_ole`."""
    images = np.asarray(images)
    stack = images[None] if images.ndim == 2 else images
    n, height, width = stack.shape
    dtype = stack.dtype.newbyteorder("<")
    if dtype not in _CODE_OF:
        raise FormatError(f"pixel type {images.dtype} cannot be written; expected uint16 or float32")

    def per_image(value: float | Sequence[float], name: str) -> bytes:
        values = np.broadcast_to(np.asarray(value, dtype="<f4"), (n,)) if np.ndim(value) == 0 \
            else np.asarray(value, dtype="<f4")
        if values.shape != (n,):
            raise FormatError(f"{name}: {values.size} values for {n} images; expected one per image")
        return values.tobytes()

    when = datetime.fromisoformat(date) if isinstance(date, str) else date
    stamp = when.strftime("%m/%d/%y %H:%M:%S").encode().ljust(40, b"\0")
    streams = {
        "ImageInfo/NoOfImages": struct.pack("<I", n),
        "ImageInfo/ImagesTaken": struct.pack("<I", n),
        "ImageInfo/ImageWidth": struct.pack("<I", width),
        "ImageInfo/ImageHeight": struct.pack("<I", height),
        "ImageInfo/DataType": struct.pack("<I", _CODE_OF[dtype]),
        "ImageInfo/Energy": per_image(energy_ev, "energy_ev"),
        "ImageInfo/Angles": per_image(angle_deg, "angle_deg"),
        "ImageInfo/ExpTimes": per_image(exposure_s, "exposure_s"),
        "ImageInfo/PixelSize": struct.pack("<f", pixel_size_nm / 1000.0),  # stored in µm
        "ImageInfo/HorizontalBin": struct.pack("<I", binning),
        "ImageInfo/VerticalalBin": struct.pack("<I", binning),  # sic: Xradia's spelling
        "ImageInfo/Date": stamp * n,
    }
    for i in range(n):
        streams[_image_stream_name(i + 1)] = np.ascontiguousarray(stack[i], dtype=dtype).tobytes()
    if reference is not None:
        reference = np.asarray(reference)
        ref_dtype = reference.dtype.newbyteorder("<")
        if reference.shape != (height, width) or ref_dtype not in _CODE_OF:
            raise FormatError(f"reference {reference.shape} {reference.dtype}; expected "
                              f"{(height, width)} uint16 or float32")
        streams["ReferenceData/Image"] = np.ascontiguousarray(reference, dtype=ref_dtype).tobytes()
        streams["ReferenceData/DataType"] = struct.pack("<I", _CODE_OF[ref_dtype])
        streams["ReferenceData/ExpTime"] = struct.pack("<f", reference_exposure_s)
    return streams


def write_xradia(path: str | Path, images: np.ndarray, **header: Any) -> None:
    """Write images as an Xradia ``.xrm``/``.txrm`` (for tests and simulated data): only the streams this
    module reads are written, so Zeiss software may not open the result.

    Parameters
    ----------
    path : str or pathlib.Path
        The file to write.
    images : numpy.ndarray
        ``(y, x)`` or ``(n, y, x)``, uint16 or float32.
    **header
        ``energy_ev``, ``angle_deg`` and ``exposure_s`` (one value or one per image; eV, degrees,
        s), ``pixel_size_nm``, ``binning``, ``date``, ``reference`` (a flat ``(y, x)``) and
        ``reference_exposure_s``.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "tilt.txrm"
    >>> write_xradia(path, np.zeros((3, 8, 8), np.uint16), angle_deg=[-60, 0, 60], energy_ev=8333.0,
    ...              reference=np.ones((8, 8), np.uint16))
    >>> read_xradia_metadata(path)["has_reference"]
    True
    """
    _write_ole(path, _xradia_streams(images, **header))
