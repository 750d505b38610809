"""An export's memory does not grow with the rows it writes (100,000 rows, tracemalloc)."""

from __future__ import annotations

import tracemalloc

import pytest

from frameworks import exports
from frameworks.queries import audit
from tests.audit_builders import rows
from tests.factories import make_target

pytestmark = pytest.mark.django_db


def _peak(chunks) -> tuple[int, int]:
    """(bytes written, peak memory traced while writing them)."""
    tracemalloc.start()
    written = 0
    try:
        for chunk in chunks:
            written += len(chunk)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return written, peak


def test_export_memory_is_bounded_at_100000_rows(auditor):
    ids = rows(100_000, target=make_target(), details={"reason": "a reason of some length " * 4})
    scope = audit.audit_scope(auditor)
    for chunks in (exports.csv_chunks, exports.jsonl_chunks):
        small_bytes, small_peak = _peak(chunks(scope, audit.Filters(), below=ids[10_000]))
        big_bytes, big_peak = _peak(chunks(scope, audit.Filters(), below=ids[-1] + 1))
        assert big_bytes > 9 * small_bytes  # ten times the rows were written
        # A chunk at a time: the peak is that of one chunk, whatever the number of chunks.
        assert big_peak < small_peak * 1.5 + 1_000_000, (chunks.__name__, small_peak, big_peak)
        assert big_peak < 20_000_000
