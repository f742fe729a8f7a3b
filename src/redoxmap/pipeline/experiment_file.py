"""Reading an experiment file (YAML or TOML) with the line of every key, and its schema.

An experiment file names the samples (name, state, files), the inputs they share, the jobs to run
on each sample with their settings, and the summary wanted; see ``redoxmap init-experiment`` for a
commented template and ``examples/experiment/experiment.yaml`` for a complete one. Job settings are
validated by the job configurations themselves (:mod:`redoxmap.pipeline`), so a setting means the
same in the file as on the command line.

Every problem is reported with the key as a path (``samples[1].jobs.valence.mode``), the line in
the file and what was expected. YAML positions come from the composed node tree
(``yaml.compose``); TOML has no positions in :mod:`tomllib`, so the line is found by following the
table headers (``[samples.jobs]``, ``[[samples]]``) and ``key =`` lines of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from redoxmap.errors import ExperimentError
from redoxmap.pipeline.execution import ExecutionSettings

__all__: list[str] = []  # the file format of run_experiment (docs/experiments.md); nothing here is public

Key = tuple[str | int, ...]


class _SampleSpec(BaseModel):
    """One sample: its name (a folder name), its state (cycle number, voltage, SOC …), its files
    by the job setting they fill (``stack``, ``library``, ``file`` …) and its jobs."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    state: dict[str, float | str] = Field(default_factory=dict)
    files: dict[str, str | list[str]] = Field(default_factory=dict)
    jobs: dict[str, dict[str, Any] | None] = Field(min_length=1)


class _SummarySpec(BaseModel):
    """What the particle table and comparison report are made of."""

    model_config = ConfigDict(extra="forbid")

    maps: str | None = None
    variable: str | None = None
    component: str | None = None
    state: str | None = None
    shells: int = Field(5, ge=1, le=50)
    min_particle_px: int = Field(20, ge=1)


class _ExperimentFile(ExecutionSettings):
    """The top level of an experiment file (``scheduler`` and ``memory_limit`` as every heavy job
    takes them: :class:`redoxmap.pipeline.execution.ExecutionSettings`)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    output: str | None = None
    workers: int | None = Field(None, ge=1)
    shared: dict[str, str | list[str]] = Field(default_factory=dict)
    defaults: dict[str, dict[str, Any] | None] = Field(default_factory=dict)
    samples: list[_SampleSpec] = Field(min_length=1)
    summary: _SummarySpec = Field(default_factory=_SummarySpec)


@dataclass
class _Problem:
    """One mistake in the file: the key (a path), what is wrong and what was expected."""

    key: Key
    found: str
    expected: str


def _show_key(key: Key) -> str:
    """``("samples", 1, "jobs", "valence", "mode")`` → ``samples[1].jobs.valence.mode``."""
    text = ""
    for part in key:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


class _PositionedFile:
    """The data of an experiment file and the line (1-based) of each key path."""

    def __init__(self, path: Path, data: Any, lines: dict[Key, int]) -> None:
        self.path, self.data, self.lines = path, data, lines

    def line(self, key: Key) -> int:
        """Line of ``key``, or of its nearest enclosing key that is in the file."""
        key = tuple(key)
        while key and key not in self.lines:
            key = key[:-1]
        return self.lines.get(key, 1)

    def error(self, problems: list[_Problem], note: str = "") -> ExperimentError:
        """One error listing each problem as ``file, line N: key: found; expected …``."""
        ordered = sorted(problems, key=lambda p: self.line(p.key))
        rows = [f"{self.path}, line {self.line(p.key)}: {_show_key(p.key)}: {p.found}"
                + (f"; expected {p.expected}" if p.expected else "") for p in ordered]
        head = "" if len(rows) == 1 else f"{len(rows)} problems in {self.path}:\n  "
        return ExperimentError(head + "\n  ".join(rows) + (f"\n{note}" if note else ""))


def _yaml_lines(node: Any, key: Key, lines: dict[Key, int]) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*key, str(key_node.value))
            lines[child] = key_node.start_mark.line + 1
            _yaml_lines(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*key, i)] = item.start_mark.line + 1
            _yaml_lines(item, (*key, i), lines)


def _read_yaml(path: Path, text: str) -> _PositionedFile:
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ExperimentError(f"{path}{line}: not valid YAML ({problem}); expected `key: value` lines, "
                              "indented by spaces") from exc
    lines: dict[Key, int] = {}
    if node is not None:
        _yaml_lines(node, (), lines)
    return _PositionedFile(path, data, lines)


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_NAME = r"""(?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+)"""
_KEY = re.compile(rf"\s*({_NAME}(?:\s*\.\s*{_NAME})*)\s*=")


def _dotted(text: str) -> list[str]:
    parts = re.findall(r""""([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+)""", text)
    return [a or b or c for a, b, c in parts]


def _toml_lines(text: str) -> dict[Key, int]:
    """Line of each key of a TOML text, found by its table headers and ``key =`` lines; keys of
    inline tables ({a = 1}) are placed by brace depth on their line."""
    lines: dict[Key, int] = {}
    arrays: dict[tuple[str, ...], int] = {}
    table: Key = ()

    def resolve(names: list[str]) -> Key:
        out: list[str | int] = []
        for i, name in enumerate(names):
            out.append(name)
            plain = tuple(names[: i + 1])
            if plain in arrays:
                out.append(arrays[plain])
        return tuple(out)

    depth_keys: list[Key] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0] if '"' not in raw and "'" not in raw else raw
        header = _HEADER.match(line)
        if header and not depth_keys:
            names = _dotted(header.group(2))
            if header.group(1) == "[[":
                arrays[tuple(names)] = arrays.get(tuple(names), -1) + 1
            table = resolve(names)
            lines.setdefault(table, number)
            if header.group(1) == "[[":
                lines[table] = number
            continue
        position = 0
        while position < len(line):
            match = _KEY.match(line, position)
            if match:
                parent = depth_keys[-1] if depth_keys else table
                key = (*parent, *_dotted(match.group(1)))
                lines.setdefault(key, number)
                position = match.end()
                rest = line[position:].lstrip()
                if rest.startswith("{"):
                    depth_keys.append(key)
                    position = line.index("{", position) + 1
                continue
            char = line[position]
            if char == "}" and depth_keys:
                depth_keys.pop()
            position += 1
    return lines


def _read_toml(path: Path, text: str) -> _PositionedFile:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ExperimentError(f"{path}: not valid TOML ({exc}); expected `key = value` lines under "
                              "[table] headers") from exc
    return _PositionedFile(path, data, _toml_lines(text))


def _read_experiment_file(path: Path) -> _PositionedFile:
    """Read a YAML (``.yaml``, ``.yml``) or TOML (``.toml``) experiment file with key positions.

    Parameters
    ----------
    path : the experiment file.

    Returns
    -------
    The data and the line of every key.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "e.yaml").write_text("samples:\\n  - name: a\\n    jobs: {valence: {}}\\n")
    >>> _read_experiment_file(folder / "e.yaml").line(("samples", 0, "jobs", "valence"))
    3
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ExperimentError(f"{path}: not a text file; expected a YAML or TOML experiment file") from exc
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        parsed = _read_yaml(path, text)
    elif suffix == ".toml":
        parsed = _read_toml(path, text)
    else:
        raise ExperimentError(f"{path}: unknown experiment file type {suffix or '(none)'!r}; expected "
                              ".yaml, .yml or .toml")
    if not isinstance(parsed.data, dict):
        raise ExperimentError(f"{path}, line 1: the file holds {type(parsed.data).__name__}; expected a "
                              "mapping with at least `samples:`")
    return parsed


def _pydantic_problems(exc: ValidationError, prefix: Key, origins: dict[str, Key] | None = None,
                      known: list[str] | None = None, what: str = "setting") -> list[_Problem]:
    """Problems of a pydantic error, with each key placed under ``prefix`` (or where ``origins``
    says the setting came from); ``known`` lists the allowed keys for unknown-key messages."""
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        if origins is not None and loc and loc[0] in origins:
            key = (*origins[str(loc[0])], *loc[1:])
        else:
            key = (*prefix, *loc)
        kind = error["type"]
        message = str(error["msg"])
        if kind == "extra_forbidden":
            allowed = f"one of: {', '.join(known)}" if known else "no such key"
            problems.append(_Problem(key, f"not a {what} here", allowed))
        elif kind == "missing":
            problems.append(_Problem(key, "missing", "a value (this key is required)"))
        else:
            given = error.get("input")
            expected = re.sub(r"^(Input should be|Value error, expected|Value error,)\s*", "", message)
            expected = re.sub(r"^String should match pattern .*", "a name of letters, digits, '-', '_' and "
                              "'.' (it becomes a folder name)", expected)
            problems.append(_Problem(key, f"{given!r} does not fit", expected))
    return problems
