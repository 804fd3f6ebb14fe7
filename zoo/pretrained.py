"""Pretrained weights the project's own recipes trained, listed in a manifest.

`pretrained/manifest.json` names each file `arch.tag` (`resnet20.digits`) and
records its sha256, the dataset, the metrics it reached, the recipe and the
builder arguments it was trained with. Files are checked against the sha256
before loading, so a truncated or tampered file never loads silently.

Example:

>>> [w.name for w in zoo.pretrained.weights_for("resnet20")]
['resnet20.digits']
>>> model = zoo.get_model("resnet20", weights="digits")
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import sys
from pathlib import Path

from zoo.errors import WeightsError

MANIFEST = "manifest.json"
# Builder arguments that change weight shapes: they must match the file.
SHAPE_KWARGS = ("num_classes", "input_shape", "preact")


@dataclasses.dataclass(frozen=True)
class WeightsEntry:
    """One row of the manifest.

    Args:
        name: str. `arch.tag`, e.g. `"resnet20.digits"`.
        model: str. The registered model name.
        tag: str. What the weights were trained on / for.
        file: str. File name inside the pretrained directory.
        sha256: str. Hex digest of the file.
        dataset: str. Training dataset.
        metrics: dict. Validation figures reached.
        recipe: str. Recipe used.
        kwargs: dict. Builder arguments used (input shape, classes, ...).
        labels: list of str. Class names in output order.
    """

    name: str
    model: str
    tag: str
    file: str
    sha256: str
    dataset: str
    metrics: dict
    recipe: str
    kwargs: dict
    labels: list

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def pretrained_dir() -> Path:
    """Where the manifest and weight files live.

    `ZOO_PRETRAINED_DIR` wins; then the source checkout's `pretrained/`; then
    the copy a regular install puts under `<prefix>/share/zoo/pretrained`.
    """
    if os.environ.get("ZOO_PRETRAINED_DIR"):
        return Path(os.environ["ZOO_PRETRAINED_DIR"])
    for candidate in (
        Path(__file__).resolve().parents[1] / "pretrained",
        Path(sys.prefix) / "share" / "zoo" / "pretrained",
    ):
        if (candidate / MANIFEST).is_file():
            return candidate
    return Path(__file__).resolve().parents[1] / "pretrained"


@functools.lru_cache(maxsize=None)
def _load_manifest(directory: str) -> tuple[WeightsEntry, ...]:
    path = Path(directory) / MANIFEST
    if not path.is_file():
        return ()
    try:
        rows = json.loads(path.read_text())["weights"]
        return tuple(WeightsEntry(**row) for row in rows)
    except (ValueError, KeyError, TypeError) as err:
        raise WeightsError(f"Cannot read the weights manifest {path}: {err}.") from err


def all_weights() -> tuple[WeightsEntry, ...]:
    """Every entry of the manifest."""
    return _load_manifest(str(pretrained_dir()))


def weights_for(model: str) -> list[WeightsEntry]:
    """The entries for one registered model name."""
    return [w for w in all_weights() if w.model == model]


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def resolve(model: str, weights: str) -> WeightsEntry:
    """Finds the manifest entry for `weights` (`"digits"` or `"resnet20.digits"`).

    Args:
        model: str. The registered model name.
        weights: str. A tag of that model, or its full `arch.tag` name.

    Example:

    >>> resolve("resnet20", "digits").file
    'resnet20.digits.weights.h5'
    """
    entries = weights_for(model)
    for entry in entries:
        if weights in (entry.tag, entry.name):
            return entry
    available = ", ".join(repr(e.tag) for e in entries) or "none"
    raise WeightsError(
        f"Unknown weights {weights!r} for model {model!r}. Available tags: "
        f"{available}; or pass a path to a .weights.h5 file."
    )


def build_with_weights(spec, weights: str, overrides: dict):
    """Builds `spec`'s model with the arguments the weights need, then loads them.

    Args:
        spec: ModelSpec. The registered model.
        weights: str. A tag, an `arch.tag` name, or a `.weights.h5` path.
        overrides: dict. The user's builder overrides.

    Returns:
        The `keras.Model` with the weights loaded.
    """
    if weights.endswith(".h5") or os.sep in weights:
        path, kwargs = Path(weights), dict(overrides)
        if not path.is_file():
            raise WeightsError(
                f"Weights file not found. Received: weights={weights!r}. Pass an "
                f"existing .weights.h5 file or a tag from zoo.model_info({spec.name!r})."
            )
    else:
        entry = resolve(spec.name, weights)
        kwargs = {**entry.kwargs, **overrides}
        for key in SHAPE_KWARGS:
            if key in overrides and key in entry.kwargs and _same(overrides[key], entry.kwargs[key]) is False:
                raise WeightsError(
                    f"Weights {entry.name!r} were trained with {key}={entry.kwargs[key]!r}; "
                    f"received {key}={overrides[key]!r}. Drop the override or train new weights."
                )
        path = pretrained_dir() / entry.file
        if not path.is_file():
            raise WeightsError(f"Weights file {path} listed for {entry.name!r} is missing.")
        actual = sha256_of(path)
        if actual != entry.sha256:
            raise WeightsError(
                f"Weights file {path} fails its checksum: sha256 {actual}, expected "
                f"{entry.sha256}. The file is corrupt or was changed; restore it."
            )
    model = spec.builder(**spec.resolve_kwargs(kwargs))
    try:
        model.load_weights(str(path))
    except Exception as err:  # h5py and Keras raise many types for a bad file
        raise WeightsError(
            f"Cannot load weights {str(path)!r} into {spec.name!r}: {err}"
        ) from err
    return model


def _same(a, b) -> bool:
    norm = lambda v: list(v) if isinstance(v, (tuple, list)) else v  # noqa: E731
    return norm(a) == norm(b)


def publish_run(run_dir, tag: str, *, directory=None) -> WeightsEntry:
    """Adds a finished run's weights to the manifest as `model.tag`.

    The weights file and the manifest are written to temporary names and
    renamed, so an interrupted publish leaves the old manifest intact.

    Args:
        run_dir: str or Path. A finished `zoo train` run directory.
        tag: str. The weights tag, usually the dataset (`"digits"`).
        directory: str, Path or None. Pretrained directory; defaults to
            `pretrained_dir()`.

    Returns:
        The new `WeightsEntry`.

    Example:

    >>> zoo.pretrained.publish_run("runs/r20", "digits").name
    'resnet20.digits'
    """
    import tempfile

    from zoo import training

    config, model = training.load_run(run_dir)
    if not config.get("completed"):
        raise WeightsError(f"Run {str(run_dir)!r} has not finished training; publish a "
                           f"finished run.")
    if not tag or not tag.replace("_", "").isalnum():
        raise WeightsError(f"A weights tag is letters, digits and '_'. Received: tag={tag!r}")
    directory = Path(directory) if directory is not None else pretrained_dir()
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{config['model']}.{tag}"
    file = f"{name}.weights.h5"
    tmp = directory / f".{file}.tmp.weights.h5"
    model.save_weights(str(tmp))
    entry = WeightsEntry(
        name=name, model=config["model"], tag=tag, file=file, sha256=sha256_of(tmp),
        dataset=config["dataset"], metrics=config.get("metrics", {}),
        recipe=config["recipe_name"], kwargs=config["overrides"], labels=config.get("labels", []),
    )
    os.replace(tmp, directory / file)
    rows = [w.to_dict() for w in _load_manifest(str(directory)) if w.name != name]
    rows.append(entry.to_dict())
    fd, manifest_tmp = tempfile.mkstemp(dir=directory, prefix=f".{MANIFEST}.")
    with os.fdopen(fd, "w") as handle:
        json.dump({"weights": sorted(rows, key=lambda r: r["name"])}, handle, indent=2)
        handle.write("\n")
    os.chmod(manifest_tmp, 0o644)  # mkstemp makes it private; the manifest is shared
    os.replace(manifest_tmp, directory / MANIFEST)
    _load_manifest.cache_clear()
    return entry
