import numpy as np
import pytest
import xarray as xr

from redoxmap.errors import EnergyError
from redoxmap.io import write_dxchange
from redoxmap.pipeline import Xanes2DConfig, run_xanes2d
from redoxmap.preprocess import apply_shifts, bin_pixels, edge_jump, energy_window, estimate_shifts


def test_apply_shifts_on_dask_chunks_equals_numpy(drifting_scan):
    stack = drifting_scan.stack
    shifts = estimate_shifts(stack)
    eager = apply_shifts(stack, shifts)
    lazy = apply_shifts(stack.chunk({"y": 50, "x": 64}), shifts)
    assert lazy.chunks is not None
    np.testing.assert_allclose(lazy.values, eager.values, atol=1e-5)


def test_chunked_pipeline_equals_in_memory(tmp_path, drifting_scan):
    scan = tmp_path / "scan.h5"
    write_dxchange(drifting_scan.raw, scan)
    refs = []
    for comp in drifting_scan.refs.component.values:
        refs.append(tmp_path / f"{comp}.csv")
        np.savetxt(refs[-1], np.column_stack([drifting_scan.refs.energy,
                                              drifting_scan.refs.sel(component=comp)]), delimiter=",")
    eager = run_xanes2d(Xanes2DConfig(stack=scan, references=refs)).maps
    lazy = run_xanes2d(Xanes2DConfig(stack=scan, references=refs, chunks_px=64)).maps
    np.testing.assert_allclose(lazy.fraction.values, eager.fraction.values, atol=1e-4)
    np.testing.assert_array_equal(lazy["mask"].values, eager["mask"].values)


def test_binning_averages_and_scales_pixel_size(small_scan):
    stack = small_scan.stack
    stack.attrs["pixel_size_nm"] = 30.0
    binned = bin_pixels(stack, 4)
    assert binned.shape == (121, 10, 12)
    np.testing.assert_allclose(binned.values[:, 0, 0], stack.values[:, :4, :4].mean(axis=(1, 2)),
                               rtol=1e-5)
    assert binned.attrs["pixel_size_nm"] == 120.0
    assert binned.valid.dtype == bool


def test_energy_window_and_its_error(small_scan):
    windowed = energy_window(small_scan.stack, 6530, 6600)
    assert float(windowed.energy.min()) == 6530 and float(windowed.energy.max()) == 6600
    with pytest.raises(EnergyError, match="keeps 0 of the stack's energies"):
        energy_window(small_scan.stack, 7000, 7100)


def test_edge_jump_tracks_true_thickness(small_scan):
    """The edge jump is proportional to the true amount of Mn per pixel; the factor is the edge
    step that the same E0 and windows give the pure phases (Larch's windows on a 120 eV XANES scan
    measure the step through the first EXAFS wiggles, so it is not 1 for unit-step references)."""
    from redoxmap.preprocess.normalize import edge_parameters
    from redoxmap.simulate import phase_spectra

    jump = edge_jump(small_scan.stack)
    truth = small_scan.truth.edge_jump
    slope = float(xr.cov(jump, truth) / truth.var())
    assert float(xr.corr(jump, truth)) > 0.98
    assert 6550 < jump.attrs["e0_ev"] < 6565
    pure = edge_parameters(phase_spectra(small_scan.stack.energy.values), e0_ev=jump.attrs["e0_ev"])
    assert slope == pytest.approx(float(pure.edge_step.mean()), rel=0.1)


def test_particle_mask_of_a_uniform_image_takes_every_pixel(small_scan):
    from redoxmap.errors import MaskWarning
    from redoxmap.preprocess.mask import particle_mask

    spectrum = small_scan.stack.isel(y=20, x=24)
    uniform = spectrum.expand_dims(y=3, x=4).transpose("energy", "y", "x")
    with pytest.warns(MaskWarning, match="uniform"):
        mask = particle_mask(uniform)
    assert bool(mask.all())
