"""tomo dual-energy and tomo classify chunk by chunk (pipeline/tomo.py): on a LocalCluster of 2 workers
and with threads they give the numbers of the whole-volume computation in memory; dual-energy reads the
(energy, z, y, x) OME-Zarr of tomo recon over several energies and gives what it gives from two
single-energy volumes; Otsu's threshold of a dask array (a histogram summed over chunks) is the
in-memory one. Volumes are 72³ voxels (several 64³ chunks, so halos and per-chunk sums are exercised)."""

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from scipy import ndimage

from redoxmap.errors import ConfigError, FormatError, MaskWarning
from redoxmap.io.omezarr import read_ome_zarr, write_ome_zarr
from redoxmap.pipeline import ClassifyConfig, DualEnergyConfig, run_classify, run_dual_energy
from redoxmap.preprocess.mask import otsu_threshold
from redoxmap.segment.classes import class_counts, classify_stoichiometry
from redoxmap.segment.pores import particle_envelope
from redoxmap.simulate.phantom3d import attenuation_volume, cathode_phantom
from redoxmap.stats.shells import equal_volume_shells
from redoxmap.tomo.dual_energy import element_density, ratio_volume

VOXEL_NM = 200.0
ENERGIES_EV = (6520.0, 6530.0, 6565.0, 6640.0)
N = 72


def _noisy(values: np.ndarray, rng: np.random.Generator, share: float = 0.01) -> np.ndarray:
    """Blurred by σ = 0.6 voxel with noise of ``share`` of the mean inside, as a reconstruction."""
    blurred = ndimage.gaussian_filter(values.astype(np.float64), 0.6)
    noise = rng.normal(0.0, share * float(values[values > 0].mean()), values.shape)
    return (blurred + noise).astype(np.float32)


@pytest.fixture(scope="module")
def volumes(tmp_path_factory):
    """One (energy, z, y, x) store of 4 Mn K-edge energies (chunks of 16 slices), the same 6530 and
    6565 eV volumes as single-energy stores, and Ni and Mn density volumes for classify."""
    folder = tmp_path_factory.mktemp("chemistry")
    phantom = cathode_phantom(N, seed=3, n_pores=4, ni_rich_patches=False)
    rng = np.random.default_rng(5)
    stack = np.stack([_noisy(attenuation_volume(phantom, e, VOXEL_NM).values, rng) for e in ENERGIES_EV])
    store = xr.DataArray(da.from_array(stack, chunks=(len(ENERGIES_EV), 16, N, N)),
                         dims=("energy", "z", "y", "x"), coords={"energy": list(ENERGIES_EV)},
                         attrs={"units": "1/voxel"})
    paths = {"store": write_ome_zarr(store, folder / "volumes.zarr", VOXEL_NM, levels=1)}
    for k in (1, 2):
        single = xr.DataArray(stack[k], dims=("z", "y", "x"), attrs={"energy_ev": ENERGIES_EV[k]})
        paths[ENERGIES_EV[k]] = write_ome_zarr(single, folder / f"mu_{ENERGIES_EV[k]:.0f}.zarr", VOXEL_NM,
                                               levels=1)
    for element in ("Ni", "Mn"):
        density = xr.DataArray(_noisy(phantom[f"density_{element}"].values, rng, 0.03), dims=("z", "y", "x"))
        paths[element] = write_ome_zarr(density, folder / f"{element}.zarr", VOXEL_NM, levels=1)
    inside = phantom.ni_mn_class.values == 1
    target = float(np.median(phantom.density_Ni.values[inside] / phantom.density_Mn.values[inside]))
    solid = (phantom.particle & ~phantom.void).values
    paths["true_mn"] = float(phantom.density_Mn.values[solid].mean())
    return paths, phantom.attrs["composition"], target


def test_otsu_of_a_chunked_array_is_the_in_memory_threshold(rng):
    values = np.concatenate([rng.normal(0, 1, 6000), rng.normal(5, 2, 3000)]).reshape(90, 100)
    values[3, 4], values[50, 7] = np.nan, np.inf
    chunked = da.from_array(values.astype(np.float32), chunks=(17, 23))
    assert otsu_threshold(chunked) == otsu_threshold(values.astype(np.float32))  # the same histogram
    assert 1.0 < otsu_threshold(chunked) < 4.0
    with pytest.warns(MaskWarning, match="uniform .* all 20 pixels are used"):
        assert otsu_threshold(da.full((4, 5), 2.0, chunks=2)) is None
    with pytest.raises(Exception, match="no finite value"):
        otsu_threshold(da.full((4, 5), np.nan, chunks=2))


def _density_in_memory(paths, formula):
    low, high = read_ome_zarr(paths[6530.0]).compute(), read_ome_zarr(paths[6565.0]).compute()
    density = element_density(below=low, above=high, element="Mn", below_ev=6530.0, above_ev=6565.0,
                              voxel_size_nm=VOXEL_NM, formula=formula)
    level = otsu_threshold(high.values)
    return density.values, float(np.mean(density.values[high.values > level]))


def test_dual_energy_from_the_store_on_a_cluster_equals_two_volumes_in_memory(volumes, cluster, tmp_path):
    paths, formula, _ = volumes
    expected, mean = _density_in_memory(paths, formula)
    true_mn = paths["true_mn"]
    common = {"element": "Mn", "formula": formula}
    # the store on 2 workers, energies chosen within 1 eV of the given ones
    on_cluster = run_dual_energy(DualEnergyConfig(below=paths["store"], below_ev=6530.4, above_ev=6565.0,
                                                  scheduler=cluster.scheduler_address,
                                                  output=tmp_path / "from_store.zarr", **common))
    # the two single-energy volumes with threads and a memory limit
    from_pair = run_dual_energy(DualEnergyConfig(below=paths[6530.0], above=paths[6565.0],
                                                 memory_limit="64MiB", output=tmp_path / "from_pair.zarr",
                                                 **common))
    assert on_cluster.density.chunks is not None  # read back lazily, not held
    for result in (on_cluster, from_pair):
        np.testing.assert_array_equal(result.density.values, expected)  # the same float32 operations
        assert dict(result.summary)["mean Mn density in the particle (g/cm³)"] == f"{mean:.4g}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["from_pair.zarr", "from_store.zarr"]  # no parts
    # of a store, the stored energy within 1 eV of the given one is chosen and used
    assert on_cluster.energies_ev == from_pair.energies_ev == (6530.0, 6565.0)
    assert mean == pytest.approx(true_mn, rel=0.1)  # the phantom's Mn density over its solid


@pytest.mark.parametrize(("settings", "error", "said"), [
    ({"below_ev": 6550.0, "above_ev": 6565.0}, ConfigError,
     r"--below-ev 6550: .*volumes.zarr stores no energy within 1 eV \(its energies: 6520, 6530, 6565, "
     r"6640 eV\); expected one of them"),
    ({"below_ev": 6530.0, "above_ev": 6530.5}, ConfigError, "both choose .*volumes.zarr at 6530 eV"),
    ({"below_ev": 6530.0}, ConfigError, "given alone .* without --below-ev and --above-ev"),
    ({"below_ev": 6530.0, "above_ev": 6565.0, "below": 6530.0}, FormatError,
     "one volume of one energy given alone; expected ABOVE as well"),
])
def test_dual_energy_from_one_store_refuses_energies_it_does_not_hold(volumes, tmp_path, settings, error,
                                                                       said):
    paths, _, _ = volumes
    chosen = {**settings, "below": paths[settings.get("below", "store")]}
    with pytest.raises(error, match=said):
        run_dual_energy(DualEnergyConfig(element="Mn", output=tmp_path / "d.zarr", **chosen))
    assert not (tmp_path / "d.zarr").exists()


def test_classify_on_a_cluster_equals_in_memory(volumes, cluster, tmp_path):
    paths, _, target = volumes
    numerator, denominator = read_ome_zarr(paths["Ni"]).compute(), read_ome_zarr(paths["Mn"]).compute()
    # in memory, as the job computed before it read chunk by chunk
    level = otsu_threshold(denominator.values, "denominator volume")
    particle = denominator > level
    classes = classify_stoichiometry(ratio_volume(numerator, denominator, particle), target, particle,
                                     tolerance=0.1, smooth_sigma_vox=0.7)
    shells = equal_volume_shells(particle_envelope(particle), n=5).where(particle, 0)
    settings = {"numerator": paths["Ni"], "denominator": paths["Mn"], "target": target, "tolerance": 0.1}
    for scheduler in (cluster.scheduler_address, "threads"):
        result = run_classify(ClassifyConfig(**settings, scheduler=scheduler,
                                             output=tmp_path / f"{len(scheduler)}.zarr"))
        assert result.classes.chunks is not None and result.classes.attrs["mask_threshold"] == level
        np.testing.assert_array_equal(result.classes.values, classes.values)
        np.testing.assert_array_equal(result.values["shells"].values, shells.values)
        assert result.classes.attrs["class_counts"] == class_counts(classes).values.tolist()
        per_shell = class_counts(classes, shells).values
        assert result.counts.iloc[1:, 1:].to_numpy().tolist() == per_shell.tolist()
    counts = class_counts(classes).values
    assert counts[0] > 0 and counts[1] > 0  # both the target and the Ni-poor surface are found


def test_commands_take_the_store_and_the_execution_options(volumes, tmp_path):
    from typer.testing import CliRunner

    from redoxmap.cli import app

    paths, formula, target = volumes
    runner = CliRunner()
    result = runner.invoke(app, ["tomo", "dual-energy", str(paths["store"]), "--below-ev", "6530",
                                 "--above-ev", "6565", "--element", "Mn", "--formula", formula,
                                 "--scheduler", "synchronous", "--memory-limit", "64MiB",
                                 "-o", str(tmp_path / "Mn.zarr")])
    assert result.exit_code == 0, result.output
    assert "6530 below, 6565 above the edge" in result.output
    expected, _ = _density_in_memory(paths, formula)
    np.testing.assert_array_equal(read_ome_zarr(tmp_path / "Mn.zarr").values, expected)
    classify = ["tomo", "classify", str(paths["Ni"]), str(paths["Mn"]), "--target", str(target)]
    result = runner.invoke(app, [*classify, "--scheduler", "serial", "-o", str(tmp_path / "c.zarr")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, [*classify, "--scheduler", "gpu", "-o", str(tmp_path / "d.zarr")])
    assert result.exit_code != 0 and "--scheduler" in str(result.exception)
