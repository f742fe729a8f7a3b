"""The tomo commands one after another on demo-sized simulated volumes (64³ voxels of 200 nm, as the
demo's), as a user runs them on what ``tomo recon`` writes: ``dual-energy`` for Mn and Ni, ``classify``
by Ni/Mn, ``pores`` and ``xanes``, each scored against the phantom's truth."""

import re

import numpy as np
import pytest
import xarray as xr
from scipy import ndimage
from typer.testing import CliRunner

from redoxmap.cli import app
from redoxmap.data import demo_reference_paths
from redoxmap.io.omezarr import read_ome_zarr, write_ome_zarr
from redoxmap.simulate.phantom3d import attenuation_volume, cathode_phantom, xanes_attenuation_volume

runner = CliRunner()

VOXEL_NM = 200.0
#: A sparse 3D XANES set across the Mn K edge (eV): pre-edge, edge, white line, post-edge.
MN_ENERGIES_EV = (6520.0, 6530.0, 6545.0, 6550.0, 6553.0, 6556.0, 6559.0, 6562.0, 6575.0, 6640.0)


def _as_reconstructed(volume: xr.DataArray, rng: np.random.Generator) -> xr.DataArray:
    """A volume as a reconstruction returns it: blurred by σ = 0.6 voxel, with noise of 1 % of the
    particle's mean attenuation, ``energy_ev`` and ``voxel_size_nm`` kept."""
    values = ndimage.gaussian_filter(volume.values.astype(np.float64), 0.6)
    noise = 0.01 * float(volume.values[volume.values > 0].mean())
    return volume.copy(data=(values + rng.normal(0.0, noise, values.shape)).astype(np.float32))


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chain")
    phantom = cathode_phantom(64, seed=3, n_pores=4, ni_rich_patches=False)  # nothing Ni-rich
    rng = np.random.default_rng(3)
    paths = {}
    for energy in MN_ENERGIES_EV:
        volume = _as_reconstructed(xanes_attenuation_volume(phantom, energy, VOXEL_NM), rng)
        paths[energy] = write_ome_zarr(volume, folder / f"mu_{energy:.0f}eV.zarr", VOXEL_NM, levels=1)
    for energy in (8313.0, 8360.0):
        volume = _as_reconstructed(attenuation_volume(phantom, energy, VOXEL_NM), rng)
        paths[energy] = write_ome_zarr(volume, folder / f"mu_{energy:.0f}eV.zarr", VOXEL_NM, levels=1)
    return folder, phantom, paths


def _invoke(args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def test_dual_energy_classify_pores_and_xanes_one_after_another(chain):
    folder, phantom, paths = chain
    solid = (phantom.particle & ~phantom.void).values
    composition = phantom.attrs["composition"]
    # dual energy: the energies come from the volumes (stored by tomo recon), the settings go with the result
    for element, below, above in (("Mn", 6530.0, 6640.0), ("Ni", 8313.0, 8360.0)):
        result = _invoke(["tomo", "dual-energy", paths[below], paths[above], "--element", element,
                          "--formula", composition, "-o", folder / f"{element}.zarr"])
        assert f"{below:g} below, {above:g} above the edge" in result.output
        density = read_ome_zarr(folder / f"{element}.zarr").compute()
        assert (density.attrs["element"], density.attrs["below_ev"], density.attrs["above_ev"],
                density.attrs["formula"]) == (element, below, above, composition)
        assert density.attrs["history"][-1].startswith(f"dual_energy(element='{element}', below_ev={below}")
        assert "energy_ev" not in density.attrs  # a density is not at one energy
        inner = ndimage.binary_erosion(solid, iterations=2)
        recovered = float(density.values[inner].mean())
        true = float(phantom[f"density_{element}"].values[inner].mean())
        # measured: Mn 1.429 against 1.461 g/cm³ (the post-edge at 6640 eV is 1–2 % below the
        # tabulated step), Ni 0.3438 against 0.3439
        assert recovered == pytest.approx(true, rel=0.03)
    # classes by Ni/Mn: the phantom has a Ni-poor surface layer (30 % less Ni) and no Ni-rich voxel;
    # with ±15 % (the noise of a density ratio at 64³ reaches +5 % in places) the class above the
    # target is empty, and is reported as such under its own name
    target = float(np.median(phantom.density_Ni.values[phantom.ni_mn_class.values == 1]
                             / phantom.density_Mn.values[phantom.ni_mn_class.values == 1]))
    result = _invoke(["tomo", "classify", folder / "Ni.zarr", folder / "Mn.zarr", "--target", target,
                      "--tolerance", 0.15, "-o", folder / "classes.zarr"])
    classes = read_ome_zarr(folder / "classes.zarr").compute()
    names = ["within ±15 % of target", "more than 15 % below target", "more than 15 % above target"]
    assert classes.attrs["class_names"] == [f"{k}: {name}" for k, name in enumerate(names, start=1)]
    counts = dict(zip(names, classes.attrs["class_counts"], strict=True))
    assert counts[names[2]] == 0 and counts[names[0]] > 0 and counts[names[1]] > 0
    assert re.search(r"more than 15 % above target \(voxels\) +│ +0 \(empty\)", result.output)
    assert "class 2" not in result.output and "class 3" not in result.output
    found_poor = 100 * counts[names[1]] / sum(counts.values())
    true_poor = 100 * (phantom.ni_mn_class.values == 2).sum() / (phantom.ni_mn_class.values > 0).sum()
    assert found_poor == pytest.approx(true_poor, abs=3)  # measured 40.7 % against 41.4 %
    assert classes.attrs["history"][-1].startswith("classify(numerator=")
    # pores of the above-edge volume
    result = _invoke(["tomo", "pores", paths[6640.0], "-o", folder / "voids.csv"])
    found = float(re.search(r"│ porosity +│ +([\d.]+)", result.output).group(1))
    true_porosity = float(phantom.void.sum() / phantom.particle.sum())
    assert found == pytest.approx(true_porosity, rel=0.05)  # measured 0.0291 against 0.0292
    # 3D XANES of the 10 volumes: cycled fraction per voxel against the phantom's
    refs = [x for p in demo_reference_paths() for x in ("--ref", p)]
    _invoke(["tomo", "xanes", *[paths[e] for e in MN_ENERGIES_EV], *refs, "--name", "pristine", "--name",
             "cycled", "--mode", "sum1-scaled", "-o", folder / "maps.nc"])
    with xr.open_dataset(folder / "maps.nc") as maps:
        fraction = maps.fraction.sel(component="cycled").values
        mask = maps["mask"].values
        history = maps.attrs["history"]
    inner = ndimage.binary_erosion(solid, iterations=2)
    error = fraction[inner] - phantom.mn_cycled_fraction.values[inner]
    assert np.sqrt(np.mean(error**2)) < 0.03  # measured 0.018
    assert (mask & solid).sum() > 0.99 * solid.sum() and (mask & ~solid).sum() < 0.01 * solid.sum()
    assert "tomo_xanes(" in (history[-1] if isinstance(history, list) else history)


def test_xanes_on_the_two_dual_energy_volumes_says_what_to_do(chain):
    """The demo writes two volumes (below and above the Mn edge): too few energies for a fit of two
    references, and the message says so before any work and names the command that uses them."""
    folder, _, paths = chain
    refs = [x for p in demo_reference_paths() for x in ("--ref", p)]
    result = runner.invoke(app, ["tomo", "xanes", str(paths[6530.0]), str(paths[6640.0]), *map(str, refs),
                                 "-o", str(folder / "two.nc")])
    assert result.exit_code != 0
    assert str(result.exception) == (
        "2 volumes (energies) for 2 --ref spectra: the nnls fit has 2 parameters per voxel; expected at "
        "least 3 energies across the edge. Two volumes below and above an edge give the element's density "
        "instead: redoxmap tomo dual-energy")
    assert not (folder / "two.nc").exists()
