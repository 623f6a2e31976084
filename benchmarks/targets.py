"""The targets of point 14 of issue 2, checked against the figures just measured."""

from __future__ import annotations

from .timing import format_time

GROWTH_RANGE = (8.0, 12.0)  # "t(1000)/t(100) ≈ 10": linear growth, within 20 %


def _line(target, measured, passed):
    verdict = "n/a " if passed is None else ("PASS" if passed else "MISS")
    return f"  {verdict}  {target:<50} measured {measured}"


def summary(results, torch_available):
    """Lines ``PASS|MISS|n/a  target  measured ...``, one per target (missing workloads skipped)."""
    lines = []
    if "headline" in results:
        times = results["headline"]
        ratio = times["autodiff_lib"] / times["numpy"]
        lines.append(
            _line(
                "MLP 64/256 loss+gradient ≤ 1.5× the numpy floor",
                f"{ratio:.2f}× ({format_time(times['autodiff_lib'])} vs "
                f"{format_time(times['numpy'])})",
                ratio <= 1.5,
            )
        )
        if torch_available:
            worst = max(
                results["sweep"].items(),
                key=lambda item: item[1]["autodiff_lib"] / item[1]["torch"],
            )
            (hidden, batch), times = worst
            slower = sum(t["autodiff_lib"] > t["torch"] for t in results["sweep"].values())
            ratio = times["autodiff_lib"] / times["torch"]
            lines.append(
                _line(
                    "MLP sweep: no worse than PyTorch eager anywhere",
                    f"worst autodiff_lib/torch {ratio:.2f}× at {hidden.rstrip('*')}/"
                    f"{batch}; slower in {slower} of {len(results['sweep'])}",
                    ratio <= 1.0,
                )
            )
        else:
            lines.append(
                _line(
                    "MLP sweep: no worse than PyTorch eager anywhere",
                    "— (PyTorch not installed)",
                    None,
                )
            )
        ratios = results["grad_over_forward"]
        ratio = ratios["autodiff_lib"]
        lines.append(
            _line(
                "gradient/forward ratio ≤ 2.5 on MLP 64/256",
                f"{ratio:.2f} (numpy floor {ratios['numpy']:.2f}; over the forward that "
                f"records the graph {ratios['autodiff_lib, recording']:.2f})",
                ratio <= 2.5,
            )
        )
    if "per_op" in results:
        cost = results["per_op"]["autodiff_lib"]
        lines.append(_line("per-operation gradient cost ≤ 3 µs", format_time(cost), cost <= 3e-6))
    if "hessian" in results:
        t = results["hessian"][(100,)]["autodiff_lib"]
        lines.append(_line("Hessian n=100 ≤ 1 ms", format_time(t), t <= 1e-3))
    if "chain" in results:
        times = results["chain"][(1000,)]
        ratio = times["autodiff_lib"] / times["numpy"]
        lines.append(
            _line(
                "chain k=1000 ≤ 2× the numpy floor",
                f"{ratio:.2f}× ({format_time(times['autodiff_lib'])} vs "
                f"{format_time(times['numpy'])})",
                ratio <= 2.0,
            )
        )
        growth = results["growth"]["autodiff_lib"]
        low, high = GROWTH_RANGE
        lines.append(
            _line(
                f"chain t(1000)/t(100) ≈ 10 (taken as {low:g}–{high:g})",
                f"{growth:.2f} ("
                + ", ".join(
                    f"{c} {g:.2f}" for c, g in results["growth"].items() if c != "autodiff_lib"
                )
                + ")",
                low <= growth <= high,
            )
        )
    if "matvec_gain" in results:
        gains = results["matvec_gain"]
        lines.append(
            _line(
                "(point 9) matvec faster than sum(A*x, axis=-1)",
                ", ".join(f"n={n} {g:.2f}×" for n, g in gains.items()),
                all(g > 1 for g in gains.values()),
            )
        )
    return lines
