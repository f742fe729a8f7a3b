"""The npe2 reader: which paths the plugin opens, and the layers it gives for them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import xarray as xr

from redoxmap.napari.layers import (
    LayerData,
    _is_maps,
    _is_ome_zarr,
    maps_layers,
    ome_zarr_layers,
    read_maps,
)

__all__ = ["get_reader", "read"]


def _kind(path: str | Path) -> str | None:
    """``"maps"``, ``"ome-zarr"`` or None (not a redoxmap output: napari asks other readers)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".zarr" and _is_ome_zarr(path):
        return "ome-zarr"
    if suffix not in (".nc", ".zarr"):
        return None
    try:
        with (xr.open_zarr(path) if suffix == ".zarr" else xr.open_dataset(path, engine="h5netcdf")) as ds:
            return "maps" if _is_maps(ds) else None
    except Exception:  # unreadable or not a dataset: not ours to open
        return None


def get_reader(path: str | list[str]) -> Callable[[str | list[str]], list[LayerData]] | None:
    """The npe2 reader hook: the reader function for ``path`` if it is a redoxmap output, else None
    (so napari asks other plugins).

    Parameters
    ----------
    path : str or list of str
        What napari was asked to open: maps files (``.nc``/``.zarr``) and OME-Zarr folders.

    Returns
    -------
    callable or None
        :func:`read` when every path is a redoxmap output, else None.

    Examples
    --------
    >>> get_reader("notes.txt") is None
    True
    """
    paths = [path] if isinstance(path, str | Path) else list(path)
    if not paths or any(_kind(p) is None for p in paths):
        return None
    return read


def read(path: str | list[str]) -> list[LayerData]:
    """Layers of one or more redoxmap outputs (maps files and OME-Zarr volumes). A class-label
    volume switches the current viewer (if any) to 3D.

    Parameters
    ----------
    path : str or list of str
        Maps files (``.nc``/``.zarr``) and OME-Zarr folders.

    Returns
    -------
    list of (data, dict, str)
        napari layer-data tuples of every path, in order (:func:`maps_layers`,
        :func:`ome_zarr_layers`).
    """
    layers: list[LayerData] = []
    for item in [path] if isinstance(path, str | Path) else path:
        if _kind(item) == "ome-zarr":
            volume = ome_zarr_layers(item)
            layers += volume
            if any(kind == "labels" and len(data.shape) == 3 for data, _, kind in volume):
                _show_3d()
        else:
            layers += maps_layers(read_maps(item), item)
    return layers


def _show_3d() -> None:
    import napari

    viewer = napari.current_viewer()
    if viewer is not None:
        viewer.dims.ndisplay = 3
