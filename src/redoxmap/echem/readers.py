"""Cycler files into one tidy table.

Standard columns (one row per recorded point):

========================  ===================================================================
``time_s``                test time (s), as the cycler records it (BioLogic files of a series
                          start where the previous file stopped)
``voltage_v``             cell / working-electrode voltage (V)
``current_a``             current (A), **positive on charge**, negative on discharge
``capacity_ah``           net charge passed since the start of the record, ∫I dt (Ah)
``charge_capacity_ah``    charge passed while charging, cumulative over the record (Ah)
``discharge_capacity_ah`` charge passed while discharging, cumulative and positive (Ah)
``cycle``                 the cycler's cycle number
``step``                  the cycler's step number
``step_type``             "charge", "discharge" or "rest" (from the sign of the current)
========================  ===================================================================

plus the source's own columns with a prefix naming the format (``arbin_``, ``maccor_``, …).
``attrs["start_time"]`` (ISO 8601, the cycler's clock) is the moment of ``time_s = 0`` where the
file states it: BioLogic ("Acquisition started on"), Neware (the first timestamp), MACCOR (the
first ``DPt Time``); :func:`redoxmap.echem.sync.sync_scans` uses it to place scans.
Cumulative counters are rebuilt from the cyclers' own counters, which restart per step or per cycle
(:func:`accumulate`). ``attrs`` holds ``source``, ``format`` and what the header states (mass,
schedule).

The format is recognised from the content, not the extension:

* BioLogic EC-Lab ``.mpr`` (galvani) and ``.mpt`` text exports (own parser),
* Neware ``.nda``/``.ndax`` (NewareNDA) and Neware BTS CSV exports (own parser),
* Arbin ``.res`` (an MS-Access database, through ``mdb-export`` of Debian's ``mdbtools``) and
  Arbin CSV exports (own parser),
* MACCOR text exports and raw exports (own parser: ``Rec#``/``Cyc#``/``Step``/``Amps``/``Volts``),
* Novonix HPC CSV exports (own parser),
* any of these compressed with gzip (``.gz``).
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
import warnings
import zlib
from pathlib import Path

import pandas as pd

#: |current| below this fraction of the largest |current| counts as rest.
from redoxmap.echem import arbin, biologic, maccor, neware, novonix
from redoxmap.echem.table import GZIP_MAGIC, JET_MAGIC
from redoxmap.errors import FormatError


def _read_gzip(path: Path) -> pd.DataFrame:
    inner_name = path.name[:-3] if path.name.endswith(".gz") else path.name + ".raw"
    with tempfile.TemporaryDirectory(prefix="redoxmap-") as tmp:
        inner = Path(tmp) / inner_name
        try:
            with gzip.open(path, "rb") as src, open(inner, "wb") as dst:
                shutil.copyfileobj(src, dst)
        except (OSError, EOFError, zlib.error) as exc:
            raise FormatError(f"{path}: truncated or damaged gzip file ({exc})") from exc
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                data = read_cycler(inner)
        except FormatError as exc:
            raise FormatError(str(exc).replace(str(inner), str(path))) from exc
    for item in caught:  # name the file the user gave, not the temporary copy
        warnings.warn(str(item.message).replace(str(inner), str(path)), item.category, stacklevel=3)
    data.attrs["source"] = str(path)
    return data


def read_cycler(path: str | Path) -> pd.DataFrame:
    """Read a cycler file into the standard table (columns and formats in the module doc); the format is
    recognised from the content, not the extension.

    Each reader checks what its format allows for a file cut short and warns with a
    :class:`~redoxmap.errors.TruncatedFileWarning` naming the file (:mod:`redoxmap.echem.integrity`).

    Parameters
    ----------
    path : str or pathlib.Path
        A BioLogic ``.mpr``/``.mpt``, Neware ``.nda``/``.ndax``/CSV, Arbin ``.res``/CSV, MACCOR or
        Novonix export, or any of these gzip-compressed.

    Returns
    -------
    pandas.DataFrame
        One row per recorded point with the standard columns (``time_s``, ``voltage_v``,
        ``current_a`` positive on charge, ``capacity_ah``, ``charge_capacity_ah``,
        ``discharge_capacity_ah``, ``cycle``, ``step``, ``step_type``) plus the source's own columns
        with a prefix; ``attrs`` ``source``, ``format`` and, where the file states it,
        ``start_time``.

    Raises
    ------
    FormatError
        If the file is missing, empty, of an unknown format, or unreadable.

    Examples
    --------
    >>> import tempfile
    >>> from redoxmap.simulate import galvanostatic_cycle, write_mpt
    >>> path = write_mpt(galvanostatic_cycle(n_cycles=2), Path(tempfile.mkdtemp()) / "cell.mpt")
    >>> data = read_cycler(path)
    >>> data.attrs["format"], data.attrs["start_time"], int(data.cycle.max())
    ('biologic-mpt', '2024-03-01T09:00:00', 2)
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: file not found")
    with open(path, "rb") as fh:
        head = fh.read(8192)
    if not head:
        raise FormatError(f"{path}: empty file; expected a cycler file")

    if head.startswith(GZIP_MAGIC):
        return _read_gzip(path)
    if head.startswith(biologic.MPR_MAGIC):
        return biologic._read_mpr(path)
    if head[4:4 + len(JET_MAGIC)] == JET_MAGIC:
        return arbin._read_res(path)
    if head[:2] == b"PK" or b"NEWARE" in head[:64]:  # .ndax is a zip; .nda starts with "NEWARE"
        return neware._read_nda(path)
    if b"\x00" in head[:512]:
        raise FormatError(f"{path}: a binary file of a format redoxmap does not read; expected "
                          "BioLogic .mpr, Arbin .res, Neware .nda/.ndax or a text export")
    text = head.decode("latin-1")
    if text.startswith(biologic.MPT_MAGIC):
        return biologic._read_mpt(path)
    if novonix._looks_like(text):
        return novonix._read_novonix(path)
    lines = text.splitlines()
    if maccor._looks_like(lines):
        return maccor._read_maccor(path)
    first = lines[0] if lines else ""
    if neware._looks_like_csv(first):
        return neware._read_neware_csv(path)
    if arbin._looks_like_csv(first):
        return arbin._read_csv(path)
    raise FormatError(f"{path}: unknown cycler format (first line {first[:80]!r}); expected a BioLogic "
                      ".mpr/.mpt, Neware .nda/.ndax/CSV, Arbin .res/CSV, MACCOR or Novonix text export")
