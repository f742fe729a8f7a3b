"""From an experiment file to a plan: the steps of each sample with their checked settings.

Each sample's jobs run in a fixed order (:data:`JOBS`), each step in its own folder
``<results>/<sample>/<job>/``. A job's input settings that the sample's job settings do not give are
filled from the sample's ``files``, then from ``shared``, then from the output of an earlier step of
the same sample (a profile reads the valence, xanes2d or 3D XANES maps; pores read the
reconstructed volume). Settings under ``defaults.<job>`` apply to every sample; a sample's own
settings win. Relative paths are read from the experiment file's folder.

Everything is checked before any work: the file's own keys, every job setting (by the job's
configuration, so with the same types, ranges and cross-checks as on the command line) and that
every input file exists. All problems are reported together, each with its key, line and what was
expected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from redoxmap.errors import RedoxmapError
from redoxmap.pipeline.experiment_file import (
    _ExperimentFile,
    _PositionedFile,
    _Problem,
    _pydantic_problems,
    _read_experiment_file,
)
from redoxmap.pipeline.jobs import JobConfig

__all__: list[str] = []  # the plan of run_experiment; nothing here is public


@dataclass(frozen=True)
class _JobSpec:
    """A job as a step of an experiment: the module, configuration and function of the job
    (imported when first used, so a run loads only the jobs its file names), the file it writes
    into its step folder, its command, and per input setting the earlier jobs whose output can
    fill it."""

    module: str
    config_name: str
    run_name: str
    output: str
    command: str
    upstream: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def config(self) -> type[JobConfig]:
        return getattr(import_module(f"redoxmap.pipeline.{self.module}"), self.config_name)

    @property
    def run(self) -> Callable:
        return getattr(import_module(f"redoxmap.pipeline.{self.module}"), self.run_name)


#: The jobs a sample can run, in the order they run.
JOBS: dict[str, _JobSpec] = {
    "xanes2d": _JobSpec("xanes2d", "Xanes2DConfig", "run_xanes2d", "maps.nc", "xanes2d"),
    "valence": _JobSpec("valence", "ValenceConfig", "run_valence", "maps.nc", "valence"),
    "tomo_recon": _JobSpec("tomo", "TomoReconConfig", "run_tomo_recon", "volume.zarr", "tomo recon"),
    "dual_energy": _JobSpec("tomo", "DualEnergyConfig", "run_dual_energy", "density.zarr",
                            "tomo dual-energy"),
    "tomo_xanes": _JobSpec("tomo", "TomoXanesConfig", "run_tomo_xanes", "maps.nc", "tomo xanes"),
    "classify": _JobSpec("tomo", "ClassifyConfig", "run_classify", "classes.zarr", "tomo classify"),
    "pores": _JobSpec("tomo", "PoresConfig", "run_pores", "voids.csv", "tomo pores",
                     {"volume": ("tomo_recon",)}),
    "profile": _JobSpec("profile", "ProfileConfig", "run_profile", "profile.csv", "profile",
                       {"maps": ("valence", "xanes2d", "tomo_xanes")}),
    "echem": _JobSpec("echem", "EchemConfig", "run_echem", "cycles.csv", "echem"),
}
#: Jobs whose maps can make the particle table, in order of preference.
MAP_JOBS = ("valence", "xanes2d", "tomo_xanes")
#: An existing file standing in, during the checks, for inputs that earlier steps will write.
_STAND_IN = Path(__file__)
#: Settings the experiment sets itself.
MANAGED = ("output", "overwrite")


@dataclass
class _Step:
    """One job of one sample: settings as checked (input paths absolute), the folder it writes to,
    the settings filled from earlier steps (setting → job) and where each setting came from."""

    sample: str
    index: int
    job: str
    settings: dict[str, Any]
    folder: Path
    report: bool = False
    upstream: dict[str, str] = field(default_factory=dict)
    key: str = ""

    @property
    def spec(self) -> _JobSpec:
        return JOBS[self.job]

    @property
    def output(self) -> Path:
        return self.folder / self.spec.output

    def file_key(self) -> tuple:
        """The key of this job in the experiment file."""
        return ("samples", self.index, "jobs", self.job)


@dataclass
class _Summary:
    """The resolved summary: which job's maps, which variable (and component), which state key."""

    maps: str | None
    variable: str | None
    component: str | None
    state: str | None
    shells: int
    min_particle_px: int


@dataclass
class _Plan:
    """A checked experiment: the file, its folder, the results folder and the steps per sample."""

    source: _PositionedFile
    spec: _ExperimentFile
    base: Path
    output: Path
    steps: dict[str, list[_Step]]
    summary: _Summary


class _Unchecked:
    """Job configurations that validate types and ranges but do not yet look at files."""

    cache: dict[type, type] = {}

    @classmethod
    def of(cls, config: type[JobConfig]) -> type[BaseModel]:
        if config not in cls.cache:
            cls.cache[config] = type(f"_Unchecked{config.__name__}", (config,),
                                     {"__init__": BaseModel.__init__})
        return cls.cache[config]


def _resolve(value: Any, base: Path) -> Any:
    if isinstance(value, list):
        return [_resolve(v, base) for v in value]
    if isinstance(value, str | Path):
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else base / path)
    return value


def _file_problems(value: Any, key: tuple, base: Path) -> list[_Problem]:
    values = value if isinstance(value, list) else [value]
    problems = []
    for i, item in enumerate(values):
        if not isinstance(item, str):
            continue
        if not Path(item).exists():
            where = (*key, i) if isinstance(value, list) else key
            problems.append(_Problem(where, f"{item}: no such file",
                                    f"an existing file (relative paths are read from {base})"))
    return problems


def _step(plan_spec: _ExperimentFile, index: int, job: str, base: Path, output: Path,
          problems: list[_Problem], misspelt: bool = False) -> _Step | None:
    """Build and check one step; add what is wrong to ``problems`` (None if anything is)."""
    sample = plan_spec.samples[index]
    spec = JOBS[job]
    prefix = ("samples", index, "jobs", job)
    origins: dict[str, tuple] = {}
    merged: dict[str, Any] = {}
    for source, settings in ((("defaults", job), plan_spec.defaults.get(job) or {}),
                             (prefix, sample.jobs.get(job) or {})):
        for name, value in settings.items():
            merged[name], origins[name] = value, (*source, name)
    start = len(problems)
    for name in MANAGED:
        if name in merged:
            problems.append(_Problem(origins.pop(name), "set by the experiment",
                                    f"no `{name}` key: each step writes into <results>/<sample>/{job}/"))
            merged.pop(name)
    report = merged.pop("report", False)
    if not isinstance(report, bool):
        problems.append(_Problem(origins["report"], f"{report!r} does not fit",
                                "true or false (a report folder inside the step's folder)"))
    upstream = {}
    for name in spec.config.INPUTS:
        if name in merged:
            continue
        if name in sample.files:
            merged[name], origins[name] = sample.files[name], ("samples", index, "files", name)
        elif name in plan_spec.shared:
            merged[name], origins[name] = plan_spec.shared[name], ("shared", name)
        else:
            for earlier in spec.upstream.get(name, ()):
                if earlier in sample.jobs:
                    upstream[name] = earlier
                    break
    for name in spec.config.INPUTS:
        if name in merged:
            merged[name] = _resolve(merged[name], base)
            problems.extend(_file_problems(merged[name], origins[name], base))
    for name, value in list(merged.items()):  # other settings naming a file beside the experiment file
        if name not in spec.config.INPUTS and isinstance(value, str) and (base / value).exists():
            merged[name] = str(base / value)
    folder = output / sample.name / job
    stand_in = {name: str(_STAND_IN) for name in upstream}
    known = sorted(n for n in spec.config.model_fields if n not in MANAGED) + ["report"]
    try:
        checked = _Unchecked.of(spec.config).model_validate({**merged, **stand_in})
    except ValidationError as exc:
        for problem in _pydantic_problems(exc, prefix, origins, known, what=f"setting of {job}"):
            name = problem.key[len(prefix)] if problem.key[:len(prefix)] == prefix and \
                len(problem.key) > len(prefix) else None
            if problem.found == "missing" and name in spec.upstream and misspelt:
                continue  # the job that would make it is misspelt: that is the problem reported
            if problem.found == "missing" and name in spec.config.INPUTS:
                problem.expected = (f"`{name}` in the sample's files, in shared, or in the job's settings"
                                    + (f" (or a {' or '.join(spec.upstream[name])} step before it)"
                                       if name in spec.upstream else ""))
            problems.append(problem)
        return None
    if len(problems) > start:
        return None
    settings = {k: v for k, v in dict(checked).items() if k not in (*MANAGED, "report")}
    real = spec.config.model_construct(**{**settings, "output": folder / spec.output, "overwrite": True,
                                          "report": folder / "report" if report else None})
    try:
        real.check()
    except RedoxmapError as exc:
        message = str(exc)
        named = [n for n in spec.config.model_fields if real.flag(n) in message]
        key = origins.get(named[0], (*prefix, named[0])) if named else prefix
        problems.append(_Problem(key, message, f"settings that fit together (see `redoxmap {spec.command} "
                                "--help`)"))
        return None
    for name in upstream:
        settings.pop(name, None)
    return _Step(sample=sample.name, index=index, job=job, settings=settings, folder=folder, report=report,
                upstream=upstream)


def _summary(spec: _ExperimentFile, problems: list[_Problem]) -> _Summary:
    wanted = spec.summary
    jobs = {job for sample in spec.samples for job in sample.jobs}
    maps = wanted.maps or next((job for job in MAP_JOBS if job in jobs), None)
    if wanted.maps is not None and wanted.maps not in MAP_JOBS:
        problems.append(_Problem(("summary", "maps"), f"{wanted.maps!r} does not make maps",
                                f"one of {', '.join(MAP_JOBS)}"))
    elif wanted.maps is not None and wanted.maps not in jobs:
        problems.append(_Problem(("summary", "maps"), f"no sample runs {wanted.maps!r}",
                                f"a job of the samples: {', '.join(sorted(jobs))}"))
    profile = next((s.jobs.get("profile") or {} for s in spec.samples if "profile" in s.jobs), {})
    profile = {**(spec.defaults.get("profile") or {}), **profile}
    variable = wanted.variable or profile.get("var") or ("valence" if maps == "valence" else "fraction")
    component = wanted.component or profile.get("component")
    if variable in ("fraction", "fraction_err") and component is None and maps is not None:
        problems.append(_Problem(("summary",), f"variable {variable!r} has one map per reference",
                                "`component:` naming the reference (or `variable: valence`)"))
    state = wanted.state or next((next(iter(s.state)) for s in spec.samples if s.state), None)
    lacking = [s.name for s in spec.samples if state is not None and state not in s.state]
    if wanted.state is not None and lacking:
        keys = sorted({k for s in spec.samples for k in s.state})
        problems.append(_Problem(("summary", "state"),
                                f"{state!r} is not in the state of {', '.join(lacking)}",
                                f"a key of every sample's state ({', '.join(keys) or 'none given'})"))
    return _Summary(maps=maps, variable=variable, component=component, state=state, shells=wanted.shells,
                   min_particle_px=wanted.min_particle_px)


def _make_plan(path: Path, output: Path | None = None) -> _Plan:
    """Read and check an experiment file; raise one :class:`~redoxmap.errors.ExperimentError`
    listing every problem (key, line, what was expected) before any work.

    Parameters
    ----------
    path : the experiment file (YAML or TOML).
    output : results folder; default the file's ``output`` (relative to the file), else
        ``<file stem>-results`` beside it.

    Returns
    -------
    The plan: the steps of each sample with their checked settings.
    """
    source = _read_experiment_file(path)
    try:
        spec = _ExperimentFile.model_validate(source.data)
    except ValidationError as exc:
        raise source.error(_pydantic_problems(exc, (), known=None, what="key")) from exc
    base = path.resolve().parent
    problems: list[_Problem] = []
    for name in spec.defaults:
        if name not in JOBS:
            problems.append(_Problem(("defaults", name), f"{name!r} is not a job",
                                    f"one of {', '.join(JOBS)}"))
    names = [s.name for s in spec.samples]
    for i, name in enumerate(names):
        if names.index(name) != i:
            problems.append(_Problem(("samples", i, "name"), f"{name!r} is used twice",
                                    "a different name per sample (it names the sample's folder)"))
    if output is None:
        output = base / spec.output if spec.output else base / f"{path.stem}-results"
    output = Path(output).resolve()
    steps: dict[str, list[_Step]] = {}
    for i, sample in enumerate(spec.samples):
        steps[sample.name] = []
        unknown = [job for job in sample.jobs if job not in JOBS]
        for job in unknown:
            problems.append(_Problem(("samples", i, "jobs", job), f"{job!r} is not a job",
                                    f"one of {', '.join(JOBS)}"))
        for job in JOBS:
            if job in sample.jobs:
                step = _step(spec, i, job, base, Path(output), problems, misspelt=bool(unknown))
                if step is not None:
                    steps[sample.name].append(step)
    summary = _summary(spec, problems)
    if problems:
        unique = {(p.key, p.found): p for p in problems}  # a default's problem once, not once per sample
        raise source.error(list(unique.values()))
    return _Plan(source=source, spec=spec, base=base, output=Path(output), steps=steps, summary=summary)
