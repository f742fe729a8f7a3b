"""redoxmap outputs as napari layer-data tuples ``(data, kwargs, layer_type)``.

Plain NumPy/xarray: nothing here imports napari or Qt, so the layers a file gives can be checked
without a display. Maps (``xanes2d``/``valence``) give one layer per variable and component, named
by them (``fraction cycled``, ``valence``, ``r_factor`` …), scaled by ``pixel_size_nm``, with the
pixels outside the fit mask set to NaN (napari draws NaN transparent) and colour limits suited to
each quantity; ``fit_status`` and ``mask`` are Labels. OME-Zarr volumes give one image (or, for
class volumes, one Labels layer) scaled in nm, with an energy axis kept as a slider.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
import zarr

from redoxmap.errors import FormatError
from redoxmap.report.volumes import CLASS_COLOURS, class_names

__all__ = ["maps_layers", "ome_zarr_layers", "read_maps"]

LayerData = tuple[Any, dict[str, Any], str]

#: Per variable: colour map and how its contrast limits are set.
#: ``unit``: 0 to 1; ``valence``: the standards' valences; ``robust``: 1st–99th percentile over the
#: mask; ``upper``: 0 to the 99th percentile (R, errors: a few bad pixels do not wash out the rest).
STYLE = {
    "fraction": ("viridis", "unit"),
    "fraction_err": ("magma", "upper"),
    "valence": ("plasma", "valence"),
    "valence_err": ("magma", "upper"),
    "r_factor": ("inferno", "upper"),
    "thickness_od": ("gray", "robust"),
    "background_od": ("gray", "robust"),
    "edge_jump": ("gray", "robust"),
    "edge_energy": ("turbo", "robust"),
}
#: Quantities of a fit: transparent outside the mask. The others (thickness, edge jump …) show
#: the whole image. Variables that other layers show already (``weight``, ``residual_variance``,
#: ``difference_from_mean``) get no layer of their own.
MASKED = {"fraction", "fraction_err", "valence", "valence_err", "r_factor", "edge_energy"}
#: Percentile of the robust contrast limits.
ROBUST_PERCENTILE = 99.0


def _layer_name(variable: str, component: str | None = None) -> str:
    """The layer of a map variable (and component): ``fraction cycled``, ``r_factor``.

    >>> _layer_name("fraction", "cycled"), _layer_name("valence")
    ('fraction cycled', 'valence')
    """
    return variable if component is None else f"{variable} {component}"


def _is_maps(ds: xr.Dataset) -> bool:
    """A maps Dataset of ``xanes2d``/``valence``: ``fraction`` over (component, y, x) and a mask."""
    return "fraction" in ds and "mask" in ds and {"y", "x"} <= set(ds["fraction"].dims)


def _is_ome_zarr(path: str | Path) -> bool:
    """A folder holding an OME-Zarr image (``multiscales`` in its root attributes)."""
    try:
        return "multiscales" in zarr.open_group(str(path), mode="r").attrs
    except Exception:  # not a zarr group at all
        return False


def read_maps(path: str | Path) -> xr.Dataset:
    """Load a maps file (``.nc`` or ``.zarr``) of ``redoxmap xanes2d``/``valence`` into memory.

    Parameters
    ----------
    path : str or pathlib.Path
        The maps file.

    Returns
    -------
    xarray.Dataset
        The maps (``fraction``, ``mask``, ``fit_status`` …; lengths in nm in ``pixel_size_nm``).

    Raises
    ------
    FormatError
        If the file cannot be read, or holds no ``fraction`` over (component, y, x) and ``mask``.
    """
    path = Path(path)
    try:
        ds = (xr.open_zarr(path) if path.suffix.lower() == ".zarr" else
              xr.open_dataset(path, engine="h5netcdf")).load()
    except (OSError, ValueError, KeyError) as exc:
        raise FormatError(f"{path}: cannot be read as a maps file ({exc})") from exc
    if not _is_maps(ds):
        raise FormatError(f"{path}: holds {', '.join(map(str, ds.data_vars)) or 'no variables'}; expected "
                          "the maps of redoxmap xanes2d or valence ('fraction' and 'mask')")
    return ds


def _history(attrs: dict) -> list[str]:
    history = attrs.get("history", [])
    return history.split("\n") if isinstance(history, str) else [str(line) for line in history]


def _limits(values: np.ndarray, rule: str, maps: xr.Dataset) -> tuple[float, float]:
    """Contrast limits of ``values`` (NaN outside the mask) by the rule of :data:`STYLE`."""
    finite = values[np.isfinite(values)]
    if rule == "unit":
        return 0.0, 1.0
    if rule == "valence" and "standard_valence" in maps.coords:
        valences = np.asarray(maps["standard_valence"].values, float)
        return float(valences.min()), float(valences.max())
    if finite.size == 0:
        return 0.0, 1.0
    high = float(np.percentile(finite, ROBUST_PERCENTILE))
    low = 0.0 if rule == "upper" else float(np.percentile(finite, 100.0 - ROBUST_PERCENTILE))
    return (low, high) if high > low else (low, low + 1.0)


def maps_layers(maps: xr.Dataset, path: str | Path | None = None) -> list[LayerData]:
    """Layers of a maps Dataset, bottom first.

    Parameters
    ----------
    maps : xarray.Dataset
        Maps of :func:`redoxmap.pipeline.run_xanes2d` or :func:`redoxmap.pipeline.run_valence`
        (or of :func:`redoxmap.fit.lincomb`).
    path : str or pathlib.Path, optional
        The file it was read from (kept in the metadata, used to find moved inputs when a pixel
        is fitted again).

    Returns
    -------
    list of (data, dict, str)
        napari layer-data tuples: an image per variable and component (``fraction`` visible, or
        ``valence`` when present; the others hidden), then the ``mask`` and ``fit_status``
        Labels. Every layer has ``scale`` = ``pixel_size_nm`` (nm; 1 with units of pixels when
        unknown) and ``metadata`` with the source, the ``history`` and, under ``redoxmap``, the
        Dataset itself.

    Examples
    --------
    >>> from redoxmap.fit import lincomb
    >>> from redoxmap.preprocess import optical_density
    >>> from redoxmap.simulate import demo_dataset
    >>> sim = demo_dataset(shape=(16, 16))
    >>> layers = maps_layers(lincomb(optical_density(sim.raw), sim.refs))
    >>> [(kwargs["name"], kind) for _, kwargs, kind in layers][-3:]
    [('thickness_od', 'image'), ('mask', 'labels'), ('fit_status', 'labels')]
    """
    pixel = maps.attrs.get("pixel_size_nm")
    scale = (float(pixel),) * 2 if pixel else (1.0, 1.0)
    units = ("nm", "nm") if pixel else ("pixel", "pixel")
    mask = np.asarray(maps["mask"].transpose("y", "x").values, bool)
    shown = "valence" if "valence" in maps else "fraction"
    first = str(maps["component"].values[-1])

    def metadata(variable: str, component: str | None) -> dict:
        return {"source": maps.attrs.get("source", ""), "history": _history(maps.attrs),
                "redoxmap": {"maps": maps, "path": None if path is None else str(path),
                             "variable": variable, "component": component}}

    def common(variable: str, component: str | None, visible: bool) -> dict:
        return {"name": _layer_name(variable, component), "scale": scale, "units": units,
                "axis_labels": ("y", "x"), "visible": visible, "metadata": metadata(variable, component)}

    layers: list[LayerData] = []
    for variable, (colormap, rule) in STYLE.items():
        if variable not in maps or not {"y", "x"} <= set(maps[variable].dims):
            continue
        array = maps[variable]
        components = [str(c) for c in array["component"].values] if "component" in array.dims else [None]
        for component in components:
            plane = array.sel(component=component) if component is not None else array
            values = np.asarray(plane.transpose("y", "x").values, float)
            if variable in MASKED:
                values = np.where(mask, values, np.nan)
            visible = variable == shown and (variable == "valence" or component == first)
            kwargs = {**common(variable, component, visible), "colormap": colormap,
                      "contrast_limits": _limits(values, rule, maps)}
            layers.append((values, kwargs, "image"))
    layers.append((mask.astype(np.uint8), {**common("mask", None, False), "opacity": 0.3}, "labels"))
    status = np.asarray(maps["fit_status"].transpose("y", "x").values, np.int32)
    meanings = str(maps["fit_status"].attrs.get("flag_meanings", "")).split()
    labels = {**common("fit_status", None, False), "opacity": 0.8}
    if meanings:
        labels["features"] = {"status": [meanings[i] if i < len(meanings) else str(i)
                                         for i in range(max(len(meanings), int(status.max()) + 1))]}
    layers.append((status, labels, "labels"))
    return layers


def ome_zarr_layers(path: str | Path, max_voxels_single: int = 2**27) -> list[LayerData]:
    """The layer of an OME-Zarr image written by :func:`redoxmap.io.write_ome_zarr` (or any
    NGFF 0.4 image).

    Spatial axes are scaled by the level-0 ``scale`` transformation (nm for redoxmap volumes);
    other axes (an ``energy`` or channel axis) stay unscaled sliders. A class volume
    (``labels`` in its ``redoxmap`` attributes) becomes a Labels layer coloured as in the reports,
    with the class names as features. Images up to ``max_voxels_single`` voxels are given as their
    full-resolution level only (so 3D rendering uses it), larger ones as the multiscale pyramid.

    Parameters
    ----------
    path : str or pathlib.Path
        The OME-Zarr folder.
    max_voxels_single : int
        Largest image (voxels) given as its full-resolution level alone.

    Returns
    -------
    list of (data, dict, str)
        One napari layer-data tuple: ``"image"`` (grey), or ``"labels"`` for a class volume; data a
        dask array (or the list of pyramid levels).

    Raises
    ------
    FormatError
        If the folder holds no NGFF ``multiscales`` with datasets.

    Examples
    --------
    >>> import tempfile
    >>> from redoxmap.io import write_ome_zarr
    >>> volume = xr.DataArray(np.zeros((4, 8, 8), np.float32), dims=("z", "y", "x"))
    >>> path = write_ome_zarr(volume, Path(tempfile.mkdtemp()) / "volume.zarr", voxel_size_nm=50.0)
    >>> (_, kwargs, kind), = ome_zarr_layers(path)
    >>> kind, kwargs["scale"], kwargs["units"]
    ('image', (50.0, 50.0, 50.0), ('nm', 'nm', 'nm'))
    """
    path = Path(path)
    root = zarr.open_group(str(path), mode="r")
    try:
        multiscales = root.attrs["multiscales"][0]
        datasets = multiscales["datasets"]
        levels = [da.from_zarr(str(path), component=d["path"]) for d in datasets]
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise FormatError(f"{path}: not an OME-Zarr image ({exc!r}); expected NGFF 'multiscales' "
                          "with datasets") from exc
    axes = multiscales.get("axes") or [{"name": n, "type": "space"} for n in "zyx"[-levels[0].ndim:]]
    names = [a["name"] if isinstance(a, dict) else str(a) for a in axes]
    spatial = [isinstance(a, dict) and a.get("type") == "space" for a in axes]
    scale = next((t["scale"] for t in datasets[0].get("coordinateTransformations", [])
                  if t.get("type") == "scale"), [1.0] * len(axes))
    scale = [float(s) if is_space else 1.0 for s, is_space in zip(scale, spatial, strict=True)]
    units = [_unit(a) if is_space else "pixel" for a, is_space in zip(axes, spatial, strict=True)]
    kept = dict(root.attrs.get("redoxmap", {}))
    labels = bool(kept.pop("labels", 0))
    data = levels[0] if levels[0].size <= max_voxels_single or len(levels) == 1 else levels
    kwargs: dict[str, Any] = {
        "name": multiscales.get("name") or path.stem, "scale": tuple(scale), "units": tuple(units),
        "axis_labels": tuple(names), "multiscale": isinstance(data, list),
        "metadata": {"source": str(path), "history": _history(kept), "attrs": kept},
    }
    if labels:
        level0 = np.asarray(levels[0]) if not isinstance(data, list) else None
        present = class_names(xr.DataArray(level0 if level0 is not None else np.zeros(1, int),
                                           attrs={"class_names": kept.get("class_names", [])}))
        top = max([0, *present])
        kwargs["colormap"] = {None: "transparent", 0: "transparent",
                              **{k: CLASS_COLOURS[k % len(CLASS_COLOURS)] for k in range(1, top + 1)}}
        kwargs["features"] = {"class": ["outside",
                                        *[present.get(k, f"class {k}") for k in range(1, top + 1)]]}
        if level0 is not None:
            kwargs["multiscale"] = False
            return [(level0.astype(np.int32), kwargs, "labels")]
        return [(data, kwargs, "labels")]
    kwargs["colormap"] = "gray"
    return [(data, kwargs, "image")]


def _unit(axis: Any) -> str:
    """napari's spelling of an NGFF axis unit (``nanometer`` → ``nm``)."""
    unit = axis.get("unit", "pixel") if isinstance(axis, dict) else "pixel"
    return {"nanometer": "nm", "micrometer": "um", "angstrom": "angstrom"}.get(unit, unit)
