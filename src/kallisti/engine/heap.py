"""Handing memory freed by a step back to the system.

A step that read a large answer (a body cut at `max_response_bytes`, decoded,
parsed, checked) frees it when the step ends, but glibc's allocator keeps the
freed pages in its arenas: the process stays tens of MiB above idle until it
exits. `malloc_trim(0)` returns every whole free page of every arena.

This is the one place Kallisti calls the C allocator; where the C library has
no `malloc_trim` (musl, macOS), it does nothing.
"""

from __future__ import annotations

import ctypes
import logging

__all__ = ["release_freed_memory"]

logger = logging.getLogger(__name__)


def release_freed_memory() -> bool:
    """Give pages glibc holds free back to the system; never raises.

    Returns whether any memory was given back (always ``False`` without glibc).
    It costs about a millisecond, so callers use it after a large release, not
    after every allocation.
    """
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):  # not glibc
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return bool(trim(0))
