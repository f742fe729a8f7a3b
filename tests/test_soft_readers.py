"""NXstxm and CXI (ptychography) readers."""

from pathlib import Path

import h5py
import numpy as np
import pytest

from redoxmap.errors import FormatError
from redoxmap.io.cxi import read_cxi_stack, write_cxi
from redoxmap.io.nxstxm import read_nxstxm, write_nxstxm
from redoxmap.preprocess import optical_density
from redoxmap.preprocess.i0 import with_i0_region

REAL_CXI = Path(__file__).parent / "data" / "ptycho" / "ptycho-scan-856eV.cxi"


def test_nxstxm_round_trip_with_ring_current_normalisation(tmp_path, small_scan):
    raw = small_scan.raw
    current = np.linspace(400.0, 380.0, raw.energy_ev.size)  # ring current decays during the scan
    decayed = raw.counts.values * (current / current.mean())[:, None, None]
    write_nxstxm(type(raw)(counts=raw.counts.copy(data=decayed)), tmp_path / "s.hdf5", control=current)
    back = read_nxstxm(tmp_path / "s.hdf5")
    np.testing.assert_allclose(back.counts.values, raw.counts.values, rtol=1e-5)
    assert back.counts.attrs["pixel_size_nm"] == pytest.approx(50.0)
    assert any("control/data" in note for note in back.notes)


def test_nxstxm_errors(tmp_path, small_scan):
    write_nxstxm(small_scan.raw, tmp_path / "s.hdf5")
    with h5py.File(tmp_path / "s.hdf5", "a") as h5:
        h5["entry1/definition"][...] = "NXtomo"
    with pytest.raises(FormatError, match="no NXentry with definition 'NXstxm'"):
        read_nxstxm(tmp_path / "s.hdf5")
    write_nxstxm(small_scan.raw, tmp_path / "t.hdf5")
    with h5py.File(tmp_path / "t.hdf5", "a") as h5:
        del h5["entry1/counter0/sample_x"]
        h5["entry1/counter0/sample_x"] = np.arange(5.0)
    with pytest.raises(FormatError, match=r"expected \(energy, sample_y, sample_x\) = \(121, 40, 5\)"):
        read_nxstxm(tmp_path / "t.hdf5")


def test_cxi_stack_round_trip_gives_od_from_amplitude(tmp_path, small_scan):
    od_true = optical_density(small_scan.raw).values
    # complex transmission with an arbitrary reconstruction scale and a phase
    objects = 7.0 * np.exp(-od_true / 2) * np.exp(1j * 0.3 * od_true)
    paths = []
    for i in (2, 0, 1):  # written out of order
        paths.append(tmp_path / f"scan_{i}.cxi")
        write_cxi(objects[i], small_scan.raw.energy_ev[i], paths[-1])
    stack = read_cxi_stack(paths)
    np.testing.assert_allclose(stack.energy_ev, small_scan.raw.energy_ev[:3], atol=1e-6)
    od = optical_density(with_i0_region(stack, mask=small_scan.truth.edge_jump.values == 0))
    off = small_scan.truth.edge_jump.values == 0
    expected = od_true[:3] - np.median(od_true[:3][:, off], axis=1)[:, None, None]
    np.testing.assert_allclose(od.values, expected, atol=1e-4)


def test_real_cosmic_reconstruction():
    """SOURCES: 285 × 285 complex64 at 856 eV (stored in joules)."""
    stack = read_cxi_stack([REAL_CXI])
    assert stack.energy_ev == pytest.approx([855.9], abs=0.1)
    od = optical_density(with_i0_region(stack))
    assert od.shape == (1, 285, 285)
    assert abs(float(od.median())) < 0.1  # most of the field of view is empty
    assert float(od.max()) > 2.0  # the particle absorbs strongly at the Ni L3 edge


def test_cxi_shape_mismatch(tmp_path):
    write_cxi(np.ones((4, 4), complex), 850.0, tmp_path / "a.cxi")
    write_cxi(np.ones((5, 4), complex), 851.0, tmp_path / "b.cxi")
    with pytest.raises(FormatError, match="CXI images differ in shape"):
        read_cxi_stack([tmp_path / "a.cxi", tmp_path / "b.cxi"])
