"""Electrochemistry of a cycler file: the standard table, cycling metrics, dQ/dV and (for a GITT
protocol) diffusion coefficients by Weppner–Huggins (as in Wang et al., Nat. Commun. 12, 5370
(2021), Methods)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from redoxmap.errors import ConfigError
from redoxmap.pipeline.jobs import JobConfig, JobResult, Progress

__all__ = ["EchemConfig", "run_echem"]


class EchemConfig(JobConfig):
    """Settings of ``redoxmap echem``. GITT needs the particle radius (V/S = R/3 for spheres).

    Parameters
    ----------
    file : pathlib.Path
        The cycler file (``FILE``): Arbin CSV/.res, BioLogic .mpr/.mpt, Neware .nda/.ndax/CSV,
        MACCOR text or raw, Novonix CSV (recognised from the content;
        :func:`redoxmap.echem.read_cycler`).
    mass_mg : float, optional
        Active mass (mg) for specific capacities (mAh/g).
    gitt : bool
        Analyse the current pulses as GITT (Weppner & Huggins 1977).
    radius_nm : float, optional
        Particle radius (nm) for GITT; required with ``gitt``.
    output : pathlib.Path, optional
        The cycle table (``.csv``).
    report : pathlib.Path, optional
        Folder for the figures (capacity, voltage profiles, dQ/dV, GITT) and tables.
    overwrite : bool
        Replace an existing table or report.

    Raises
    ------
    ConfigError
        If ``gitt`` is set without ``radius_nm``.
    """

    file: Path
    mass_mg: float | None = Field(None, gt=0)
    gitt: bool = False
    radius_nm: float | None = Field(None, gt=0)

    INPUTS: ClassVar[tuple[str, ...]] = ("file",)
    ARGUMENTS: ClassVar[tuple[str, ...]] = ("file",)
    OUTPUT_SUFFIXES: ClassVar[tuple[str, ...]] = (".csv",)

    def check(self) -> None:
        super().check()
        if self.gitt and self.radius_nm is None:
            raise ConfigError("--gitt needs --radius-nm (the particle radius in nm, for V/S = R/3)")


def run_echem(config: EchemConfig, progress: Progress | None = None) -> JobResult:
    """Read the cycler file, tabulate the cycles (capacities by Coulomb counting, Q = ∫ I dt,
    Coulombic efficiency, retention, mean voltages), analyse GITT pulses (D = 4/(πτ) · (V/S)² ·
    (ΔE_s/ΔE_t)², Weppner & Huggins 1977, as in Wang et al. 2021, Methods); write the cycle table
    (``output``, CSV) and the report.

    Parameters
    ----------
    config : EchemConfig
        The settings.
    progress : callable, optional
        Called as ``progress(stage, done, total)`` as the job advances (the command line draws
        bars from it).

    Returns
    -------
    JobResult
        ``values`` hold ``data`` (the standard table), ``cycles`` (one row per cycle, capacities
        in Ah and mAh/g) and ``pulses`` (GITT: D in cm²/s per pulse, or None).

    Examples
    --------
    >>> import tempfile
    >>> from redoxmap.simulate import galvanostatic_cycle, write_mpt
    >>> path = write_mpt(galvanostatic_cycle(n_cycles=2), Path(tempfile.mkdtemp()) / "cell.mpt")
    >>> result = run_echem(EchemConfig(file=path, mass_mg=10.0))
    >>> result.cycles.discharge_capacity_mah_g.round(1).tolist()  # mAh per g of active mass
    [129.8, 129.8]
    """
    from redoxmap.echem import cycle_table, gitt, read_cycler

    data = read_cycler(config.file)
    cycles = cycle_table(data, mass_mg=config.mass_mg)
    pulses = gitt(data, radius_um=config.radius_nm / 1000.0) if config.gitt else None
    written = []
    if config.output is not None:
        from redoxmap.report.files import save_table

        written.append(save_table(cycles, config.output.parent, config.output.name))
    if config.report is not None:
        from redoxmap.echem.report import write_echem_report

        written += write_echem_report(cycles, config.report, data=data, gitt_table=pulses)
    specific = config.mass_mg is not None
    unit = "mAh/g" if specific else "mAh"
    shown = cycles if len(cycles) <= 20 else cycles.iloc[[*range(5), *range(len(cycles) - 5, len(cycles))]]
    summary = []
    for row in shown.itertuples():
        charge = row.charge_capacity_mah_g if specific else row.charge_capacity_ah * 1e3
        discharge = row.discharge_capacity_mah_g if specific else row.discharge_capacity_ah * 1e3
        summary.append((f"cycle {row.cycle}",
                        f"charge {charge:.3f} {unit}, discharge {discharge:.3f} {unit}, "
                        f"CE {row.coulombic_efficiency:.4f}, retention {row.capacity_retention:.3f}, "
                        f"mean V dis {row.mean_discharge_voltage_v:.3f}"))
    if pulses is not None:
        valid = pulses[pulses.valid]
        median = f"{valid.diffusivity_cm2_s.median():.3g} cm²/s" if len(valid) else "n/a"
        summary.append(("GITT", f"{len(pulses)} pulses, {len(valid)} valid, median D {median}"))
        summary += [(f"flagged {count}×", str(reason))
                    for reason, count in pulses.loc[~pulses.valid, "flag"].value_counts().items()]
    return JobResult(title=f"{config.file.name}: {len(data)} rows, {cycles.shape[0]} cycles",
                     summary=summary, written=written,
                     values={"data": data, "cycles": cycles, "pulses": pulses})
