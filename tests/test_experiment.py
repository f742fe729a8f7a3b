"""Experiment files (issue 17): the example cycling experiment recovers its simulated trend, reruns
only what changed, and names every mistake with its key, line and what was expected, losing nothing
already computed."""

import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from redoxmap.cli import app, main
from redoxmap.errors import ExperimentError, RedoxmapWarning
from redoxmap.pipeline.experiment import ExperimentConfig, run_experiment
from redoxmap.pipeline.experiment_file import _toml_lines
from redoxmap.pipeline.experiment_plan import _make_plan
from redoxmap.simulate.cycled import CYCLING_STATES, true_shell_means, write_cycling_experiment

EXAMPLE = Path(__file__).parent.parent / "examples" / "experiment" / "experiment.yaml"
runner = CliRunner()


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """The example experiment at the size CI runs it (2 platelets per state, 128² px), run once
    through the command line."""
    folder = tmp_path_factory.mktemp("experiment")
    sims = write_cycling_experiment(folder, size_px=128, n_particles=2)
    shutil.copy(EXAMPLE, folder / "experiment.yaml")
    done = runner.invoke(app, ["run", str(folder / "experiment.yaml")])
    assert done.exit_code == 0, done.output
    return folder, sims, done.output


@pytest.fixture()
def copy(first_run, tmp_path):
    """A copy of the experiment folder after its first run (modification times kept)."""
    folder = tmp_path / "experiment"
    shutil.copytree(first_run[0], folder)
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), start=1) if text in line)


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


def test_example_recovers_the_simulated_trend(first_run):
    """Surface-shell valence per state within 0.05 of the truth, D within ×1.5, diffusion preferred;
    one row per particle per sample, the same in CSV and Parquet, and the comparison report."""
    folder, sims, output = first_run
    results = folder / "results"
    table = pd.read_csv(results / "particles.csv")
    assert len(table) == 6 and list(table["sample"].unique()) == list(CYCLING_STATES)
    assert set(table.state_cycle) == {0, 50, 100}
    for name, state in CYCLING_STATES.items():
        rows = table[table["sample"] == name]
        truth = true_shell_means(sims[name])[:, 0].mean()
        assert abs(rows.valence_shell1_mean.mean() - truth) < 0.05, name
        d = 10 ** np.log10(rows.d_cm2_s).mean()
        assert state["diffusivity_cm2_s"] / 1.5 < d < state["diffusivity_cm2_s"] * 1.5, name
        assert (rows.preferred_model == "diffusion").all()
        assert (rows.d_ci95_low_cm2_s < rows.d_cm2_s).all() and (rows.d_cm2_s < rows.d_ci95_high_cm2_s).all()
    radii = np.sort(np.concatenate([s.truth.radius_nm.values for s in sims.values()]))
    assert np.allclose(np.sort(table.equivalent_diameter_nm / 2), radii, rtol=0.03)
    parquet = pd.read_parquet(results / "particles.parquet")
    pd.testing.assert_frame_equal(parquet, table, check_dtype=False)
    states = pd.read_csv(results / "states.csv")
    assert list(states.particles) == [2, 2, 2]
    assert states.valence_shell1_mean.is_monotonic_decreasing  # the simulated trend
    for name in ("index.html", "maps.png", "trend.png", "profiles.png"):
        assert (results / "report" / name).stat().st_size > 1000
    assert "10 step(s) ran, 0 up to date" in output


def test_second_run_does_no_work(first_run):
    """Nothing changed: every step is up to date, no output is rewritten and no input is read
    again (their hashes come from the stat cache)."""
    folder = first_run[0]
    before = _snapshot(folder / "results")
    result = run_experiment(ExperimentConfig(experiment=folder / "experiment.yaml"))
    assert result.ran == [] and len(result.cached) == 10
    assert result.hashed_bytes == 0
    after = _snapshot(folder / "results")
    assert {k: v for k, v in after.items() if ".redoxmap" not in k} == \
        {k: v for k, v in before.items() if ".redoxmap" not in k}


def test_touched_input_is_hashed_again_but_nothing_reruns(copy):
    """A copied or touched file with the same bytes is read again, but nothing reruns."""
    assert run_experiment(ExperimentConfig(experiment=copy / "experiment.yaml")).ran == []  # new paths
    stack = copy / "cycle50.h5"
    os.utime(stack, ns=(stack.stat().st_atime_ns, stack.stat().st_mtime_ns + 10**9))
    result = run_experiment(ExperimentConfig(experiment=copy / "experiment.yaml"))
    assert result.ran == [] and result.hashed_bytes == stack.stat().st_size


def test_changing_one_sample_setting_reruns_only_that_sample(copy):
    sample = "  - name: cycle50\n    state: {cycle: 50}\n    files: {stack: cycle50.h5}\n    jobs:\n"
    _edit(copy / "experiment.yaml", sample + "      valence: {}",
          sample + "      valence: {max_shift_px: 5.0}")
    result = run_experiment(ExperimentConfig(experiment=copy / "experiment.yaml"))
    assert sorted(result.ran) == ["cycle50/particles", "cycle50/profile", "cycle50/valence", "summary"]
    assert len(result.cached) == 6


def test_same_experiment_in_toml_finds_the_results_up_to_date(copy):
    """TOML is read into the same plan: the YAML run's results are up to date for it."""
    toml = copy / "experiment.toml"
    samples = "".join(
        f'\n[[samples]]\nname = "{name}"\nstate = {{cycle = {s["cycle"]}}}\nfiles = {{stack = "{name}.h5"}}\n'
        f'[samples.jobs.valence]\n[samples.jobs.profile]\ntime_s = {s["time_s"]}\n'
        for name, s in CYCLING_STATES.items())
    toml.write_text('name = "Mn-oxide platelets, pristine to 100 cycles"\noutput = "results"\nworkers = 3\n'
                    '[shared]\nlibrary = "mn_l3_standards.csv"\n'
                    '[defaults.valence]\npixel_size_nm = 5.0\nalign = false\n'
                    '[defaults.profile]\nvar = "valence"\nbin_nm = 5.0\ngeometry = "cylinder"\n'
                    'view = "section"\n'
                    'radius_nm = 145.0\nmodel = ["diffusion", "core-shell"]\n'
                    '[summary]\nmaps = "valence"\nvariable = "valence"\nstate = "cycle"\n' + samples)
    result = run_experiment(ExperimentConfig(experiment=toml))
    assert result.ran == [] and len(result.cached) == 10


@pytest.mark.parametrize("old, new, marker, key, expected", [
    ("    bin_nm: 5.0", "    bin_mn: 5.0", "bin_mn", "defaults.profile.bin_mn",
     "not a setting of profile here; expected one of: bin_nm, component, geometry"),
    ("      valence: {}\n      profile: {time_s: 1.44e+5}",
     "      valance: {}\n      profile: {time_s: 1.44e+5}",
     "valance", "samples[1].jobs.valance", "'valance' is not a job; expected one of xanes2d, valence"),
    ("files: {stack: cycle50.h5}", "files: {stack: cycle5.h5}", "cycle5.h5", "samples[1].files.stack",
     "cycle5.h5: no such file; expected an existing file"),
    ("profile: {time_s: 1.44e+5}", "profile: {time_s: soon}", "soon", "samples[1].jobs.profile.time_s",
     "'soon' does not fit; expected a valid number"),
    ("workers: 3", "workers: three", "workers: three", "workers",
     "'three' does not fit; expected a valid integer"),
    ("  state: cycle ", "  state: cylce ", "state: cylce", "summary.state",
     "'cylce' is not in the state of pristine, cycle50, cycle100; expected a key of every sample's state "
     "(cycle)"),
])
def test_mistakes_name_key_line_and_expected_and_lose_nothing(copy, old, new, marker, key, expected):
    """A wrong key, a missing file or a wrong type: one error naming the key, its line and what was
    expected, before any work; the results of the earlier run are untouched."""
    path = copy / "experiment.yaml"
    _edit(path, old, new)
    before = _snapshot(copy / "results")
    with pytest.raises(ExperimentError) as error:
        ExperimentConfig(experiment=path)
    message = str(error.value)
    assert message.count("\n") == 0, message  # one problem, one line
    assert f"experiment.yaml, line {_line_of(path, marker)}: {key}: " in message, message
    assert expected in message, message
    assert _snapshot(copy / "results") == before


def test_command_line_error_exits_2_with_the_line(copy, monkeypatch, capsys):
    path = copy / "experiment.yaml"
    _edit(path, "align: false", "align: sometimes")
    monkeypatch.setattr("sys.argv", ["redoxmap", "run", str(path)])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"line {_line_of(path, 'align: sometimes')}: defaults.valence.align: 'sometimes' does not fit; " \
           "expected a valid boolean" in err


def test_failed_step_keeps_everything_computed(copy):
    """A sample whose stack cannot be read fails alone: the other samples are up to date, the error
    names the failed step and its line, the last good result of that step stays, and undoing the
    change finds it up to date again."""
    path = copy / "experiment.yaml"
    (copy / "broken.h5").write_bytes(b"not an HDF5 file" * 64)
    _edit(path, "files: {stack: cycle50.h5}", "files: {stack: broken.h5}")
    kept = (copy / "results" / "cycle50" / "valence" / "maps.nc").stat().st_mtime_ns
    with pytest.raises(ExperimentError) as error:
        run_experiment(ExperimentConfig(experiment=path))
    message = str(error.value)
    line = _line_of(path, "broken.h5") + 2  # the sample's `valence:` job
    assert f"line {line}: samples[1].jobs.valence: failed: " in message, message
    assert "samples[1].jobs.profile: blocked: needs valence" in message
    assert "What the other steps computed is kept" in message
    assert (copy / "results" / "cycle50" / "valence" / "step-failed.json").exists()
    assert (copy / "results" / "cycle50" / "valence" / "maps.nc").stat().st_mtime_ns == kept
    _edit(path, "files: {stack: broken.h5}", "files: {stack: cycle50.h5}")
    result = run_experiment(ExperimentConfig(experiment=path))
    assert result.ran == []
    assert not (copy / "results" / "cycle50" / "valence" / "step-failed.json").exists()


def test_without_pyarrow_only_the_csv_is_written(copy, monkeypatch):
    monkeypatch.setattr("redoxmap.pipeline.experiment._parquet_available", lambda: False)
    with pytest.warns(RedoxmapWarning, match="pyarrow is not installed"):
        result = run_experiment(ExperimentConfig(experiment=copy / "experiment.yaml"))
    assert result.ran == ["summary"]
    assert ("particles.parquet", "not written: pyarrow is not installed") in result.summary
    assert not (copy / "results" / "particles.parquet").exists()
    assert (copy / "results" / "particles.csv").exists()


def test_results_folder_of_other_files_needs_overwrite(copy, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(Exception, match="holds files that are not the results of an experiment"):
        ExperimentConfig(experiment=copy / "experiment.yaml", output=other)


def test_init_experiment_writes_a_template_that_plans(first_run, tmp_path):
    folder = first_run[0]
    out = tmp_path / "experiment.yaml"
    done = runner.invoke(app, ["init-experiment", str(folder), "-o", str(out),
                               "--report", str(tmp_path / "r")])
    assert done.exit_code == 0, done.output
    text = out.read_text()
    assert re.findall(r"- name: (\w+)\n    state: \{cycle: (\d+)\}", text) == \
        [("pristine", "0"), ("cycle50", "50"), ("cycle100", "100")]
    assert "library: mn_l3_standards.csv" in text
    shutil.copy(out, folder / "from_template.yaml")
    plan = _make_plan(folder / "from_template.yaml")
    assert {s: [step.job for step in steps] for s, steps in plan.steps.items()} == \
        {name: ["valence", "profile"] for name in ("pristine", "cycle50", "cycle100")}
    files = pd.read_csv(tmp_path / "r" / "files.csv")
    assert sorted(files.kind) == ["library", "stack", "stack", "stack"]


def test_toml_lines_follow_tables_and_inline_keys():
    text = ('name = "x"\n[shared]\nlibrary = "a.csv"\n\n[[samples]]\nname = "a"\nstate = {cycle = 0, '
            'time_s = 5}\n[samples.jobs.valence]\nmode = "auto"\n[[samples]]\nname = "b"\n'
            '[samples.jobs.profile]\nbin_nm = 5\n')
    lines = _toml_lines(text)
    assert lines[("shared", "library")] == 3
    assert lines[("samples", 0, "state", "time_s")] == 7
    assert lines[("samples", 0, "jobs", "valence", "mode")] == 9
    assert lines[("samples", 1, "name")] == 11
    assert lines[("samples", 1, "jobs", "profile", "bin_nm")] == 13


def test_docstring_examples_run():
    import doctest

    import redoxmap.pipeline.experiment_file
    import redoxmap.pipeline.experiment_init
    import redoxmap.pipeline.experiment_table
    import redoxmap.simulate.cycled

    for module in (redoxmap.pipeline.experiment_file, redoxmap.pipeline.experiment_init,
                   redoxmap.pipeline.experiment_table, redoxmap.simulate.cycled):
        assert doctest.testmod(module).failed == 0, module.__name__
