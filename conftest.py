"""Collection rules for ``make test``: the docstring examples of src/redoxmap are collected with the
tests; a package that needs an optional extra is left out when the extra is not installed."""

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
