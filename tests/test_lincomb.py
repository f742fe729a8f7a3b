import numpy as np
import pytest
import scipy.optimize
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from redoxmap.errors import EnergyError, FitError, MaskError
from redoxmap.fit import MODES, lincomb
from redoxmap.simulate import phase_spectra

ENERGY = np.arange(6519.0, 6640.0, 1.0)
REFS = phase_spectra(ENERGY)


def exact_stack(weights: np.ndarray, refs: xr.DataArray, background: float = 0.0) -> xr.DataArray:
    """Noise-free OD (energy, y, x) = Σ_k w_k(y, x) ref_k(E) + background."""
    od = np.einsum("kyx,ke->eyx", weights, refs.values) + background
    return xr.DataArray(od, dims=("energy", "y", "x"), coords={"energy": refs.energy.values})


@settings(max_examples=40, deadline=None)
@given(
    w=st.lists(st.floats(0.01, 3.0), min_size=12, max_size=12),
    mode=st.sampled_from(MODES),
)
def test_exact_combination_recovered_in_every_mode(w, mode):
    weights = np.array(w).reshape(2, 2, 3)
    if mode == "sum1":  # Σw = 1 is the model of this mode
        weights = weights / weights.sum(0)
    maps = lincomb(exact_stack(weights, REFS), REFS, mode=mode)
    np.testing.assert_allclose(maps.weight.values, weights, atol=1e-6)
    np.testing.assert_allclose(maps.fraction.values, weights / weights.sum(0), atol=1e-6)
    assert float(maps.r_factor.max()) < 1e-12


@settings(max_examples=20, deadline=None)
@given(w=st.lists(st.floats(0.0, 2.0), min_size=4, max_size=4), bg=st.floats(-0.5, 0.5))
def test_sum1_scaled_recovers_background_and_fractions(w, bg):
    weights = np.array(w).reshape(2, 1, 2) + 0.05
    maps = lincomb(exact_stack(weights, REFS, background=bg), REFS, mode="sum1-scaled")
    np.testing.assert_allclose(maps.background_od.values, bg, atol=1e-6)
    np.testing.assert_allclose(maps.fraction.values, weights / weights.sum(0), atol=1e-6)
    np.testing.assert_allclose(maps.fraction.sum("component").values, 1.0, atol=1e-12)


def test_nnls_matches_scipy_per_pixel(rng):
    """Random three-reference problems with negative truths: our vectorized active-set solution
    equals scipy's per-pixel NNLS, and lsq equals numpy's lstsq."""
    refs = xr.DataArray(rng.random((3, 30)), dims=("component", "energy"),
                        coords={"component": ["a", "b", "c"], "energy": np.arange(30.0) + 500})
    data = rng.normal(size=(30, 5, 7))
    stack = xr.DataArray(data, dims=("energy", "y", "x"), coords={"energy": refs.energy.values})
    nn = lincomb(stack, refs, mode="nnls")
    ls = lincomb(stack, refs, mode="lsq")
    for iy in range(5):
        for ix in range(7):
            expected, rnorm = scipy.optimize.nnls(refs.values.T, data[:, iy, ix])
            np.testing.assert_allclose(nn.weight.values[:, iy, ix], expected, atol=1e-9)
            dd = np.sum(data[:, iy, ix] ** 2)
            assert nn.r_factor.values[iy, ix] == pytest.approx(rnorm**2 / dd, rel=1e-9)
            lst = np.linalg.lstsq(refs.values.T, data[:, iy, ix], rcond=None)[0]
            np.testing.assert_allclose(ls.weight.values[:, iy, ix], lst, atol=1e-9)
    assert (nn.weight.values >= 0).all()
    assert (ls.weight.values < 0).any()


def test_sum1_is_the_exact_constrained_optimum(rng):
    """Σw = 1, w ≥ 0: the vectorized active-set solution equals SLSQP's per-pixel optimum on random
    problems whose unconstrained solutions break both constraints; the fit has one parameter
    fewer than nnls, and its errors come from the projected covariance (zero-sum across the
    components: the fractions' errors are perfectly anti-correlated for two components)."""
    refs = xr.DataArray(rng.random((4, 40)), dims=("component", "energy"),
                        coords={"component": list("abcd"), "energy": np.arange(40.0) + 500})
    data = rng.normal(0.25, 0.3, size=(40, 3, 5))
    stack = xr.DataArray(data, dims=("energy", "y", "x"), coords={"energy": refs.energy.values})
    maps = lincomb(stack, refs, mode="sum1")
    assert "thickness_od" not in maps and "background_od" not in maps
    np.testing.assert_allclose(maps.weight.sum("component").values, 1.0, atol=1e-12)
    design = refs.values.T
    for iy in range(3):
        for ix in range(5):
            d = data[:, iy, ix]
            best = scipy.optimize.minimize(
                lambda w, d=d: np.sum((design @ w - d) ** 2), np.full(4, 0.25), method="SLSQP",
                bounds=[(0, None)] * 4, constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1}],
                options={"ftol": 1e-15, "maxiter": 1000})
            np.testing.assert_allclose(maps.weight.values[:, iy, ix], best.x, atol=1e-6)
            rss = np.sum((design @ maps.weight.values[:, iy, ix] - d) ** 2)
            assert maps.residual_variance.values[iy, ix] == pytest.approx(rss / (40 - 3))
    two = lincomb(stack, refs.isel(component=[0, 1]), mode="sum1")
    np.testing.assert_allclose(two.fraction_err.values[0], two.fraction_err.values[1])


def test_failed_pixels_are_nan_with_a_counted_reason():
    """A spectrum with a NaN and one with no material are not fitted: their fractions are NaN,
    never 0, fit_status names the reason and the attributes count them inside the mask."""
    weights = np.full((2, 1, 4), 0.5)
    stack = exact_stack(weights, REFS)
    stack[:, 0, 1] = 0.0  # no material
    stack[10, 0, 2] = np.nan  # a bad energy
    maps = lincomb(stack, REFS, mode="nnls", mask=np.ones((1, 4), bool))
    assert maps.fit_status.values.tolist() == [[0, 1, 2, 0]]
    assert np.isnan(maps.fraction.values[:, 0, 1:3]).all()
    assert maps["mask"].values.tolist() == [[True, False, False, True]]
    assert maps.attrs["pixels_in_mask"] == 4 and maps.attrs["pixels_fitted"] == 2
    assert maps.attrs["pixels_rejected_no_material"] == 1
    assert maps.attrs["pixels_rejected_non_finite_spectrum"] == 1
    assert maps.fit_status.attrs["flag_meanings"].split()[1:3] == ["no_material", "non_finite_spectrum"]


def test_valence_outside_the_standards_range_is_rejected():
    """Unconstrained fits can leave the range of the standards' valences: such a pixel (beyond
    3σ) is NaN with status 3; one inside the range keeps its valence."""
    refs = REFS.assign_coords(valence=("component", [2.0, 4.0]))
    weights = np.array([[[1.0, 1.5]], [[0.5, -0.6]]])  # second pixel: fraction −0.67 of the Mn4+ one
    maps = lincomb(exact_stack(weights, refs), refs, mode="lsq")
    assert maps.fit_status.values.tolist() == [[0, 3]]
    assert float(maps.valence[0, 0]) == pytest.approx(2 + 2 * 0.5 / 1.5)
    assert np.isnan(float(maps.valence[0, 1]))
    assert maps.attrs["pixels_rejected_valence_out_of_range"] == 1


def test_fraction_error_is_calibrated(drifting_scan):
    """The reported 1σ error matches the actual scatter of the recovered fraction."""
    sim = drifting_scan
    from redoxmap.preprocess import align_stack
    from redoxmap.simulate import score_fraction

    maps = lincomb(align_stack(sim.stack), sim.refs, mode="lsq")
    score = score_fraction(maps, sim.truth, "cycled",
                           reference_energy_ev=maps.attrs["align_reference_energy_ev"])
    assert 0.7 < score["rmse"] / score["mean_reported_err"] < 1.4


def test_dask_chunks_give_the_numpy_result(small_scan):
    stack = small_scan.stack
    eager = lincomb(stack, small_scan.refs, mode="nnls")
    lazy = lincomb(stack.chunk({"y": 16, "x": 20}), small_scan.refs, mode="nnls")
    assert lazy.fraction.chunks is not None
    # float32 products depend on the block width at the 1e-7 level of the data's own precision
    xr.testing.assert_allclose(eager.fraction, lazy.fraction.compute(), atol=1e-5)
    xr.testing.assert_allclose(eager.r_factor, lazy.r_factor.compute(), atol=1e-5)


def test_difference_from_mean_is_zero_mean_over_mask(small_scan):
    maps = lincomb(small_scan.stack, small_scan.refs)
    diff = maps.difference_from_mean.where(maps["mask"]).mean(["y", "x"])
    np.testing.assert_allclose(diff.values, 0.0, atol=1e-12)
    assert not np.isnan(maps.difference_from_mean.values).any()


def test_errors_name_the_problem(small_scan):
    stack = small_scan.stack
    with pytest.raises(FitError, match="mode 'bogus' is not one of lsq, nnls, sum1, sum1-scaled"):
        lincomb(stack, small_scan.refs, mode="bogus")
    with pytest.raises(EnergyError, match="expected the same energies"):
        lincomb(stack, small_scan.refs.isel(energy=slice(0, 50)))
    with pytest.raises(MaskError, match="selects no pixel"):
        lincomb(stack, small_scan.refs, mask=np.zeros(stack.shape[1:], bool))
    with pytest.raises(MaskError, match=r"mask has shape \(3, 3\)"):
        lincomb(stack, small_scan.refs, mask=np.ones((3, 3), bool))
    twice = xr.concat([small_scan.refs.isel(component=[0]),
                       small_scan.refs.isel(component=[0]).assign_coords(component=["copy"])],
                      "component")
    with pytest.raises(FitError, match="linearly dependent"):
        lincomb(stack, twice)


def test_difference_from_mean_over_many_blocks_and_a_mask(monkeypatch):
    """An image of several blocks of the difference pass, with a mask that leaves out fitted pixels
    and every rejected one (NaN fractions): the mean and the differences equal the plain
    formula, on one thread and on two, and are 0.0 (not −0.0) outside the mask."""
    import sys

    kernel = sys.modules["redoxmap.fit.lincomb"]
    rng = np.random.default_rng(3)
    n_pix = 3 * kernel.DIFFERENCE_PIXELS + 77
    weights = rng.normal(0.6, 0.4, size=(2, 1, n_pix))  # some pixels get no material: NaN
    stack = exact_stack(weights, REFS, background=0.0) + rng.normal(0, 0.01, (ENERGY.size, 1, n_pix))
    mask = rng.uniform(size=(1, n_pix)) < 0.7
    fits = []
    for threads in (1, 2):
        monkeypatch.setattr(kernel, "_cpu_count", lambda threads=threads: threads)
        fits.append(lincomb(stack, REFS, mode="nnls", mask=mask))
    maps = fits[0]
    inside = maps["mask"].values
    assert np.isnan(maps.fraction.values).any() and (mask & ~inside).any() and inside.sum() > n_pix / 2
    expected_mean = maps.fraction.values[:, inside].mean(axis=1)
    np.testing.assert_allclose(maps.mean_fraction.values, expected_mean, rtol=1e-13)
    expected = np.where(inside, maps.fraction.values - expected_mean[:, None, None], 0.0)
    np.testing.assert_allclose(maps.difference_from_mean.values, expected, rtol=0, atol=1e-13)
    assert not np.signbit(maps.difference_from_mean.values[:, ~inside]).any()
    xr.testing.assert_identical(fits[0], fits[1])


def test_threads_and_chunks_give_one_result(monkeypatch):
    """A stack of more pixels than one solve chunk, fitted on one thread and on two, gives the same
    numbers to the bit (the chunks are solved alike whichever thread takes them)."""
    import sys

    kernel = sys.modules["redoxmap.fit.lincomb"]
    rng = np.random.default_rng(7)
    n_pix = 20_000  # several solve chunks
    weights = rng.normal(0.5, 0.5, size=(2, 1, n_pix))
    stack = exact_stack(weights, REFS) + rng.normal(0, 0.02, (ENERGY.size, 1, n_pix))
    stack = stack.astype(np.float32)
    fits = []
    for threads in (1, 2):
        monkeypatch.setattr(kernel, "_cpu_count", lambda threads=threads: threads)
        fits.append(lincomb(stack, REFS, mode="nnls"))
    xr.testing.assert_identical(fits[0], fits[1])
    assert (fits[0].fit_status.values == 0).any() and (fits[0].fit_status.values == 1).any()


def test_float32_stack_fits_as_its_float64_copy(small_scan):
    """The float32 read pass (projections and sums of squares accumulated in float32) keeps R and
    the fractions on the material within 1e-6 of the fit of the same values in float64."""
    stack = small_scan.stack
    assert stack.dtype == np.float32
    for mode in MODES:
        single = lincomb(stack, small_scan.refs, mode=mode)
        double = lincomb(stack.astype(np.float64), small_scan.refs, mode=mode)
        np.testing.assert_array_equal(single.fit_status.values, double.fit_status.values)
        material = double["mask"].values & (double.weight.sum("component").values > 0.2)
        np.testing.assert_allclose(single.fraction.values[:, material],
                                   double.fraction.values[:, material], atol=1e-6)
        np.testing.assert_allclose(single.r_factor.values, double.r_factor.values, rtol=1e-5, atol=1e-6)


class _MadeMask:
    """A mask made after the fit's pass (``lincomb``'s callable ``mask``) with its ``guess``."""

    def __init__(self, made: np.ndarray, guess: np.ndarray) -> None:
        import dask.array as da

        self.made = made
        self.guess = xr.DataArray(da.from_array(guess, chunks=(10, 48)), dims=("y", "x"))

    def __call__(self, stored: xr.DataArray) -> np.ndarray:
        return self.made


@pytest.mark.parametrize("given", ["array", "guess right", "guess wrong"])
def test_statistics_are_taken_in_the_fit_pass_unless_the_mask_is_not_the_guess(small_scan, tmp_path, given):
    """A fit stored block by block: with the mask given, or made after the pass as guessed, the
    status, counts and mean come from the pass (the stored results are not read before the maps
    are); a wrong guess reads them again. Each gives the in-memory statistics."""
    from redoxmap.io import ChunkStore

    mask = small_scan.truth.edge_jump.values > 0.3
    eager = lincomb(small_scan.stack, small_scan.refs, mode="nnls", mask=mask)
    reads = []

    def counted(block: np.ndarray) -> np.ndarray:
        if block.size:  # not the 0-size probe of map_blocks
            reads.append(block.shape)
        return block

    def store(results: xr.DataArray, derive) -> tuple[xr.DataArray, tuple]:
        chunks = ChunkStore(tmp_path / "fit.zarr", key="fit")
        stored = chunks.write(results, derive=derive)
        return stored.copy(data=stored.data.map_blocks(counted, dtype=stored.dtype)), chunks.derived

    wanted = {"array": mask, "guess right": _MadeMask(mask, mask),
              "guess wrong": _MadeMask(mask, np.roll(mask, 3, axis=1))}[given]
    maps = lincomb(small_scan.stack.chunk({"y": 10}), small_scan.refs, mode="nnls", mask=wanted,
                   store=store)
    assert (len(reads) > 0) == (given == "guess wrong")
    np.testing.assert_allclose(maps.mean_fraction.values, eager.mean_fraction.values, rtol=1e-12)
    np.testing.assert_array_equal(maps.fit_status.values, eager.fit_status.values)
    assert {k: v for k, v in maps.attrs.items() if k.startswith("pixels_")} == \
        {k: v for k, v in eager.attrs.items() if k.startswith("pixels_")}
    np.testing.assert_allclose(maps.difference_from_mean.values, eager.difference_from_mean.values,
                               rtol=0, atol=1e-12)
