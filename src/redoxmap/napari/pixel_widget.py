"""Dock widget: click a pixel of a map layer (or draw a region) and see its spectrum fitted again.

The fit is :func:`redoxmap.pipeline.refit.refit` on the spectra the job fitted, rebuilt once per
maps file from the settings and drift shifts the maps record (:func:`fit_inputs`): the measured
spectrum, the fit, each reference times its weight, the fractions ± 1σ and R (and the valence
for valence maps). A pixel's fractions are those stored in the map.
"""

from __future__ import annotations

from redoxmap.napari import require_napari

require_napari()

import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from qtpy.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget  # noqa: E402

from redoxmap.errors import RedoxmapError  # noqa: E402
from redoxmap.pipeline.refit import FitInputs, fit_inputs, refit  # noqa: E402

__all__ = ["PixelSpectrumWidget"]

#: Name of the Shapes layer whose last shape is the region averaged.
REGION_LAYER = "redoxmap region"


def _is_map_layer(layer) -> bool:
    """A layer made from a maps file by the redoxmap reader (or run widget)."""
    return layer is not None and "maps" in layer.metadata.get("redoxmap", {})


class PixelSpectrumWidget(QWidget):
    """Spectrum, fit, weighted references, fractions ± errors and R of the clicked pixel.

    Parameters
    ----------
    napari_viewer : napari.Viewer
        The viewer whose map layers are clicked.
    """

    def __init__(self, napari_viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.result: xr.Dataset | None = None
        self._inputs: dict[int, FitInputs] = {}
        self.figure = Figure(figsize=(4.5, 3.2), layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.info = QLabel("Click a pixel of a redoxmap map layer to fit its spectrum again.")
        self.info.setWordWrap(True)
        self.region_button = QPushButton("Region mean: draw a shape")
        self.region_button.clicked.connect(self.add_region_layer)
        layout = QVBoxLayout(self)
        for widget in (self.info, self.canvas, self.region_button):
            layout.addWidget(widget)
        self.viewer.mouse_drag_callbacks.append(self._on_press)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if self._on_press in self.viewer.mouse_drag_callbacks:
            self.viewer.mouse_drag_callbacks.remove(self._on_press)
        super().closeEvent(event)

    def map_layer(self):
        """The selected layer if it is a map, else the top visible map layer (or None)."""
        active = self.viewer.layers.selection.active
        if _is_map_layer(active):
            return active
        shown = [layer for layer in self.viewer.layers if layer.visible and _is_map_layer(layer)]
        return shown[-1] if shown else None

    def _on_press(self, viewer, event) -> None:
        active = viewer.layers.selection.active
        if event.type != "mouse_press" or (active is not None and active.name == REGION_LAYER):
            return
        layer = self.map_layer()
        if layer is None:
            return
        y, x = (int(v) for v in np.round(np.asarray(layer.world_to_data(event.position))[-2:]))
        self.show_pixel(layer, y, x)

    def fit_inputs(self, layer) -> FitInputs:
        """The spectra and references of the layer's maps, rebuilt once per maps file."""
        info = layer.metadata["redoxmap"]
        key = id(info["maps"])
        if key not in self._inputs:
            self._inputs[key] = fit_inputs(info["maps"], info.get("path"))
        return self._inputs[key]

    def show_pixel(self, layer, y: int, x: int) -> xr.Dataset | None:
        """Fit pixel (``y``, ``x``) of the layer's maps again and show it; the result Dataset
        (see :func:`redoxmap.pipeline.refit.refit`), or None with the reason shown."""
        maps = layer.metadata["redoxmap"]["maps"]
        if not (0 <= y < maps.sizes["y"] and 0 <= x < maps.sizes["x"]):
            self.info.setText(f"pixel ({y}, {x}) lies outside the {maps.sizes['y']} × {maps.sizes['x']} map")
            return None
        return self._fit(layer, y=y, x=x)

    def show_region(self, layer, region: np.ndarray) -> xr.Dataset | None:
        """Fit the mean spectrum of the pixels of ``region`` (boolean (y, x)) and show it."""
        return self._fit(layer, region=region)

    def _fit(self, layer, **where) -> xr.Dataset | None:
        try:
            result = refit(self.fit_inputs(layer), **where)
        except RedoxmapError as exc:
            self.info.setText(f"cannot fit again: {exc}")
            return None
        self.result = result
        self._draw(result, layer.metadata["redoxmap"]["maps"])
        return result

    def _draw(self, result: xr.Dataset, maps: xr.Dataset) -> None:
        energy = result["energy"].values
        self.figure.clear()
        ax = self.figure.add_subplot()
        ax.plot(energy, result["measured"].values, ".", color="0.2", ms=3, label="measured")
        for component in result["component"].values:
            ax.plot(energy, result["weighted"].sel(component=component).values, "--", lw=1,
                    label=f"{component} × weight")
        ax.plot(energy, result["fit"].values, "-", color="C3", lw=1.5, label="fit")
        ax.set_xlabel("energy (eV)")
        ax.set_ylabel("normalized μ" if maps.attrs.get("normalized") else "optical density")
        ax.legend(fontsize="x-small")
        self.canvas.draw_idle()
        lines = [f"<b>{result.attrs['where']}</b>: {result.attrs['status']} ({result.attrs['fit_mode']})"]
        numbers = zip(result["component"].values, result["fraction"].values, result["fraction_err"].values,
                      strict=True)
        lines += [f"{c}: {f:.4f} ± {e:.4f}" for c, f, e in numbers]
        lines.append(f"R = {float(result['r_factor']):.3e}")
        if "valence" in result:
            lines.append(f"valence = {float(result['valence']):.3f} ± {float(result['valence_err']):.3f}")
        self.info.setText("<br>".join(lines))

    def add_region_layer(self):
        """Add (or select) the Shapes layer whose last shape is the region averaged; drawing a
        shape fits the mean spectrum of the pixels inside it."""
        layer = self.map_layer()
        if layer is None:
            self.info.setText("open a redoxmap maps file first")
            return None
        if REGION_LAYER in self.viewer.layers:
            shapes = self.viewer.layers[REGION_LAYER]
        else:
            shapes = self.viewer.add_shapes(name=REGION_LAYER, scale=layer.scale[-2:], units=layer.units[-2:],
                                            edge_color="white", face_color="transparent", edge_width=1)
            shapes.events.data.connect(self._on_shapes)
            shapes.metadata["redoxmap_map"] = layer.name
        shapes.mode = "add_rectangle"
        self.viewer.layers.selection.active = shapes
        return shapes

    def _on_shapes(self, event) -> None:
        if getattr(event, "action", "added") not in ("added", "changed"):
            return
        shapes = self.viewer.layers[REGION_LAYER]
        name = shapes.metadata.get("redoxmap_map")
        layer = self.viewer.layers[name] if name in self.viewer.layers else self.map_layer()
        if layer is None or len(shapes.data) == 0:
            return
        maps = layer.metadata["redoxmap"]["maps"]
        region = shapes.to_masks(mask_shape=(maps.sizes["y"], maps.sizes["x"]))[-1]
        if not region.any():
            self.info.setText("the shape covers no pixel centre of the map")
            return
        self.show_region(layer, region)
