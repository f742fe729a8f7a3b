"""Particle mechanics (Liu et al., Nat. Nanotechnol. (2024), Methods "Particle charge–discharge
simulation", Fig. 5d–g): Li diffusion, Butler–Volmer kinetics and diffusion-induced stress in a
hollow, porous spherical particle at several C-rates, in 1D and optionally 2D axisymmetric FEM."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from redoxmap.errors import ConfigError
from redoxmap.pipeline.jobs import JobConfig, JobResult, Progress

__all__ = ["ParticleConfig", "run_particle"]


class ParticleConfig(JobConfig):
    """Settings of ``redoxmap simulate-particle``; lengths in nm, as everywhere in redoxmap.
    ``output`` is the table of stresses at the deepest discharge (CSV); ``report`` the folder for
    the fields, tables and figures.

    Defaults are the case of Liu et al. 2024 (radius 8 µm, central void 0.5 µm, pores 0.2 µm).
    The resolutions are the ones whose results agree with PyBaMM and the closed-form stresses
    within 1 % (tests/test_mechanics.py): 300 radial cells and 300 time steps in 1D, 60 time
    steps in the FEM.

    Parameters
    ----------
    c_rate : list of float
        C-rates to simulate (1/h), one run each (``--c-rate``, repeated).
    radius_nm : float
        Particle radius (nm).
    void_radius_nm : float
        Radius of the central void (nm); 0 for a solid particle.
    pore_radius_nm : float
        Radius of the pore next to the void (nm; FEM only).
    dod_pct : float
        Discharge to this depth of discharge (%), then charge back.
    stress_coupled : bool
        Stress-driven flux J = −D(∇c − (Ωc/RT)∇σ_h) (Liu et al. 2024, Methods).
    volume_change : pathlib.Path, optional
        CSV with columns ``li_fraction`` (0–1, increasing) and ``dv_v0`` (ΔV/V0): tabulated
        volume change instead of a constant partial molar volume Ω.
    fem : bool
        Also run the 2D axisymmetric FEM (void and pore).
    radial_cells : int
        Radial cells of the 1D solver.
    time_steps : int
        Time steps of the 1D solver per half cycle.
    fem_time_steps : int
        Time steps of the FEM.
    output : pathlib.Path, optional
        Table (``.csv``) of the stresses (Pa) at the deepest discharge.
    report : pathlib.Path, optional
        Folder for the fields, tables and figures.
    overwrite : bool
        Replace an existing table or report.

    Raises
    ------
    ConfigError
        If a C-rate is not positive or the void (and pore) do not fit inside the particle.
    """

    c_rate: list[float] = Field(min_length=1)
    radius_nm: float = Field(8000.0, gt=0)
    void_radius_nm: float = Field(500.0, ge=0)
    pore_radius_nm: float = Field(200.0, ge=0)
    dod_pct: float = Field(20.0, gt=0, le=100)
    stress_coupled: bool = False
    volume_change: Path | None = None
    fem: bool = False
    radial_cells: int = Field(300, ge=10)
    time_steps: int = Field(300, ge=10)
    fem_time_steps: int = Field(60, ge=5)

    INPUTS: ClassVar[tuple[str, ...]] = ("volume_change",)
    OUTPUT_SUFFIXES: ClassVar[tuple[str, ...]] = (".csv",)

    def check(self) -> None:
        super().check()
        if any(rate <= 0 for rate in self.c_rate):
            raise ConfigError(f"--c-rate {self.c_rate}: expected positive C-rates")
        if self.void_radius_nm >= self.radius_nm:
            raise ConfigError(f"--void-radius-nm {self.void_radius_nm:g} is not smaller than --radius-nm "
                              f"{self.radius_nm:g}; expected a void inside the particle")
        if self.fem and self.void_radius_nm + self.pore_radius_nm >= self.radius_nm:
            raise ConfigError(f"--void-radius-nm {self.void_radius_nm:g} plus --pore-radius-nm "
                              f"{self.pore_radius_nm:g} do not fit inside --radius-nm {self.radius_nm:g}")


def run_particle(config: ParticleConfig, progress: Progress | None = None) -> JobResult:
    """Simulate each C-rate (1D, and FEM with ``fem``): Li diffusion ∂c/∂t = ∇·(D∇c) in the
    (hollow) sphere with Butler–Volmer kinetics at the surface and the diffusion-induced radial,
    hoop and von Mises stresses (Liu et al. 2024, Methods "Particle charge–discharge simulation";
    :func:`redoxmap.models.simulate_particle`); write the table and the report.

    Parameters
    ----------
    config : ParticleConfig
        The settings.
    progress : callable, optional
        Called as ``progress(stage, done, total)`` as the job advances (the command line draws
        bars from it).

    Returns
    -------
    JobResult
        ``values`` hold ``runs`` (1D results by C-rate), ``fem`` (by C-rate) and ``summary``
        (table of the stresses in Pa at the deepest discharge).

    Raises
    ------
    ConfigError
        If the ``volume_change`` table lacks its columns.

    Examples
    --------
    >>> result = run_particle(ParticleConfig(c_rate=[1.0], radial_cells=20, time_steps=20))
    >>> table = result.values["summary"]  # (result.summary holds the printed rows)
    >>> bool(table.void_hoop_pa.iloc[0] > 0)  # tensile hoop stress (Pa) at the void
    True
    """
    from redoxmap.models.mechanics import simulate_particle, summary_table
    from redoxmap.models.particle_params import liu2024_parameters

    changes = {}
    if config.volume_change is not None:
        import pandas as pd

        table = pd.read_csv(config.volume_change)
        missing = {"li_fraction", "dv_v0"} - set(table.columns)
        if missing:
            raise ConfigError(f"{config.volume_change}: no column(s) {', '.join(sorted(missing))} "
                              "(--volume-change); expected a CSV with columns li_fraction (0–1, increasing) "
                              "and dv_v0 (ΔV/V0)")
        changes = {"volume_change_x": tuple(table.li_fraction.astype(float)),
                   "volume_change_dv_v0": tuple(table.dv_v0.astype(float))}
    params = liu2024_parameters(radius_m=config.radius_nm * 1e-9, void_radius_m=config.void_radius_nm * 1e-9,
                                pore_radius_m=config.pore_radius_nm * 1e-9,
                                stress_coupled=config.stress_coupled, **changes)
    runs, fem_runs = {}, {}
    for i, rate in enumerate(config.c_rate):
        runs[float(rate)] = simulate_particle(params, float(rate), config.dod_pct, cycle=True,
                                              n_r=config.radial_cells, n_t=config.time_steps)
        if progress is not None:
            progress("1D", i + 1, len(config.c_rate))
    if config.fem:
        from redoxmap.models.mechanics_fem import solve_fem

        for i, rate in enumerate(config.c_rate):
            fem_runs[float(rate)] = solve_fem(params, float(rate), config.dod_pct, n_t=config.fem_time_steps,
                                              n_out=5)
            if progress is not None:
                progress("FEM", i + 1, len(config.c_rate))
    table = summary_table(runs)
    written = []
    if config.output is not None:
        from redoxmap.report.files import save_table

        written.append(save_table(table, config.output.parent, config.output.name))
    if config.report is not None:
        from redoxmap.report.particle import write_particle_report

        written = write_particle_report(runs, config.report, fem_runs or None)
    summary = [(f"{row.c_rate:g} C at {row.dod_pct:.1f} % DOD",
                f"hoop at void {row.void_hoop_pa:.3g} Pa, peak hoop {row.peak_hoop_pa:.3g} Pa, "
                f"peak von Mises {row.peak_von_mises_pa:.3g} Pa, η {row.overpotential_v:.3f} V")
               for row in table.itertuples()]
    summary += [(f"FEM {rate:g} C", f"hoop stress at the void–pore bridge {float(r.bridge_hoop_pa[-1]):.3g} "
                 f"Pa at {float(r.dod_pct[-1]):.1f} % DOD") for rate, r in fem_runs.items()]
    return JobResult(title=f"stresses at {config.dod_pct:g} % DOD (R {config.radius_nm:g} nm, void "
                     f"{config.void_radius_nm:g} nm)", summary=summary, written=written,
                     values={"runs": runs, "fem": fem_runs, "summary": table})
