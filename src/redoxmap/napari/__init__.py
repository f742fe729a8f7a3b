"""The napari plugin (``pip install 'redoxmap[napari]'``): readers for redoxmap outputs, a
pixel-spectrum dock widget that fits a clicked pixel or a drawn region again, and widgets that run
the ``xanes2d`` and ``valence`` jobs.

napari finds the plugin through its manifest (``napari.yaml``, entry point ``napari.manifest``), so
``napari maps.nc`` opens a maps file with named, scaled, masked layers. :func:`view` does the same
from Python and docks the pixel-spectrum widget. Only this sub-package imports napari or Qt; the
core install works without them, and asking for the plugin without them raises one
:class:`~redoxmap.errors.MissingExtraError`.
"""

from __future__ import annotations

import lazy_loader

from redoxmap.errors import MissingExtraError

# The readers (layers, reader) need no Qt; the widgets import napari and Qt when first asked for.
__getattr__, __dir__, _lazy = lazy_loader.attach(__name__, submod_attrs={
    "layers": ["maps_layers", "ome_zarr_layers", "read_maps"],
    "pixel_widget": ["PixelSpectrumWidget"],
    "reader": ["get_reader", "read"],
    "run_widgets": ["ValenceWidget", "Xanes2DWidget"],
})
__all__ = [*_lazy, "require_napari", "view"]

INSTALL_HINT = "pip install 'redoxmap[napari]'"


def require_napari() -> None:
    """Raise :class:`MissingExtraError` (one line saying how to install it) unless napari and a Qt
    binding can be imported.

    Raises
    ------
    MissingExtraError
        If napari or a Qt binding is missing; the message names what failed to import and
        ``pip install 'redoxmap[napari]'``.
    """
    try:
        import napari  # noqa: F401
        import qtpy  # noqa: F401  (raises when no Qt binding is installed)
    except Exception as exc:  # ImportError, or qtpy's error when no binding is present
        found = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MissingExtraError(f"the napari plugin needs napari and a Qt binding ({found}); install "
                                f"them with: {INSTALL_HINT}") from exc


def view(*paths: str, block: bool = True):
    """Open a napari viewer on redoxmap output files with the pixel-spectrum widget docked.

    Parameters
    ----------
    *paths : str
        Maps files (``.nc``/``.zarr``) or OME-Zarr volumes.
    block : bool
        Run the Qt event loop until the window is closed.

    Returns
    -------
    napari.Viewer
        The viewer, with one layer per map variable (scaled in nm) and the widget docked.

    Raises
    ------
    MissingExtraError
        Without the ``napari`` extra (:func:`require_napari`).
    """
    require_napari()
    import napari

    from redoxmap.napari.pixel_widget import PixelSpectrumWidget

    viewer = napari.Viewer()
    for path in paths:
        viewer.open(path, plugin="redoxmap")
    viewer.window.add_dock_widget(PixelSpectrumWidget(viewer), name="redoxmap pixel spectrum")
    if block:
        napari.run()
    return viewer
