"""Valence maps, edge maps and their calibration, reference libraries, XDI, thickness."""

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from redoxmap.errors import EnergyError, FitError, FormatError, ResampleWarning
from redoxmap.fit.valence import valence_map
from redoxmap.preprocess.normalize import normalize_stack
from redoxmap.preprocess.thickness import attenuation_per_nm, thickness_from_edge_jump
from redoxmap.simulate.valence import mn_l3_standards, reduced_surface_particle
from redoxmap.spectra.edges import calibrate_edge, edge_energy_map, white_line_map
from redoxmap.spectra.library import load_library, write_library
from redoxmap.spectra.xdi import read_xdi

XDI = Path(__file__).parent / "data" / "xdi"


@pytest.fixture(scope="module")
def l3_scan():
    return reduced_surface_particle(shape=(72, 72), seed=5)


def test_valence_map_accuracy_and_calibrated_error(l3_scan):
    maps = valence_map(l3_scan.stack, l3_scan.refs)
    thick = l3_scan.truth.edge_jump > 0.3 * float(l3_scan.truth.edge_jump.max())
    error = (maps.valence - l3_scan.truth.valence).where(thick)
    rmse = float(np.sqrt((error**2).mean()))
    reported = float(maps.valence_err.where(thick).mean())
    assert rmse <= 0.05
    assert 0.5 <= rmse / reported <= 2.0
    np.testing.assert_allclose(maps.fraction.sum("component").where(maps["mask"], 1).values, 1.0,
                               atol=1e-9)
    assert (maps.fraction.fillna(0).values >= 0).all()
    assert not any(v for k, v in maps.attrs.items() if k.startswith("pixels_rejected_"))
    assert list(maps.standard_valence.values) == [2.0, 3.0, 4.0]
    # the reduced surface is seen: rim pixels are lower in valence than the core
    core, rim = float(maps.valence[36, 36]), float(maps.valence[36, 10])
    assert core - rim > 0.3
    assert rim == pytest.approx(float(l3_scan.truth.valence[36, 10]), abs=0.1)


def test_valence_map_needs_valences(l3_scan):
    with pytest.raises(FitError, match="no 'valence' coordinate"):
        valence_map(l3_scan.stack, l3_scan.refs.drop_vars("valence"))


def shifted_edges(shift_ev: float) -> xr.DataArray:
    """Noise-free normalized spectra at 1 eV steps, the second shifted by ``shift_ev``."""
    energy = np.arange(630.0, 660.0, 1.0)
    curves = [0.5 + np.arctan((energy - 641.3 - s) / 1.5) / np.pi
              + 0.8 * np.exp(-0.5 * ((energy - 643.0 - s) / 1.6) ** 2) for s in (0.0, shift_ev)]
    return xr.DataArray(np.array(curves).T[:, :, None], dims=("energy", "y", "x"),
                        coords={"energy": energy})


@pytest.mark.parametrize("shift_ev", [0.3, 1.7])
def test_edge_and_white_line_maps_recover_a_shift(shift_ev):
    stack = shifted_edges(shift_ev)
    for edge in (edge_energy_map(stack, "half_jump"), edge_energy_map(stack, "derivative"),
                 white_line_map(stack)):
        found = float(edge[1, 0] - edge[0, 0])
        assert found == pytest.approx(shift_ev, abs=0.1)


def test_calibrate_edge_recovers_slope_and_converts_maps():
    valence = np.array([2.0, 3.0, 4.0, 3.0, 2.5])
    rng = np.random.default_rng(0)
    edges = 6540.0 + 3.2 * valence + rng.normal(0, 0.05, valence.size)
    cal = calibrate_edge(edges, valence)
    assert cal.slope_ev == pytest.approx(3.2, abs=3 * cal.slope_err_ev)
    assert 0 < cal.slope_err_ev < 0.2
    v, v_err = cal.valence(np.array([6540.0 + 3.2 * 3.5]))
    assert float(v[0]) == pytest.approx(3.5, abs=0.1)
    assert 0 < float(v_err[0]) < 0.1
    with pytest.raises(FitError, match="different valence"):
        calibrate_edge([1.0, 2.0], [3.0, 3.0])


@pytest.mark.parametrize("suffix", [".csv", ".h5"])
def test_library_round_trip(tmp_path, suffix):
    lib = mn_l3_standards()
    path = write_library(lib, tmp_path / f"mn_l3{suffix}")
    back = load_library(path)
    np.testing.assert_allclose(back.values, lib.values, rtol=1e-5)
    assert list(back.valence.values) == [2.0, 3.0, 4.0]
    assert back.attrs["edge"] == "Mn L3"
    on_grid = load_library(path, energy=np.arange(640.0, 650.0, 0.5))
    assert on_grid.sizes["energy"] == 20
    with pytest.raises(EnergyError, match="reference covers 635–665 eV"):
        load_library(path, energy=np.arange(630.0, 640.0))
    with pytest.warns(ResampleWarning, match=r"extended flat by 0.4 eV below"):
        near = load_library(path, energy=np.arange(634.6, 640.0))  # short by less than one step
    np.testing.assert_allclose(near.values[:, 0], lib.values[:, 0], rtol=1e-5)
    assert "extended flat" in near.attrs["history"][-1]


def test_library_missing_valence(tmp_path):
    path = tmp_path / "lib.csv"
    path.write_text("# valence: A=2\nenergy_ev,A,B\n1,2,3\n2,3,4\n")
    with pytest.raises(FormatError, match=r"no valence given for standard\(s\) \['B'\]"):
        load_library(path)


def test_real_xdi_standards_order_by_valence():
    """Real Mn K-edge transmission spectra (XAS Data Library): μ = ln(i0/itrans); after the same
    normalization, their half-jump edge energies rise with valence, and a calibration of edge
    energy versus valence gives a positive slope of a few eV per valence unit."""
    spectra, valences = [], [2, 3, 4]
    for name in ("MnO", "Mn2O3", "MnO2"):
        energy, mu, fields = read_xdi(XDI / f"{name}_rt_01.xdi")
        assert fields["Element.symbol"] == "Mn"
        spectra.append(np.interp(np.arange(6525.0, 6625.0, 0.5), energy, mu))
    stack = xr.DataArray(np.array(spectra).T[:, :, None], dims=("energy", "y", "x"),
                         coords={"energy": np.arange(6525.0, 6625.0, 0.5)})
    norm = normalize_stack(stack, e0_ev=6550.0, pre1_ev=-25.0, pre2_ev=-15.0, norm1_ev=30.0,
                           norm2_ev=70.0)
    edges = edge_energy_map(norm.normalized).values[:, 0]
    assert np.all(np.diff(edges) > 0)
    cal = calibrate_edge(edges, valences)
    assert 1.0 < cal.slope_ev < 8.0


def test_xdi_errors(tmp_path):
    (tmp_path / "a.xdi").write_text("# XDI/1.0\n# Column.1: energy eV\n# Column.2: foo\n1 2\n2 3\n")
    with pytest.raises(FormatError, match="hold no μ\\(E\\)"):
        read_xdi(tmp_path / "a.xdi")
    (tmp_path / "b.xdi").write_text("1 2\n")
    with pytest.raises(FormatError, match="expected an XDI file"):
        read_xdi(tmp_path / "b.xdi")


def test_thickness_from_edge_jump_uses_tabulated_cross_sections():
    """Mn K edge of Li2MnO3: μ jumps by ~700 1/cm (xraydb; the 1/e length above the edge is
    ~10 µm); an OD jump of Δμ × 500 nm gives back 500 nm; no jump between two pre-edge energies."""
    formula, density = "Li2MnO3", 3.9
    delta = attenuation_per_nm(formula, density, 6565.0) - attenuation_per_nm(formula, density, 6530.0)
    assert 3e-5 < delta < 3e-4  # 1/nm
    jump = xr.DataArray(np.array([[delta * 500.0]]), dims=("y", "x"))
    t = thickness_from_edge_jump(jump, formula, density, 6530.0, 6565.0)
    assert float(t[0, 0]) == pytest.approx(500.0)
    with pytest.raises(FitError, match="absorbs no more"):
        thickness_from_edge_jump(jump, formula, density, 6400.0, 6450.0)


def test_valence_cli_on_an_stxm_stack(tmp_path):
    """End to end: a simulated Mn L3 particle written as an ALS STXM stack (no flats: I0 from the
    brightest pixels), a library file, and `redoxmap valence` writing NetCDF."""
    from typer.testing import CliRunner

    from redoxmap.cli import app
    from redoxmap.io.raw import RawStack
    from redoxmap.io.stxm import write_stxm

    sim = reduced_surface_particle(shape=(48, 48), seed=2)
    t = np.exp(-sim.stack.values)
    write_stxm(RawStack(counts=sim.raw.counts.copy(data=(t * 20000.0).astype(np.float32))),
               tmp_path / "scan.hdr")
    write_library(sim.refs, tmp_path / "mn_l3.csv")
    result = CliRunner().invoke(app, ["valence", str(tmp_path / "scan.hdr"),
                                      "-l", str(tmp_path / "mn_l3.csv"), "-o", str(tmp_path / "v.nc")])
    assert result.exit_code == 0, result.output
    maps = xr.open_dataset(tmp_path / "v.nc", engine="h5netcdf")
    thick = sim.truth.edge_jump.values > 0.3 * sim.truth.edge_jump.values.max()
    rmse = np.sqrt(np.mean((maps.valence.values[thick] - sim.truth.valence.values[thick]) ** 2))
    assert rmse < 0.05
    assert "mean valence" in result.output


def test_shipped_mn_k_library_is_real_and_ordered():
    """The shipped library holds measured Athena standards whose edges (max dμ/dE) rise with valence
    as SOURCES states: MnO 6544.4, Mn2O3 6554.2, pyrolusite 6557.9 eV (±0.6 eV on the 0.5 eV grid)."""
    from redoxmap.data import mn_k_library_path

    lib = load_library(mn_k_library_path())
    assert list(lib.valence.values) == [2.0, 3.0, 4.0, 4.0]
    assert lib.attrs["edge"] == "Mn K"
    derivative = lib.differentiate("energy")
    e0 = derivative.energy.values[derivative.argmax("energy").values]
    np.testing.assert_allclose(e0[[0, 1, 3]], [6544.4, 6554.2, 6557.9], atol=0.6)


def test_uniform_image_is_mapped_with_a_warning(l3_scan):
    """One spectrum repeated over the image: Otsu cannot split it, so every pixel is used (with a
    MaskWarning) and every pixel gets that spectrum's valence, instead of a MaskError."""
    from redoxmap.errors import MaskWarning

    spectrum = l3_scan.stack.isel(y=36, x=36)
    uniform = spectrum.expand_dims(y=4, x=5).transpose("energy", "y", "x")
    with pytest.warns(MaskWarning, match="uniform"):
        maps = valence_map(uniform, l3_scan.refs)
    assert int(maps["mask"].sum()) == 20
    single = valence_map(spectrum.expand_dims(y=1, x=1).transpose("energy", "y", "x"), l3_scan.refs,
                         mask=np.ones((1, 1), bool))
    np.testing.assert_allclose(maps.valence.values, float(single.valence[0, 0]), atol=1e-9)


def test_aligned_maps_state_their_frame(l3_scan):
    from redoxmap.preprocess import align_stack

    aligned = align_stack(l3_scan.stack)
    maps = valence_map(aligned, l3_scan.refs)
    reference = maps.attrs["align_reference_energy_ev"]
    assert l3_scan.stack.energy.min() <= reference <= l3_scan.stack.energy.max()
    assert f"{reference:g} eV" in maps.attrs["frame"]
