"""The architecture the design states, checked on every test run: layers import one way, no import
cycles, a fast lazy top-level import, and the public API reachable from ``import redoxmap``."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_import_linter_contracts_hold():
    """The import-linter contracts of pyproject.toml (layers, echem and simulate beside the stages,
    no napari or Qt outside the plugin, no cycles) are kept."""
    linter = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert linter, "import-linter is a test dependency (pip install -e '.[test]')"
    done = subprocess.run([linter], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "5 kept, 0 broken" in done.stdout


def test_top_level_import_is_lazy_and_fast():
    """``import redoxmap`` loads no sub-package (measured with a fresh interpreter); the sub-packages
    appear on first use."""
    code = ("import sys, time; t = time.perf_counter(); import redoxmap as rm; "
            "dt = time.perf_counter() - t; loaded = [m for m in sys.modules if m.startswith('redoxmap.')]; "
            "numpy = 'numpy' in sys.modules; "
            "rm.fit.lincomb; rm.tomo.reconstruct; rm.echem.read_cycler; rm.pipeline.run_xanes2d; "
            "print(dt, len(loaded), numpy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    seconds, loaded, numpy_loaded = out.split()
    assert float(seconds) < 0.3
    assert int(loaded) <= 3  # _version, errors and history only
    assert numpy_loaded == "False"
