"""Memory a trial freed goes back to the system only when there is enough of
it to be worth a trim (a trim walks every arena)."""

from __future__ import annotations

import ctypes
import sys

import pytest

from kallisti.engine.heap import release_freed_memory

glibc_only = pytest.mark.skipif(
    not hasattr(ctypes.CDLL(None), "mallinfo2"), reason="glibc 2.33+ only"
)


@glibc_only
def test_a_large_release_is_given_back() -> None:
    # Many objects (each larger than Python's own small-object pools take)
    # among glibc's chunks; keeping every tenth leaves the rest free in the
    # middle of the heap, where only a trim reaches.
    texts = [f"{n:01000d}" for n in range(30_000)]
    kept = texts[::10]
    del texts
    assert release_freed_memory() is True
    assert len(kept) == 3_000


@glibc_only
def test_too_little_free_memory_is_not_worth_a_trim() -> None:
    assert release_freed_memory(at_least=sys.maxsize) is False
