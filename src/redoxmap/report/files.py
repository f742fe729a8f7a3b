"""Saving report files (figures, tables, pages) each under a temporary name, then renamed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from redoxmap.io.atomic import atomic_output

__all__ = ["save_figure", "save_table", "save_text"]


def save_figure(fig: Figure, folder: str | Path, name: str, dpi: int = 150) -> Path:
    """Write a figure as PNG to ``folder/name`` under a temporary name, then renamed
    (:func:`redoxmap.io.atomic_output`), replacing an older report file of that name.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    folder : str or pathlib.Path
        The report folder (created if missing).
    name : str
        File name, e.g. ``"fraction.png"``.
    dpi : int
        Resolution (dots per inch).

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import tempfile
    >>> from matplotlib.figure import Figure
    >>> save_figure(Figure(), tempfile.mkdtemp(), "empty.png").name
    'empty.png'
    """
    path = Path(folder) / name
    with atomic_output(path, overwrite=True) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    return path


def save_table(table: pd.DataFrame, folder: str | Path, name: str, index: bool = False) -> Path:
    r"""Write a table as CSV to ``folder/name`` (atomically, as :func:`save_figure`).

    Parameters
    ----------
    table : pandas.DataFrame
        The table.
    folder : str or pathlib.Path
        The report folder (created if missing).
    name : str
        File name, e.g. ``"cycles.csv"``.
    index : bool
        Write the index as a column.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import tempfile
    >>> path = save_table(pd.DataFrame({"a": [1, 2]}), tempfile.mkdtemp(), "t.csv")
    >>> path.read_text()
    'a\n1\n2\n'
    """
    path = Path(folder) / name
    with atomic_output(path, overwrite=True) as tmp:
        table.to_csv(tmp, index=index)
    return path


def save_text(text: str, folder: str | Path, name: str) -> Path:
    """Write text (UTF-8) to ``folder/name`` (atomically, as :func:`save_figure`).

    Parameters
    ----------
    text : str
        The text, e.g. an HTML page or JSON.
    folder : str or pathlib.Path
        The report folder (created if missing).
    name : str
        File name.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import tempfile
    >>> save_text("{}", tempfile.mkdtemp(), "summary.json").read_text()
    '{}'
    """
    path = Path(folder) / name
    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
