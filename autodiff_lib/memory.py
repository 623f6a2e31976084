"""Keeping freed memory for reuse, so that a training loop does not wait on the kernel.

A backward sweep frees the whole graph at once and the next step allocates it again. With
glibc's defaults the freed top of the heap is returned to the operating system each time and
every new array of 128 KiB or more page-faults afresh: on an 8→64→1 MLP with a batch of 256 this
more than doubled the time of a gradient step. Asking malloc to keep some padding at the top of
the heap (``M_TOP_PAD``) lets the next step reuse those pages. Only glibc (Linux) is touched;
elsewhere this does nothing. Set ``AUTODIFF_LIB_MALLOC_TOP_PAD=0`` to leave malloc alone.

Importing the library changes nothing: the setting is process-wide (every library in the
process allocates through the same malloc), so it is asked for where the repeated steps are
made, by an explicit call to ``configure_from_environment()``: ``training.train`` makes it
before its first step; ``training.loss`` (which a loop of one's own differentiates, as part 07
does) and ``timing.best_time`` (the notebooks' stopwatch) when first called; and the benchmarks
(``benchmarks/__init__.py``) before anything else, so that all of them measure what training
gets. A loop of your own can make it too, best before other libraries are imported: made after
they have allocated and freed large blocks, the benchmarks saw 4-5 times as many page faults.
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


configured: bool | None = None  # what configure_from_environment did; None: not asked yet


def configure_from_environment() -> bool:
    """Apply ``keep_freed_memory`` unless ``AUTODIFF_LIB_MALLOC_TOP_PAD`` asks otherwise; once
    per process (later calls return the first answer). True if malloc now keeps freed heap."""
    global configured
    if configured is None:
        top_pad = int(os.environ.get("AUTODIFF_LIB_MALLOC_TOP_PAD", DEFAULT_TOP_PAD))
        configured = keep_freed_memory(top_pad) if top_pad > 0 else False
    return configured
