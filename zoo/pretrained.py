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
from zoo.fs import write_json_atomic

MANIFEST = "manifest.json"


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


@functools.cache
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
        path = pretrained_dir() / entry.file
        if not path.is_file():
            raise WeightsError(f"Weights file {path} listed for {entry.name!r} is missing.")
        actual = sha256_of(path)
        if actual != entry.sha256:
            raise WeightsError(
                f"Weights file {path} fails its checksum: sha256 {actual}, expected "
                f"{entry.sha256}. The file is corrupt or was changed; restore it."
            )
        trained = spec.resolve_kwargs(entry.kwargs)
        if any(_same(v, trained.get(k)) is False for k, v in spec.resolve_kwargs(kwargs).items()):
            # Another head, input channels or size: load what fits, as timm does.
            from zoo import transfer  # here: `import zoo` stays free of NumPy

            return transfer.build_adapted(spec, path, entry.kwargs, overrides, name=entry.name)
    model = spec.builder(**spec.resolve_kwargs(kwargs))
    try:
        model.load_weights(str(path))
    except Exception as err:  # h5py and Keras raise many types for a bad file
        raise WeightsError(f"Cannot load weights {str(path)!r} into {spec.name!r}: {err}") from err
    return model


def _same(a, b) -> bool:
    norm = lambda v: list(v) if isinstance(v, (tuple, list)) else v  # noqa: E731
    return norm(a) == norm(b)


def add_to_manifest(entry: WeightsEntry, directory=None) -> None:
    """Adds (or replaces) `entry` in the manifest of `directory`, atomically.

    Args:
        entry: WeightsEntry. Its file must already be in `directory`.
        directory: str, Path or None. Defaults to `pretrained_dir()`.
    """
    directory = Path(directory) if directory is not None else pretrained_dir()
    rows = [w.to_dict() for w in _load_manifest(str(directory)) if w.name != entry.name]
    rows.append(entry.to_dict())
    # Shared with every user of the install: readable by all (0o644).
    write_json_atomic(
        directory / MANIFEST, {"weights": sorted(rows, key=lambda r: r["name"])}, mode=0o644
    )
    _load_manifest.cache_clear()
