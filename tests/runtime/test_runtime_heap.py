"""Giving the heap's free pages back: real glibc ``malloc_trim`` on Linux, rate-limited."""

from __future__ import annotations

import sys

import pytest

from longjudge.runtime import heap


def _rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_trim_returns_freed_holes_to_the_system() -> None:
    """Blocks below the mmap threshold freed between live ones stay in the heap until trimmed."""
    if heap._TRIM is None:
        pytest.skip("not glibc")
    blocks = [bytearray(60_000) for _ in range(800)]  # ~48 MB in the heap, every page touched
    del blocks[::2]  # holes between live blocks: free() alone returns nothing
    before = _rss_kb()
    assert heap.trim_heap()
    after = _rss_kb()
    assert before - after > 10_000, (before, after)  # most of the ~24 MB of holes go back
    del blocks


def test_trimmer_trims_at_most_once_per_period() -> None:
    trimmer = heap.HeapTrimmer(every=3600.0)
    for _ in range(5):
        trimmer()
    assert trimmer.trims == 0  # the period starts when the trimmer is made
    eager = heap.HeapTrimmer(every=0.0)
    eager()
    eager()
    assert eager.trims == (2 if heap._TRIM is not None else 0)
