"""The readers' property (issue 14) in hypothesis's form: for any truncation and byte flips of a real test
file, a reader raises a :class:`RedoxmapError` or reads correctly. One representative reader per kind of
file (HDF5, TIFF, Xradia OLE, a text header with binary images, a text spectrum, Zarr metadata, a
diffraction text pattern, a binary cycler file), 50 drawn damages each; hypothesis searches beyond the
seeded copies of ``test_fuzz_readers.py``/``test_fuzz_cyclers.py`` (which stay the ≥ 200 per reader) and
shrinks a failure to its smallest damage. Derandomized (the draws follow from the test's name), so CI
passes or fails the same way on every run; searching further is a change of ``max_examples``.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzzing import EDGE_BYTES, Case, Damage, damaged, guarded_read
from redoxmap.errors import RedoxmapError
from test_fuzz_cyclers import CASES as CYCLER_CASES
from test_fuzz_readers import CASES as READER_CASES

PICKED = ("raw-dxchange", "raw-tiff", "raw-xradia", "raw-stxm-hdr", "xdi", "omezarr-zarray", "xrd-gsas-fxye",
          "echem-biologic-mpr")
CASES = [case for case in READER_CASES + CYCLER_CASES if case.name in PICKED]


@st.composite
def damages(draw, size: int) -> Damage:
    """Bytes kept (all, or any number) and up to 8 flips (offset, XOR mask), in the kept bytes' first or
    last ``EDGE_BYTES`` (headers, directories) or anywhere. Shrinks towards the intact file."""
    keep = draw(st.one_of(st.just(size), st.integers(0, size)))
    if keep == 0:
        return 0, []
    offsets = st.one_of(st.integers(0, min(keep, EDGE_BYTES) - 1),
                        st.integers(max(0, keep - EDGE_BYTES), keep - 1), st.integers(0, keep - 1))
    return keep, draw(st.lists(st.tuples(offsets, st.integers(1, 255)), max_size=8))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_damaged_file_raises_ours_or_reads_correctly(case: Case, tmp_path):
    assert len(CASES) == len(PICKED)
    target, entry = case.prepare(tmp_path)
    original = target.read_bytes()

    @settings(max_examples=50, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(damage=damages(len(original)))
    def raises_ours_or_reads_correctly(damage: Damage) -> None:
        target.write_bytes(damaged(original, damage))
        try:
            result = guarded_read(case.read, entry)
        except RedoxmapError:
            return
        case.check(result)

    try:
        raises_ours_or_reads_correctly()
    finally:
        target.write_bytes(original)
