"""Zeiss/Xradia .xrm/.txrm reader: real SSRL/APS frames (tests/data/xradia, shared/data/xanespy)
and synthetic files written with the module's minimal OLE2 writer."""

import os
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from redoxmap.errors import EnergyError, FormatError
from redoxmap.io.xradia import (
    _energy_from_name,
    _image_stream_name,
    _is_xradia,
    _read_xradia_reference,
    _split_references,
    _write_ole,
    _xradia_streams,
    read_xradia,
    read_xradia_metadata,
    read_xradia_raw,
    read_xrm_folder,
    read_xrm_series,
    write_xradia,
)
from redoxmap.preprocess.flatfield import optical_density

DATA = Path(__file__).parent / "data" / "xradia"
SAMPLE = DATA / "rep01_20161456_ssrl-test-data_08324.0_eV_001of003.xrm"
REFERENCE = DATA / "rep01_000051_ref_20161456_ssrl-test-data_08324.0_eV_001of010.xrm"
NO_IMAGE = DATA / "rep02_000072_ref_20161456_ssrl-test-data_08348.0_eV_002of010.xrm"
TRUNCATED = DATA / "rep02_000182_ref_20161456_ssrl-test-data_08400.0_eV_002of010.xrm"


def _shared_xanespy() -> Path | None:
    """shared/data/xanespy beside the repository (CI and the work tree), if present."""
    candidates = [os.environ.get("REDOXMAP_SHARED_DATA"),
                  Path(__file__).resolve().parents[2] / "shared" / "data", "/work/shared/data"]
    for base in candidates:
        if base and (Path(base) / "xanespy" / "txm-data-ssrl").is_dir():
            return Path(base) / "xanespy"
    return None


SHARED = _shared_xanespy()
needs_shared = pytest.mark.skipif(SHARED is None, reason="shared/data/xanespy not present")


# --- real files in tests/data ------------------------------------------------------------------

def test_ssrl_sample_frame_header_and_pixels():
    frame = read_xradia(SAMPLE)
    assert frame.dims == ("y", "x") and frame.shape == (1024, 1024)
    assert frame.dtype == np.uint16
    assert frame.attrs["pixel_size_nm"] == pytest.approx(31.2)
    assert frame.attrs["exposure_s"] == pytest.approx(0.5)
    assert frame.attrs["binning"] == 2
    assert frame.attrs["date"] == "2016-05-29T15:02:37"
    # header energy is 0.0: taken from "..._08324.0_eV_..." and said so
    assert float(frame.energy) == 8324.0 and frame.attrs["energy_source"] == "file name"
    assert "ImageInfo/Energy is 0" in frame.attrs["notes"][0]
    assert float(frame.angle) == pytest.approx(6.9745, abs=1e-3)
    assert frame.energy.attrs["units"] == "eV" and frame.angle.attrs["units"] == "degree"
    assert (int(frame.min()), int(frame.max())) == (1, 1586)
    assert float(frame.mean()) == pytest.approx(414.411, abs=1e-3)


def test_ssrl_reference_has_its_own_exposure():
    ref = read_xradia(REFERENCE)
    assert ref.attrs["exposure_s"] == pytest.approx(0.3) and float(ref.energy) == 8324.0
    assert ref.shape == (1024, 1024) and ref.dtype == np.uint16


def test_ssrl_pair_optical_density_is_normalised_for_exposure():
    raw = read_xrm_series([SAMPLE], [REFERENCE])
    assert raw.counts.dims == ("energy", "y", "x") and raw.flats.dims == ("energy", "y", "x")
    assert raw.counts.energy.values.tolist() == [8324.0]
    assert raw.counts.attrs["units"] == "counts/s"
    assert raw.counts.attrs["exposure_s"] == 0.5 and raw.counts.attrs["reference_exposure_s"] == 0.3
    od = optical_density(raw)
    sample = read_xradia(SAMPLE).values.astype(float)
    ref = read_xradia(REFERENCE).values.astype(float)
    expected = np.log((ref / 0.3) / (sample / 0.5))
    np.testing.assert_allclose(od.isel(energy=0).values, expected, atol=1e-5)
    # without the exposure normalisation OD would be lower by ln(0.5/0.3) = 0.511 everywhere
    assert float(np.median(od.values - np.log(ref / sample))) == pytest.approx(np.log(0.5 / 0.3), abs=1e-5)
    assert bool(od.valid.all())
    assert float(od.median()) == pytest.approx(1.082, abs=0.01)  # measured: 1.0824
    assert any("exposure" in line for line in od.attrs["history"])


def test_missing_image_stream_names_file_and_stream():
    with pytest.raises(FormatError, match=r"rep02_000072.*'ImageData1/Image1'.*is missing"):
        read_xradia(NO_IMAGE)


def test_truncated_image_names_file_and_sizes():
    with pytest.raises(FormatError, match=r"rep02_000182.*holds 12288 bytes, expected 2097152 "
                                          r"\(1024 × 1024 uint16"):
        read_xradia(TRUNCATED)


def test_header_of_truncated_files_is_still_readable():
    meta = read_xradia_metadata(TRUNCATED)
    assert meta["energy_ev"].tolist() == [8400.0] and meta["energy_source"] == "file name"
    assert meta["exposure_s"].tolist() == [0.5] and meta["pixel_size_nm"] == pytest.approx(23.0)
    assert meta["date"] == ["2017-04-06T20:56:58"] and meta["shape"] == (1024, 1024)
    meta = read_xradia_metadata(NO_IMAGE)  # no Energy, no ExpTimes streams at all
    assert meta["energy_ev"].tolist() == [8348.0] and "Energy is missing" in meta["notes"][0]
    assert np.isnan(meta["exposure_s"][0])


def test_not_an_ole_file(tmp_path):
    bad = tmp_path / "scan.xrm"
    bad.write_text("energy,counts\n8333,12\n")
    assert not _is_xradia(bad)
    with pytest.raises(FormatError, match=r"scan\.xrm: not an OLE2 compound document.*Xradia"):
        read_xradia(bad)
    with pytest.raises(FormatError, match=r"missing\.xrm: file not found"):
        read_xradia(tmp_path / "missing.xrm")


def test_absurd_sector_size_in_the_ole_header(tmp_path):
    """Byte 31 (the high byte of the sector shift) flipped: olefile's ValueError on printing 2**shift
    (found by hypothesis in test_fuzz_property.py) is a FormatError naming the file."""
    data = bytearray(SAMPLE.read_bytes()[:512])
    data[31] ^= 56
    bad = tmp_path / "cut.xrm"
    bad.write_bytes(bytes(data))
    assert not _is_xradia(bad)
    with pytest.raises(FormatError, match=r"cut\.xrm: unreadable OLE2 file"):
        read_xradia(bad)


def test_ole_file_that_is_not_xradia(tmp_path):
    doc = tmp_path / "report.xrm"
    _write_ole(doc, {"WordDocument": b"x" * 5000, "SummaryInformation": b"y" * 100})
    assert not _is_xradia(doc)
    with pytest.raises(FormatError, match=r"report\.xrm: no ImageInfo storage.*SummaryInformation"):
        read_xradia(doc)


def test_missing_header_stream(tmp_path):
    streams = _xradia_streams(np.zeros((4, 5), np.uint16))
    del streams["ImageInfo/ImageWidth"]
    _write_ole(tmp_path / "a.xrm", streams)
    with pytest.raises(FormatError, match=r"a\.xrm: stream 'ImageInfo/ImageWidth' is missing"):
        read_xradia(tmp_path / "a.xrm")


def test_energy_from_name_forms():
    assert _energy_from_name("rep01_20161456_ssrl-test-data_08324.0_eV_001of003.xrm") == 8324.0
    assert _energy_from_name("fov07_xanessoc01_8353_0eV.xrm") == 8353.0
    assert _energy_from_name("tomo_0001.txrm") is None
    assert _image_stream_name(100) == "ImageData1/Image100"
    assert _image_stream_name(101) == "ImageData2/Image101"


def test_split_references():
    names = ["ref_xanessoc01_8250_0eV.xrm", "fov07_xanessoc01_8250_0eV.xrm", SAMPLE.name, REFERENCE.name,
             "prefix_sample.xrm"]
    samples, refs = _split_references(names)
    assert [p.name for p in refs] == [names[0], names[3]]
    assert [p.name for p in samples] == [names[1], names[2], names[4]]


# --- synthetic files -----------------------------------------------------------------------------

def _phantom(shape=(24, 32)):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return 0.8 * np.exp(-((yy - 12) ** 2 + (xx - 15) ** 2) / 40.0)


def test_tilt_series_txrm_round_trip_and_flat_field(tmp_path):
    """A .txrm tilt series with an embedded reference: angles, exposures and the OD come back."""
    od_true = _phantom()
    angles = np.array([-60.0, -30.0, 0.0, 30.0, 60.0])
    flat_rate = 2000.0  # counts/s
    ref = (flat_rate * 0.5 * np.ones_like(od_true)).astype(np.float32)  # 0.5 s
    images = np.stack([flat_rate * 2.0 * np.exp(-od_true)] * angles.size).astype(np.float32)  # 2 s
    write_xradia(tmp_path / "tilt.txrm", images, angle_deg=angles, energy_ev=8333.0, exposure_s=2.0,
                 pixel_size_nm=31.2, reference=ref, reference_exposure_s=0.5)
    assert _is_xradia(tmp_path / "tilt.txrm")
    stack = read_xradia(tmp_path / "tilt.txrm")
    assert stack.dims == ("angle", "y", "x") and stack.dtype == np.float32
    np.testing.assert_array_equal(stack.angle, angles)
    np.testing.assert_array_equal(stack.values, images)
    assert stack.energy.values.tolist() == [8333.0] * 5 and stack.attrs["exposure_s"] == 2.0
    assert stack.attrs["pixel_size_nm"] == pytest.approx(31.2)
    reference = _read_xradia_reference(tmp_path / "tilt.txrm")
    assert reference.attrs["exposure_s"] == 0.5
    np.testing.assert_array_equal(reference.values, ref)
    raw = read_xradia_raw(tmp_path / "tilt.txrm")
    assert raw.counts.dims == ("angle", "y", "x") and raw.flats.dims == ("y", "x")
    od = optical_density(raw)
    np.testing.assert_allclose(od.values, np.broadcast_to(od_true, od.shape), atol=1e-5)


def test_energy_series_txrm_over_100_images(tmp_path):
    """Images 101… live in ImageData2; energies that change make the stack dim 'energy'."""
    n = 120
    energies = np.linspace(8300.0, 8419.0, n)
    images = (np.arange(n, dtype=np.uint16)[:, None, None] + np.zeros((n, 6, 8), np.uint16))
    write_xradia(tmp_path / "xanes.txrm", images, energy_ev=energies, angle_deg=0.0, exposure_s=1.0)
    stack = read_xradia(tmp_path / "xanes.txrm")
    assert stack.dims == ("energy", "y", "x") and stack.dtype == np.uint16
    np.testing.assert_allclose(stack.energy, energies, atol=1e-3)
    assert stack.values[:, 0, 0].tolist() == list(range(n))
    # and a keV header (lab source) is converted, a zero one without energy in the name is unknown
    write_xradia(tmp_path / "kev.txrm", images[:3], energy_ev=[8.3, 8.31, 8.32])
    assert read_xradia(tmp_path / "kev.txrm").energy.values.tolist() == pytest.approx([8300, 8310, 8320])
    write_xradia(tmp_path / "tomo.txrm", images[:3], energy_ev=0.0, angle_deg=[0, 1, 2])
    tomo = read_xradia(tmp_path / "tomo.txrm")
    assert tomo.dims[0] == "angle" and tomo.attrs["energy_source"] == "none"
    assert np.isnan(tomo.energy.values).all()


def test_xrm_series_groups_repeats_and_normalises_exposure(tmp_path):
    """Two energies, two sample repeats (1 s) and three references (0.25 s) each; energy only in the
    name for one energy. OD must equal the phantom's at both energies."""
    od_true = {8324.0: 0.5 * _phantom(), 8354.0: 1.2 * _phantom()}
    samples, refs = [], []
    for energy, od in od_true.items():
        header_energy = 0.0 if energy == 8324.0 else energy
        for k in range(2):
            p = tmp_path / f"rep0{k}_scan_{energy:07.1f}_eV_00{k}of002.xrm"
            counts = (1000.0 * np.exp(-od)).astype(np.float32)
            write_xradia(p, counts, energy_ev=header_energy, exposure_s=1.0)
            samples.append(p)
        for k in range(3):
            p = tmp_path / f"rep0{k}_ref_scan_{energy:07.1f}_eV_00{k}of003.xrm"
            write_xradia(p, np.full(od.shape, 250.0, np.float32), energy_ev=header_energy, exposure_s=0.25)
            refs.append(p)
    raw = read_xrm_folder(tmp_path)
    assert raw.counts.energy.values.tolist() == [8324.0, 8354.0]
    assert len(raw.counts.attrs["sample_files"]) == 4 and len(raw.counts.attrs["reference_files"]) == 6
    od = optical_density(raw)
    for energy, truth in od_true.items():
        np.testing.assert_allclose(od.sel(energy=energy).values, truth, atol=1e-5)
    assert any("taken from the file name" in line for line in od.attrs["history"])
    # a sample energy without a reference within the tolerance
    with pytest.raises(FormatError, match=r"8354.*no reference frame within 0.5 eV of 8354 eV.*8324 eV"):
        read_xrm_series(samples, refs[:3])
    # a frame whose energy is nowhere
    nowhere = tmp_path / "sample_without_energy.xrm"
    write_xradia(nowhere, np.ones((24, 32), np.float32), energy_ev=0.0)
    with pytest.raises(EnergyError, match=r"sample_without_energy\.xrm: no energy"):
        read_xrm_series([nowhere], refs)


def test_single_xrm_with_reference_files(tmp_path):
    write_xradia(tmp_path / "one.xrm", np.full((4, 4), 300, np.uint16), energy_ev=8333.0, exposure_s=3.0)
    with pytest.raises(FormatError, match=r"one\.xrm: no ReferenceData/Image.*--flats REF\.xrm"):
        read_xradia_raw(tmp_path / "one.xrm")
    for k in range(2):
        write_xradia(tmp_path / f"ref_{k}.xrm", np.full((4, 4), 1000 + 200 * k, np.uint16), exposure_s=1.0)
    raw = read_xradia_raw(tmp_path / "one.xrm", references=sorted(tmp_path.glob("ref_*.xrm")))
    assert raw.counts.dims == ("energy", "y", "x") and raw.counts.energy.values.tolist() == [8333.0]
    od = optical_density(raw)  # I/t = 100 /s, I0/t = mean(1000, 1200) = 1100 /s
    np.testing.assert_allclose(od.values, np.log(11.0), rtol=1e-6)
    write_xradia(tmp_path / "small.xrm", np.ones((2, 2), np.uint16))
    with pytest.raises(FormatError, match=r"ref_0\.xrm: reference image is \(4, 4\), expected \(2, 2\)"):
        read_xradia_raw(tmp_path / "small.xrm", references=[tmp_path / "ref_0.xrm"])


def test_pixel_type_inferred_without_datatype_stream(tmp_path):
    images = np.arange(12, dtype=np.float32).reshape(3, 4)
    streams = _xradia_streams(images)
    del streams["ImageInfo/DataType"]
    _write_ole(tmp_path / "old.xrm", streams)
    frame = read_xradia(tmp_path / "old.xrm")
    assert frame.dtype == np.float32
    np.testing.assert_array_equal(frame.values, images)


# --- the rest of the real scans (shared data, skipped when absent) -------------------------------

@needs_shared
def test_aps_header_values():
    aps = SHARED / "txm-data-aps"
    frame = read_xradia(aps / "fov07_xanessoc01_8250_0eV.xrm")
    assert frame.dims == ("y", "x") and frame.shape == (1024, 1024) and frame.dtype == np.uint16
    assert float(frame.energy) == pytest.approx(8249.94, abs=0.01)
    assert frame.attrs["energy_source"] == "header"
    assert frame.attrs["pixel_size_nm"] == pytest.approx(38.95, abs=0.01)
    assert frame.attrs["exposure_s"] == 35.0 and frame.attrs["binning"] == 2
    assert frame.attrs["date"] == "2016-07-02T22:21:26"
    post_edge = read_xradia(aps / "fov07_xanessoc01_8353_0eV.xrm")
    assert float(post_edge.energy) == pytest.approx(8353.03, abs=0.01)


def _edge_jump(raw):
    od = optical_density(raw)
    pre, post = od.values
    jump = ndimage.uniform_filter(post - pre, 9)
    particles = ndimage.uniform_filter(pre, 9) > np.percentile(pre, 90)
    background = pre < np.percentile(pre, 30)
    return jump, particles, background


@needs_shared
def test_ssrl_edge_jump_on_particles():
    ssrl = SHARED / "txm-data-ssrl"
    raw = read_xrm_series(sorted(ssrl.glob("rep01_2016*_eV_001of003.xrm")),
                          sorted(ssrl.glob("rep01_*_ref_*.xrm")))
    assert raw.counts.energy.values.tolist() == [8324.0, 8354.0]
    jump, particles, background = _edge_jump(raw)
    # measured: max 0.794, 99.9th percentile 0.747, particles 0.570, background 0.071
    assert 0.6 < float(jump.max()) < 0.9
    assert float(np.median(jump[particles])) > 0.4
    assert abs(float(np.median(jump[background]))) < 0.15


@needs_shared
def test_aps_edge_jump_on_particles():
    aps = SHARED / "txm-data-aps"
    raw = read_xrm_folder(aps)
    assert raw.counts.energy.values == pytest.approx([8249.94, 8353.03], abs=0.01)
    jump, particles, background = _edge_jump(raw)
    # measured: max 0.891, 99.9th percentile 0.817, particles 0.371, background -0.007
    assert 0.5 < float(jump.max()) < 1.0
    assert float(np.median(jump[particles])) > 0.25
    assert abs(float(np.median(jump[background]))) < 0.1


def test_txrm_through_open_projections_and_xrm_through_detect_format(tmp_path):
    """The package's entry points recognise Xradia files from their content: a .txrm tilt series
    opens as (energy, angle, y, x) projections; an .xrm with a reference file as a stack."""
    from redoxmap.io import detect_format, read_raw
    from redoxmap.preprocess import open_projections

    od_true = _phantom()
    angles = np.array([-65.0, 0.0, 65.0])
    images = np.stack([1000.0 * np.exp(-od_true)] * angles.size).astype(np.float32)
    ref = np.full_like(od_true, 1000.0, dtype=np.float32)
    write_xradia(tmp_path / "tilt.txrm", images, angle_deg=angles, energy_ev=6565.0, exposure_s=1.0,
                 reference=ref, reference_exposure_s=1.0)
    proj = open_projections([tmp_path / "tilt.txrm"])
    assert proj.dims == ("energy", "angle", "y", "x") and proj.energy.values.tolist() == [6565.0]
    np.testing.assert_array_equal(proj.angle, angles)
    np.testing.assert_allclose(proj.values[0], np.broadcast_to(od_true, images.shape), atol=1e-5)
    renamed = tmp_path / "frame.dat"  # content, not the suffix, decides
    renamed.write_bytes((tmp_path / "tilt.txrm").read_bytes())
    assert detect_format(renamed) == "xradia"
    raw = read_raw(renamed)
    assert raw.counts.dims[0] == "angle"
