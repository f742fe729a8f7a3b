"""ALS STXM stacks: reader round trip, malformed headers, I0 regions, and a real Fe L-edge stack."""

from pathlib import Path

import numpy as np
import pytest

from redoxmap.errors import FormatError, MaskError
from redoxmap.fit import lincomb
from redoxmap.io.raw import RawStack
from redoxmap.io.stxm import _read_stxm_header, read_stxm, write_stxm
from redoxmap.preprocess import optical_density
from redoxmap.preprocess.i0 import auto_i0_mask, with_i0_region, with_i0_spectrum
from redoxmap.spectra import load_references

REAL = Path(__file__).parent / "data" / "stxm_fe"


def stxm_counts(small_scan) -> RawStack:
    """STXM-like counts: the simulated transmission times one I0 per energy (no flat images)."""
    t = np.exp(-optical_density(small_scan.raw).values)
    i0 = 5000.0 * (1 + 0.1 * np.linspace(0, 1, t.shape[0]))
    counts = small_scan.raw.counts.copy(data=(t * i0[:, None, None]).astype(np.float32))
    return RawStack(counts=counts), i0


def test_round_trip(tmp_path, small_scan):
    raw, _ = stxm_counts(small_scan)
    write_stxm(raw, tmp_path / "s.hdr", dwell_ms=2.5)
    back = read_stxm(tmp_path / "s.hdr")
    np.testing.assert_allclose(back.counts.values, raw.counts.values, rtol=1e-6)
    np.testing.assert_allclose(back.energy_ev, raw.energy_ev)
    assert back.counts.attrs["pixel_size_nm"] == pytest.approx(50.0)
    assert back.counts.attrs["dwell_ms"] == 2.5


def test_auto_i0_region_recovers_optical_density(small_scan):
    raw, i0 = stxm_counts(small_scan)
    expected = optical_density(small_scan.raw).values
    od = optical_density(with_i0_region(raw, fraction=0.05))
    off_sample = auto_i0_mask(raw.counts, 0.05).values
    assert small_scan.truth.edge_jump.values[off_sample].max() == 0.0
    np.testing.assert_allclose(od.values, expected, atol=0.02)
    assert any("I0 from" in line for line in od.attrs["history"])


def test_malformed_headers_are_rejected(tmp_path, small_scan):
    raw, _ = stxm_counts(small_scan)
    write_stxm(raw, tmp_path / "s.hdr")
    text = (tmp_path / "s.hdr").read_text()
    (tmp_path / "bad.hdr").write_text(text.replace("StackAxis", "StackAxes"))
    with pytest.raises(FormatError, match="bad.hdr: header has no StackAxis"):
        _read_stxm_header(tmp_path / "bad.hdr")
    (tmp_path / "count.hdr").write_text(text.replace("Points = (121,", "Points = (120,"))
    with pytest.raises(FormatError, match="StackAxis declares 120 points but lists 121"):
        _read_stxm_header(tmp_path / "count.hdr")
    (tmp_path / "x.hdr").write_text("hello")
    with pytest.raises(FormatError, match="no ScanDefinition"):
        _read_stxm_header(tmp_path / "x.hdr")
    (tmp_path / "s_a005.xim").unlink()
    with pytest.raises(FormatError, match="s_a005.xim: image file of the stack is missing"):
        read_stxm(tmp_path / "s.hdr")


def test_empty_i0_mask(small_scan):
    raw, _ = stxm_counts(small_scan)
    with pytest.raises(MaskError, match="I0 region selects no pixel"):
        with_i0_region(raw, mask=np.zeros(raw.counts.shape[1:], bool))


@pytest.fixture(scope="module")
def real_od():
    return optical_density(with_i0_spectrum(read_stxm(REAL / "71214078.hdr"), REAL / "i0.xsp"))


def test_real_fe_stack_reads_as_documented(real_od):
    """SOURCES: 123 energies 700–730.353 eV, 125 × 125 px of 80 nm, OD 0.76–3.6 with i0.xsp."""
    assert real_od.shape == (123, 125, 125)
    assert real_od.energy.values[[0, -1]] == pytest.approx([700.0, 730.353], abs=1e-3)
    assert real_od.attrs["pixel_size_nm"] == pytest.approx(80.0, rel=1e-6)
    assert 0.7 < float(real_od.min()) < 0.8 and 3.5 < float(real_od.max()) < 3.7


def test_real_fe_stack_fits_fe2_fe3_standards(real_od):
    """The Fe(II)/Fe(III) standards of the same study describe the thick particle pixels: with
    the free background of ``sum1-scaled`` the misfit R is below 0.2 %, and the Fe(III) fraction found
    with raw-OD (.r) and pre-edge-subtracted (.t) standards agrees within 0.1."""
    fractions = []
    for ext in ("r", "t"):
        refs = load_references([REAL / f"reduced.{ext}", REAL / f"oxidized.{ext}"],
                               energy=real_od.energy.values)
        maps = lincomb(real_od, refs, mode="sum1-scaled")
        thick = maps.thickness_od > maps.thickness_od.quantile(0.9)
        assert float(maps.r_factor.where(thick).mean()) < 0.002
        fractions.append(float(maps.fraction.sel(component="oxidized").where(thick).mean()))
    assert abs(fractions[0] - fractions[1]) < 0.1
    assert 0.6 < fractions[0] < 0.95
