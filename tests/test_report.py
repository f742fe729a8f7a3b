import numpy as np
import pytest

from redoxmap.fit import lincomb
from redoxmap.report import fraction_map, pixel_fits, write_report
from redoxmap.report.figures import _pick_pixels


@pytest.fixture(scope="module")
def fitted(small_scan):
    stack = small_scan.stack
    return stack, small_scan.refs, lincomb(stack, small_scan.refs, mode="sum1-scaled")


def test_report_writes_figures_and_numbers(tmp_path, fitted):
    stack, refs, maps = fitted
    index = write_report(maps, tmp_path / "out", stack=stack, refs=refs, settings={"note": "a<b"},
                         summary={"fraction RMSE": 0.0312}, maps_file=tmp_path / "maps.nc")
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"index.html", "fraction_cycled.png", "difference_pristine.png", "r_factor.png",
            "pixel_fits.png", "histogram_cycled.png"} <= names
    assert not [n for n in names if ".tmp" in n]
    text = index.read_text()
    assert "sum1-scaled" in text
    assert f"{float(maps.mean_fraction.sel(component='cycled')):.4g}" in text
    assert "a&lt;b" in text and "0.0312" in text
    # each map names the command that opens the maps in napari and the plugin layer showing it
    from redoxmap.napari.layers import maps_layers

    layers = {kwargs["name"] for _, kwargs, _ in maps_layers(maps)}
    assert "<pre>napari ../maps.nc</pre>" in text
    for layer in ("fraction pristine", "fraction cycled", "r_factor"):
        assert f"layer <code>{layer}</code>" in text and layer in layers


def test_pixel_fit_curves_are_the_weighted_references(fitted):
    stack, refs, maps = fitted
    fig = pixel_fits(stack, refs, maps, n=3)
    lines = [line for line in fig.axes[0].get_lines() if line.get_gid() == "fit"]
    assert len(lines) == 3
    for line, (y, x) in zip(lines, _pick_pixels(maps, 3), strict=True):
        expected = refs.values.T @ maps.weight.values[:, y, x] + float(maps.background_od[y, x])
        np.testing.assert_allclose(line.get_ydata(), expected)


def test_scale_bar_only_with_pixel_size(fitted):
    _, _, maps = fitted
    def bars(fig):
        return [a for a in fig.axes[0].artists if a.get_gid() == "scale_bar"]

    assert len(bars(fraction_map(maps, "cycled", pixel_size_nm=30.0))) == 1
    assert bars(fraction_map(maps, "cycled")) == []
