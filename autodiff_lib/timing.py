"""Timing a computation, and saying on what machine it was timed.

A time means little without its machine: the lectures print ``machine()`` beside every table
of timings they store, so that a reader of the committed notebook (on GitHub, nbviewer or the
course site) knows where the numbers came from, and expects different ones on their own.
"""

from __future__ import annotations

import os
import platform
import time

import numpy as np

from . import memory

__all__ = ["best_time", "machine"]


def best_time(run, repeats=3):
    """The fastest of ``repeats`` runs of ``run()``, in seconds: the least disturbed by others.

    It times under the allocator a training loop gets: before the first run it asks glibc to
    keep freed heap for reuse (``memory``, once per process), as ``training.train`` and the
    benchmarks do; importing the library does not.
    """
    memory.configure_from_environment()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def machine() -> str:
    """One line naming the processor, the cores this process may use, and the versions."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
    blas = f", BLAS threads {threads}" if threads else ""
    return (
        f"timed on {_processor()}, {cores} cores available{blas}; {platform.system()}, "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )


def _processor() -> str:
    """The processor's model name (Linux: /proc/cpuinfo), else what platform knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or platform.machine() or "an unknown processor"
