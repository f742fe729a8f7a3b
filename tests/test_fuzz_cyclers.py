"""The Arbin, BioLogic, MACCOR, Neware CSV and Novonix cycler readers fed 200 damaged copies of their
real test files (issue 14; how the copies are made and what passes: :mod:`fuzzing`). The other
readers, Neware's .nda and .ndax included, are in ``test_fuzz_readers.py``: the two files take about
as long, ~40 s of CPU each, so that ``pytest -n 2 --dist loadfile`` runs them side by side.

Long text records are cut to their first lines (a real file cut short, still valid), on which a read
takes milliseconds.
"""

from __future__ import annotations

import collections
import gzip
import struct
from pathlib import Path

import pytest

from fuzzing import Case, check_cycler, one, run_case
from redoxmap.echem import read_cycler

ECHEM = Path(__file__).parent / "data" / "echem"
JET_PAGE, RES_POINTS = 4096, range(4201, 4521)


def prepare_res(folder: Path) -> tuple[Path, Path]:
    """The real Arbin .res (an MS-Access database) with the rows of Channel_Normal_Table outside data
    points 4201–4520 marked deleted, as Access leaves deleted rows until a database is compacted: the
    end of the first rest, the first discharge point and the charge after it, which mdb-export and
    the reader go through in 50 ms instead of 160 ms.

    Jet 4 data pages (4096 bytes, type 1 at byte 0) name their table's definition page at byte 4 and
    hold their row count at byte 12, then one 2-byte row offset per row (0x4000: deleted); the table
    that owns most pages is Channel_Normal_Table, whose rows start with their column count (2 bytes),
    Test_ID and Data_Point (int32)."""
    data = bytearray(gzip.decompress((ECHEM / "20210210_FC_01_cc_01.res.gz").read_bytes()))
    pages = [i * JET_PAGE for i in range(len(data) // JET_PAGE) if data[i * JET_PAGE] == 1]
    owner = {page: struct.unpack_from("<I", data, page + 4)[0] for page in pages}
    table = collections.Counter(owner.values()).most_common(1)[0][0]
    for page in (p for p in pages if owner[p] == table):
        offsets = [page + 14 + 2 * row for row in range(struct.unpack_from("<H", data, page + 12)[0])]
        first_row = page + (struct.unpack_from("<H", data, offsets[0])[0] & 0x1FFF)
        if struct.unpack_from("<i", data, first_row + 6)[0] not in RES_POINTS:
            for at in offsets:
                struct.pack_into("<H", data, at, struct.unpack_from("<H", data, at)[0] | 0x4000)
    path = folder / "20210210_FC_01_cc_01.res"
    path.write_bytes(data)
    return path, path


def prepare_gzip(folder: Path) -> tuple[Path, Path]:
    """The gzip-compressed EC-Lab text file as it is (the damage hits the compressed bytes)."""
    path = folder / "mb.issue_149.mpt.gz"
    path.write_bytes((ECHEM / path.name).read_bytes())
    return path, path


CASES = [
    Case("echem-arbin-csv", one(ECHEM / "FastCharge_000025_CH8.csv"), read_cycler, check_cycler),
    Case("echem-arbin-res", prepare_res, read_cycler, check_cycler),
    Case("echem-biologic-mpr", one(ECHEM / "gcpl.issue_226.I.mpr"), read_cycler, check_cycler),
    Case("echem-biologic-mpt", one(ECHEM / "gcpl.issue_226.I.mpt"), read_cycler, check_cycler),
    Case("echem-neware-csv", one(ECHEM / "neware_uio.csv.gz", lines=200), read_cycler, check_cycler),
    Case("echem-maccor-text", one(ECHEM / "maccor_two.txt", lines=80), read_cycler, check_cycler),
    Case("echem-maccor-raw", one(ECHEM / "maccor_example.001"), read_cycler, check_cycler),
    Case("echem-novonix", one(ECHEM / "test_Nova_Form-CH01-01_short.csv.gz", lines=200), read_cycler,
         check_cycler),
    Case("echem-gzip", prepare_gzip, read_cycler, check_cycler),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_cycler_reader_survives_damaged_files(case: Case, tmp_path):
    run_case(case, tmp_path)
