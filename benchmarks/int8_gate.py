"""int8 accuracy gate on the shipped weights: float vs int8 ONNX accuracy.

Usage:

    python benchmarks/int8_gate.py [resnet20.digits lstm.sentiment ...] [--json out.json]

Each weight set of `pretrained/manifest.json` that ships a file is exported
with `zoo.export(..., quantize="int8")`: calibrated (static, CNNs) on 1024
training examples, gated on the whole validation split of the dataset its
weights were trained on. Prints the gate line of each report.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import zoo
from zoo import data, pretrained

SHIPPED = (
    "resnet20.digits",
    "lstm.sentiment",
    "transformer_encoder_tiny.sentiment",
    "bert_tiny.sentiment",
    "kws_res8.spoken_commands",
    "kws_res8_narrow.spoken_commands",
)


def gate(name: str, out_dir: Path) -> dict:
    """Exports one weight set with int8 and returns its gate figures.

    Args:
        name: str. `arch.tag` of a shipped weight set.
        out_dir: Path. A fresh directory for the export.

    Example:

    >>> gate("resnet20.digits", Path("/tmp/r20"))["accuracy"]
    """
    entry = pretrained.find(name)
    model = zoo.get_model(entry.model, weights=entry.name)
    tokenizer = data.pretrained_tokenizer(entry.model, entry.name) if entry.tokenizer else None
    train, val = data.get_dataset(
        entry.dataset, model=model, batch_size=64, augment=False, tokenizer=tokenizer
    )
    calibration = data.as_arrays(train.take(16), 1024)[0]
    validation = data.as_arrays(val)
    # Text exports verify on raw validation texts (tokenizer.json included).
    inputs = data.text_examples(entry.dataset, 8) if tokenizer else validation[0][:8]
    report = zoo.export(
        model,
        out_dir,
        formats="onnx",
        inputs=inputs,
        tokenizer=tokenizer,
        quantize="int8",
        calibration=calibration,
        validation_data=validation,
        model_name=entry.model,
    )
    print(f"{name}: {report['onnx_int8'].gate_text()}", flush=True)
    return {"weights": name, **report["onnx_int8"].to_dict()}


def main(argv=None) -> int:
    """Runs the gate for each named weight set; returns the exit status.

    Args:
        argv: list of str or None. Command-line arguments.

    Example:

    >>> main(["resnet20.digits"])
    0
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(SHIPPED))
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="zoo-int8-gate-") as tmp:
        figures = [gate(name, Path(tmp) / name) for name in args.names]
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
