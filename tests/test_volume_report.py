"""Volume report page: class slices, proportions per shell, pore statistics, rendering."""

import io

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from redoxmap.report.volumes import class_names, proportions_table, surface_rendering, write_volume_report
from redoxmap.segment.classes import class_proportions, classify_stoichiometry
from redoxmap.segment.pores import analyze_pores
from redoxmap.simulate.phantom3d import cathode_phantom
from redoxmap.stats.porosity import porosity
from redoxmap.stats.shells import equal_volume_shells


@pytest.fixture(scope="module")
def phantom():
    return cathode_phantom(48, seed=1)


def test_proportions_table_matches_direct_counts(phantom):
    classes = phantom.ni_mn_class.assign_attrs(class_names=["1: target", "2: Ni-poor", "3: Ni-rich"])
    shells = equal_volume_shells(phantom.particle, n=5)
    per_shell = class_proportions(classes, shells.where(classes > 0, 0))
    table = proportions_table(class_proportions(classes), per_shell, class_names(classes))
    assert list(table.columns) == ["region", "target", "Ni-poor", "Ni-rich"]
    values = np.asarray(classes)
    solid = values > 0
    assert table.loc[0, "Ni-poor"] == pytest.approx(100 * (values == 2).sum() / solid.sum())
    outer = solid & (np.asarray(shells) == 1)
    assert table.loc[1, "Ni-poor"] == pytest.approx(100 * (values[outer] == 2).sum() / outer.sum())
    np.testing.assert_allclose(table.drop(columns="region").sum(axis=1), 100.0)


def test_report_writes_every_part(tmp_path, phantom):
    voxel_nm = 100.0
    solid = (phantom.particle & ~phantom.void).assign_attrs(voxel_size_nm=voxel_nm)
    ratio = xr.where(solid, phantom.density_Ni / phantom.density_Mn.where(solid, 1), 0)
    target = float(np.median(ratio.values[phantom.ni_mn_class.values == 1]))
    classes = classify_stoichiometry(ratio, target, solid, names={2: "Ni-poor", 3: "Ni-rich"})
    classes.attrs["voxel_size_nm"] = voxel_nm
    pores, _ = analyze_pores(solid, voxel_nm)
    index = write_volume_report(
        phantom.density_Ni.assign_attrs(units="g/cm³"), tmp_path, title="test particle", classes=classes,
        shells=equal_volume_shells(phantom.particle, n=5), solid=solid, pores=pores,
        porosity=porosity(solid), voids=phantom.void, settings={"target": target})
    page = index.read_text()
    for name in ("slices.png", "classes.png", "class_proportions.png", "pores.png", "rendering.png"):
        assert (tmp_path / name).stat().st_size > 10_000
        assert name in page
    assert "Ni-poor" in page and "shell 5" in page
    table = pd.read_csv(tmp_path / "class_proportions.csv")
    truth = class_proportions(phantom.ni_mn_class)
    np.testing.assert_allclose(table.iloc[0, 1:].to_numpy(float), 100 * truth.values, atol=1e-9)
    assert not list(tmp_path.glob(".*tmp"))


def test_rendering_draws_surface_and_voids(phantom):
    fig = surface_rendering(phantom.particle, 100.0, voids=phantom.void)
    fig.savefig(io.BytesIO(), format="png")  # projects the 3D triangles into paths
    meshes = fig.axes[0].collections
    assert len(meshes) == 2
    assert len(meshes[0].get_paths()) > len(meshes[1].get_paths()) > 100  # the surface, then the voids
    assert surface_rendering(phantom.particle).axes[0].get_xlabel() == "z (voxels)"
