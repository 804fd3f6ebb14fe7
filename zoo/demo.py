"""`make demo`: train, evaluate and export resnet20 on the embedded digits.

Everything runs offline: `digits` ships inside scikit-learn and is served by a
tfds builder, so the demo takes the same path as `zoo train` on cifar10.

Example:

    python -m zoo.demo --out demo --epochs 8
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from zoo import quiet, training
from zoo.errors import ZooError


def main(argv: list[str] | None = None) -> int:
    """Runs the demo; returns the exit status.

    Args:
        argv: list of str or None. `--out DIR`, `--model`, `--dataset`,
            `--epochs`, `--seed`, `-v` (TensorFlow's log lines and every
            warning; quiet by default).
    """
    parser = argparse.ArgumentParser(prog="python -m zoo.demo")
    parser.add_argument("--out", default="demo", help="where the run and export go")
    parser.add_argument("--model", default="resnet20")
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--epochs", type=int, default=None, help="default: the recipe's")
    parser.add_argument(
        "--seed", type=int, default=0, help="the demo is seeded, so a rerun prints the same figures"
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show TensorFlow's log lines and every library warning (default: quiet)",
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    run_dir, export_dir = out / "run", out / "export"
    try:
        with quiet.console(verbose=args.verbose):
            start = time.perf_counter()
            result = training.train(
                args.model, args.dataset, run_dir, epochs=args.epochs, verbose=2, seed=args.seed
            )
            trained = time.perf_counter()
            metrics = training.evaluate(run_dir)
            report = training.export_run(run_dir, export_dir, overwrite=True)
            done = time.perf_counter()
    except ZooError as err:
        print(f"zoo demo: error: {err}", file=sys.stderr)
        return 2

    print()
    print(
        f"== {args.model} on {args.dataset}: {result.epochs} epochs "
        f"({'resumed/complete run' if result.resumed else 'trained now'}) =="
    )
    print(
        f"validation accuracy: {metrics['accuracy']:.4f} on {metrics['examples']} images "
        f"(loss {metrics['loss']:.4f})"
    )
    print(f"train: {trained - start:.1f} s, evaluate + export + verify: {done - trained:.1f} s")
    print()
    print(report)
    print()
    print(f"run directory:  {run_dir}  (config.json, model.keras, history.csv, curves.png, logs/)")
    print(f"export:         {export_dir}  (savedmodel/, model.onnx, metadata.json)")
    print(
        f"next: zoo evaluate {run_dir} | zoo export {run_dir} --out other/ | "
        f"tensorboard --logdir {run_dir / 'logs'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
