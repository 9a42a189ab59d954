"""Handing memory freed by a step back to the system.

A step that read a large answer (a body cut at `max_response_bytes`, decoded,
parsed, checked) frees it when the step ends, but glibc's allocator keeps the
freed pages in its arenas: the process stays tens of MiB above idle until it
exits. `malloc_trim(0)` returns every whole free page of every arena.

This is the one place Kallisti calls the C allocator; where the C library has
no `malloc_trim` or `mallopt` (musl, macOS), it does nothing.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import sys
from typing import Any

__all__ = ["limit_malloc_arenas", "release_freed_memory"]

logger = logging.getLogger(__name__)


# Below this much free memory in its arenas a trim gives back too little to be
# worth it: it walks every arena, about a tenth of a millisecond on the event
# loop at the end of every trial even when there is nothing to give back.
WORTH_TRIMMING_BYTES = 4 * 1024 * 1024


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",  # free bytes in the arenas
            "keepcost",
        )
    ]


@functools.cache
def _c_library() -> ctypes.CDLL | None:
    """The C library already loaded (opened once: each opening costs about as
    much as a trim)."""
    try:
        return ctypes.CDLL(None)
    except OSError:
        return None


def release_freed_memory(at_least: int = WORTH_TRIMMING_BYTES) -> bool:
    """Give pages glibc holds free back to the system, when its arenas hold
    `at_least` bytes free; never raises.

    Returns whether any memory was given back (always ``False`` without glibc).
    Callers use it after a large release, not after every allocation.
    """
    trim = _c_function("malloc_trim", (ctypes.c_size_t,), ctypes.c_int)
    if trim is None:  # not glibc
        return False
    if _free_in_arenas() < at_least:
        return False
    return bool(trim(0))


def _free_in_arenas() -> int:
    """The free bytes glibc's arenas hold (a few microseconds to ask); where
    glibc cannot tell (before 2.33), as if worth trimming."""
    mallinfo2 = _c_function("mallinfo2", (), _MallInfo2)
    if mallinfo2 is None:
        return sys.maxsize
    return int(mallinfo2().fordblks)


@functools.cache
def _c_function(name: str, argtypes: tuple[Any, ...], restype: Any) -> Any:
    """The C library's function `name` with its prototype set, once; None
    where the library has no such function."""
    function = getattr(_c_library(), name, None)
    if function is not None:
        function.argtypes = list(argtypes)
        function.restype = restype
    return function


_M_ARENA_MAX = -8


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Have glibc keep at most `arenas` malloc arenas; never raises.

    By default each thread that allocates may get an arena of its own (up to
    8 per core), and a service with dozens of store, API and driver threads
    then keeps dozens of partly used heaps: its memory creeps up with the
    trials it has run. Call it before any thread starts. Returns whether the
    limit was set.
    """
    mallopt = _c_function("mallopt", (ctypes.c_int, ctypes.c_int), ctypes.c_int)
    if mallopt is None:  # not glibc
        return False
    return bool(mallopt(_M_ARENA_MAX, arenas))
