"""Saving report files (figures, tables, pages) each under a temporary name, then renamed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from redoxmap.io.atomic import atomic_output

__all__ = ["save_figure", "save_table", "save_text"]


def save_figure(fig: Figure, folder: str | Path, name: str, dpi: int = 150) -> Path:
    """Write ``fig`` as PNG to ``folder/name``, replacing an older report file of that name.

    Parameters
    ----------
    fig : the figure.
    folder : the report folder (created if missing).
    name : file name, e.g. ``"fraction.png"``.
    dpi : resolution.

    Returns
    -------
    The path written.
    """
    path = Path(folder) / name
    with atomic_output(path, overwrite=True) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    return path


def save_table(table: pd.DataFrame, folder: str | Path, name: str, index: bool = False) -> Path:
    """Write ``table`` as CSV to ``folder/name`` (see :func:`save_figure`)."""
    path = Path(folder) / name
    with atomic_output(path, overwrite=True) as tmp:
        table.to_csv(tmp, index=index)
    return path


def save_text(text: str, folder: str | Path, name: str) -> Path:
    """Write ``text`` (UTF-8) to ``folder/name`` (see :func:`save_figure`)."""
    path = Path(folder) / name
    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
