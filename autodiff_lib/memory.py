"""Keeping freed memory for reuse, so that a training loop does not wait on the kernel.

A backward sweep frees the whole graph at once and the next step allocates it again. With
glibc's defaults the freed top of the heap is returned to the operating system each time and
every new array of 128 KiB or more page-faults afresh: on an 8→64→1 MLP with a batch of 256 this
more than doubled the time of a gradient step. Asking malloc to keep some padding at the top of
the heap (``M_TOP_PAD``) lets the next step reuse those pages. Only glibc (Linux) is touched;
elsewhere this does nothing. Set ``AUTODIFF_LIB_MALLOC_TOP_PAD=0`` to leave malloc alone.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TOP_PAD = -2  # from glibc's malloc.h
DEFAULT_TOP_PAD = 64 << 20  # bytes kept at the top of the heap


def keep_freed_memory(top_pad: int = DEFAULT_TOP_PAD) -> bool:
    """Ask glibc to keep ``top_pad`` bytes of freed heap for reuse; True if it agreed."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(M_TOP_PAD, int(top_pad)))
    except (OSError, AttributeError):  # not glibc (musl, for example): nothing to tune
        return False


def configure_from_environment() -> bool:
    """Apply ``keep_freed_memory`` unless the environment asks otherwise."""
    top_pad = int(os.environ.get("AUTODIFF_LIB_MALLOC_TOP_PAD", DEFAULT_TOP_PAD))
    return keep_freed_memory(top_pad) if top_pad > 0 else False
