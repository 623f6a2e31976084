"""``python -m benchmarks [--quick] [--only mlp,hessian,chain,per_op,matvec,constant]``.

Prints one table per workload (median time per call and ratio to the hand-written numpy
gradient) and, at the end, the targets of point 14 of issue 2 with PASS or MISS.
"""

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"  # before numpy is imported (benchmarks/__init__.py does the same)

import argparse
import platform
import time
from importlib import metadata

import numpy as np

import autodiff_lib

from . import NUMPY_WAS_IMPORTED_FIRST, chain, constant, hessian, matvec, mlp, per_op
from .targets import summary
from .timing import Settings, load_torch, machine_load, tune_allocator

WORKLOADS = {
    "mlp": mlp, "hessian": hessian, "chain": chain, "per_op": per_op, "matvec": matvec,
    "constant": constant,
}  # fmt: skip


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[2]
    )
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repeats (~4× faster)")
    parser.add_argument(
        "--only", default=",".join(WORKLOADS), help="comma-separated workloads (default: all)"
    )
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(WORKLOADS))
    if unknown:
        parser.error(
            f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}"
        )

    settings = Settings.make(args.quick)
    allocator = tune_allocator()
    torch, torch_note = load_torch()
    print(
        f"autodiff_lib {autodiff_lib.__version__} | numpy {np.__version__} | "
        f"autograd {metadata.version('autograd')} | Python {platform.python_version()}"
        f" | {platform.machine()}, {os.cpu_count()} CPUs"
    )
    print(f"{torch_note}")
    print(
        "BLAS threads: OPENBLAS/OMP/MKL_NUM_THREADS=1"
        + (" (WARNING: numpy was imported first)" if NUMPY_WAS_IMPORTED_FIRST else "")
    )
    print(allocator)
    print(
        f"timing: median of up to {settings.repeats} repeats of a loop of ≥ "
        f"{settings.repeat_time * 1e3:g} ms, float64 everywhere"
        + (" (--quick)" if settings.quick else "")
    )

    load = machine_load()
    print(
        f"load average before the run: {load:.2f}"
        + (
            "  (WARNING: other processes are busy; absolute times may be inflated, ratios are "
            "measured interleaved)"
            if load > 0.5
            else ""
        )
    )
    start = time.perf_counter()
    results = {}
    for name in chosen:
        results.update(WORKLOADS[name].run(settings, torch))

    print("\nTargets of point 14 (issue 2), autodiff_lib:")
    for line in summary(results, torch is not None):
        print(line)
    print(
        f"\ntotal benchmark time {time.perf_counter() - start:.0f} s, "
        f"load average after the run {machine_load():.2f}"
    )


main()
