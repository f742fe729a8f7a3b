"""What every job shares: a typed configuration checked before any work starts, a result that
lists what was written, and progress reporting.

A job is one function ``run_<name>(config, progress=None) -> result``. Its configuration is a
pydantic model holding every default once; the command line only fills it. Building a
configuration validates it: types and ranges of every setting, input files that exist and are
files (or stores), outputs whose suffix fits, that do not exist (unless ``overwrite``), are not one
of the inputs and can be written. Mistakes are reported as :class:`ConfigError` or
:class:`OutputError` naming the option as it is spelled on the command line.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from redoxmap.errors import ConfigError, OutputError

__all__ = ["JobConfig", "JobResult", "Progress"]

#: progress(stage, done, total): called as a job advances.
Progress = Callable[[str, int, int], None]


def _option_name(field_name: str, arguments: tuple[str, ...] = (),
                renamed: dict[str, str] | None = None) -> str:
    """The command-line spelling of a setting: ``voxel_size_nm`` → ``--voxel-size-nm``;
    positional arguments in capitals (``stack`` → ``STACK``); ``renamed`` for the few options
    spelled otherwise (``references`` → ``--ref``).

    Examples
    --------
    >>> _option_name("voxel_size_nm"), _option_name("stack", ("stack",))
    ('--voxel-size-nm', 'STACK')
    """
    if renamed and field_name in renamed:
        return renamed[field_name]
    if field_name in arguments:
        return field_name.upper()
    return "--" + field_name.replace("_", "-")


@dataclass
class JobResult:
    """What a job did: a title, rows of a summary (label, value) for people, the files it wrote,
    and the data it made (``values``) for scripts; ``result.maps`` reads ``result.values["maps"]``.

    Parameters
    ----------
    title : str
        One line saying what was done (the command line's table title).
    summary : list of (str, str)
        Rows (label, value) for people, units in the labels or values.
    written : list of pathlib.Path
        Every file or folder the job wrote, in order.
    values : dict of str to object
        The data the job made (maps, tables, volumes …), also readable as attributes.

    Examples
    --------
    >>> result = JobResult("fit", [("mean R", "1e-3")], values={"maps": "the maps"})
    >>> result.maps, result.summary[0][0]
    ('the maps', 'mean R')
    """

    title: str
    summary: list[tuple[str, str]] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name]
        raise AttributeError(name)


class JobConfig(BaseModel):
    """Settings of a job, checked when made (module doc). Subclasses add their fields and say which
    are input files (``INPUTS``), which are positional on the command line (``ARGUMENTS``) and
    which output suffixes they write (``OUTPUT_SUFFIXES``).

    Parameters
    ----------
    output : pathlib.Path, optional
        The job's main output file (``-o/--output``); its suffix must be one of
        ``OUTPUT_SUFFIXES``. None writes no file (the result still holds the data).
    overwrite : bool
        Replace an existing output or a report folder that holds files (never an input).
    report : pathlib.Path, optional
        Folder for the report (figures, tables, ``index.html``); None writes none.

    Raises
    ------
    ConfigError
        If a setting has the wrong type or range, or an input is missing or a folder.
    OutputError
        If an output exists (without ``overwrite``), would replace an input, has the wrong suffix
        or cannot be written.

    Examples
    --------
    >>> JobConfig(report="no/such/parent/report").report.name
    'report'
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    output: Path | None = None
    overwrite: bool = False
    report: Path | None = None

    INPUTS: ClassVar[tuple[str, ...]] = ()
    ARGUMENTS: ClassVar[tuple[str, ...]] = ()
    RENAMED: ClassVar[dict[str, str]] = {"references": "--ref", "names": "--name"}
    OUTPUT_SUFFIXES: ClassVar[tuple[str, ...]] = ()
    OUTPUT_REQUIRED: ClassVar[bool] = False

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(_describe(exc, type(self))) from exc
        self.check()

    def settings(self) -> dict[str, Any]:
        """Plain, printable settings (paths as strings) for reports and history."""
        def plain(value: Any) -> Any:
            if isinstance(value, Path):
                return str(value)
            if isinstance(value, list | tuple):
                return [plain(v) for v in value]
            return value

        return {k: plain(v) for k, v in self.model_dump().items()}

    def record(self, job: str) -> str:
        """The job's name and settings as one JSON line, input paths made absolute and the
        output settings left out: what a maps file keeps (attribute ``job``) so that one pixel
        can be fitted again from its source (:func:`redoxmap.pipeline.refit.fit_inputs`).

        >>> json.loads(JobConfig().record("example"))
        {'job': 'example', 'settings': {}}
        """
        inputs = set(type(self).INPUTS)
        settings = {}
        for name, value in self.settings().items():
            if name in ("output", "overwrite", "report"):
                continue
            if name in inputs and value is not None:
                value = ([str(Path(v).resolve()) for v in value] if isinstance(value, list)
                         else str(Path(value).resolve()))
            settings[name] = value
        return json.dumps({"job": job, "settings": settings})

    def flag(self, name: str) -> str:
        """Command-line spelling of the setting ``name``."""
        return _option_name(name, type(self).ARGUMENTS, type(self).RENAMED)

    def input_paths(self) -> list[tuple[str, Path]]:
        """(setting, path) of every input file given."""
        out = []
        for name in type(self).INPUTS:
            value = getattr(self, name)
            for path in value if isinstance(value, list | tuple) else [value]:
                if path is not None:
                    out.append((name, Path(path)))
        return out

    def check(self) -> None:
        """Check inputs and outputs before any work: see the module docstring."""
        for name, path in self.input_paths():
            if not path.exists():
                raise ConfigError(f"{path}: no such file (given as {self.flag(name)})")
            if path.is_dir() and path.suffix.lower() != ".zarr":
                raise ConfigError(f"{path}: is a folder; expected a file (given as {self.flag(name)})")
        inputs = {p.resolve() for _, p in self.input_paths()}
        if self.output is None and type(self).OUTPUT_REQUIRED:
            raise ConfigError(f"{self.flag('output')} is required: the file to write")
        if self.output is not None:
            _check_output(self.output, type(self).OUTPUT_SUFFIXES, self.overwrite, inputs)
        if self.report is not None:
            _check_report_folder(self.report, self.overwrite, inputs)


def _describe(exc: ValidationError, config: type[JobConfig]) -> str:
    """One line per problem: the option, the value given and what was expected."""
    lines = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"] if not isinstance(part, int)]
        name = _option_name(loc[0], config.ARGUMENTS, config.RENAMED) if loc else "setting"
        if error["type"] == "extra_forbidden":
            lines.append(f"{name}: not a setting of this job")
            continue
        given = error.get("input")
        shown = "" if error["type"] == "missing" else f" = {given!r}"
        lines.append(f"{name}{shown}: {error['msg'][:1].lower()}{error['msg'][1:]}")  # keeps units: 1GB
    return "; ".join(lines)


def _writable_folder(path: Path) -> Path | None:
    """The nearest existing ancestor of ``path`` if it is a file or a folder we cannot write to
    (tried by creating and removing a temporary file there: permission bits do not tell for root or
    for read-only file systems)."""
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return ancestor
    try:
        with tempfile.NamedTemporaryFile(dir=ancestor, prefix=".redoxmap-write-test-"):
            pass
    except OSError:
        return ancestor
    return None


def _check_output(path: Path, suffixes: tuple[str, ...], overwrite: bool, inputs: set[Path]) -> None:
    """Raise :class:`OutputError` unless ``path`` can be written as a new output."""
    if suffixes and path.suffix.lower() not in suffixes:
        raise OutputError(f"{path}: unknown output type {path.suffix or '(none)'!r}; expected "
                          f"{' or '.join(suffixes)} (--output)")
    if path.resolve() in inputs:
        raise OutputError(f"{path}: the output would overwrite an input file; choose another name")
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise OutputError(f"{path}: exists already; choose another name or pass --overwrite")
    blocked = _writable_folder(path)
    if blocked is not None:
        what = "is a file" if blocked.exists() and not blocked.is_dir() else "cannot be written"
        raise OutputError(f"{path}: {blocked} {what}; expected a folder we can write to")


def _check_report_folder(folder: Path, overwrite: bool, inputs: set[Path]) -> None:
    """Raise :class:`OutputError` unless ``folder`` can take a new report."""
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}: is a file; expected a folder for the report (--report)")
    if folder.resolve() in inputs:
        raise OutputError(f"{folder}: the report would overwrite an input; choose another folder")
    if folder.is_dir() and any(folder.iterdir()) and not overwrite:
        raise OutputError(f"{folder}: holds files already; choose another report folder or pass "
                          "--overwrite")
    blocked = _writable_folder(folder / "index.html")
    if blocked is not None:
        raise OutputError(f"{folder}: {blocked} cannot be written; expected a folder we can write to")
