"""Widgets that run the ``xanes2d`` and ``valence`` jobs on a stack file with reference files.

Each widget fills the job's configuration (the same pydantic model the command line fills, so
the same checks and defaults), runs the job in a worker thread (napari's ``thread_worker``) with
its progress shown, and adds the maps as layers (:func:`redoxmap.napari.layers.maps_layers`),
ready for the pixel-spectrum widget.
"""

from __future__ import annotations

from redoxmap.napari import require_napari

require_napari()

from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

from magicgui.widgets import (  # noqa: E402
    CheckBox,
    ComboBox,
    Container,
    FileEdit,
    FloatSpinBox,
    Label,
    LineEdit,
    ProgressBar,
    PushButton,
    SpinBox,
)
from napari.layers import Layer  # noqa: E402
from napari.qt.threading import create_worker  # noqa: E402
from qtpy.QtCore import QObject, Signal  # noqa: E402

from redoxmap.errors import ConfigError, RedoxmapError  # noqa: E402
from redoxmap.napari.layers import maps_layers  # noqa: E402
from redoxmap.pipeline.jobs import JobConfig, JobResult  # noqa: E402
from redoxmap.pipeline.valence import ValenceConfig, run_valence  # noqa: E402
from redoxmap.pipeline.xanes2d import Xanes2DConfig, run_xanes2d  # noqa: E402

__all__ = ["ValenceWidget", "Xanes2DWidget"]


class _Relay(QObject):
    """Carries a job's progress from the worker thread to the widget (a queued Qt signal)."""

    progress = Signal(str, int, int)


def _optional_float(text: str, flag: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError as exc:
        raise ConfigError(f"{flag} = {text!r}: expected a number in eV or nothing") from exc


def _optional_path(edit: FileEdit) -> Path | None:
    value = edit.value
    return None if value is None or str(value) in ("", ".") else Path(value)


class _JobWidget(Container):
    """Shared machinery: settings fields, a Run button, a progress bar and a status line."""

    job: Callable[..., JobResult]

    def __init__(self, napari_viewer, fields: list) -> None:
        self.viewer = napari_viewer
        self.output = FileEdit(mode="w", label="output (.nc/.zarr, optional)", filter="*.nc *.zarr")
        self.overwrite = CheckBox(value=False, label="overwrite")
        self.run_button = PushButton(text="Run")
        self.progress = ProgressBar(value=0, min=0, max=1, label="progress")
        self.status = Label(value="")
        super().__init__(widgets=[*fields, self.output, self.overwrite, self.run_button, self.progress,
                                  self.status])
        self.result: JobResult | None = None
        self.error: Exception | None = None
        self.worker = None
        self._relay = _Relay()
        self._relay.progress.connect(self._on_progress)
        self.run_button.changed.connect(self.run)

    def config(self) -> JobConfig:
        """The job configuration the fields describe (checked: :class:`ConfigError` on a bad
        setting)."""
        raise NotImplementedError

    def run(self) -> None:
        """Start the job in a worker thread; its maps are added as layers when it returns."""
        try:
            config = self.config()
        except RedoxmapError as exc:
            self.status.value = f"not started: {exc}"
            return
        self.result, self.error = None, None
        self.run_button.enabled = False
        self.status.value = "running"
        self.worker = create_worker(type(self).job, config, progress=self._relay.progress.emit)
        self.worker.returned.connect(lambda result: self._on_done(result, config))
        self.worker.errored.connect(self._on_error)
        self.worker.finished.connect(lambda: setattr(self.run_button, "enabled", True))
        self.worker.start()

    def _on_progress(self, stage: str, done: int, total: int) -> None:
        self.progress.max = max(total, 1)
        self.progress.value = min(done, max(total, 1))
        self.status.value = f"{stage} {done}/{total}"

    def _on_done(self, result: JobResult, config: JobConfig) -> None:
        self.result = result
        for data, kwargs, kind in maps_layers(result.maps, config.output):
            self.viewer.add_layer(Layer.create(data, kwargs, kind))
        self.status.value = result.title + "\n" + "\n".join(f"{k}: {v}" for k, v in result.summary)

    def _on_error(self, exc: Exception) -> None:
        self.error = exc
        self.status.value = f"failed: {exc}"


class Xanes2DWidget(_JobWidget):
    """Run :func:`redoxmap.pipeline.run_xanes2d` (the ``redoxmap xanes2d`` command) from a dock
    widget; the maps it writes open as layers.

    Parameters
    ----------
    napari_viewer : napari.Viewer
        The viewer that shows the maps.
    """

    job = staticmethod(run_xanes2d)

    def __init__(self, napari_viewer) -> None:
        self.stack = FileEdit(mode="r", label="stack file")
        self.references = FileEdit(mode="rm", label="reference files")
        self.names = LineEdit(value="", label="names (comma separated, optional)")
        self.mode = ComboBox(choices=["nnls", "lsq", "sum1", "sum1-scaled"], value="nnls", label="mode")
        self.min_ev = LineEdit(value="", label="min energy (eV)")
        self.max_ev = LineEdit(value="", label="max energy (eV)")
        self.bin_px = SpinBox(value=1, min=1, max=64, label="bin (px)")
        self.align = CheckBox(value=True, label="align (drift)")
        self.pixel_size_nm = FloatSpinBox(value=0.0, min=0.0, max=1e6, label="pixel size (nm, 0: from file)")
        super().__init__(napari_viewer, [self.stack, self.references, self.names, self.mode, self.min_ev,
                                         self.max_ev, self.bin_px, self.align, self.pixel_size_nm])

    def config(self) -> Xanes2DConfig:
        names = [n.strip() for n in self.names.value.split(",") if n.strip()] or None
        return Xanes2DConfig(
            stack=Path(self.stack.value), references=[Path(p) for p in self.references.value or []],
            names=names, mode=self.mode.value, min_ev=_optional_float(self.min_ev.value, "--min-ev"),
            max_ev=_optional_float(self.max_ev.value, "--max-ev"), bin_px=self.bin_px.value,
            align=self.align.value, pixel_size_nm=self.pixel_size_nm.value or None,
            output=_optional_path(self.output), overwrite=self.overwrite.value)


class ValenceWidget(_JobWidget):
    """Run :func:`redoxmap.pipeline.run_valence` (the ``redoxmap valence`` command) from a dock
    widget; the maps it writes open as layers.

    Parameters
    ----------
    napari_viewer : napari.Viewer
        The viewer that shows the maps.
    """

    job = staticmethod(run_valence)

    def __init__(self, napari_viewer) -> None:
        self.stack = FileEdit(mode="r", label="stack file")
        self.library = FileEdit(mode="r", label="library of standards")
        self.mode = ComboBox(choices=["auto", "lsq", "nnls", "sum1", "sum1-scaled"], value="auto",
                             label="mode")
        self.normalize = ComboBox(choices=["auto", "yes", "no"], value="auto", label="normalize")
        self.standards = ComboBox(choices=["own", "shared"], value="own", label="standards' normalization")
        self.min_ev = LineEdit(value="", label="min energy (eV)")
        self.max_ev = LineEdit(value="", label="max energy (eV)")
        self.align = CheckBox(value=True, label="align (drift)")
        self.pixel_size_nm = FloatSpinBox(value=0.0, min=0.0, max=1e6, label="pixel size (nm, 0: from file)")
        super().__init__(napari_viewer, [self.stack, self.library, self.mode, self.normalize, self.standards,
                                         self.min_ev, self.max_ev, self.align, self.pixel_size_nm])

    def config(self) -> ValenceConfig:
        normalize = {"auto": "auto", "yes": True, "no": False}[self.normalize.value]
        return ValenceConfig(
            stack=Path(self.stack.value), library=Path(self.library.value), mode=self.mode.value,
            normalize=normalize, standards=self.standards.value,
            min_ev=_optional_float(self.min_ev.value, "--min-ev"),
            max_ev=_optional_float(self.max_ev.value, "--max-ev"), align=self.align.value,
            pixel_size_nm=self.pixel_size_nm.value or None, output=_optional_path(self.output),
            overwrite=self.overwrite.value)
