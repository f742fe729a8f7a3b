"""XRD pattern readers on real and format-exact files (tests/data/xrd/SOURCES.md), the series reader,
the FXYE writer, and one-line errors on bad files."""

import gzip
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from redoxmap.diffraction import q_to_two_theta
from redoxmap.errors import FormatError
from redoxmap.io.xrd import read_pattern, read_xrd_series, write_fxye

DATA = Path(__file__).parent / "data" / "xrd"


def test_gsas_std_real_lab_file():
    """PbSO4, Cu Kα: 'BANK 1 6001 601 CONST 1000 2.5 0 0 STD'; first counts 179 147 165."""
    p = read_pattern(DATA / "PBSO4.XRA")
    assert p.attrs["format"] == "gsas-std" and p.dims == ("two_theta",) and p.size == 6001
    assert float(p.two_theta[0]) == pytest.approx(10.0) and float(p.two_theta[-1]) == pytest.approx(160.0)
    np.testing.assert_allclose(p.values[:3], [179, 147, 165])
    np.testing.assert_allclose(p.intensity_sigma.values[:3], np.sqrt([179, 147, 165]))
    assert "PbSO4" in p.attrs["title"]


def test_gsas_fxye_real_synchrotron_file_with_time_and_wavelength():
    """11-BM sucrose scan: 49,493 rows in centidegrees, header scan time and calibrated wavelength."""
    p = read_pattern(DATA / "11bmb_8714.fxye.gz")
    assert p.attrs["format"] == "gsas-fxye" and p.size == 49493
    assert float(p.two_theta[0]) == pytest.approx(0.5) and float(p.two_theta[1]) == pytest.approx(0.501)
    assert float(p[0]) == pytest.approx(110.755794)
    assert float(p.intensity_sigma[0]) == pytest.approx(15.434885)
    assert p.attrs["wavelength_a"] == pytest.approx(0.413319)
    assert p.attrs["start_time"] == "2012-07-26T14:03:07.372586"


def test_gsas_esd_and_fxy_format_exact_files():
    esd = read_pattern(DATA / "esd_example.gsa")
    assert esd.attrs["format"] == "gsas-esd" and esd.size == 12
    np.testing.assert_allclose(esd.two_theta.values, 10.0 + 0.05 * np.arange(12))
    np.testing.assert_allclose(esd.values, 100.0 + 10 * np.arange(12))
    np.testing.assert_allclose(esd.intensity_sigma.values, np.sqrt(esd.values), atol=0.006)
    fxy = read_pattern(DATA / "fxy_example.gsas")
    np.testing.assert_allclose(fxy.two_theta.values, [20.0, 20.02, 20.04, 20.06])
    assert "intensity_sigma" not in fxy.coords


def test_fit2d_chi_and_plain_xy_of_the_same_beamline():
    chi = read_pattern(DATA / "Data_0002.chi")
    assert chi.attrs["format"] == "fit2d-chi" and chi.size == 2000
    assert chi.attrs["title"].endswith("Data_0002.tif")
    xy = read_pattern(DATA / "Data_0001.xy")
    assert xy.attrs["format"] == "columns" and xy.size == 2000
    np.testing.assert_allclose(chi.two_theta.values, xy.two_theta.values)  # same detector, same bins
    assert float(xy.two_theta[0]) == pytest.approx(5.7500005e-03)


def test_xye_with_sigma_and_lab_files_with_wavelength_headers():
    xye = read_pattern(DATA / "x3lactos.xye")
    assert xye.size == 4776 and float(xye.intensity_sigma[0]) == pytest.approx(13.2)
    lcov = read_pattern(DATA / "lcov_1.txt")  # duplicated 'Result vector' block is read once, silently
    assert lcov.size == 3517 and float(lcov.two_theta[-1]) == pytest.approx(72.8833)
    assert (lcov.attrs["wavelength_a"], lcov.attrs["wavelength_ka2_a"]) == (1.5406, 1.54439)
    gadds = read_pattern(DATA / "map-0.plt")
    assert gadds.size == 4001 and (gadds.attrs["wavelength_a"], gadds.attrs["wavelength_ka2_a"]) == (1.54056,
                                                                                                  1.54439)


@pytest.mark.parametrize("name", ["pyfai2023_2th_deg.dat", "pyfai2023_q_nminv.dat", "pyfai2026_q_Ainv.dat"])
def test_pyfai_outputs_put_the_rings_at_their_angles(name):
    """pyFAI integrated rings at 2θ = 8° and 12° (λ = 0.7293 Å); every unit gives them back."""
    p = read_pattern(DATA / name)
    assert p.attrs["format"] == "pyfai" and p.attrs["wavelength_a"] == pytest.approx(0.7293)
    x = p[p.dims[0]].values
    two_theta = x if p.dims == ("two_theta",) else q_to_two_theta(x, p.attrs["wavelength_a"])
    step = np.median(np.diff(two_theta))
    for ring in (8.0, 12.0):
        near = np.abs(two_theta - ring) < 1.0
        assert abs(two_theta[near][np.argmax(p.values[near])] - ring) <= step


def test_pyfai_2026_column_line_without_unit_needs_unit():
    path = DATA / "pyfai2026err_2th_deg.dat"
    with pytest.raises(FormatError, match=re.escape(str(path)) + ".*names no x unit.*pass unit="):
        read_pattern(path)
    p = read_pattern(path, unit="2th_deg")
    assert "intensity_sigma" in p.coords and p.size == 120


def test_series_reader_stacks_times_and_interpolates_other_grids(tmp_path):
    base = read_pattern(DATA / "pyfai2023_2th_deg.dat")
    paths = []
    for i in range(3):
        pattern = base.copy()
        pattern.attrs["start_time"] = f"2024-01-01T10:0{i}:00"
        if i == 2:  # another grid
            pattern = pattern.assign_coords(two_theta=pattern.two_theta + 0.01)
        paths.append(write_fxye(pattern, tmp_path / f"scan{i}.fxye"))
    with pytest.warns(UserWarning, match="1 of 3 pattern"):
        series = read_xrd_series(paths)
    assert series.dims == ("scan", "two_theta") and series.shape == (3, 120)
    assert series.time.values[1] == np.datetime64("2024-01-01T10:01:00")
    assert series.attrs["wavelength_a"] == pytest.approx(0.7293)
    np.testing.assert_allclose(series[0].values, base.values, rtol=1e-6)
    inner = slice(1, -1)
    np.testing.assert_allclose(series[2].values[inner], np.interp(base.two_theta.values, base.two_theta.values
                                                                  + 0.01, base.values)[inner], rtol=1e-6)
    plain = read_xrd_series(paths[:2], time_s=[0.0, 60.0])
    assert plain.time_s.values.tolist() == [0.0, 60.0]


def test_fxye_round_trip_keeps_time_wavelength_and_sigma(tmp_path):
    x = np.linspace(10, 20, 11)
    p = xr.DataArray(np.arange(11.0) + 5, dims="two_theta",
                     coords={"two_theta": x, "intensity_sigma": ("two_theta", np.full(11, 0.5))},
                     attrs={"wavelength_a": 1.5406, "start_time": "2024-05-06T07:08:09.250000"})
    back = read_pattern(write_fxye(p, tmp_path / "p.fxye"))
    np.testing.assert_allclose(back.two_theta.values, x)
    np.testing.assert_allclose(back.values, p.values)
    np.testing.assert_allclose(back.intensity_sigma.values, 0.5)
    assert back.attrs["start_time"] == "2024-05-06T07:08:09.250000" and back.attrs["wavelength_a"] == 1.5406
    assert not list(tmp_path.glob(".*tmp"))


def _bad(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


BAD = {
    "empty.xy": (b"", "empty file"),
    "binary.raw": (b"RAW1.01\x00\x00\x00" * 20, "binary file"),
    "words.xy": ("intensity of nothing\nno numbers here\n", "no rows of numbers"),
    "short.gsas": ("title\nBANK 1 10 2 CONST 1000 2 0 0 STD\n     100     100\n",
                   "truncated: GSAS bank 1 states 10"),
    "tof.gsa": ("title\nBANK 1 10 2 RALF 1000 2 0 0 ALT\n", "binning 'RALF'"),
    "bankline.gsa": ("title\nBANK 1 10\n", "has 3 fields"),
    "count.chi": ("t\n2-Theta Angle (Degrees)\nIntensity\n       5\n 1.0 2.0\n 2.0 3.0\n 3.0 4.0\n",
                  "states 5 points"),
    "label.chi": ("t\nRadial distance (mm)\nIntensity\n       3\n 1.0 2.0\n 2.0 3.0\n 3.0 4.0\n", "x label"),
    "angles.xy": ("1000 5\n2000 6\n3000 7\n", "not 2θ in degrees"),
    "dup.xy": ("10 5\n10 6\n11 7\n", "appears twice"),
    "two.xy": ("10 5\n11 6\n", "2 data row"),
    "bad.gz": (b"\x1f\x8b\x08\x00garbage", "damaged gzip"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_give_one_line_errors_naming_the_file(tmp_path, name):
    content, message = BAD[name]
    path = _bad(tmp_path, name, content)
    with pytest.raises(FormatError) as info:
        read_pattern(path)
    text = str(info.value)
    assert str(path) in text and message in text and "\n" not in text


def test_missing_file_and_unknown_unit():
    with pytest.raises(FormatError, match="nothing.xy: file not found"):
        read_pattern(DATA / "nothing.xy")
    with pytest.raises(FormatError, match="unit='deg'"):
        read_pattern(DATA / "Data_0001.xy", unit="deg")


def test_different_trailing_block_warns(tmp_path):
    path = _bad(tmp_path, "blocks.txt", "head\n10 1\n11 2\n12 3\n\nother\n10 9\n11 9\n")
    with pytest.warns(UserWarning, match=r"2 data row\(s\) after the first block"):
        p = read_pattern(path)
    assert p.values.tolist() == [1, 2, 3]


def test_gzip_and_plain_give_the_same_pattern(tmp_path):
    raw = (DATA / "x3lactos.xye").read_bytes()
    packed = tmp_path / "x3lactos.xye.gz"
    packed.write_bytes(gzip.compress(raw))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a, b = read_pattern(DATA / "x3lactos.xye"), read_pattern(packed)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.two_theta.values, b.two_theta.values)
    np.testing.assert_array_equal(a.intensity_sigma.values, b.intensity_sigma.values)
