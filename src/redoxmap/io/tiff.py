"""Multi-page TIFF stacks (one page per energy) with a separate energy list file."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import tifffile
import xarray as xr

from redoxmap.errors import FormatError
from redoxmap.io.atomic import atomic_output
from redoxmap.io.energies import read_energy_list
from redoxmap.io.raw import RawStack, _average_repeats

#: A floating-point stack whose 99th percentile is at most this is taken to be transmission I/I0.
TRANSMISSION_MAX = 1.5


#: TIFF header (byte order, version) → (first-offset format, count format, tag size, next-offset format).
_IFD_LAYOUTS = {(b"II", 42): ("<I", "<H", 12, "<I"), (b"MM", 42): (">I", ">H", 12, ">I"),
                (b"II", 43): ("<Q", "<Q", 20, "<Q"), (b"MM", 43): (">Q", ">Q", 20, ">Q")}


def _check_ifd_chain(path: Path) -> None:
    """Follow the chain of image file directories (one per page) and raise :class:`FormatError` when a
    link points outside the file or back to an earlier page: a damaged file, on which tifffile can
    loop for ever. A file that is not TIFF is left to tifffile to report."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(16)
        order = "little" if head[:2] == b"II" else "big"
        layout = _IFD_LAYOUTS.get((head[:2], int.from_bytes(head[2:4], order)))
        if layout is None or len(head) < 16:
            return
        first, count, tag_size, link = layout
        offset = struct.unpack_from(first, head, 4 if first[1] == "I" else 8)[0]
        seen: set[int] = set()
        while offset:
            if offset in seen or offset >= size:
                problem = "points back to an earlier page" if offset in seen else "points beyond the end"
                raise FormatError(f"{path}: damaged TIFF: the link to page {len(seen) + 1} (offset {offset}) "
                                  f"{problem} of the file ({size} bytes); expected a chain of pages")
            seen.add(offset)
            fh.seek(offset)
            raw = fh.read(struct.calcsize(count))
            n_tags = struct.unpack(count, raw)[0] if len(raw) == struct.calcsize(count) else size
            end = offset + len(raw) + n_tags * tag_size + struct.calcsize(link)
            if end > size:
                raise FormatError(f"{path}: truncated TIFF: the directory of page {len(seen)} (offset "
                                  f"{offset}) runs past the end of the file ({size} bytes)")
            fh.seek(end - struct.calcsize(link))
            offset = struct.unpack(link, fh.read(struct.calcsize(link)))[0]


def _read_pages(path: Path, what: str) -> np.ndarray:
    if not path.is_file():
        raise FormatError(f"{path}: {what} TIFF not found")
    _check_ifd_chain(path)
    try:
        pages = tifffile.imread(path)
    except Exception as exc:  # tifffile raises plain errors (ZeroDivisionError, AssertionError …) on damage
        raise FormatError(f"{path}: not a readable TIFF ({type(exc).__name__}: {exc})") from exc
    return np.asarray(pages)


def _looks_like_transmission(pages: np.ndarray) -> bool:
    """True for a float stack with values in (0, ~1]: already I/I0, not counts."""
    if not np.issubdtype(pages.dtype, np.floating):
        return False
    return float(np.nanpercentile(pages, 99)) <= TRANSMISSION_MAX


def read_tiff(path: str | Path, energies: str | Path, flats: str | Path | None = None,
              darks: str | Path | None = None, transmission: bool | None = None) -> RawStack:
    """Read a multi-page TIFF (one page per energy) and its energy list (eV or keV).

    Parameters
    ----------
    path : str or pathlib.Path
        The TIFF stack.
    energies : str or pathlib.Path
        Energy list file, one energy per page (:func:`read_energy_list`).
    flats, darks : str or pathlib.Path, optional
        TIFFs of the flat and dark: a single image, repeats, or one page per energy.
    transmission : bool, optional
        The pages hold I/I0; None recognises it (floats up to ~1).

    Returns
    -------
    RawStack
        Counts ``(energy, y, x)`` with energies in eV, flats and darks.

    Raises
    ------
    FormatError
        If the TIFF is not 3D, the energies do not match the pages, raw counts come without flats,
        or flats/darks do not match the images.

    Examples
    --------
    >>> import tempfile
    >>> from redoxmap.simulate import demo_raw_stack
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_tiff(demo_raw_stack(shape=(16, 16)), folder / "s.tif", folder / "energies.txt")
    >>> read_tiff(folder / "s.tif", folder / "energies.txt", flats=folder / "s_flats.tif").counts.shape
    (121, 16, 16)
    """
    path = Path(path)
    pages = _read_pages(path, "stack")
    if pages.ndim != 3:
        raise FormatError(f"{path}: TIFF has shape {pages.shape}; expected pages × rows × columns")
    energy_ev, note = read_energy_list(energies)
    if energy_ev.size != pages.shape[0]:
        raise FormatError(
            f"{path}: {pages.shape[0]} pages but {energies} lists {energy_ev.size} energies; "
            "expected one energy per page"
        )
    if transmission is None:
        transmission = _looks_like_transmission(pages) and flats is None
    if not transmission and flats is None:
        raise FormatError(
            f"{path}: the pages hold raw counts (max {pages.max():g}), so flat-field images are "
            "needed; pass flats (or transmission=True if the pages are already I/I0)"
        )
    counts = xr.DataArray(pages, dims=("energy", "y", "x"), coords={"energy": energy_ev},
                          attrs={"source": str(path), "history": []})
    counts["energy"].attrs["units"] = "eV"
    return RawStack(
        counts=counts,
        flats=_frames(flats, "flat-field images", pages.shape, energy_ev.size),
        darks=_frames(darks, "dark images", pages.shape, energy_ev.size),
        counts_are_transmission=transmission,
        notes=[note] if note else [],
    )


def _frames(path: str | Path | None, what: str, shape: tuple[int, ...],
            n_energy: int) -> xr.DataArray | None:
    if path is None:
        return None
    path = Path(path)
    data = _read_pages(path, what).astype(np.float32)
    if data.shape[-2:] != shape[1:]:
        raise FormatError(
            f"{path}: {what} image shape {data.shape[-2:]} does not match the stack's "
            f"{shape[1:]}; expected the same rows × columns"
        )
    if data.ndim == 3 and data.shape[0] == n_energy and n_energy > 1:
        return xr.DataArray(data, dims=("energy", "y", "x"))
    if data.ndim == 3:
        data = _average_repeats(data, n_energy, what, str(path))
    return xr.DataArray(data, dims=("y", "x"))


def write_tiff(raw: RawStack, path: str | Path, energies_path: str | Path) -> None:
    """Write counts as a multi-page TIFF, the energy list as text, and flats/darks beside them
    (``<stem>_flats.tif``, ``<stem>_darks.tif``).

    Parameters
    ----------
    raw : RawStack
        Counts, flats and darks.
    path : str or pathlib.Path
        The TIFF to write.
    energies_path : str or pathlib.Path
        The energy list to write (eV).
    """
    path = Path(path)
    with atomic_output(path, overwrite=True) as tmp:
        tifffile.imwrite(tmp, np.asarray(raw.counts.values))
    with atomic_output(energies_path, overwrite=True) as tmp:
        np.savetxt(tmp, raw.energy_ev, fmt="%.4f", header="energy_eV")
    for frames, suffix in ((raw.flats, "_flats"), (raw.darks, "_darks")):
        if frames is not None:
            with atomic_output(path.with_name(path.stem + suffix + ".tif"), overwrite=True) as tmp:
                tifffile.imwrite(tmp, np.asarray(frames.values))
