"""Prints `zoo bench` figures for several models, one table each (`make bench`).

Usage:

    python benchmarks/bench_models.py resnet20 resnet50 [--repeats 20] [--json out.json]

The speed goals are ratios measured in one run (SavedModel and onnxruntime
latency against Keras `predict_on_batch` at the same batch), never absolute
times: machines are shared and noisy.
"""

import argparse
import json
import sys
import time

from zoo.bench import FORMATS, TIME_BUDGET_S, bench, format_bench


def main(argv=None) -> int:
    """Benchmarks each named model and prints its table; returns the exit status.

    Args:
        argv: list of str or None. Command-line arguments; `sys.argv[1:]`
            when None.

    Example:

    >>> main(["resnet20", "--repeats", "10", "--json", "bench.json"])
    0
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "names",
        nargs="*",
        default=["resnet20", "resnet50"],
        help="registered model names (default: resnet20 resnet50)",
    )
    parser.add_argument("--batch-sizes", default="1,32", help="comma-separated, e.g. 1,32")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per figure")
    parser.add_argument("--train-batch", type=int, default=8)
    parser.add_argument("--train-steps", type=int, default=4, help="0 skips training")
    parser.add_argument(
        "--formats",
        default=",".join(FORMATS),
        help="comma-separated subset of " + ",".join(FORMATS),
    )
    parser.add_argument(
        "--time-budget",
        type=float,
        default=TIME_BUDGET_S,
        help="seconds per figure before repeats stop early",
    )
    parser.add_argument("--quantize", choices=["int8"], help="also time the int8 ONNX file")
    parser.add_argument("--json", metavar="PATH", help="also write every figure to this file")
    args = parser.parse_args(argv)
    try:
        sizes = tuple(int(s) for s in args.batch_sizes.split(","))
    except ValueError:
        parser.error(
            f"--batch-sizes takes integers separated by commas. Received: {args.batch_sizes!r}"
        )
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())

    results = []
    for name in args.names:
        start = time.perf_counter()
        result = bench(
            name,
            batch_sizes=sizes,
            repeats=args.repeats,
            train_batch=args.train_batch,
            train_steps=args.train_steps,
            formats=formats,
            time_budget_s=args.time_budget,
            quantize=args.quantize,
        )
        print(format_bench(result))
        print(f"(measured in {time.perf_counter() - start:.0f} s)\n", flush=True)
        results.append(result.to_dict())
        _free_models()
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)
    return 0


def _free_models() -> None:
    # Each model keeps its graphs and buffers alive otherwise; ResNet-50's
    # would sit in memory while the next model is timed.
    if "keras" in sys.modules:
        sys.modules["keras"].backend.clear_session(free_memory=True)


if __name__ == "__main__":
    raise SystemExit(main())
