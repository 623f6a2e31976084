"""Where autodiff_lib spends its time: ``python -m benchmarks.profiling [--top N]``.

Runs cProfile over many calls of two workloads (MLP 64/256 loss+gradient and the per-operation
chain) and prints the functions with the most time of their own (``tottime``), then by
cumulative time.
"""

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse
import cProfile
import pstats

import autodiff_lib as ad

from . import mlp, per_op
from .timing import tune_allocator


def profile(title, fn, calls, top):
    """Profile ``calls`` calls of ``fn()`` and print the top entries by own and cumulative time."""
    fn()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        fn()
    profiler.disable()
    print(f"\n=== {title}: {calls} calls ===")
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def main():
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profiling")
    parser.add_argument("--top", type=int, default=15, help="entries per listing")
    args = parser.parse_args()
    print(tune_allocator())

    params, x, y = mlp.make_problem(*mlp.HEADLINE)
    value_and_grad = ad.value_and_grad(mlp.ad_loss)
    profile("MLP 64/256 loss+gradient", lambda: value_and_grad(params, x, y), 500, args.top)

    chain_vg = ad.value_and_grad(per_op.chain(ad.sin, ad.sum))
    start = per_op.START.copy()
    profile("per-operation chain (1000 ops)", lambda: chain_vg(start), 50, args.top)


main()
