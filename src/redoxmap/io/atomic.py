"""Writing outputs so that nothing half-written ever sits under a final name.

Every writer of redoxmap writes to a temporary name in the target folder and renames it onto the
target when complete (:func:`atomic_output`). A run that fails removes its temporary file; a run
that is killed leaves one named ``.<name>.<pid>-<random>.tmp…``, which the next write to the same
target removes once that process is gone.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from redoxmap.errors import OutputError

__all__ = ["atomic_output"]


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Remove the temporary outputs that killed runs left beside ``path``.

    Parameters
    ----------
    path : the final output path.

    Returns
    -------
    The temporaries removed (those of processes that no longer run).
    """
    path = Path(path)
    removed = []
    if not path.parent.is_dir():
        return removed
    for candidate in path.parent.glob(f".{path.name}.*-*.tmp*"):
        pid_text = candidate.name[len(path.name) + 2:].split("-", 1)[0]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and not _alive(int(pid_text)):
            _remove(candidate)
            removed.append(candidate)
    return removed


@contextmanager
def atomic_output(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    r"""Write an output under a temporary name beside ``path`` and move it onto ``path`` when the block
    ends without error, otherwise delete it (module doc): nothing half-written ever sits under the
    final name.

    Parameters
    ----------
    path : str or pathlib.Path
        The final output path (a file, or a folder such as a Zarr store); its folder is created if
        missing.
    overwrite : bool
        Replace an existing ``path``; without it an existing ``path`` raises before anything is
        written.

    Yields
    ------
    pathlib.Path
        The temporary path to write to (same folder and suffix as ``path``).

    Raises
    ------
    OutputError
        If ``path`` exists (without ``overwrite``), its folder is a file, or the folder or file
        cannot be written.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "table.csv"
    >>> with atomic_output(target) as tmp:
    ...     _ = tmp.write_text("a,b\n1,2\n")
    >>> target.read_text()
    'a,b\n1,2\n'
    """
    path = Path(path)
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise OutputError(f"{path}: exists already; choose another name or pass --overwrite")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise OutputError(f"{path}: its folder {path.parent} is a file; expected a folder") from exc
    except PermissionError as exc:
        raise OutputError(f"{path}: cannot create the folder {path.parent} (permission denied)") from exc
    _remove_stale_temporaries(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp{path.suffix}")
    try:
        yield tmp
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except PermissionError as exc:
        raise OutputError(f"{path}: cannot be written (permission denied)") from exc
    finally:
        _remove(tmp)
