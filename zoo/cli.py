"""`zoo` on the command line: a thin argparse front end over the Python API.

    zoo list 'resnet*'
    zoo info resnet20
    zoo train resnet20 --dataset digits --epochs 8 --out runs/r20
    zoo pretrain transformer_encoder_small --corpus notes.txt --out runs/mlm
    zoo evaluate runs/r20
    zoo export runs/r20 --format savedmodel,onnx --out out/r20
    zoo bench resnet20
    zoo weights list | fetch NAME | verify [NAME] [--evaluate] | publish RUN TAG

A user error (a `ZooError`) prints one line on stderr and exits with status
2, with no traceback. Output is quiet by default: TensorFlow's start-up log
lines and known library warnings are left out (`zoo.quiet`); `zoo -v ...`
shows everything. Errors and other warnings always show.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys

from zoo import factory, quiet
from zoo.errors import InvalidArgumentError, UnknownModelError, WeightsError, ZooError

EXIT_USAGE = 2


def main(argv: list[str] | None = None) -> int:
    """Runs the CLI; returns the exit status.

    Args:
        argv: list of str or None. Arguments without the program name;
            defaults to `sys.argv[1:]`.

    Example:

    >>> main(["list", "resnet2*"])
    resnet20
    0
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        with quiet.console(verbose=args.verbose):
            return args.handler(args) or 0
    except ZooError as err:
        print(f"zoo: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `zoo list | head`: the reader left, as for any Unix tool
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (no flush error at exit)
        return 0


def _cmd_list(args) -> int:
    pretrained = {"yes": True, "no": False, None: None}[args.pretrained]
    for name in factory.list_models(
        args.pattern, task=args.task, exclude=args.exclude, pretrained=pretrained
    ):
        print(name)
    return 0


def _cmd_info(args) -> int:
    card = factory.model_info(args.name)
    print(json.dumps(card.to_dict(), indent=2, default=list) if args.json else card)
    return 0


def _cmd_train(args) -> int:
    from zoo import training  # here: list and info answer without importing Keras

    result = training.train(
        args.name,
        args.dataset,
        args.out,
        epochs=args.epochs,
        batch_size=args.batch_size,
        recipe=args.recipe,
        data_dir=args.data_dir,
        strategy=args.strategy,
        cpu_replicas=args.cpu_replicas,
        overrides=_parse_overrides(args.set),
        seed=args.seed,
        text_column=args.text_column,
        label_column=args.label_column,
        precision=args.precision,
        jit_compile=args.jit_compile,
        accumulate=args.accumulate,
        ema=args.ema,
        weights=args.weights,
        deterministic=args.deterministic,
        backup_every=args.backup_every or None,
        teacher=args.teacher,
        temperature=args.temperature,
        student_loss_weight=args.student_loss_weight,
    )
    state = (
        "already complete" if result.already_complete else "resumed" if result.resumed else "done"
    )
    print(f"training {state}: {result.epochs} epochs, validation {_figures(result.metrics)}")
    print(f"run directory: {result.run_dir}")
    return 0


def _cmd_pretrain(args) -> int:
    from zoo import training

    result = training.pretrain(
        args.name,
        args.corpus,
        args.out,
        epochs=args.epochs,
        batch_size=args.batch_size,
        overrides=_parse_overrides(args.set),
        **({"mask_rate": args.mask_rate} if args.mask_rate is not None else {}),
        seed=args.seed,
        data_dir=args.data_dir,
        text_column=args.text_column,
        strategy=args.strategy,
        cpu_replicas=args.cpu_replicas,
        backup_every=args.backup_every or None,
    )
    state = "already complete" if result.already_complete else "done"
    if result.resumed:
        state = "done (resumed)"
    figures = _figures(result.metrics)
    print(f"pretraining {state}: {result.epochs} epochs, masked words of held-out texts {figures}")
    print(f"run directory: {result.run_dir}")
    print(f"fine-tune from it: zoo train {args.name} --dataset DATASET --weights {result.run_dir}")
    return 0


def _add_backup_every(parser) -> None:
    """`--backup-every N`, shared by `train` and `pretrain` (both resume from backups)."""
    parser.add_argument(
        "--backup-every",
        type=_non_negative_int,
        default=100,
        metavar="N",
        help="back up the training state every N batches, and at each epoch end (0: epoch "
        "ends only); a killed run resumes from the newest backup (default 100)",
    )


def _figures(metrics: dict) -> str:
    """`loss=0.1234, accuracy=0.9700, examples=360`: a run's metrics on one line."""
    return ", ".join(
        f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items()
    )


def _cmd_evaluate(args) -> int:
    from zoo import training

    metrics = training.evaluate(
        args.run_dir, dataset=args.dataset, data_dir=args.data_dir, batch_size=args.batch_size
    )
    print(json.dumps(metrics, indent=2))
    return 0


def _cmd_export(args) -> int:
    from zoo import exporting  # light: a bad request fails before TensorFlow loads

    formats = tuple(f.strip() for f in args.format.split(",") if f.strip())
    exporting.check_request(
        args.out,
        formats=formats,
        overwrite=args.overwrite,
        quantize=args.quantize,
        max_accuracy_drop=args.max_accuracy_drop,
    )
    from zoo import training

    print(
        training.export_run(
            args.run_dir,
            args.out,
            formats=formats,
            examples=args.examples,
            overwrite=args.overwrite,
            quantize=args.quantize,
            max_accuracy_drop=args.max_accuracy_drop,
            dataset=args.dataset,
        )
    )
    return 0


def _cmd_weights_list(args) -> int:
    from zoo import pretrained

    names = factory.list_models()
    if args.model is not None and args.model not in names:  # an error, not an empty list
        raise UnknownModelError(args.model, names)
    rows = [
        (
            w.name,
            w.dataset,
            _metric(w.metrics),
            f"{w.size / 1e6:.2f} MB" if w.size else "-",
            w.source,
        )
        for w in pretrained.all_weights()
        if args.model is None or w.model == args.model
    ]
    header = ("name", "dataset", "accuracy", "size", "source")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())
    return 0


def _cmd_weights_verify(args) -> int:
    from zoo import pretrained

    if args.tolerance < 0 or args.tolerance != args.tolerance:  # negative or NaN
        raise InvalidArgumentError(
            f"--tolerance must be a number >= 0 (an accuracy difference). "
            f"Received: --tolerance {args.tolerance}"
        )
    # `zoo weights verify ""` is a bad name, not "verify everything".
    entries = [pretrained.find(args.name)] if args.name is not None else pretrained.all_weights()
    for entry in entries:
        if entry.url is not None:  # published elsewhere: check the cached copy, if any
            print(f"{entry.name}: {_check_download(entry)}")
            continue
        pretrained.verified_file(entry)
        if entry.tokenizer:
            pretrained.tokenizer_dir(entry)
        line = f"{entry.name}: sha256 ok"
        if args.evaluate:
            from zoo import runs

            measured = runs.evaluate_weights(entry.name, data_dir=args.data_dir)
            recorded = entry.metrics.get("accuracy")
            if recorded is not None and abs(measured["accuracy"] - recorded) > args.tolerance:
                raise WeightsError(
                    f"Weights {entry.name!r} measure accuracy {measured['accuracy']:.4f} on "
                    f"{entry.dataset} ({entry.split}); the manifest records {recorded:.4f} "
                    f"(tolerance {args.tolerance})."
                )
            line += f", accuracy {measured['accuracy']:.4f} (recorded {_metric(entry.metrics)})"
        print(line)
    return 0


def _check_download(entry) -> str:
    from zoo import downloads

    path = downloads.download_path(entry.name, entry.url)
    if not path.is_file():
        return f"not downloaded ({entry.url}; `zoo weights fetch {entry.name}`)"
    downloads.fetch(entry.name, entry.url, entry.sha256)  # checks the digest, no download
    return f"sha256 ok ({path})"


def _cmd_weights_fetch(args) -> int:
    from zoo import pretrained, registry

    entry = pretrained.find(args.name)
    if entry.url is None:
        path = pretrained.verified_file(entry)
        print(f"{entry.name} ships with zoo: {path}")
        return 0
    source = registry.get_spec(entry.model).weight_sources[entry.source]
    print(f"{entry.name}: {source.locate(entry)}")
    return 0


def _cmd_weights_publish(args) -> int:
    from zoo import runs

    entry = runs.publish_run(args.run_dir, args.tag, license=args.license, overwrite=args.overwrite)
    print(f"published {entry.name}: {entry.file} ({entry.size:,} bytes), sha256 {entry.sha256}")
    return 0


def _metric(metrics: dict) -> str:
    value = metrics.get("accuracy")
    return f"{value:.4f}" if isinstance(value, float) else "-"


def _cmd_bench(args) -> int:
    from zoo import bench

    try:
        sizes = tuple(int(s) for s in args.batch_sizes.split(","))
    except ValueError:
        raise InvalidArgumentError(
            f"--batch-sizes takes integers separated by commas, e.g. "
            f"1,32. Received: {args.batch_sizes!r}"
        ) from None
    optional = {
        k: v
        for k, v in (("train_batch", args.train_batch), ("train_steps", args.train_steps))
        if v is not None
    }
    if args.quantize is not None:
        optional["quantize"] = args.quantize
    result = bench.bench(
        args.name,
        batch_sizes=sizes,
        repeats=args.repeats,
        overrides=_parse_overrides(args.set),
        **optional,
    )
    # --json: the figures alone on stdout, for scripts to parse and compare.
    print(json.dumps(result.to_dict(), indent=2) if args.json else bench.format_bench(result))
    return 0


_LITERALS = {"true": True, "false": False, "null": None, "none": None}


def _parse_overrides(pairs: list[str] | None) -> dict:
    overrides = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise InvalidArgumentError(
                f"--set takes KEY=VALUE (e.g. --set dropout=0.2). Received: {pair!r}."
            )
        if raw.lower() in _LITERALS:  # JSON / shell spelling of True, False, None
            overrides[key] = _LITERALS[raw.lower()]
            continue
        try:
            overrides[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            overrides[key] = raw  # a bare word, e.g. classifier_activation=softmax
    return overrides


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, received {text!r}")
    return value


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, received {text!r}") from None


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, received {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse with zoo's error format: one line on stderr, exit status 2.

    argparse prints the whole usage block before its message; a script that
    reads the last line of stderr, or a user scanning for the reason, gets
    the reason and where to find the usage instead.
    """

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="zoo",
        description="Keras model zoo: list, train, evaluate, export and benchmark models by name.",
    )
    verbose_help = "show TensorFlow's log lines and every library warning (default: quiet)"
    parser.add_argument("-v", "--verbose", action="store_true", help=verbose_help)
    # Also after the command (`zoo info resnet20 -v`); SUPPRESS keeps a `zoo -v` given before it.
    common = _Parser(add_help=False)
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=verbose_help
    )
    sub = parser.add_subparsers(title="commands")

    p = sub.add_parser("list", parents=[common], help="list registered models")
    p.add_argument("pattern", nargs="?", help="fnmatch wildcard, e.g. 'resnet*'")
    p.add_argument("--task", help="keep one task, e.g. image_classification")
    p.add_argument("--exclude", action="append", help="wildcard to drop (repeatable)")
    p.add_argument("--pretrained", choices=("yes", "no"), help="only models with/without weights")
    p.set_defaults(handler=_cmd_list)

    p = sub.add_parser("info", parents=[common], help="show a model's card")
    p.add_argument("name", help="a registered model (zoo list)")
    p.add_argument("--json", action="store_true", help="print the card as JSON")
    p.set_defaults(handler=_cmd_info)

    p = sub.add_parser(
        "train", parents=[common], help="train a model into a run directory (resumes)"
    )
    p.add_argument("name", help="a registered model (zoo list)")
    p.add_argument(
        "--dataset",
        required=True,
        help="dataset name, folder of class subfolders, or CSV/TSV file",
    )
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--data-dir", help="tensorflow-datasets data directory")
    p.add_argument("--epochs", type=_positive_int, help="default: the recipe's")
    p.add_argument("--batch-size", type=_positive_int, help="global batch size")
    p.add_argument("--recipe", help="recipe name (default: the model's for this dataset)")
    p.add_argument(
        "--weights",
        help="fine-tune from these weights (a tag such as digits, a finished run directory of "
        "the same model, a .weights.h5 file, or a folder/handle the model's weight sources "
        "read): "
        "the head is re-initialised for the dataset's classes, trained alone first, then "
        "the whole network at a lower rate",
    )
    p.add_argument(
        "--strategy",
        default="auto",
        choices=("auto", "mirrored", "multi_worker", "one_device", "default"),
        help="multi_worker reads the cluster from TF_CONFIG (default: auto)",
    )
    p.add_argument(
        "--cpu-replicas",
        type=_positive_int,
        help="split the CPU into N logical devices (MirroredStrategy without GPUs)",
    )
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="model override, e.g. --set input_shape=[16,16,1] (repeatable)",
    )
    p.add_argument(
        "--seed",
        type=int,
        help="seed weights, dropout, augmentation and shuffling (repeatable runs)",
    )
    p.add_argument(
        "--deterministic",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="bit-identical runs and resumes: op determinism, per-batch seeded augmentation "
        "(slower; default: what the run started with, off)",
    )
    _add_backup_every(p)
    p.add_argument(
        "--precision",
        choices=("float32", "mixed_float16", "mixed_bfloat16"),
        help="dtype policy to train in (default: the recipe's, float32); exports are float32",
    )
    p.add_argument(
        "--jit-compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="compile the train and eval steps with XLA (default: the recipe's, off)",
    )
    p.add_argument(
        "--accumulate",
        type=_positive_int,
        help="batches whose gradients are averaged per update (gradient accumulation)",
    )
    p.add_argument(
        "--ema",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="keep an exponential moving average of the weights; the run saves the average",
    )
    p.add_argument(
        "--teacher",
        metavar="RUN_DIR|ARCH.TAG",
        help="knowledge distillation: also learn from this trained model's softened outputs "
        "(a run directory, or weights from `zoo weights list`, e.g. kws_res8.spoken_commands)",
    )
    p.add_argument(
        "--temperature",
        type=_float,
        help="distillation temperature (with --teacher; default 4)",
    )
    p.add_argument(
        "--student-loss-weight",
        type=_float,
        metavar="W",
        help="weight of the label loss against the teacher's, in [0, 1] (with --teacher; "
        "default 0.5)",
    )
    p.add_argument("--text-column", help="text column of a CSV/TSV dataset (default: text)")
    p.add_argument("--label-column", help="label column of a CSV/TSV dataset (default: label)")
    p.set_defaults(handler=_cmd_train)

    p = sub.add_parser(
        "pretrain",
        parents=[common],
        help="pretrain a text encoder on unlabeled text (masked words), to fine-tune from",
    )
    p.add_argument("name", help="a text encoder (zoo list 'transformer_encoder_*')")
    p.add_argument(
        "--corpus",
        required=True,
        help="a .txt file (one text per line), or a text dataset whose labels are ignored",
    )
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--epochs", type=_positive_int, help="default: the masked_lm recipe's")
    p.add_argument("--batch-size", type=_positive_int, help="global batch size")
    p.add_argument(
        "--mask-rate",
        type=float,
        help="share of the tokens to predict (default: 0.15, as BERT)",
    )
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="model override, e.g. --set sequence_length=128 (repeatable)",
    )
    p.add_argument("--seed", type=int, help="seed weights and shuffling")
    p.add_argument("--data-dir", help="tensorflow-datasets data directory")
    p.add_argument("--text-column", help="text column of a CSV/TSV corpus (default: text)")
    p.add_argument(
        "--strategy",
        default="auto",
        choices=("auto", "mirrored", "one_device", "default"),
        help="distribution strategy (default: auto)",
    )
    p.add_argument(
        "--cpu-replicas",
        type=_positive_int,
        help="split the CPU into N logical devices (MirroredStrategy without GPUs)",
    )
    _add_backup_every(p)
    p.set_defaults(handler=_cmd_pretrain)

    p = sub.add_parser("evaluate", parents=[common], help="evaluate a run on its validation split")
    p.add_argument("run_dir", help="a run directory written by zoo train")
    p.add_argument(
        "--dataset",
        help="another dataset whose classes are among the run's, matched by name "
        "(default: the run's dataset)",
    )
    p.add_argument("--data-dir", help="tensorflow-datasets data directory (default: the run's)")
    p.add_argument("--batch-size", type=_positive_int, help="default: the run's")
    p.set_defaults(handler=_cmd_evaluate)

    p = sub.add_parser(
        "export", parents=[common], help="export a run to SavedModel/ONNX and verify"
    )
    p.add_argument("run_dir", help="a run directory written by zoo train")
    p.add_argument("--out", required=True, help="export directory")
    p.add_argument(
        "--dataset",
        help="read the verification examples from here instead of the run's dataset "
        "(its classes among the run's, matched by name)",
    )
    p.add_argument("--format", default="savedmodel,onnx", help="comma-separated formats")
    p.add_argument(
        "--examples", type=_positive_int, default=32, help="validation examples to verify on"
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing export")
    p.add_argument(
        "--quantize",
        choices=["int8"],
        help="also write model.int8.onnx, refused if validation accuracy drops too much",
    )
    p.add_argument(
        "--max-accuracy-drop",
        type=float,
        default=0.01,
        help="largest accepted int8 accuracy drop, a fraction (default 0.01: one point)",
    )
    p.set_defaults(handler=_cmd_export)

    p = sub.add_parser(
        "bench", parents=[common], help="parameters, training throughput, inference latency"
    )
    p.add_argument("name", help="a registered model (zoo list)")
    p.add_argument(
        "--batch-sizes", default="1,32", help="comma-separated batch sizes to time (default 1,32)"
    )
    p.add_argument(
        "--repeats",
        type=_positive_int,
        default=20,
        help="rounds of timed calls per batch size; medians are reported (default 20)",
    )
    from zoo import bench  # imports no TensorFlow

    p.add_argument(
        "--train-batch",
        type=_positive_int,
        help=f"batch of the timed training steps (default {bench.TRAIN_BATCH})",
    )
    p.add_argument(
        "--train-steps",
        type=_positive_int,
        help=f"training steps timed after the tracing one (default {bench.TRAIN_STEPS})",
    )
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="model override, e.g. --set input_shape=[64,64,3] (repeatable)",
    )
    p.add_argument("--quantize", choices=["int8"], help="also time the int8 ONNX file")
    p.add_argument(
        "--json", action="store_true", help="print the figures and ratios as JSON instead"
    )
    p.set_defaults(handler=_cmd_bench)

    weights = sub.add_parser("weights", parents=[common], help="list, verify and publish weights")
    weights_sub = weights.add_subparsers(title="weights commands")
    weights.set_defaults(handler=lambda args: weights.print_help() or EXIT_USAGE)
    p = weights_sub.add_parser("list", parents=[common], help="every weight set of the manifest")
    p.add_argument("--model", help="only this model's weights")
    p.set_defaults(handler=_cmd_weights_list)
    p = weights_sub.add_parser(
        "verify", parents=[common], help="check sha256 (and with --evaluate, the metric)"
    )
    p.add_argument("name", nargs="?", help="arch.tag; default: every weight set")
    p.add_argument(
        "--evaluate", action="store_true", help="re-measure accuracy on the recorded split"
    )
    p.add_argument("--tolerance", type=float, default=0.005, help="accepted accuracy difference")
    p.add_argument("--data-dir", help="tensorflow-datasets data directory")
    p.set_defaults(handler=_cmd_weights_verify)
    p = weights_sub.add_parser(
        "fetch", parents=[common], help="download published weights into the zoo cache"
    )
    p.add_argument("name", help="arch.tag, e.g. resnet50.a1_in1k")
    p.set_defaults(handler=_cmd_weights_fetch)
    p = weights_sub.add_parser(
        "publish", parents=[common], help="add a finished run's weights to the manifest"
    )
    p.add_argument("run_dir", help="a finished run directory written by zoo train")
    p.add_argument("tag", help="weights tag, usually the dataset")
    p.add_argument("--license", default="Apache-2.0", help="SPDX license of the weights")
    p.add_argument(
        "--overwrite", action="store_true", help="replace weights already published under the name"
    )
    p.set_defaults(handler=_cmd_weights_publish)
    return parser


if __name__ == "__main__":
    sys.exit(main())
