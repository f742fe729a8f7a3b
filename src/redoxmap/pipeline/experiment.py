"""Whole experiments in one file: many samples and states, cached like a build, compared at the end.

``redoxmap run experiment.yaml`` reads the file (:mod:`redoxmap.pipeline.experiment_file`), checks
every setting and file before any work (:mod:`redoxmap.pipeline.experiment_plan`), then runs each
sample's steps — the same jobs as the commands — in its own folder ``<results>/<sample>/<job>/``.
A step whose inputs and settings have not changed since it last succeeded is not run again
(:mod:`redoxmap.pipeline.experiment_cache`), so a second run with nothing changed does no work and
changing one sample's setting reruns only that sample's steps from the one changed on. Samples run
in parallel, one per thread of a :class:`concurrent.futures.ThreadPoolExecutor` of ``workers`` threads
(its steps in order), and their heavy jobs compute with ``scheduler`` and ``memory_limit``
(:mod:`redoxmap.pipeline.execution`): ``threads`` (default), ``synchronous`` (alias ``serial``: the
samples too run one after the other), ``processes`` (one LocalCluster for the whole run) or the
``tcp://`` address of a running dask.distributed scheduler. A step that
fails does not stop the other samples; what they computed is kept, and the run ends with one error
naming the failed steps and their lines in the file.

At the end, each sample's maps become rows of one tidy table, one row per particle
(:mod:`redoxmap.pipeline.experiment_table`), written as ``particles.csv`` and ``particles.parquet``
(Parquet needs pyarrow: ``pip install redoxmap[parquet]``; without it only the CSV is written and
the summary says so), with ``states.csv`` (per sample: means, spreads and standard errors over the
particles) and a comparison report (:mod:`redoxmap.report.experiment`).
"""

from __future__ import annotations

import time
import traceback
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
from pydantic import Field, PrivateAttr, field_validator

from redoxmap._version import __version__
from redoxmap.errors import ExperimentError, OutputError, RedoxmapWarning
from redoxmap.pipeline.execution import ExecutionSettings, check_scheduler, execution, parse_memory_limit
from redoxmap.pipeline.experiment_cache import _FingerprintCache, _step_key, _StepRecord
from redoxmap.pipeline.experiment_file import _Problem
from redoxmap.pipeline.experiment_plan import _make_plan, _Plan, _Step
from redoxmap.pipeline.jobs import JobConfig, JobResult, Progress

__all__ = ["ExperimentConfig", "run_experiment"]

#: Marks a folder as the results of an experiment (so a rerun may write into it).
MARKER = ".redoxmap/experiment.json"


class ExperimentConfig(JobConfig):
    """Settings of ``redoxmap run``: the experiment file, and overrides of its results folder
    (``output``), report folder (``report``, default ``<results>/report``), ``scheduler``,
    ``memory_limit`` and ``workers``. ``force`` reruns every step. ``overwrite`` allows a results
    folder that holds other files; a folder made by an earlier run of an experiment is always reused
    (that is the cache). The file is read and checked when the configuration is made (docs/experiments.md).

    Parameters
    ----------
    experiment : pathlib.Path
        The experiment file (``.yaml``, ``.yml`` or ``.toml``; ``EXPERIMENT``): samples, states,
        files, jobs and the summary.
    scheduler : str, optional
        Where the steps' heavy jobs compute: ``threads``, ``synchronous`` (alias ``serial``: the
        samples too run one after the other), ``processes`` (one LocalCluster for the whole run) or
        the ``tcp://`` address of a running dask.distributed scheduler; default: the file's, else
        threads (:mod:`redoxmap.pipeline.execution`).
    memory_limit : str, optional
        Memory per worker (``"2GB"``); default: the file's, else none.
    workers : int, optional
        Samples run at once; default: the file's, else up to 4.
    force : bool
        Rerun every step, also those whose inputs and settings are unchanged.
    output : pathlib.Path, optional
        The results folder; default: the file's ``output``, else ``<file stem>-results`` beside it.
    report : pathlib.Path, optional
        The comparison report's folder; default ``<results>/report``.
    overwrite : bool
        Write into a results folder that holds other files (never an input).

    Raises
    ------
    ExperimentError
        If the file is missing, or any key, setting or input file in it does not fit (all problems
        at once, each with its line).
    OutputError
        If the results folder is a file, holds other files (without ``overwrite``), or holds the
        experiment file.
    """

    experiment: Path
    scheduler: str | None = None
    memory_limit: str | None = None
    workers: int | None = Field(None, ge=1)
    force: bool = False

    @field_validator("scheduler")
    @classmethod
    def _known_scheduler(cls, value: str | None) -> str | None:
        return None if value is None else check_scheduler(value)

    @field_validator("memory_limit")
    @classmethod
    def _memory_size(cls, value: str | None) -> str | None:
        parse_memory_limit(value)
        return value

    INPUTS: ClassVar[tuple[str, ...]] = ("experiment",)
    ARGUMENTS: ClassVar[tuple[str, ...]] = ("experiment",)

    _plan: _Plan | None = PrivateAttr(None)

    def check(self) -> None:
        for _, path in self.input_paths():
            if not path.exists():
                raise ExperimentError(f"{path}: no such file (given as EXPERIMENT)")
            if path.is_dir():
                raise ExperimentError(f"{path}: is a folder; expected a .yaml or .toml experiment file")
        self._plan = _make_plan(self.experiment, self.output)
        results = self._plan.output
        if results.exists() and not results.is_dir():
            raise OutputError(f"{results}: is a file; expected a folder for the results (--output)")
        ours = (results / MARKER).exists()
        if results.is_dir() and any(results.iterdir()) and not ours and not self.overwrite:
            raise OutputError(f"{results}: holds files that are not the results of an experiment; choose "
                              "another folder (--output) or pass --overwrite")
        if self.experiment.resolve().is_relative_to(results.resolve()):
            raise OutputError(f"{results}: holds the experiment file; expected a results folder of its own")

    @property
    def plan(self) -> _Plan:
        """The checked plan of the experiment file."""
        assert self._plan is not None
        return self._plan


def _keys(plan: _Plan, cache: _FingerprintCache) -> None:
    """The key of every step (inputs hashed in this thread, before any work)."""
    for steps in plan.steps.values():
        done: dict[str, str] = {}
        for step in steps:
            inputs = {}
            for name in step.spec.config.INPUTS:
                value = step.settings.get(name)
                for item in value if isinstance(value, list) else [value]:
                    if item is not None:
                        inputs[_relative(item, plan.base)] = cache.fingerprint(Path(item))
            for name, value in step.settings.items():  # other settings that name files (flats …)
                if name not in step.spec.config.INPUTS and isinstance(value, str) and Path(value).is_file():
                    inputs[_relative(value, plan.base)] = cache.fingerprint(Path(value))
            settings = {name: _relative(value, plan.base) for name, value in step.settings.items()}
            settings["report"] = step.report
            upstream = {name: done[job] for name, job in step.upstream.items()}
            step.key = _step_key(step.job, __version__, settings, inputs, upstream)
            done[step.job] = step.key


def _relative(value: Any, base: Path) -> Any:
    if isinstance(value, list):
        return [_relative(v, base) for v in value]
    if isinstance(value, str | Path) and Path(value).is_absolute():
        try:
            return str(Path(value).relative_to(base))
        except ValueError:
            return str(value)
    return value


def _run_step(step: _Step, steps: dict[str, _Step], progress: Progress | None,
              execution_settings: dict[str, Any]) -> list[Path]:
    settings = dict(step.settings)
    if issubclass(step.spec.config, ExecutionSettings):  # the experiment's, unless the step sets its own
        for name, value in execution_settings.items():
            settings.setdefault(name, value)
    for name, job in step.upstream.items():
        settings[name] = steps[job].output
    config = step.spec.config(**settings, output=step.output, overwrite=True,
                              report=step.folder / "report" if step.report else None)

    def tell(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(f"{step.sample}/{step.job} {stage}", done, total)

    result = step.spec.run(config, tell)
    return [Path(p) for p in result.written]


def _particles_step(plan: _Plan, sample: str, steps: dict[str, _Step]) -> tuple[str, Path] | None:
    """Key and folder of a sample's particle-table step (None if the sample has no maps)."""
    summary = plan.summary
    if summary.maps is None or summary.maps not in steps:
        return None
    profile = steps["profile"].settings if "profile" in steps else None
    wanted = {"variable": summary.variable, "component": summary.component, "shells": summary.shells,
              "min_particle_px": summary.min_particle_px,
              "profile": {k: profile.get(k) for k in ("bin_nm", "model", "geometry", "view", "time_s",
                                                        "pixel_size_nm")} if profile else None}
    key = _step_key("particles", __version__, wanted, {}, {"maps": steps[summary.maps].key})
    return key, plan.output / sample / "particles"


def _make_particles(plan: _Plan, steps: dict[str, _Step], folder: Path) -> list[Path]:
    import xarray as xr

    from redoxmap.pipeline.experiment_table import _particle_rows
    from redoxmap.report.files import save_table

    summary = plan.summary
    profile = steps["profile"].settings if "profile" in steps else None
    maps_step = steps[summary.maps]
    with xr.open_dataset(maps_step.output) as maps:
        maps = maps.load()
    pixel = maps_step.settings.get("pixel_size_nm") or (profile or {}).get("pixel_size_nm")
    table, pooled = _particle_rows(maps, summary.variable, summary.component, summary.shells,
                                  summary.min_particle_px, profile, pixel)
    written = [save_table(table, folder, "particles.csv")]
    if pooled is not None:
        written.append(save_table(pooled.to_dataframe(), folder, "profile.csv", index=True))
    return written


def _run_sample(plan: _Plan, sample: str, force: bool, progress: Progress | None,
                execution_settings: dict[str, Any]) -> list[tuple]:
    """Run one sample's steps in order; return (step name, status, seconds, message) per step."""
    steps = {step.job: step for step in plan.steps[sample]}
    outcomes: list[tuple] = []
    failed: set[str] = set()
    chain: list[tuple[str, str, Path, Any]] = [(s.job, s.key, s.folder, s) for s in plan.steps[sample]]
    particles = _particles_step(plan, sample, steps)
    if particles is not None:
        chain.append(("particles", particles[0], particles[1], None))
    for name, key, folder, step in chain:
        needs = set(step.upstream.values()) if step is not None else {plan.summary.maps}
        if needs & failed:
            missing = ", ".join(sorted(needs & failed))
            outcomes.append((f"{sample}/{name}", "blocked", 0.0, f"needs {missing}"))
            failed.add(name)
            continue
        record = _StepRecord(folder)
        if not force and record.done(key):
            record.failed.unlink(missing_ok=True)  # a failure of other settings, undone since
            outcomes.append((f"{sample}/{name}", "cached", 0.0, ""))
            continue
        start = time.perf_counter()
        try:
            written = _run_step(step, steps, progress, execution_settings) if step is not None else \
                _make_particles(plan, steps, folder)
        except Exception as exc:  # one failed step must not stop the other samples
            record.write_failed({"key": key, "error": str(exc), "traceback": traceback.format_exc(limit=8),
                                 "finished": time.strftime("%Y-%m-%dT%H:%M:%S")})
            outcomes.append((f"{sample}/{name}", "failed", time.perf_counter() - start, str(exc)))
            failed.add(name)
            continue
        record.write_done({"key": key, "job": name, "sample": sample,
                           "settings": step.settings if step is not None else None,
                           "seconds": round(time.perf_counter() - start, 3), "version": __version__,
                           "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}, written)
        outcomes.append((f"{sample}/{name}", "ran", time.perf_counter() - start, ""))
    return outcomes


def _summarize(plan: _Plan, report: Path, keys: dict[str, str], force: bool) -> tuple[str, list[Path], dict]:
    """The experiment's table, per-state table and comparison report (cached like a step)."""
    parquet = _parquet_available()
    summary = plan.summary
    wanted = {"summary": vars(summary), "report": _relative(report.resolve(), plan.output),
              "parquet": parquet, "samples": {s.name: dict(s.state) for s in plan.spec.samples}}
    key = _step_key("summary", __version__, wanted, {}, keys)
    record = _StepRecord(plan.output / ".redoxmap" / "summary")
    if not force and record.done(key):
        table = pd.read_csv(plan.output / "particles.csv")
        states = pd.read_csv(plan.output / "states.csv")
        return "cached", [], {"table": table, "states": states, "parquet": parquet}
    from redoxmap.pipeline.experiment_table import _state_summary
    from redoxmap.report.experiment import write_experiment_report
    from redoxmap.report.files import save_table

    frames, maps, profiles = [], {}, {}
    for spec in plan.spec.samples:
        if spec.name not in keys:
            continue
        folder = plan.output / spec.name
        part = pd.read_csv(folder / "particles" / "particles.csv")
        state = {f"state_{k}": v for k, v in spec.state.items()}
        part.insert(0, "sample", spec.name)
        for i, (column, value) in enumerate(state.items()):
            part.insert(1 + i, column, value)
        frames.append(part)
        maps[spec.name] = folder / summary.maps / "maps.nc"
        if (folder / "particles" / "profile.csv").exists():
            profiles[spec.name] = pd.read_csv(folder / "particles" / "profile.csv")
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    label = summary.variable if summary.component is None else f"{summary.variable}_{summary.component}"
    columns = [c for c in (f"{label}_mean", f"{label}_shell1_mean", f"{label}_shell{summary.shells}_mean",
                           "d_cm2_s", "c_surface", "c_bulk", "area_nm2", "volume_nm3") if c in table]
    states = _state_summary(table, columns) if len(table) else pd.DataFrame()
    written = [save_table(table, plan.output, "particles.csv"), save_table(states, plan.output, "states.csv")]
    if parquet:
        from redoxmap.io.atomic import atomic_output

        with atomic_output(plan.output / "particles.parquet", overwrite=True) as tmp:
            table.to_parquet(tmp, index=False)
        written.append(plan.output / "particles.parquet")
    else:
        (plan.output / "particles.parquet").unlink(missing_ok=True)  # never leave an older table beside
        warnings.warn("pyarrow is not installed: particles.parquet not written (particles.csv holds the same "
                      "table); pip install 'redoxmap[parquet]'", RedoxmapWarning, stacklevel=2)
    if len(table):
        written.append(write_experiment_report(
            report, table, states, maps, profiles, state=summary.state, variable=summary.variable,
            component=summary.component, shells=summary.shells,
            title=plan.spec.name or plan.source.path.stem))
    record.write_done({"key": key, "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}, written)
    return "ran", written, {"table": table, "states": states, "parquet": parquet}


def _parquet_available() -> bool:
    """True if pandas can write Parquet (pyarrow is installed)."""
    import importlib.util

    return importlib.util.find_spec("pyarrow") is not None


def run_experiment(config: ExperimentConfig, progress: Progress | None = None) -> JobResult:
    """Run an experiment file: every sample's steps (only those whose inputs or settings changed),
    then the particle table (per particle: equal-area shell means, profile fits; Csernica et al.
    2021, Fig. 2–3; Liu et al. 2024, Fig. 3) and the comparison report.

    Parameters
    ----------
    config : ExperimentConfig
        The settings (the experiment file is checked when they are made).
    progress : callable, optional
        Called as ``progress(stage, done, total)`` as the job advances (the command line draws
        bars from it).

    Returns
    -------
    JobResult
        ``values`` hold ``table`` (one row per particle per sample), ``states`` (per sample),
        ``ran``, ``cached`` and ``failed`` (step names ``sample/job``) and ``output`` (the results
        folder).

    Raises
    ------
    ExperimentError
        After all samples have run, if any step failed, naming each with its line in the file
        (what the other steps computed is kept).
    """
    from redoxmap.io.atomic import atomic_output

    plan = config.plan
    start = time.perf_counter()
    plan.output.mkdir(parents=True, exist_ok=True)
    with atomic_output(plan.output / MARKER, overwrite=True) as tmp:
        tmp.write_text(f'{{"experiment": "{plan.source.path.resolve()}", "version": "{__version__}"}}\n')
    cache = _FingerprintCache(plan.output / ".redoxmap" / "fingerprints.json")
    _keys(plan, cache)
    cache.save()
    chosen = ExecutionSettings(scheduler=config.scheduler or plan.spec.scheduler,
                               memory_limit=config.memory_limit or plan.spec.memory_limit)
    workers = config.workers or plan.spec.workers or min(len(plan.steps), 4)
    samples = list(plan.steps)
    with execution(chosen) as run:  # one cluster for all steps: theirs connect to its address
        settings = {"scheduler": run.address or chosen.scheduler, "memory_limit": chosen.memory_limit}
        if chosen.scheduler == "synchronous" or workers == 1:
            outcomes = [_run_sample(plan, s, config.force, progress, settings) for s in samples]
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="redoxmap-sample") as pool:
                outcomes = list(pool.map(lambda s: _run_sample(plan, s, config.force, progress, settings),
                                         samples))
    rows = [row for sample_rows in outcomes for row in sample_rows]
    failed = [row for row in rows if row[1] in ("failed", "blocked")]
    summary_rows = [(name, {"ran": f"ran in {seconds:.1f} s", "cached": "up to date"}.get(status, status)
                     + (f": {message}" if message else "")) for name, status, seconds, message in rows]
    values: dict[str, Any] = {"ran": [r[0] for r in rows if r[1] == "ran"],
                              "cached": [r[0] for r in rows if r[1] == "cached"],
                              "failed": [r[0] for r in failed], "output": plan.output,
                              "hashed_bytes": cache.read_bytes}
    if failed:
        problems = []
        for name, status, _, message in failed:
            sample, job = name.split("/", 1)
            index = next(i for i, s in enumerate(plan.spec.samples) if s.name == sample)
            if job in plan.spec.samples[index].jobs:
                problems.append(_Problem(("samples", index, "jobs", job), f"{status}: {message}", ""))
            else:
                problems.append(_Problem(("samples", index), f"{job} step {status}: {message}", ""))
        raise plan.source.error(problems, f"What the other steps computed is kept in {plan.output}; fix the "
                                "failed steps and run again: only they and the steps after them will run.")
    report = config.report or plan.output / "report"
    particle_keys = {}
    for sample in samples:
        steps = {step.job: step for step in plan.steps[sample]}
        made = _particles_step(plan, sample, steps)
        if made is not None:
            particle_keys[sample] = made[0]
    written: list[Path] = []
    if particle_keys:
        status, written, made_values = _summarize(plan, report, particle_keys, config.force)
        values.update(made_values)
        (values["ran"] if status == "ran" else values["cached"]).append("summary")
        summary_rows += _state_rows(made_values["states"], plan)
        if not made_values["parquet"]:
            summary_rows.append(("particles.parquet", "not written: pyarrow is not installed"))
    cache.save()
    ran = len(values["ran"])
    title = (f"{plan.source.path.name}: {ran} step(s) ran, {len(values['cached'])} up to date "
             f"in {time.perf_counter() - start:.1f} s")
    return JobResult(title=title, summary=summary_rows, written=written, values=values)


def _state_rows(states: pd.DataFrame, plan: _Plan) -> list[tuple[str, str]]:
    summary = plan.summary
    label = summary.variable if summary.component is None else f"{summary.variable}_{summary.component}"
    rows = []
    for row in states.to_dict("records"):
        state = ", ".join(f"{k.removeprefix('state_')} {v}" for k, v in row.items() if k.startswith("state_"))
        parts = [f"{int(row['particles'])} particles"]
        if f"{label}_shell1_mean" in row:
            mean, std = row[f"{label}_shell1_mean"], row[f"{label}_shell1_mean_std"]
            parts.append(f"surface shell {mean:.3f} ± {std:.3f}")
        if f"{label}_mean" in row:
            parts.append(f"mean {row[f'{label}_mean']:.3f}")
        if "d_geomean_cm2_s" in row:
            parts.append(f"D {row['d_geomean_cm2_s']:.2e} cm²/s")
        rows.append((f"{row['sample']}" + (f" ({state})" if state else ""), ", ".join(parts)))
    return rows
