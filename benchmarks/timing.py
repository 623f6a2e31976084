"""Median timings, the optional PyTorch backend, checks that columns agree, and the tables."""

from __future__ import annotations

import builtins
import gc
import math
import os
import statistics
import time
from dataclasses import dataclass

import numpy as np

from autodiff_lib import Tensor, memory


@dataclass(frozen=True)
class Settings:
    """How long to time: each repeat loops until ``repeat_time`` seconds have passed."""

    quick: bool = False
    repeat_time: float = 0.02  # seconds per repeat (the loop count is calibrated to it)
    repeats: int = 7  # repeats of the calibrated loop; the median is reported
    budget: float = 2.0  # at most this many seconds per measurement (fewer repeats if slow)

    @classmethod
    def make(cls, quick: bool) -> Settings:
        if quick:
            return cls(quick=True, repeat_time=0.005, repeats=3, budget=0.5)
        return cls()


def _loop(fn, number):
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return time.perf_counter() - start


def _calibrate(fn, settings):
    """Calls per repeat so that one repeat lasts ``settings.repeat_time``, and its duration."""
    number = 1
    elapsed = _loop(fn, number)
    while elapsed < settings.repeat_time:
        scale = settings.repeat_time / max(elapsed, 1e-7)
        number = max(number * 2, math.ceil(number * min(scale, 100.0) * 1.1))
        elapsed = _loop(fn, number)
    return number, elapsed


def measure(fns: dict, settings: Settings) -> dict:
    """Median seconds per call of each zero-argument function in ``fns``, in the manner of timeit.

    Each function is called once to warm up, then its loop is calibrated to last
    ``settings.repeat_time``. The repeats are interleaved (one loop of every function, then the
    next round), so that load from other processes falls on all columns alike and the ratios
    stay comparable. Slow rows get fewer repeats (at least 3) to fit the budget.

    The garbage collector stays on (the graphs a library allocates cost it collections), but
    what exists already (imported modules, PyTorch's included, and earlier workloads) is frozen
    out of its sight first: otherwise each full collection walks every object of the process
    and the cost of a deep graph would depend on what else was imported.
    """
    gc.collect()
    gc.freeze()
    for fn in fns.values():
        fn()
    loops = {name: _calibrate(fn, settings) for name, fn in fns.items()}
    round_time = builtins.sum(elapsed for _, elapsed in loops.values())
    repeats = max(3, min(settings.repeats, int(settings.budget * len(fns) / round_time)))
    samples = {name: [elapsed / number] for name, (number, elapsed) in loops.items()}
    for _ in range(repeats - 1):
        for name, fn in fns.items():
            number = loops[name][0]
            samples[name].append(_loop(fn, number) / number)
    return {name: statistics.median(times) for name, times in samples.items()}


def machine_load() -> float:
    """The one-minute load average (0 where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def tune_allocator() -> str:
    """Keep freed heap for reuse, as ``training.train`` does; return a line saying what was done.

    With glibc's defaults, arrays of about 128 KiB and more are handed back to the OS when
    freed and page-faulted in again on the next call, which made the MLP 2-3× slower in every
    column. Importing autodiff_lib leaves malloc alone, so the benchmarks ask for the tuning
    explicitly (``autodiff_lib.memory``), before anything is timed, and measure the allocator a
    training loop gets. ``AUTODIFF_LIB_MALLOC_TOP_PAD=0`` measures without it.
    """
    top_pad = int(os.environ.get("AUTODIFF_LIB_MALLOC_TOP_PAD", memory.DEFAULT_TOP_PAD))
    if memory.configure_from_environment():
        return f"allocator: glibc keeps {top_pad >> 20} MiB of freed heap (autodiff_lib.memory)"
    why = "AUTODIFF_LIB_MALLOC_TOP_PAD=0" if top_pad <= 0 else "not glibc: nothing to tune"
    return f"allocator: system default ({why})"


def load_torch():
    """PyTorch limited to one thread, or None (with the reason) when it cannot be imported."""
    try:
        import torch
    except ImportError as error:
        return None, f"PyTorch not importable ({error}): its columns are skipped"
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only allowed before any parallel work; one intra-op thread suffices
        pass
    return torch, f"PyTorch {torch.__version__}, CPU eager, float64, 1 thread"


# -- checking that every column computes the same thing -------------------------------------------
def _arrays(x):
    if isinstance(x, (list, tuple)):
        return [a for item in x for a in _arrays(item)]
    if isinstance(x, Tensor):
        x = x.value
    elif hasattr(x, "detach"):  # a torch tensor
        x = x.detach().numpy()
    return [np.asarray(x, dtype=np.float64)]


def agree(reference, candidate, rtol=1e-7, atol=1e-9) -> bool:
    """Whether two results (arrays, or nested lists/tuples of them) agree numerically."""
    ref, cand = _arrays(reference), _arrays(candidate)
    return len(ref) == len(cand) and all(
        r.shape == c.shape and np.allclose(r, c, rtol=rtol, atol=atol) for r, c in zip(ref, cand)
    )


def check_columns(workload, reference, results: dict) -> list[str]:
    """Lines naming each column whose result differs from the floor's (empty when all agree)."""
    return [
        f"  !! {workload}: {name} disagrees with the numpy floor"
        for name, result in results.items()
        if not agree(reference, result)
    ]


# -- printing -------------------------------------------------------------------------------------
def format_time(seconds) -> str:
    """Seconds with three significant digits in ns, µs, ms or s."""
    if seconds is None:
        return "—"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_ratio(ratio) -> str:
    return "—" if ratio is None or not math.isfinite(ratio) else f"{ratio:.2f}×"


def print_table(title, row_names, rows, columns, floor="numpy", notes=()):
    """One table: a row per configuration, per column the median and its ratio to the floor.

    ``rows`` is a list of ``(labels, {column: seconds or None})``; ``row_names`` names the
    labels. A missing column prints a dash.
    """
    cells = []
    for labels, times in rows:
        base = times.get(floor)
        line = [str(label) for label in labels]
        for column in columns:
            t = times.get(column)
            ratio = None if t is None or not base else t / base
            line.append("—" if t is None else f"{format_time(t)} {format_ratio(ratio)}")
        cells.append(line)
    header = list(row_names) + list(columns)
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("  " + "  ".join(h.rjust(w) for h, w in zip(header, widths)))
    print("  " + "  ".join("-" * w for w in widths))
    for line in cells:
        print("  " + "  ".join(c.rjust(w) for c, w in zip(line, widths)))
    for note in notes:
        print(f"  {note}")
