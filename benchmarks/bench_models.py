"""Prints `zoo bench` figures for several models side by side (`make bench`).

Usage: python benchmarks/bench_models.py resnet20 resnet50 [--repeats 20] [--json out.json]
The speed goals are ratios measured in one run (onnxruntime and SavedModel
latency against Keras at the same batch), never absolute times: machines are
shared and noisy.
"""

import argparse
import json
import time

from zoo.bench import bench, format_bench


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=["resnet20", "resnet50"])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--batch-sizes", default="1,32")
    parser.add_argument("--train-batch", type=int, default=32)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    sizes = tuple(int(s) for s in args.batch_sizes.split(","))
    results = []
    for name in args.names:
        start = time.perf_counter()
        result = bench(name, batch_sizes=sizes, repeats=args.repeats, train_batch=args.train_batch)
        print(format_bench(result))
        print(f"(measured in {time.perf_counter() - start:.0f} s)\n")
        results.append(result.to_dict())
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
