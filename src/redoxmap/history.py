"""Provenance: every stage appends one line to ``attrs["history"]``."""

from __future__ import annotations

from typing import Any

from redoxmap._version import __version__


def with_history(attrs: dict[str, Any], step: str, **params: Any) -> dict[str, Any]:
    """Return a copy of ``attrs`` whose ``history`` list ends with ``step(params) [version]``.

    >>> with_history({}, "bin_pixels", factor=2)["history"][-1].startswith("bin_pixels(factor=2)")
    True
    """
    args = ", ".join(f"{k}={v!r}" for k, v in params.items())
    line = f"{step}({args}) [redoxmap {__version__}]"
    history = list(attrs.get("history", []))
    history.append(line)
    return {**attrs, "history": history}
