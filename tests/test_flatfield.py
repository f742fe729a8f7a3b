import numpy as np
import pytest
import xarray as xr

from redoxmap.io import RawStack
from redoxmap.preprocess import optical_density


def make_raw(counts, flats, darks=None):
    energy = np.arange(counts.shape[0]) + 7000.0
    return RawStack(
        counts=xr.DataArray(counts, dims=("energy", "y", "x"), coords={"energy": energy},
                            attrs={"source": "test.h5"}),
        flats=None if flats is None else xr.DataArray(flats, dims=("energy", "y", "x")[-flats.ndim:]),
        darks=None if darks is None else xr.DataArray(darks, dims=("y", "x")),
    )


def test_od_is_minus_log_transmission_with_dark():
    counts = np.full((3, 2, 2), 110.0)
    flats = np.full((2, 2), 410.0)
    od = optical_density(make_raw(counts, flats, darks=np.full((2, 2), 10.0)))
    np.testing.assert_allclose(od.values, -np.log(100.0 / 400.0), rtol=1e-6)


def test_per_energy_flats_are_used_per_energy():
    counts = np.stack([np.full((2, 2), v) for v in (50.0, 100.0)])
    flats = np.stack([np.full((2, 2), v) for v in (100.0, 400.0)])
    od = optical_density(make_raw(counts, flats))
    np.testing.assert_allclose(od.values[:, 0, 0], [np.log(2), np.log(4)], rtol=1e-6)


def test_nonpositive_pixels_are_masked_counted_and_never_nan():
    counts = np.full((4, 3, 3), 100.0)
    counts[2, 0, 0] = 0.0  # I <= 0
    flats = np.full((4, 3, 3), 200.0)
    flats[1, 2, 2] = -5.0  # I0 <= 0
    with pytest.warns(UserWarning, match="test.h5: 2 of 9 pixels have I ≤ 0 or I0 ≤ 0"):
        od = optical_density(make_raw(counts, flats))
    assert np.isfinite(od.values).all()
    assert not od.valid.values[0, 0] and not od.valid.values[2, 2]
    assert od.valid.values.sum() == 7
    assert od.values[:, 0, 0].tolist() == [0.0] * 4
    assert any("invalid_pixels=2" in line for line in od.attrs["history"])
