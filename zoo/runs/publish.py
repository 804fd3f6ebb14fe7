"""`publish_run`: a finished run's weights into the pretrained manifest."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shlex
import shutil
from pathlib import Path

from zoo import pretrained
from zoo.errors import WeightsError
from zoo.runs.rundir import as_run_dir


def publish_run(
    run_dir, tag: str, *, directory=None, license: str = "Apache-2.0", overwrite: bool = False
) -> pretrained.WeightsEntry:
    """Adds a finished run's weights to the manifest as `model.tag`.

    The weights file and the manifest are written to temporary names and
    renamed, so an interrupted publish leaves the old manifest intact.

    Args:
        run_dir: str or Path. A finished `zoo train` run directory.
        tag: str. The weights tag, usually the dataset (`"digits"`).
        directory: str, Path or None. Pretrained directory; defaults to
            `zoo.pretrained.pretrained_dir()`.
        license: str. SPDX license the weights are published under.
        overwrite: bool. Replace a weight set already published under the
            same name; without it that is refused and nothing is written.

    Returns:
        The new `WeightsEntry`.

    Example:

    >>> zoo.runs.publish_run("runs/r20", "digits").name
    'resnet20.digits'
    """
    if not isinstance(tag, str) or not tag or not tag.replace("_", "").isalnum():
        raise WeightsError(f"A weights tag is letters, digits and '_'. Received: tag={tag!r}")
    if not isinstance(license, str) or not _SPDX.fullmatch(license):
        raise WeightsError(
            f"license must be an SPDX license expression, e.g. 'Apache-2.0', 'MIT' or "
            f"'CC-BY-4.0'. Received: license={license!r}"
        )
    run = as_run_dir(run_dir)
    config, model = run.load()
    if not config.get("completed"):
        raise WeightsError(
            f"Run {str(run_dir)!r} has not finished training; publish a finished run."
        )
    directory = Path(directory) if directory is not None else pretrained.pretrained_dir()
    name = f"{config['model']}.{tag}"
    file = f"{name}.weights.h5"
    published = {w.name for w in pretrained._load_manifest(str(directory))}
    if not overwrite and (name in published or (directory / file).exists()):
        # Shipped weights are what other users load: replacing them must be asked for.
        raise WeightsError(
            f"Weights {name!r} are already published in {str(directory)!r}; pass another "
            f"tag, or overwrite=True (`zoo weights publish --overwrite`) to replace them. "
            f"Received: tag={tag!r}"
        )
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{file}.tmp.weights.h5"
    model.save_weights(str(tmp))
    tokenizer = _ship_tokenizer(run, directory, name)
    entry = pretrained.WeightsEntry(
        name=name,
        model=config["model"],
        tag=tag,
        file=file,
        sha256=pretrained.sha256_of(tmp),
        # The recorded path: `zoo weights verify --evaluate` re-measures on it.
        dataset=config["dataset"],
        metrics=config.get("metrics", {}),
        recipe=config["recipe_name"],
        kwargs=config["overrides"],
        labels=config.get("labels", []),
        source="zoo",
        split="validation",
        command=train_command(config),
        versions=_versions(),
        license=license,
        size=tmp.stat().st_size,
        tokenizer=tokenizer,
    )
    os.replace(tmp, directory / file)
    pretrained.add_to_manifest(entry, directory)
    return entry


# An SPDX expression: identifiers (letters, digits, '.', '-', '+') joined by AND/OR/WITH.
_SPDX = re.compile(r"[A-Za-z0-9.+-]+(?: (?:AND|OR|WITH) [A-Za-z0-9.+-]+)*")


def train_command(config: dict) -> str:
    """The `zoo train` command line that reproduces a run from its config.

    Args:
        config: dict. A run's `config.json`.

    Example:

    >>> train_command(json.load(open("runs/r20/config.json")))
    'zoo train resnet20 --dataset digits --out runs/resnet20 --epochs 30 ...'
    """
    args = ["zoo", "train", config["model"], "--dataset", config["dataset"]]
    args += ["--out", f"runs/{config['model']}", "--recipe", config["recipe_name"]]
    args += ["--epochs", str(config["epochs"]), "--batch-size", str(config["batch_size"])]
    if config.get("seed") is not None:
        args += ["--seed", str(config["seed"])]
    for key, value in sorted(config.get("overrides", {}).items()):
        if key != "num_classes":  # fitted to the dataset by `zoo train` itself
            args += ["--set", f"{key}={json.dumps(value, separators=(',', ':'))}"]
    if config.get("weights"):
        args += ["--weights", str(config["weights"])]
    distill = config.get("distill")
    if distill:
        args += ["--teacher", str(distill["teacher"])]
        args += ["--temperature", f"{distill['temperature']:g}"]
        args += ["--student-loss-weight", f"{distill['student_loss_weight']:g}"]
    return shlex.join(args)


def _ship_tokenizer(run, directory: Path, name: str) -> dict | None:
    """Copies a text run's tokenizer beside its weights; None for other runs."""
    if not run.tokenizer.is_dir():
        return None
    target = directory / f"{name}.tokenizer"
    tmp = directory / f".{name}.tokenizer.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(run.tokenizer, tmp)
    digests = {p.name: pretrained.sha256_of(p) for p in sorted(tmp.iterdir()) if p.is_file()}
    # A directory cannot be renamed over a non-empty one: move the old aside.
    old = directory / f".{name}.tokenizer.old"
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)
    return {"dir": target.name, "sha256": digests}


def _versions() -> dict:
    return {
        package: importlib.metadata.version(package) for package in ("zoo", "keras", "tensorflow")
    }
