"""Platelet particles whose surface is reduced by diffusion from the edge, as after cycling.

The scene of an experiment across states (pristine, 50, 100 cycles …): several flat, disc-shaped
Mn-oxide platelets seen face-on in a soft-X-ray (Mn L3) scan. Oxygen vacancies enter from the rim
of each platelet and diffuse inwards (Csernica et al., Nat. Energy 6, 642 (2021), Fig. 2 and
Supplementary Note 2), so the valence falls from the bulk value at the centre to a reduced value at
the rim with the profile of diffusion into an infinite cylinder (Crank, *The Mathematics of
Diffusion*, 2nd ed., Eq. 5.22):

    v(r) = v_bulk + (v_surface − v_bulk) · [1 − 2 Σ_n exp(−D βₙ² t/a²) J0(βₙ r/a) / (βₙ J1(βₙ))],

with a the platelet radius, t the time at high state of charge and βₙ the roots of J0. The
platelets have one thickness, so the valence map shows v(r) unmixed (the ``section`` view of a
cylinder seen along its axis in :mod:`redoxmap.models.transport`). Valences stay between 3 and 4,
so each pixel is a mixture of the Mn3+ and Mn4+ standards of :func:`mn_l3_standards`.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from redoxmap.errors import ParameterError
from redoxmap.models.transport import cylinder_diffusion
from redoxmap.simulate.acquisition import acquire
from redoxmap.simulate.demo import Simulation
from redoxmap.simulate.valence import MN_L3_ENERGY_EV, mn_l3_standards

__all__ = ["CYCLING_STATES", "cycled_platelets", "true_shell_means", "write_cycling_experiment"]


def _place_discs(shape: tuple[int, int], radii_px: np.ndarray, gap_px: float,
                 rng: np.random.Generator) -> np.ndarray:
    """Centres of discs that neither overlap (closer than ``gap_px``) nor leave the image."""
    centres: list[tuple[float, float]] = []
    for radius in radii_px:
        for _ in range(2000):
            centre = rng.uniform(radius + 2, np.array(shape) - radius - 2)
            if all(np.hypot(*(centre - c)) > radius + r + gap_px for c, r in zip(centres, radii_px,
                                                                                   strict=False)):
                centres.append(tuple(centre))
                break
        else:
            raise ParameterError(f"cannot place {radii_px.size} discs of radii {radii_px} px apart in an "
                                 f"image of {shape} px; expected fewer or smaller particles")
    return np.array(centres)


def cycled_platelets(shape: tuple[int, int] = (128, 128), n_particles: int = 3,
                     radius_px: tuple[float, float] = (20.0, 26.0), pixel_size_nm: float = 10.0,
                     surface_valence: float = 3.4, bulk_valence: float = 3.95,
                     diffusivity_cm2_s: float = 1e-16, time_s: float = 3.6e5,
                     surface_spread: float = 0.0, energy_ev: np.ndarray = MN_L3_ENERGY_EV,
                     flat_counts: float = 20000.0, edge_jump_od: float = 0.8, pre_edge_od: float = 0.3,
                     seed: int | np.random.Generator = 0) -> Simulation:
    """Simulate a Mn L3 scan of platelets reduced from the rim by diffusion (see the module).

    Parameters
    ----------
    shape : tuple of int
        Image size (px).
    n_particles : int
        Number of platelets, placed at random without touching.
    radius_px : tuple of float
        Range of the platelet radii (px), drawn uniformly.
    pixel_size_nm : float
        Pixel size (nm).
    surface_valence, bulk_valence : float
        Valence at the rim and far inside (3 ≤ v ≤ 4).
    diffusivity_cm2_s : float
        Oxygen-vacancy diffusivity D (cm²/s).
    time_s : float
        Time at high state of charge t (s).
    surface_spread : float
        Standard deviation (valence units) of each platelet's own surface valence about
        ``surface_valence`` (particle-to-particle scatter).
    energy_ev : numpy.ndarray
        Energies of the scan (eV).
    flat_counts : float
        Counts per pixel in the beam.
    edge_jump_od, pre_edge_od : float
        Edge jump and pre-edge optical density of a platelet.
    seed : int or numpy.random.Generator
        Random seed or generator.

    Returns
    -------
    Simulation
        Raw counts, the Mn2+/Mn3+/Mn4+ standards (``refs``) and the truth: ``valence`` (NaN
        outside), ``labels`` (platelet 1…n, 0 outside), ``edge_jump``, and per particle (dim
        ``particle``) ``radius_nm``, ``surface_valence``, ``centre_y_px``, ``centre_x_px``; attrs
        ``diffusivity_cm2_s``, ``time_s``, ``bulk_valence``, ``pixel_size_nm``.

    Raises
    ------
    ParameterError
        If a valence is outside 3–4, or the platelets do not fit into the image apart.

    Examples
    --------
    >>> sim = cycled_platelets(shape=(48, 48), n_particles=1, radius_px=(15, 15), seed=0)
    >>> float(sim.truth.valence.max()) <= 3.95 and int(sim.truth.labels.max()) == 1
    True
    """
    if not (3.0 <= min(surface_valence, bulk_valence) and max(surface_valence, bulk_valence) <= 4.0):
        raise ParameterError(f"valences {surface_valence}, {bulk_valence}: expected values between 3 and 4")
    rng = np.random.default_rng(seed)
    radii = rng.uniform(radius_px[0], radius_px[1], n_particles)
    centres = _place_discs(shape, radii, 3.0, rng)
    surfaces = np.clip(surface_valence + surface_spread * rng.standard_normal(n_particles), 3.0, 4.0)
    yy, xx = np.indices(shape, dtype=float)
    labels = np.zeros(shape, np.int32)
    valence = np.full(shape, np.nan)
    for k, ((cy, cx), radius, v_surface) in enumerate(zip(centres, radii, surfaces, strict=True), start=1):
        r_px = np.hypot(yy - cy, xx - cx)
        inside = r_px < radius
        shape_r = cylinder_diffusion(r_px[inside] * pixel_size_nm, radius * pixel_size_nm, diffusivity_cm2_s,
                                     time_s)
        labels[inside] = k
        valence[inside] = bulk_valence + (v_surface - bulk_valence) * shape_r
    lib = mn_l3_standards(energy_ev)
    on = labels > 0
    f4 = np.where(on, valence - 3.0, 0.0)
    fractions = np.stack([np.zeros(shape), np.where(on, 1.0 - f4, 0.0), f4])  # Mn2+, Mn3+, Mn4+
    jump = edge_jump_od * on
    od = jump[None] * np.einsum("kyx,ke->eyx", fractions, lib.values) \
        + pre_edge_od * on[None] * (energy_ev[:, None, None] / energy_ev[0]) ** -3
    raw = acquire(xr.DataArray(od, dims=("energy", "y", "x"), coords={"energy": energy_ev}),
                  flat_counts=flat_counts, seed=rng)
    raw.counts.attrs["pixel_size_nm"] = pixel_size_nm
    particle = np.arange(1, n_particles + 1)
    truth = xr.Dataset(
        {"valence": (("y", "x"), valence), "labels": (("y", "x"), labels), "edge_jump": (("y", "x"), jump),
         "radius_nm": ("particle", radii * pixel_size_nm), "surface_valence": ("particle", surfaces),
         "centre_y_px": ("particle", centres[:, 0]), "centre_x_px": ("particle", centres[:, 1])},
        coords={"particle": particle},
        attrs={"diffusivity_cm2_s": diffusivity_cm2_s, "time_s": time_s, "bulk_valence": bulk_valence,
               "pixel_size_nm": pixel_size_nm})
    return Simulation(raw=raw, refs=lib, truth=truth)


#: The states of the example experiment (examples/experiment): cycle number, surface valence,
#: D (cm²/s) and time at high state of charge (s). The surface is reduced further and the vacancies
#: diffuse more slowly as the cathode ages; the diffusion length √(Dt) grows from 10 to 23 nm, well
#: inside platelets of 130–160 nm radius, so D and the bulk valence can both be told from a profile.
CYCLING_STATES = {
    "pristine": {"cycle": 0, "surface_valence": 3.75, "diffusivity_cm2_s": 3e-17, "time_s": 3.6e4},
    "cycle50": {"cycle": 50, "surface_valence": 3.45, "diffusivity_cm2_s": 2e-17, "time_s": 1.44e5},
    "cycle100": {"cycle": 100, "surface_valence": 3.2, "diffusivity_cm2_s": 1.5e-17, "time_s": 3.6e5},
}


def write_cycling_experiment(folder, size_px: int = 160, n_particles: int = 3, seed: int = 0
                             ) -> dict[str, Simulation]:
    """Write the scans of :data:`CYCLING_STATES` as dxchange files ``<state>.h5`` (5 nm pixels,
    platelets of 26–32 px radius) and the Mn L3 standards as ``mn_l3_standards.csv`` into ``folder``:
    the inputs of the example experiment (``examples/experiment``).

    Parameters
    ----------
    folder : str or pathlib.Path
        Where to write (created if missing); existing scans of the same names are replaced.
    size_px : int
        Image size (px, square).
    n_particles : int
        Platelets per scan.
    seed : int
        Random seed of the first state (the next states use ``seed + 1``, ``seed + 2`` …).

    Returns
    -------
    dict of str to Simulation
        The simulation of each state (its ``truth`` holds the valence map, labels and
        per-particle values).
    """
    from pathlib import Path

    from redoxmap.io.dxchange import write_dxchange
    from redoxmap.spectra.library import write_library

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sims = {}
    for i, (name, state) in enumerate(CYCLING_STATES.items()):
        sim = cycled_platelets(shape=(size_px, size_px), n_particles=n_particles, radius_px=(26.0, 32.0),
                               pixel_size_nm=5.0, surface_valence=state["surface_valence"],
                               diffusivity_cm2_s=state["diffusivity_cm2_s"], time_s=state["time_s"],
                               surface_spread=0.02, seed=seed + i)
        write_dxchange(sim.raw, folder / f"{name}.h5")
        sims[name] = sim
    write_library(next(iter(sims.values())).refs, folder / "mn_l3_standards.csv", overwrite=True)
    return sims


def true_shell_means(sim: Simulation, shells: int = 5) -> np.ndarray:
    """Mean true valence of each platelet (rows, in label order) in each of ``shells`` equal-area
    shells (columns; 0 is the surface), cut as the experiment's particle table cuts them
    (:func:`redoxmap.stats.equal_volume_shells`).

    Parameters
    ----------
    sim : Simulation
        A scene of :func:`cycled_platelets`.
    shells : int
        Number of equal-area shells.

    Returns
    -------
    numpy.ndarray
        ``(platelet, shell)`` mean valences.

    Examples
    --------
    >>> sim = cycled_platelets(shape=(48, 48), n_particles=1, radius_px=(15, 15), seed=0)
    >>> means = true_shell_means(sim, shells=3)
    >>> means.shape, bool(means[0, 0] < means[0, 2])  # reduced at the surface
    ((1, 3), True)
    """
    from redoxmap.stats.shells import equal_volume_shells

    labels = sim.truth.labels
    index = np.asarray(equal_volume_shells(labels > 0, n=shells, labels=labels))
    lab = np.asarray(labels)
    valence = np.asarray(sim.truth.valence)
    return np.array([[valence[(lab == k) & (index == s)].mean() for s in range(1, shells + 1)]
                     for k in range(1, int(lab.max()) + 1)])
