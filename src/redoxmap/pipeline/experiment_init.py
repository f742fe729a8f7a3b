"""``redoxmap init-experiment FOLDER``: a commented experiment file made from the files in a folder.

Files are sorted by what they hold: spectral stacks (HDF5, ALS ``.hdr``, TIFF, Xradia, CXI …; an
HDF5 file with ``/exchange/theta`` is a tomography projection file), reference libraries (CSV or
HDF5 with a ``# valence:`` header, as written by :func:`redoxmap.spectra.library.write_library`),
reference spectra (two-column text), cycler files (BioLogic, Arbin, Neware, MACCOR, Novonix
suffixes, or a text file whose header names voltage and current) and volumes (``.zarr``). Each
stack becomes a sample named after its file; its state is guessed from the name (``pristine`` →
cycle 0, ``50cyc``/``cycle50`` → cycle 50, ``4.3V`` → voltage_v 4.3, ``soc80`` → soc_pct 80); a
cycler file whose name contains a sample's name goes with that sample. Libraries and references are
shared. Everything guessed is written as a comment to check.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from redoxmap.errors import ConfigError
from redoxmap.pipeline.jobs import JobConfig, JobResult, Progress

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["InitExperimentConfig", "run_init_experiment"]

STACKS = {".h5", ".hdf5", ".nxs", ".hdr", ".tif", ".tiff", ".txrm", ".xrm", ".cxi"}
CYCLERS = {".mpr", ".mpt", ".res", ".nda", ".ndax"}
TEXT = {".csv", ".txt", ".dat", ".xdi", ".xmu"}


class InitExperimentConfig(JobConfig):
    """Settings of ``redoxmap init-experiment``: the folder to look in, the file to write
    (``output``, default ``FOLDER/experiment.yaml``) and, with ``report``, a folder for the list
    of files found (``files.csv``, ``index.html``).

    Parameters
    ----------
    folder : pathlib.Path
        The folder holding the experiment's files (``FOLDER``), searched recursively.
    output : pathlib.Path, optional
        The experiment file to write (``.yaml``); default ``FOLDER/experiment.yaml``.
    report : pathlib.Path, optional
        Folder for the list of files found.
    overwrite : bool
        Replace an existing experiment file.

    Raises
    ------
    ConfigError
        If ``folder`` is missing or a file.
    """

    folder: Path

    ARGUMENTS: ClassVar[tuple[str, ...]] = ("folder",)
    OUTPUT_SUFFIXES: ClassVar[tuple[str, ...]] = (".yaml", ".yml")

    def check(self) -> None:
        if not self.folder.is_dir():
            what = "no such folder" if not self.folder.exists() else "is a file"
            raise ConfigError(f"{self.folder}: {what} (given as FOLDER); expected the folder of an "
                              "experiment's files")
        if self.output is None:
            self.output = self.folder / "experiment.yaml"
        super().check()


def _kind(path: Path) -> str | None:
    """What a file holds: stack, projections, library, reference, cycler, volume (or None)."""
    suffix = path.suffix.lower()
    name = path.name.lower()
    if path.is_dir():
        return "volume" if suffix == ".zarr" else None
    if suffix in CYCLERS:
        return "cycler"
    if suffix in (".h5", ".hdf5"):
        import h5py

        try:
            with h5py.File(path, "r") as handle:
                if "exchange/theta" in handle:
                    return "projections"
                if "valence" in handle.attrs or any("valence" in handle[k].attrs for k in handle):
                    return "library"
        except OSError:
            return None
        return "stack"
    if suffix in STACKS:
        return None if re.search(r"_(flats?|darks?)\.tiff?$", name) else "stack"
    if suffix in TEXT:
        try:
            with open(path, encoding="latin-1") as handle:
                head = [handle.readline() for _ in range(30)]
        except OSError:
            return None
        text = "".join(head).lower()
        if "# valence:" in text or "valence" in head[0].lower():
            return "library"
        if "voltage" in text or "volts" in text or "ewe" in text:
            return "cycler"
        rows = [line for line in head if line.strip() and not line.lstrip().startswith("#")]
        if rows and len(re.split(r"[,\s;]+", rows[-1].strip())) == 2:
            return "reference"
    return None


def _find_files(folder: Path) -> pd.DataFrame:
    """Every file of ``folder`` (and its subfolders, not hidden ones nor results of a run) that
    redoxmap can use, with its kind.

    Returns
    -------
    A table with columns ``path`` (relative to ``folder``) and ``kind``.
    """
    import pandas as pd  # here, not with the module: settings are checked before it loads

    rows = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        hidden = any(part.startswith(".") for part in relative.parts)
        in_results = any((folder / Path(*relative.parts[:i]) / ".redoxmap").exists()
                         for i in range(1, len(relative.parts)))
        if hidden or in_results:
            continue
        if any(p.suffix.lower() == ".zarr" for p in relative.parents):
            continue
        kind = _kind(path)
        if kind is not None:
            rows.append({"path": relative.as_posix(), "kind": kind})
    return pd.DataFrame(rows, columns=["path", "kind"])


def _guess_state(name: str) -> dict[str, float]:
    """The state a file name suggests.

    Examples
    --------
    >>> [_guess_state(name) for name in ("pristine", "NMC_50cyc", "charged_4.3V", "soc80")]
    [{'cycle': 0}, {'cycle': 50}, {'voltage_v': 4.3}, {'soc_pct': 80}]
    """
    low = name.lower()
    if "pristine" in low or "fresh" in low:
        return {"cycle": 0}
    for pattern, key in ((r"(\d+)\s*_?(?:cycles?|cyc|cy)\b", "cycle"),
                         (r"(?:cycles?|cyc)\s*_?(\d+)", "cycle"), (r"(\d+(?:\.\d+)?)\s*v\b", "voltage_v"),
                         (r"soc\s*_?(\d+(?:\.\d+)?)", "soc_pct"),
                         (r"(\d+(?:\.\d+)?)\s*(?:%|pct)\s*_?soc", "soc_pct")):
        found = re.search(pattern, low.replace("-", "_"))
        if found:
            value = float(found.group(1))
            return {key: int(value) if value.is_integer() else value}
    return {}


def _sample_name(stem: str, taken: set[str]) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("_.-") or "sample"
    name = name if name[0].isalnum() else f"s{name}"
    unique, i = name, 2
    while unique in taken:
        unique, i = f"{name}_{i}", i + 1
    taken.add(unique)
    return unique


def _flow(value: dict) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"


def _template(folder: Path, files: pd.DataFrame) -> str:
    """The commented YAML text of an experiment over ``files`` (see the module docstring)."""
    by_kind = {kind: list(group.path) for kind, group in files.groupby("kind")}
    libraries, references = by_kind.get("library", []), by_kind.get("reference", [])
    stacks, cyclers = by_kind.get("stack", []), list(by_kind.get("cycler", []))
    job = "valence" if libraries else "xanes2d"
    lines = [f"# Experiment made by `redoxmap init-experiment {folder}` from the {len(files)} file(s) "
             "it found.",
             "# Check the guesses marked CHECK, fill in what is missing, then: redoxmap run <this file>",
             "# Relative paths are read from this file's folder. Job settings are the options of the",
             "# commands of the same name (`redoxmap valence --help` …), spelt with underscores.",
             "name: " + folder.resolve().name,
             "output: results            # results folder (one subfolder per sample and job)",
             "scheduler: threads         # threads | processes | synchronous | tcp://host:port",
             "", "shared:"]
    if libraries:
        lines.append(f"  library: {libraries[0]}" + (f"   # CHECK: also found {', '.join(libraries[1:])}"
                                                    if len(libraries) > 1 else ""))
    if references:
        lines.append(f"  references: [{', '.join(references)}]   # reference spectra (xanes2d)")
    if not libraries and not references:
        lines.append("  # library: standards.csv   # no library or reference spectra found: add one")
    lines += ["", "defaults:", f"  {job}:", "    # pixel_size_nm: 10.0     # if the files record none",
              "  profile:", f"    var: {'valence' if job == 'valence' else 'fraction'}"]
    if job == "xanes2d":
        lines.append(f"    component: {Path(references[-1]).stem if references else 'CHECK'}")
    lines += ["    bin_nm: 10.0",
              "    # radius_nm: 500.0       # with time_s: fit diffusion and core-shell models",
              "", "samples:"]
    taken: set[str] = set()
    if not stacks:
        lines.append("  # no spectral stack found; add samples as below")
    def order(stack: str) -> tuple:
        state = _guess_state(Path(stack).stem)
        return (sorted(state), [float(v) for _, v in sorted(state.items())], stack)

    for stack in sorted(stacks, key=order):
        stem = Path(stack).stem
        name = _sample_name(stem, taken)
        state = _guess_state(stem)
        cycler = next((c for c in cyclers if name.lower() in Path(c).stem.lower()), None)
        lines += [f"  - name: {name}",
                  f"    state: {_flow(state) if state else '{cycle: 0}'}"
                  + ("   # CHECK: guessed from the name" if state else "   # CHECK: set"),
                  f"    files: {{stack: {stack}" + (f", file: {cycler}" if cycler else "") + "}",
                  "    jobs:", f"      {job}: {{}}",
                  "      profile: {}   # add time_s: (s at high state of charge)"]
        if cycler:
            cyclers.remove(cycler)
            lines.append("      echem: {}")
    for cycler in cyclers:
        lines.append(f"  # cycler file not matched to a sample: {cycler}")
    for kind in ("projections", "volume"):
        for path in by_kind.get(kind, []):
            lines.append(f"  # {kind} found: {path} (jobs tomo_recon, tomo_xanes, classify, pores)")
    variable = "valence" if job == "valence" else "fraction"
    lines += ["", "summary:", f"  maps: {job}", f"  variable: {variable}"]
    if job == "xanes2d":
        lines.append(f"  component: {Path(references[-1]).stem if references else 'CHECK'}")
    lines += ["  state: cycle               # CHECK: the state key on the x axis", "  shells: 5",
              "  min_particle_px: 20", ""]
    return "\n".join(lines)


def run_init_experiment(config: InitExperimentConfig, progress: Progress | None = None) -> JobResult:
    """Write the commented experiment file (and, with ``report``, the list of files found): each
    stack a sample, its state guessed from its name (``pristine``, ``50cyc``, ``4.3V``), the job
    chosen by the files found (libraries → ``valence``, references → ``xanes2d``), values to check
    marked ``CHECK``.

    Parameters
    ----------
    config : InitExperimentConfig
        The settings.
    progress : callable, optional
        Called as ``progress(stage, done, total)`` as the job advances (the command line draws
        bars from it).

    Returns
    -------
    JobResult
        ``values`` hold ``files`` (table of path and kind) and ``text`` (the file written).

    Examples
    --------
    >>> import tempfile
    >>> from redoxmap.io import write_dxchange
    >>> from redoxmap.simulate import demo_raw_stack
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name in ("pristine", "cycle50"):
    ...     write_dxchange(demo_raw_stack(shape=(8, 8)), folder / f"{name}.h5")
    >>> _ = (folder / "Mn2O3.csv").write_text("6500,0.1\\n6600,1.0\\n")
    >>> result = run_init_experiment(InitExperimentConfig(folder=folder))
    >>> result.files.values.tolist()
    [['Mn2O3.csv', 'reference'], ['cycle50.h5', 'stack'], ['pristine.h5', 'stack']]
    >>> "cycle: 50" in result.text
    True
    """
    from redoxmap.report.files import save_table, save_text

    files = _find_files(config.folder)
    text = _template(config.folder, files)
    assert config.output is not None
    written = [save_text(text, config.output.parent, config.output.name)]
    if config.report is not None:
        written.append(save_table(files, config.report, "files.csv"))
        rows = "".join(f"<tr><td>{p}</td><td>{k}</td></tr>"
                       for p, k in zip(files.path, files.kind, strict=True))
        written.append(save_text(f"<!doctype html><html><body><h1>Files in {config.folder}</h1><table>"
                                 f"<tr><th>file</th><th>kind</th></tr>{rows}</table></body></html>",
                                 config.report, "index.html"))
    counts = files.kind.value_counts()
    summary = [(kind, str(int(counts[kind]))) for kind in counts.index]
    return JobResult(title=f"{len(files)} file(s) in {config.folder}", summary=summary, written=written,
                     values={"files": files, "text": text})
