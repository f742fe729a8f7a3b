"""Collection rules for ``make test``: the docstring examples of src/redoxmap are collected with the
tests; a package that needs an optional extra is left out when the extra is not installed."""

import importlib.util

#: redoxmap package → the module its optional extra installs.
_EXTRAS = {"src/redoxmap/napari": "napari"}

collect_ignore = [path for path, module in _EXTRAS.items() if importlib.util.find_spec(module) is None]
