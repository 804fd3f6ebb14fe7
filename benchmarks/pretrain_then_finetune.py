"""Does masked-LM pretraining on unlabeled text help when labels are few? One run, both arms.

Usage:

    python benchmarks/pretrain_then_finetune.py [--labeled 256] [--pretrain-epochs 10]
        [--epochs 30] [--batch-size 16] [--model transformer_encoder_tiny] [--out bench-runs]

The embedded `sentiment` dataset plays both roles: its 4,000 training texts,
labels dropped, are the unlabeled corpus (`zoo.pretrain`); `--labeled` of
them, with labels, are a small CSV. Two classifiers train on that CSV with
the same recipe and epochs: one from scratch (a vocabulary made from the CSV,
as `zoo train` does), one fine-tuned from the pretraining run (`--weights`).
Both are scored on the 1,000 validation texts (`zoo.evaluate --dataset
sentiment`). It prints both accuracies and their difference.
"""

import argparse
import csv
import sys
from pathlib import Path

import zoo
from zoo.data import text


def main(argv=None) -> int:
    """Runs both arms and prints their validation accuracy; returns the exit status.

    Args:
        argv: list of str or None. Command-line arguments; `sys.argv[1:]` when None.

    Example:

    >>> main(["--labeled", "256", "--pretrain-epochs", "10"])
    0
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="transformer_encoder_tiny", help="a text encoder")
    parser.add_argument("--labeled", type=int, default=256, help="labeled training texts")
    parser.add_argument("--pretrain-epochs", type=int, default=10, help="masked-LM epochs")
    parser.add_argument("--epochs", type=int, default=30, help="classifier epochs, both arms")
    parser.add_argument("--batch-size", type=int, default=16, help="classifier batch, both arms")
    parser.add_argument("--seed", type=int, default=0, help="seed of every run")
    parser.add_argument("--out", default="bench-runs/pretraining", help="run directories")
    args = parser.parse_args(argv)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    info = zoo.dataset_info("sentiment")
    train, _ = text.text_splits("sentiment")
    table = out / f"sentiment-{args.labeled}" / "labeled.csv"
    table.parent.mkdir(exist_ok=True)
    with table.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for sentence, label in train.take(args.labeled).as_numpy_iterator():
            writer.writerow([sentence.decode(), info.class_names[int(label)]])

    length = {"sequence_length": info.sequence_length}
    mlm = zoo.pretrain(
        args.model, "sentiment", out / "mlm", epochs=args.pretrain_epochs,
        overrides=length, seed=args.seed, verbose=2,
    )  # fmt: skip
    scores = {}
    for arm, weights in (("scratch", None), ("pretrained", str(out / "mlm"))):
        run = out / f"{arm}-{args.labeled}-{args.epochs}-{args.batch_size}"
        zoo.train(
            args.model, str(table), run, epochs=args.epochs, overrides=length,
            batch_size=args.batch_size, weights=weights, seed=args.seed, verbose=0,
        )  # fmt: skip
        scores[arm] = zoo.evaluate(run, dataset="sentiment")["accuracy"]
    print(f"masked-LM pretraining on 4,000 unlabeled texts: masked-token accuracy "
          f"{mlm.metrics['accuracy']:.3f} on held-out texts")  # fmt: skip
    print(
        f"{args.labeled} labeled texts, {args.epochs} epochs at batch {args.batch_size}, "
        f"validation accuracy (1,000 texts):"
    )
    print(f"  from scratch     {scores['scratch']:.3f}")
    print(f"  from pretraining {scores['pretrained']:.3f}")
    print(f"  difference       {scores['pretrained'] - scores['scratch']:+.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
