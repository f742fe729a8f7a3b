"""Particle labels (watershed split of touching particles) and the per-particle table."""

import numpy as np
import pytest
import xarray as xr

from redoxmap.errors import MaskError
from redoxmap.segment.particles import label_particles, particle_table


def two_touching_disks_and_a_speck():
    shape = (120, 160)
    yy, xx = np.indices(shape)
    mask = ((yy - 60) ** 2 + (xx - 50) ** 2 <= 30**2) | ((yy - 60) ** 2 + (xx - 105) ** 2 <= 28**2)
    mask |= (yy - 10) ** 2 + (xx - 150) ** 2 <= 2**2  # a 13-pixel speck
    return xr.DataArray(mask, dims=("y", "x"))


def test_touching_particles_are_split_and_specks_dropped():
    mask = two_touching_disks_and_a_speck()
    labels = label_particles(mask, pixel_size_nm=20.0, min_size_nm2=50 * 20.0**2)
    assert int(labels.max()) == 2
    table = particle_table(labels, {"x_position": xr.DataArray(np.indices(mask.shape)[1], dims=mask.dims)})
    diameters = sorted(table.equivalent_diameter_nm)
    assert diameters[0] == pytest.approx(2 * 28 * 20.0, rel=0.08)
    assert diameters[1] == pytest.approx(2 * 30 * 20.0, rel=0.08)
    assert sorted(table.x_position_mean) == pytest.approx([50, 105], abs=3)
    unsplit = label_particles(mask, 20.0, min_size_nm2=50 * 20.0**2, split=False)
    assert int(unsplit.max()) == 1


def test_volumes_in_3d_and_errors():
    n = 40
    zz, yy, xx = np.indices((n, n, n))
    ball = xr.DataArray((zz - 20) ** 2 + (yy - 20) ** 2 + (xx - 20) ** 2 <= 10**2, dims=("z", "y", "x"))
    table = particle_table(label_particles(ball, pixel_size_nm=5.0))
    assert len(table) == 1
    assert table.equivalent_diameter_nm.iloc[0] == pytest.approx(2 * 10 * 5.0, rel=0.03)
    with pytest.raises(MaskError, match="selects no pixel"):
        label_particles(ball & False, 5.0)
