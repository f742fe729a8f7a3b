"""The napari plugin (redoxmap[napari], installed by the test extra), in a real viewer under
xvfb-run (make test): readers, the pixel-spectrum widget, the run widgets and what is rendered;
and that the core install needs neither napari nor Qt."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from redoxmap.cli import app
from redoxmap.io import write_dxchange
from redoxmap.io.omezarr import write_ome_zarr
from redoxmap.io.raw import RawStack
from redoxmap.io.stxm import write_stxm
from redoxmap.napari.layers import maps_layers, read_maps
from redoxmap.pipeline.refit import fit_inputs, refit
from redoxmap.segment.classes import classify_stoichiometry
from redoxmap.simulate import demo_dataset
from redoxmap.simulate.valence import reduced_surface_particle
from redoxmap.spectra.library import write_library

needs_display = pytest.mark.skipif(
    not os.environ.get("DISPLAY") and sys.platform.startswith("linux"),
    reason="the napari viewer needs a display: run under xvfb-run (make test does)")
PIXEL_NM = 30.0


@pytest.fixture(scope="module")
def xanes(tmp_path_factory):
    """A drifting 40 × 40 Mn K-edge scan and its references as files, and the maps the
    ``redoxmap xanes2d`` command writes for them."""
    folder = tmp_path_factory.mktemp("xanes")
    sim = demo_dataset(shape=(40, 40), drift_max_px=2.0, seed=5)
    write_dxchange(sim.raw, folder / "scan.h5")
    refs = []
    for comp in sim.refs.component.values:
        refs.append(folder / f"{comp}.csv")
        np.savetxt(refs[-1], np.column_stack([sim.refs.energy, sim.refs.sel(component=comp)]),
                   delimiter=",", header="energy_eV,od")
    done = CliRunner().invoke(app, ["xanes2d", str(folder / "scan.h5"), "-r", str(refs[0]),
                                    "-r", str(refs[1]), "--pixel-size-nm", str(PIXEL_NM),
                                    "-o", str(folder / "maps.nc")])
    assert done.exit_code == 0, done.output
    return {"folder": folder, "stack": folder / "scan.h5", "refs": refs, "maps": folder / "maps.nc"}


@pytest.fixture(scope="module")
def valence(tmp_path_factory):
    """A 40 × 40 Mn L3 particle as an ALS STXM stack with its library, mapped by the valence job
    with normalized spectra (so the refit needs the drift shifts of every energy read)."""
    folder = tmp_path_factory.mktemp("valence")
    sim = reduced_surface_particle(shape=(40, 40), seed=4)
    counts = (np.exp(-sim.stack.values) * 20000.0).astype(np.float32)
    write_stxm(RawStack(counts=sim.raw.counts.copy(data=counts)), folder / "particle.hdr",
               x_um=np.arange(40) * 0.01, y_um=np.arange(40) * 0.01)
    write_library(sim.refs, folder / "standards.csv")
    done = CliRunner().invoke(app, ["valence", str(folder / "particle.hdr"),
                                    "-l", str(folder / "standards.csv"), "--normalize",
                                    "-o", str(folder / "valence.nc")])
    assert done.exit_code == 0, done.output
    return {"maps": folder / "valence.nc", "stack": folder / "particle.hdr"}


@pytest.fixture(scope="module")
def classes(tmp_path_factory):
    """A class-label volume (24³, classes 0–3) as the classify job writes it."""
    z, y, x = np.mgrid[:24, :24, :24] - 11.5
    ratio = xr.DataArray(1.0 + 0.01 * x, dims=("z", "y", "x"))
    particle = xr.DataArray(z**2 + y**2 + x**2 < 10.0**2, dims=("z", "y", "x"))
    labels = classify_stoichiometry(ratio, 1.0, particle, tolerance=0.05, smooth_sigma_vox=0.0)
    path = tmp_path_factory.mktemp("classes") / "classes.zarr"
    write_ome_zarr(labels, path, voxel_size_nm=200.0, labels=True)
    return path, labels


def _add_layer(viewer, path, name):
    """Only the layer ``name`` of a maps file (each layer costs napari about a second here)."""
    from napari.layers import Layer

    (layer,) = [Layer.create(data, kwargs, kind) for data, kwargs, kind in maps_layers(read_maps(path), path)
                if kwargs["name"] == name]
    return viewer.add_layer(layer)


@pytest.fixture()
def plugin(npe2pm):
    """The plugin registered from its installed distribution (the ``napari.manifest`` entry point);
    napari's test plugin manager discovers nothing else."""
    from npe2 import PluginManifest

    npe2pm.register(PluginManifest.from_distribution("redoxmap"))
    return npe2pm


def test_core_install_needs_no_napari_and_says_how_to_get_it():
    """With napari and Qt unimportable: ``import redoxmap``, the jobs, the CLI and the plugin's
    Qt-free readers import and run (no module outside redoxmap.napari imports napari or Qt: an
    import-linter contract, tests/test_architecture.py); asking for the plugin raises one
    MissingExtraError line naming the extra."""
    code = """
import importlib, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('napari', 'qtpy', 'PyQt6', 'PyQt5', 'PySide6', 'magicgui', 'npe2'):
            raise ImportError(f"No module named {name!r}")
sys.meta_path.insert(0, Block())
import redoxmap
for name in ['cli', 'napari', 'napari.reader']:
    importlib.import_module('redoxmap.' + name)
from typer.testing import CliRunner
for command in ('xanes2d', 'valence', 'demo'):
    assert CliRunner().invoke(redoxmap.cli.app, [command, '--help']).exit_code == 0
assert not [m for m in sys.modules if m.split('.')[0] in ('napari', 'qtpy', 'PyQt6')]
for call in (lambda: importlib.import_module('redoxmap.napari.pixel_widget'), redoxmap.napari.view):
    try:
        call()
    except redoxmap.errors.MissingExtraError as exc:
        print(str(exc))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 2  # one line each
    assert all("pip install 'redoxmap[napari]'" in line and "No module named 'napari'" in line
               for line in lines)


def test_maps_record_their_job_and_every_pixel_refits_to_the_map(xanes, valence):
    """Without Qt: the maps' job record rebuilds the fitted spectra, and the refit of a pixel gives
    the map's fractions (xanes2d, nnls) and valence (valence, normalized sum1) within 1e-6."""
    rng = np.random.default_rng(0)
    for case, names in ((valence, ("fraction", "valence")), (xanes, ("fraction",))):
        maps = xr.load_dataset(case["maps"])
        record = json.loads(maps.attrs["job"])
        assert record["settings"]["stack"] == str(case["stack"].resolve())
        inputs = fit_inputs(maps, case["maps"])
        pixels = np.argwhere(maps["mask"].values.astype(bool))
        for y, x in pixels[rng.choice(len(pixels), 12, replace=False)]:
            result = refit(inputs, int(y), int(x))
            assert result.attrs["status"] == "fitted"
            for name in names:
                np.testing.assert_allclose(result[name].values, maps[name].isel(y=y, x=x).values,
                                           rtol=0, atol=1e-6)
    failed = np.argwhere(maps["fit_status"].values == 1)  # background pixels of the xanes2d map
    result = refit(inputs, *map(int, failed[0]))
    assert result.attrs["status"] == "no_material" and np.isnan(result["fraction"]).all()


def test_reader_takes_maps_in_zarr_and_leaves_other_files(xanes, classes, tmp_path):
    """Without Qt: the npe2 reader claims maps (.nc, .zarr) and redoxmap OME-Zarr volumes, and
    declines other NetCDF files so napari asks its other readers."""
    from redoxmap.io.writers import write_dataset
    from redoxmap.napari.reader import get_reader

    maps = xr.load_dataset(xanes["maps"])
    write_dataset(maps, tmp_path / "maps.zarr")
    xr.Dataset({"counts": ("x", np.arange(3.0))}).to_netcdf(tmp_path / "other.nc", engine="h5netcdf")
    assert get_reader(str(tmp_path / "other.nc")) is None
    assert get_reader([str(xanes["maps"]), str(tmp_path / "other.nc")]) is None
    read = get_reader([str(xanes["maps"]), str(tmp_path / "maps.zarr"), str(classes[0])])
    layers = read([str(xanes["maps"]), str(tmp_path / "maps.zarr"), str(classes[0])])
    names = [kwargs["name"] for _, kwargs, _ in layers]
    assert names[:8] == names[8:16] and "fraction cycled" in names and len(names) == 17
    np.testing.assert_array_equal(layers[1][0], layers[9][0])  # same map from .nc and .zarr


@needs_display
def test_opening_outputs_gives_named_scaled_masked_layers(make_napari_viewer, plugin, xanes, valence,
                                                          classes):
    viewer = make_napari_viewer()
    maps = xr.load_dataset(xanes["maps"])
    viewer.open(str(xanes["maps"]), plugin="redoxmap")
    names = [layer.name for layer in viewer.layers]
    assert names == ["fraction pristine", "fraction cycled", "fraction_err pristine", "fraction_err cycled",
                     "r_factor", "thickness_od", "mask", "fit_status"]
    outside = ~maps["mask"].values.astype(bool)
    for layer in viewer.layers:
        assert tuple(layer.scale) == (PIXEL_NM, PIXEL_NM)
        assert layer.metadata["history"][-1].startswith("lincomb(mode='nnls'")
    cycled = viewer.layers["fraction cycled"]
    assert cycled.visible and not viewer.layers["fraction pristine"].visible
    assert tuple(cycled.contrast_limits) == (0.0, 1.0)
    assert np.isnan(cycled.data[outside]).all()
    inside = ~outside
    np.testing.assert_array_equal(cycled.data[inside], maps.fraction.sel(component="cycled").values[inside])
    r_low, r_high = viewer.layers["r_factor"].contrast_limits
    assert r_low == 0 and r_high == pytest.approx(np.percentile(maps.r_factor.values[inside], 99))
    assert type(viewer.layers["fit_status"]).__name__ == "Labels"

    (kwargs,) = [kw for _, kw, _ in maps_layers(read_maps(valence["maps"])) if kw["name"] == "valence"]
    assert kwargs["visible"] and kwargs["contrast_limits"] == (2.0, 4.0)  # Mn2+ to Mn4+ standards
    assert kwargs["scale"] == pytest.approx((10.0, 10.0))

    path, labels = classes
    viewer.layers.clear()
    viewer.open(str(path), plugin="redoxmap")
    (volume,) = viewer.layers
    assert type(volume).__name__ == "Labels" and volume.data.shape == (24, 24, 24)
    assert tuple(volume.scale) == (200.0, 200.0, 200.0)
    np.testing.assert_array_equal(np.asarray(volume.data), labels.values)
    assert viewer.dims.ndisplay == 3
    assert list(volume.features["class"])[1] == "within ±5 % of target"


@needs_display
def test_ome_zarr_with_an_energy_axis(make_napari_viewer, plugin, tmp_path):
    """An NGFF image with an energy axis: nm scale on the spatial axes, the energy a slider."""
    import zarr

    data = np.arange(3 * 4 * 5 * 6, dtype=np.float32).reshape(3, 4, 5, 6)
    root = zarr.open_group(str(tmp_path / "xanes3d.zarr"), mode="w", zarr_format=2)
    root.create_array("0", data=data)
    root.attrs["multiscales"] = [{
        "version": "0.4", "name": "od",
        "axes": [{"name": "energy", "type": "energy"}] + [{"name": a, "type": "space", "unit": "nanometer"}
                                                          for a in "zyx"],
        "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale",
                                                                  "scale": [1.0, 50.0, 50.0, 50.0]}]}]}]
    root.attrs["redoxmap"] = {"history": ["tomo_xanes(test)"], "labels": 0}
    viewer = make_napari_viewer()
    viewer.open(str(tmp_path / "xanes3d.zarr"), plugin="redoxmap")
    (layer,) = viewer.layers
    assert tuple(layer.scale) == (1.0, 50.0, 50.0, 50.0)
    assert tuple(layer.axis_labels) == ("energy", "z", "y", "x")
    assert layer.metadata["history"] == ["tomo_xanes(test)"]
    np.testing.assert_array_equal(np.asarray(layer.data), data)


@needs_display
def test_clicking_a_pixel_fits_the_maps_fractions(make_napari_viewer, xanes):
    """A click (as napari delivers it, in world coordinates) on the map refits that pixel; a drawn
    rectangle fits the mean spectrum of the pixels inside."""
    from redoxmap.napari.pixel_widget import PixelSpectrumWidget

    viewer = make_napari_viewer()
    _add_layer(viewer, xanes["maps"], "fraction cycled")
    widget = PixelSpectrumWidget(viewer)
    viewer.window.add_dock_widget(widget)
    maps = xr.load_dataset(xanes["maps"])
    pixels = np.argwhere(maps["mask"].values.astype(bool))[::191]

    class Press:
        type = "mouse_press"

    for y, x in pixels:
        Press.position = (y * PIXEL_NM + 4.0, x * PIXEL_NM - 4.0)  # within the pixel
        widget._on_press(viewer, Press)
        assert widget.result.attrs["where"] == f"pixel (y={y}, x={x})"
        np.testing.assert_allclose(widget.result.fraction.values, maps.fraction.values[:, y, x],
                                   rtol=0, atol=1e-6)
        np.testing.assert_allclose(widget.result.r_factor, maps.r_factor.values[y, x], rtol=1e-6)
    fit = widget.result
    np.testing.assert_allclose(fit["fit"], fit["weighted"].sum("component") + fit["background"])
    assert "cycled: " in widget.info.text() and "R = " in widget.info.text()
    assert len(widget.figure.axes[0].lines) == 4  # measured, two weighted references, fit

    shapes = widget.add_region_layer()
    shapes.add_rectangles(np.array([[10.0, 12.0], [19.0, 23.0]]))  # pixel centres 10–19 × 12–23
    assert widget.result.attrs["where"] == "mean of 120 pixels"
    np.testing.assert_allclose(widget.result.fraction.sum(), 1.0)


@needs_display
def test_run_widget_reproduces_the_cli_maps(make_napari_viewer, qtbot, xanes, tmp_path):
    from redoxmap.napari.run_widgets import ValenceWidget, Xanes2DWidget

    viewer = make_napari_viewer()
    widget = Xanes2DWidget(viewer)
    widget.stack.value = xanes["stack"]
    widget.references.value = xanes["refs"]
    widget.pixel_size_nm.value = PIXEL_NM
    widget.output.value = tmp_path / "widget.nc"
    steps = []
    widget._relay.progress.connect(lambda stage, done, total: steps.append(stage))
    widget.run()
    qtbot.waitUntil(lambda: widget.result is not None or widget.error is not None, timeout=60000)
    assert widget.error is None
    cli, mine = xr.load_dataset(xanes["maps"]), xr.load_dataset(tmp_path / "widget.nc")
    for name in ("fraction", "fraction_err", "r_factor", "mask", "fit_status", "shift_y", "shift_x"):
        np.testing.assert_array_equal(mine[name].values, cli[name].values)
    assert {"read", "align", "fit"} <= set(steps)
    assert viewer.layers["fraction cycled"].metadata["redoxmap"]["path"] == str(tmp_path / "widget.nc")

    other = ValenceWidget(viewer)
    other.stack.value = xanes["stack"]
    other.min_ev.value = "six"
    other.run()
    assert other.status.value.startswith("not started:") and "--min-ev" in other.status.value


@needs_display
def test_screenshot_shows_the_map_in_its_colours(make_napari_viewer, xanes):
    """Rendered pixels: a fitted pixel in viridis at its fraction, a masked one transparent."""
    from matplotlib import colormaps

    viewer = make_napari_viewer(show=True)
    _add_layer(viewer, xanes["maps"], "fraction cycled")
    viewer.reset_view()
    image = viewer.screenshot(canvas_only=True, flash=False)
    maps = xr.load_dataset(xanes["maps"])
    mask = maps["mask"].values.astype(bool)
    height, width = image.shape[:2]
    camera = getattr(viewer, "scene", viewer).camera  # napari 0.9 moved it
    zoom = camera.zoom  # screen pixels per nm
    centre = np.asarray(camera.center[-2:])

    def rendered(y: int, x: int) -> np.ndarray:
        row, col = (np.array([y, x]) * PIXEL_NM - centre) * zoom + np.array([height, width]) / 2
        return image[int(round(row)), int(round(col)), :3].astype(int)

    inside = np.argwhere(mask)[::53]
    for y, x in inside:
        expected = np.round(np.array(colormaps["viridis"](maps.fraction.values[1, y, x])[:3]) * 255)
        assert np.abs(rendered(y, x) - expected).max() <= 6, (y, x)
    y, x = np.argwhere(~mask)[0]
    assert rendered(y, x).max() == 0  # transparent over the black canvas
