"""Readers of bulk XAS series: one real (or format-exact) file per format, scan times from headers,
several scans per file, a common energy grid, and one-line errors that name the file."""

import doctest
import gzip
import importlib
import sys
import types
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from redoxmap.errors import EnergyError, FormatError, MissingExtraError, RedoxmapError
from redoxmap.io import read_xas_scans, read_xas_series, read_xdi, write_xdi
from redoxmap.io.athena import read_athena_scans
from redoxmap.io.xdi import read_xdi_scan

DATA = Path(__file__).parent / "data"
XAS = DATA / "xas"
PEREX = "norm_op2_cell4_pos1_dq1_{:04d}_av240_00001.txt.gz"


@pytest.mark.parametrize("name", ["redoxmap.io.xas_scan", "redoxmap.io.xas_text", "redoxmap.io.xdi",
                                  "redoxmap.io.nxxas", "redoxmap.io.xas_series",
                                  "redoxmap.simulate.xas_series"])
def test_docstring_examples(name):
    assert doctest.testmod(importlib.import_module(name)).failed == 0


def test_xdi_scan_time_and_round_trip(tmp_path):
    scan = read_xdi_scan(DATA / "xdi" / "MnO2_rt_01.xdi")
    energy, mu, _ = read_xdi(DATA / "xdi" / "MnO2_rt_01.xdi")
    assert str(scan.start_time) == "1995-06-20 03:12:09" and np.isnan(scan.time_offset_s)
    assert scan.label == "MnO2  pyrolusite" and scan.energy_ev.size == 217
    path = write_xdi(energy, mu, tmp_path / "a.xdi", fields={"Element.symbol": "Mn"},
                     start_time="2024-03-01T09:00:00", end_time="2024-03-01T09:03:00")
    back = read_xdi_scan(path)
    np.testing.assert_allclose(back.energy_ev, energy, atol=5e-5)
    np.testing.assert_allclose(back.mu, mu, rtol=1e-7)
    assert str(back.start_time) == "2024-03-01 09:00:00" and back.time_offset_s == 90.0


def test_soleil_text_scan_with_its_time_and_offset():
    (scan,) = read_xas_scans(XAS / PEREX.format(1))
    assert scan.fmt == "columns" and scan.normalized
    assert str(scan.start_time) == "2022-07-26 23:01:58.055000"
    assert scan.time_offset_s == pytest.approx(65.003889607)
    raw = np.loadtxt(gzip.open(XAS / PEREX.format(1), "rt"), comments="#")
    np.testing.assert_array_equal(scan.energy_ev, raw[:, 0])
    np.testing.assert_array_equal(scan.mu, raw[:, 1])  # the 'normalized' column, not the Ni-foil reference


def test_concatenated_scans_each_keep_their_own_header_time(tmp_path):
    """Two real SOLEIL scans appended in one file (as `cat` or a beamline appending scans makes it)."""
    both = tmp_path / "two_scans.txt"
    both.write_text("".join(gzip.open(XAS / PEREX.format(n), "rt").read() for n in (1, 12)))
    scans = read_xas_scans(both)
    assert [str(s.start_time) for s in scans] == ["2022-07-26 23:01:58.055000", "2022-07-27 01:07:55.910000"]
    assert [s.label for s in scans] == ["two_scans #1", "two_scans #2"]
    assert scans[1].time_offset_s == pytest.approx(64.6231923865)


def test_spec_file_scans_take_the_scan_date_not_the_file_date(tmp_path):
    """Format-exact SPEC file (certif.com SPEC data format): file header #F #E #D, then per scan
    #S #D #N #L (labels separated by two spaces) and rows."""
    rng = np.random.default_rng(0)
    energy = np.linspace(8300.0, 8400.0, 40)
    lines = ["#F /data/ni.spec", "#E 1690000000", "#D Sat Jul 22 04:26:40 2023", "#C user = x", ""]
    truth = []
    for number, stamp in ((1, "Sat Jul 22 05:00:00 2023"), (2, "Sat Jul 22 05:15:30 2023")):
        i0 = rng.uniform(9e4, 1e5, energy.size)
        it = i0 * np.exp(-(0.2 + 0.8 / (1 + np.exp(-(energy - 8345.0) / 2.0)) + 0.01 * number))
        truth.append(np.log(i0 / it))
        lines += [f"#S {number}  ascan  energy 8300 8400  39 1", f"#D {stamp}", "#N 3", "#L Energy  I0  It"]
        lines += [f"{e:.3f} {a:.1f} {b:.3f}" for e, a, b in zip(energy, i0, it, strict=True)] + [""]
    path = tmp_path / "ni.spec"
    path.write_text("\n".join(lines))
    scans = read_xas_scans(path)
    assert [str(s.start_time) for s in scans] == ["2023-07-22 05:00:00", "2023-07-22 05:15:30"]
    assert scans[0].label.startswith("S 1  ascan")
    for scan, expected in zip(scans, truth, strict=True):
        np.testing.assert_allclose(scan.mu, expected, rtol=1e-5)


def test_wide_table_of_standards_gives_one_scan_per_column():
    """Demeter's multicolumn export (XDI header, 11 normalized Fe standards) is a wide table, not one
    XDI scan."""
    scans = read_xas_scans(XAS / "FeLibNov2021.nor")
    raw = np.loadtxt(XAS / "FeLibNov2021.nor", comments="#")
    assert [s.label for s in scans][:3] == ["Magnetite", "Maghemite", "Goethite"] and len(scans) == 11
    np.testing.assert_array_equal(scans[6].mu, raw[:, 7])  # LiFe(II)PO4
    series = read_xas_series([XAS / "FeLibNov2021.nor"], match="*PO4")
    assert series.label.values.tolist() == ["LiFe(II)PO4", "Fe(III)PO4"] and "time" not in series.coords


def test_wide_table_with_one_time_per_column(tmp_path):
    energy = np.arange(7100.0, 7140.0)
    header = ("# start_time: 2024-03-01T09:00:00, 2024-03-01T09:10:00, 2024-03-01T09:20:00\n"
              "# energy mu_a mu_b mu_c\n")
    table = np.column_stack([energy] + [np.tanh((energy - 7120 - k) / 3) for k in range(3)])
    path = tmp_path / "wide.dat"
    path.write_text(header + "\n".join(" ".join(f"{v:.6f}" for v in row) for row in table))
    series = read_xas_series([path], column="mu_*")
    assert series.label.values.tolist() == ["mu_a", "mu_b", "mu_c"]
    assert pd.to_datetime(series.time.values).strftime("%H:%M").tolist() == ["09:00", "09:10", "09:20"]
    np.testing.assert_allclose(read_xas_series([path], column=3).values[0], table[:, 2], atol=1e-6)


def test_beamline_text_picks_the_mu_column():
    (scan,) = read_xas_scans(XAS / "ESRF_BM08_LISA_2021.dat")
    raw = np.loadtxt(XAS / "ESRF_BM08_LISA_2021.dat", comments="#")
    np.testing.assert_array_equal(scan.energy_ev, raw[:, 0])
    np.testing.assert_array_equal(scan.mu, raw[:, 3])


def test_nxxas_entries_are_scans_with_their_times():
    scans = read_xas_scans(XAS / "Fe_XDIFiles.h5")
    assert [str(s.start_time) for s in scans] == ["2002-03-16 14:48:54", "2002-03-16 19:49:43",
                                                  "2001-08-10 11:10:00"]
    with h5py.File(XAS / "Fe_XDIFiles.h5") as h5:
        np.testing.assert_array_equal(scans[0].mu, h5["fe2o3/intensity"][()])
    assert all(s.normalized and s.fmt == "nxxas" for s in scans)
    with pytest.warns(UserWarning, match=r"1 of 3 scan\(s\) lie on other energies"):
        series = read_xas_series([XAS / "Fe_XDIFiles.h5"])
    assert series.sizes["scan"] == 3 and series.attrs["normalized"] == 1
    feo = scans[2]
    assert series.energy.values[0] >= feo.energy_ev[0] and series.energy.values[-1] <= feo.energy_ev[-1]
    np.testing.assert_allclose(series.isel(scan=2).values,
                               np.interp(series.energy.values, feo.energy_ev, feo.mu))


def test_nxxas_older_layout_in_kev(tmp_path):
    """The original NXxas definition: monochromator energy (here keV), incoming and absorbed beam."""
    path = tmp_path / "old.nxs"
    energy = np.linspace(6.50, 6.60, 50)
    with h5py.File(path, "w") as h5:
        entry = h5.create_group("entry1")
        entry.attrs["NX_class"] = "NXentry"
        entry["definition"], entry["title"] = "NXxas", "Mn scan"
        entry["start_time"] = "2024-05-02T10:00:00+02:00"
        entry["end_time"] = "2024-05-02T10:04:00+02:00"
        entry["instrument/monochromator/energy"] = energy
        entry["instrument/monochromator/energy"].attrs["units"] = "keV"
        entry["instrument/incoming_beam/data"] = np.full(50, 1000)
        entry["instrument/absorbed_beam/data"] = np.arange(50) + 100
    (scan,) = read_xas_scans(path)
    np.testing.assert_allclose(scan.energy_ev, energy * 1000)
    np.testing.assert_allclose(scan.mu, (np.arange(50) + 100) / 1000)
    assert str(scan.start_time) == "2024-05-02 10:00:00" and scan.time_offset_s == 120.0
    assert scan.label == "Mn scan"


def test_athena_project_needs_the_larch_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "larch", None)
    with pytest.raises(MissingExtraError) as caught:
        read_xas_series([XAS / "MnO_bv.prj"])  # recognised from its content (gzip, 'Athena project file')
    message = str(caught.value)
    assert "MnO_bv.prj: reading Athena projects needs xraylarch" in message and "\n" not in message
    assert "pip install 'redoxmap[larch]'" in message


def test_athena_groups_become_scans(monkeypatch, tmp_path):
    """Our adapter over larch's reader: labels, calibration shift, an XDI start time kept in the project."""
    def group(label, shift, xdi_scan):
        return types.SimpleNamespace(label=label, energy=np.arange(8300.0, 8340.0), mu=np.linspace(0, 1, 40),
                                     energy_shift=shift,
                                     athena_params=types.SimpleNamespace(xdi_scan=xdi_scan, is_nor=0.0))
    project = types.SimpleNamespace(groups={
        "a": group("NiO.000", 1.25, {"start_time": "2014-08-30T10:00:00"}),
        "b": group("  Ref NiO.000", 1.25, {}),
        "c": group("NiO.001", 1.25, {"start_time": "2014-08-30T10:20:00"})})
    fake = types.ModuleType("larch.io")
    fake.read_athena = lambda path: project
    monkeypatch.setitem(sys.modules, "larch", types.ModuleType("larch"))
    monkeypatch.setitem(sys.modules, "larch.io", fake)
    scans = read_athena_scans(XAS / "MnO_bv.prj")
    assert [s.label for s in scans] == ["NiO.000", "Ref NiO.000", "NiO.001"]
    assert scans[0].energy_ev[0] == 8301.25 and scans[1].start_time is None
    series = read_xas_series([XAS / "MnO_bv.prj"], match="NiO.0*")
    assert series.label.values.tolist() == ["NiO.000", "NiO.001"]
    assert pd.to_datetime(series.time.values).strftime("%H:%M").tolist() == ["10:00", "10:20"]


def test_given_times_replace_missing_ones():
    series = read_xas_series([XAS / "ESRF_BM08_LISA_2021.dat"], times=["2021-01-01 12:00"], time_s=[30.0])
    assert str(series.time.values[0]).startswith("2021-01-01T12:00")
    assert series.time_s.values.tolist() == [30.0]
    with pytest.raises(FormatError, match="2 times for 1 scans"):
        read_xas_series([XAS / "ESRF_BM08_LISA_2021.dat"], times=["2021-01-01", "2021-01-02"])


def _bad_files(tmp_path):
    (tmp_path / "empty.dat").write_text("")
    (tmp_path / "binary.dat").write_bytes(b"\x00\x01\x02garbage" * 20)
    with h5py.File(tmp_path / "other.h5", "w") as h5:
        h5["entry/data"] = np.arange(3)
    rows = "".join(f"{8000 + i} {v:.6f}\n" for i, v in enumerate(np.random.default_rng(1).random(300)))
    (tmp_path / "cut.txt.gz").write_bytes(gzip.compress(("# energy mu\n" + rows).encode())[:600])
    flipped = bytearray(gzip.compress(("# energy mu\n" + rows).encode(), mtime=0))
    flipped[100] ^= 0xFF  # inside the deflate stream: zlib.error, not gzip's BadGzipFile
    (tmp_path / "flipped.txt.gz").write_bytes(flipped)
    damaged = bytearray((XAS / "Fe_XDIFiles.h5").read_bytes())
    damaged[2034] ^= 1  # an object header of the real NXxas file: h5py's RuntimeError while visiting
    (tmp_path / "damaged.h5").write_bytes(damaged)
    (tmp_path / "bad_row.dat").write_text("# energy mu\n8000 0.1\n8001 0.2\n8002 abc\n8003 0.4\n")
    (tmp_path / "words.dat").write_text("no numbers here\nat all\n")
    (tmp_path / "backwards.dat").write_text("# energy mu\n8002 0.1\n8001 0.2\n8001 0.3\n")
    (tmp_path / "noxmu.xdi").write_text("# XDI/1.0\n# Column.1: energy eV\n# Column.2: foo\n1 2\n2 3\n")
    return {"empty.dat": "empty file", "binary.dat": "a binary file",
            "other.h5": "no NXentry whose definition is NXxas",
            "cut.txt.gz": "truncated or damaged gzip file",
            "flipped.txt.gz": "truncated or damaged gzip file",
            "damaged.h5": "damaged HDF5 file",
            "bad_row.dat": "line 4: '8002 abc' is not a row of 2",
            "words.dat": "no rows of numbers", "backwards.dat": "energies are not increasing",
            "noxmu.xdi": "hold no μ(E)", "missing.dat": "file not found"}


def test_bad_files_give_one_line_errors_naming_the_file(tmp_path):
    for name, expected in _bad_files(tmp_path).items():
        with pytest.raises(RedoxmapError) as caught:
            read_xas_series([tmp_path / name])
        message = str(caught.value)
        assert name in message and expected in message and "\n" not in message, message
    assert issubclass(EnergyError, RedoxmapError)


def test_series_errors(tmp_path):
    first = XAS / PEREX.format(1)
    with pytest.raises(FormatError, match=r"no scan label matches 'zz\*'"):
        read_xas_series([first], match="zz*")
    with pytest.raises(FormatError, match="share 0 energies"):
        read_xas_series([first, DATA / "xdi" / "MnO_rt_01.xdi"])
    with pytest.raises(FormatError, match="no files given"):
        read_xas_series([])
