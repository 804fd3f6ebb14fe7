"""`publish_run`: a finished run's weights into the pretrained manifest."""

from __future__ import annotations

import os
from pathlib import Path

from zoo import pretrained
from zoo.errors import WeightsError
from zoo.runs.rundir import as_run_dir


def publish_run(run_dir, tag: str, *, directory=None) -> pretrained.WeightsEntry:
    """Adds a finished run's weights to the manifest as `model.tag`.

    The weights file and the manifest are written to temporary names and
    renamed, so an interrupted publish leaves the old manifest intact.

    Args:
        run_dir: str or Path. A finished `zoo train` run directory.
        tag: str. The weights tag, usually the dataset (`"digits"`).
        directory: str, Path or None. Pretrained directory; defaults to
            `zoo.pretrained.pretrained_dir()`.

    Returns:
        The new `WeightsEntry`.

    Example:

    >>> zoo.runs.publish_run("runs/r20", "digits").name
    'resnet20.digits'
    """
    config, model = as_run_dir(run_dir).load()
    if not config.get("completed"):
        raise WeightsError(
            f"Run {str(run_dir)!r} has not finished training; publish a finished run."
        )
    if not tag or not tag.replace("_", "").isalnum():
        raise WeightsError(f"A weights tag is letters, digits and '_'. Received: tag={tag!r}")
    directory = Path(directory) if directory is not None else pretrained.pretrained_dir()
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{config['model']}.{tag}"
    file = f"{name}.weights.h5"
    tmp = directory / f".{file}.tmp.weights.h5"
    model.save_weights(str(tmp))
    entry = pretrained.WeightsEntry(
        name=name,
        model=config["model"],
        tag=tag,
        file=file,
        sha256=pretrained.sha256_of(tmp),
        dataset=config["dataset"],
        metrics=config.get("metrics", {}),
        recipe=config["recipe_name"],
        kwargs=config["overrides"],
        labels=config.get("labels", []),
    )
    os.replace(tmp, directory / file)
    pretrained.add_to_manifest(entry, directory)
    return entry
