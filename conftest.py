"""Collection rules for ``make test``: the docstring examples of src/redoxmap are collected with the
tests; a package that needs an optional extra is left out when the extra is not installed; the
longest test files run first."""

import importlib.util
import os

# One BLAS thread per test process: `make test` runs two xdist workers on two cores, and OpenBLAS's
# threads on small products (scikit-image's upsampled phase correlation, 8 per projection in the
# jitter alignment) spin while they wait: 50 registrations of 128² images took 1.12 s of CPU with
# its default threads and 0.13 s with one, on the loaded 2-core machine. Set here, before the
# workers start (they inherit it and read it when numpy loads); a value already set is kept.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

#: redoxmap package → the module its optional extra installs.
_EXTRAS = {"src/redoxmap/napari": "napari"}

collect_ignore = [path for path, module in _EXTRAS.items() if importlib.util.find_spec(module) is None]

#: The longest test files, longest first (CPU s in one run of `make test`: 68, 61, 59, 45, 44, 42,
#: 29, 22; the next is 16). `--dist loadfile --no-loadscope-reorder` hands the files to the two
#: workers in collection order, so these go first and both workers end on short files. (xdist's
#: default order, most tests first, left the one-test files of a minute each to the end: one
#: worker finished 100 s after the other.)
LONGEST_FIRST = ("tests/test_tomo.py", "tests/test_tomo_chemistry.py", "tests/test_tomo_classes_full_scan.py",
                 "tests/test_fuzz_cyclers.py", "tests/test_fuzz_readers.py", "tests/test_demo.py",
                 "tests/test_napari.py", "tests/test_transport.py")


def pytest_collection_modifyitems(items):
    """Move the tests of :data:`LONGEST_FIRST` to the front, in its order; the rest keep theirs."""
    rank = {path: k for k, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
