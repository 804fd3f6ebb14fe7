"""Training speed per family under mixed precision and XLA, as ratios to float32.

Usage:

    python benchmarks/bench_training_switches.py resnet20 lstm bert_tiny [--batch 32]
        [--steps 8] [--json out.json]

For each model, `zoo.bench.train_speed` measures training examples/s with its
recipe in float32, `mixed_bfloat16`, float32 + XLA (`jit_compile`) and
`mixed_bfloat16` + XLA, one after the other in this process; the figures that
carry meaning are the ratios to float32 (machines are shared and noisy).
`mixed_float16` is left out on CPUs: it is emulated there, and it is what
a GPU run would measure.
"""

import argparse
import json
import sys

from zoo.bench import train_speed

SWITCHES = {
    "float32": {"precision": "float32", "jit_compile": False},
    "mixed_bfloat16": {"precision": "mixed_bfloat16", "jit_compile": False},
    "float32 + xla": {"precision": "float32", "jit_compile": True},
    "mixed_bfloat16 + xla": {"precision": "mixed_bfloat16", "jit_compile": True},
}


def main(argv=None) -> int:
    """Prints one table per model; returns the exit status.

    Args:
        argv: list of str or None. Command-line arguments; `sys.argv[1:]` when None.

    Example:

    >>> main(["bert_tiny", "--steps", "4"])
    0
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=["resnet20", "lstm", "bert_tiny"])
    parser.add_argument("--batch", type=int, default=32, help="training batch size")
    parser.add_argument("--steps", type=int, default=8, help="timed steps per figure")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)

    results = {}
    for name in args.names:
        speeds = {}
        for label, switches in SWITCHES.items():
            try:
                speeds[label] = train_speed(name, batch=args.batch, steps=args.steps, **switches)
            except Exception as err:  # noqa: BLE001  (a switch Keras cannot run is a row, not a crash)
                speeds[label] = f"failed: {type(err).__name__}: {str(err).splitlines()[0][:80]}"
        results[name] = speeds
        base = speeds["float32"]
        print(f"\n{name} (batch {args.batch}, median of {args.steps} steps)")
        print(f"  {'switches':<22} {'examples/s':>11} {'vs float32':>11}")
        for label, value in speeds.items():
            if isinstance(value, str):
                print(f"  {label:<22} {value}")
            else:
                print(f"  {label:<22} {value:>11.1f} {value / base:>10.2f}x")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"batch": args.batch, "steps": args.steps, "examples_per_s": results}, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
