"""Cycler files cut short are reported, naming the file (issue 12); complete files are not."""

import gzip
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from redoxmap.echem import cycle_table, read_cycler
from redoxmap.echem.integrity import _mid_step
from redoxmap.errors import FormatError, TruncatedFileWarning

DATA = Path(__file__).parent / "data" / "echem"
needs_mdbtools = pytest.mark.skipif(shutil.which("mdb-export") is None,
                                    reason="mdb-export (Debian package mdbtools) not installed")
# every real cycler file in tests/data/echem, by format; the value says whether the complete file
# itself stops in the middle of a step (SOURCES: the .034 is a truncated copy, maccor_two.txt ends
# inside row 214; neware_uio.csv stops 5,220 s into a charge that earlier ran 13,043 s)
REAL = {
    "arbin_example.csv": False, "FastCharge_000025_CH8.csv": False,  # Arbin CSV
    "20210210_FC_01_cc_02_gitt_export.csv.gz": False,  # Arbin CSV layout (derived from a .res)
    "20210210_FC_01_cc_01.res.gz": False,  # Arbin .res
    "gcpl.issue_211.mpr": False, "gcpl.pr_182.1.mpr": False, "gcpl.issue_226.I.mpr": False,
    "mb.issue_149.mpr": False,  # BioLogic .mpr
    "gcpl.issue_226.I.mpt": False, "mb.issue_149.mpt.gz": False,  # BioLogic .mpt
    "TestFile.nda": False, "123456789012_Unit27_Example_Data_File.ndax": False,  # Neware binaries
    "neware_uio.csv.gz": True,  # Neware CSV
    "maccor_three.txt.gz": False, "maccor_two.txt": True,  # MACCOR text
    "PreDiag_000229_000229_truncated.034.gz": True, "maccor_test_file_4267-66-6519.041": False,
    "maccor_example.001": False,  # MACCOR raw
    "test_Nova_Form-CH01-01_short.csv.gz": False,  # Novonix
}


def _marks(name: str):
    return [needs_mdbtools] if ".res" in name else []


def _raw(name: str) -> tuple[str, bytes]:
    """The file's bytes and name, uncompressed when stored as .gz (the cut is then in the file itself)."""
    data = (DATA / name).read_bytes()
    return (name[:-3], gzip.decompress(data)) if name.endswith(".gz") else (name, data)


def _read(path: Path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            data = read_cycler(path)
        except FormatError as exc:
            return None, str(exc), []
    cut = [str(w.message) for w in caught if issubclass(w.category, TruncatedFileWarning)]
    return data, None, cut


@pytest.mark.parametrize("name", [pytest.param(n, marks=_marks(n)) for n in REAL])
def test_file_cut_in_half_is_reported(name, tmp_path):
    """Each real cycler file cut in half gives an error or a TruncatedFileWarning naming the file."""
    inner, raw = _raw(name)
    path = tmp_path / f"cut_{inner}"
    path.write_bytes(raw[: len(raw) // 2])
    data, error, cut = _read(path)
    if error is not None:
        assert error.startswith(f"{path}: ")
    else:
        assert cut and all(message.startswith(f"{path}: ") for message in cut)
        assert (data.cycle >= 0).all()  # no cycle number −9223372036… from a cut number


@pytest.mark.parametrize("name", [pytest.param(n, marks=_marks(n)) for n in REAL])
def test_complete_file_is_not_reported(name):
    """Complete files give no TruncatedFileWarning; the three that do stop early are reported."""
    data, error, cut = _read(DATA / name)
    assert error is None
    assert bool(cut) == REAL[name], cut
    assert all(message.startswith(f"{DATA / name}: ") for message in cut)


def test_cut_nda_is_not_read_as_capacity_fade(tmp_path):
    """TestFile.nda cut in half used to read silently with cycle 2 at "retention 0.400": now the
    missing end-of-data record and the discharge stopped at 3.81 V (cycle 1's ended at 2.50 V) are
    both reported."""
    raw = (DATA / "TestFile.nda").read_bytes()
    path = tmp_path / "cut.nda"
    path.write_bytes(raw[: len(raw) // 2])
    data, _, cut = _read(path)
    assert cycle_table(data).capacity_retention.iloc[-1] == pytest.approx(0.400, abs=0.001)
    assert any("no end-of-data record" in m for m in cut)
    assert any("stops 1820 s into a discharge" in m and "ended at 2.5 V" in m for m in cut)


def test_cut_at_a_line_break_is_found_by_the_step_check(tmp_path):
    """A text file cut exactly after a line has no partial line; the record then stops in the middle
    of cycle 2's discharge, which cycle 1's discharge (same step 12) ran to 2.0 V."""
    lines = (DATA / "arbin_example.csv").read_bytes().splitlines(keepends=True)
    path = tmp_path / "cut.csv"
    path.write_bytes(b"".join(lines[:1900]))
    data, _, cut = _read(path)
    assert len(data) == 1899 and data.step_type.iloc[-1] == "discharge"
    assert len(cut) == 1 and "into a discharge (step 12" in cut[0] and "ended at 2 V" in cut[0]


def test_mid_step_rule_on_a_simulated_record():
    """The rule of integrity.mid_step on a standard table with three time-limited charges of 600 s
    (610 s from the end of the rest before) ending at different voltages: a fourth cut at 300 s is
    reported, one of 600 s is not, nor one that stops at 300 s beyond the highest voltage reached
    before (a voltage limit)."""
    from redoxmap.echem import standard_table

    def record(last_s, last_v):
        t, v, i, step = [], [], [], []
        for n, (length, top) in enumerate([(600, 3.9), (600, 4.0), (600, 4.1), (last_s, last_v)]):
            t0 = n * 1200.0
            t += [t0 + np.linspace(0, length, 30), t0 + length + np.linspace(10, 590, 10)]
            v += [np.linspace(3.5, top, 30), np.full(10, 3.6)]
            i += [np.full(30, 1e-3), np.zeros(10)]
            step += [np.full(30, 1), np.full(10, 2)]
        table = standard_table(*(np.concatenate(x)[:-10] for x in (t, v, i)))
        table["step"] = np.concatenate(step)[:-10]
        return table

    assert "stops 310 s into a charge (step 1" in _mid_step(record(300, 3.8))
    assert _mid_step(record(600, 3.8)) is None
    assert _mid_step(record(300, 4.2)) is None


@needs_mdbtools
def test_res_cut_inside_a_page_is_read_with_a_warning(tmp_path):
    """mdb-export printed warnings without end on the .res cut 2660 bytes into its 48th page (found by
    fuzzing); the reader gives mdb-export the 47 whole pages and says so."""
    _, raw = _raw("20210210_FC_01_cc_01.res.gz")
    path = tmp_path / "cut.res"
    path.write_bytes(raw[:47 * 4096 + 2660])
    data, error, cut = _read(path)
    assert error is None and 0 < len(data) < 7218
    assert any(m.startswith(f"{path}: 195172 bytes is not a whole number of 4096-byte pages") and
               "inside page 48" in m for m in cut), cut
