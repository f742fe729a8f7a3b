"""Athena project files (``.prj``) through xraylarch's reader, an optional extra:
``pip install redoxmap[larch]``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from redoxmap.errors import FormatError, MissingExtraError


def read_athena(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every group of an Athena project as ``{label: (energy_ev, mu)}``.

    Energies include the group's Athena calibration shift (``bkg_eshift``); μ is the stored,
    un-normalized μ(E) (normalize with :func:`redoxmap.preprocess.normalize.normalize_stack`).
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: Athena project not found")
    try:
        from larch.io import read_athena as larch_read_athena
    except ImportError as exc:
        raise MissingExtraError(
            f"{path}: reading Athena projects needs xraylarch, an optional extra: "
            "pip install 'redoxmap[larch]'"
        ) from exc
    try:
        project = larch_read_athena(str(path))
    except Exception as exc:  # larch raises plain errors on malformed projects
        raise FormatError(f"{path}: not a readable Athena project ({exc})") from exc
    out = {}
    for name, group in project.groups.items():
        shift = float(getattr(group, "energy_shift", 0.0) or 0.0)
        out[str(getattr(group, "label", name))] = (np.asarray(group.energy, float) + shift,
                                                   np.asarray(group.mu, float))
    if not out:
        raise FormatError(f"{path}: the project holds no groups")
    return out
