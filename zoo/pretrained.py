"""Pretrained weights, listed in a manifest: shipped ones and published ones.

`pretrained/manifest.json` names each weight set `arch.tag`
(`resnet20.digits`, `resnet50.a1_in1k`). Rows of `source` `"zoo"` are files
the project's own recipes trained and ships: the row records the sha256, the
dataset, the metrics reached, the recipe and the builder arguments. Rows of
another source (`"timm"`, `"keras_hub"`) are weights published elsewhere:
the row records the URL or handle, the sha256 where one is pinned, the
license, the labels file and the source's preprocessing. Files are checked
against their sha256 before loading, so a truncated or tampered file never
loads silently.

Reading another library's layout is the job of the family: it registers
`WeightSource`s with its models (`register_model(..., weight_sources=...)`),
and `build_with_weights` asks them, so this module never branches on family.
`weights=` also takes a local path a source recognizes (a timm folder, a
keras-hub preset directory) or a `.weights.h5` file.

Example:

>>> [w.name for w in zoo.pretrained.weights_for("resnet20")]
['resnet20.digits']
>>> model = zoo.get_model("resnet20", weights="digits")
>>> model = zoo.get_model("resnet50", weights="a1_in1k")   # downloads once, then cached
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import hashlib
import json
import os
import sys
from pathlib import Path

from zoo import downloads, run_weights
from zoo.errors import WeightsError
from zoo.fs import VOCABULARY_FILE, entry_lines, replace_atomic, write_json_atomic

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
        labels: list of str. Class names in output order (or empty, with
            `labels_file`).
        source: str. `"zoo"` for files in the pretrained directory; else the
            name of a `WeightSource` the model registers (`"timm"`, ...).
        url: str or None. Where a published file (or a keras-hub handle) is.
        license: str or None. The weights' license (SPDX id).
        labels_file: str or None. A file in the pretrained directory with one
            class per line, in output order (`synset<TAB>name` for ImageNet).
        preprocessing: dict. The source's preprocessing (mean, std, input
            size, crop, interpolation), as published with the weights.
        split: str. The dataset split `metrics` were measured on.
        command: str. The `zoo train` command that produced the weights.
        versions: dict. Package versions they were trained with.
        size: int. Bytes of the weights file.
        tokenizer: dict or None. Text models: `{"dir": name, "sha256":
            {file: digest}}`, the tokenizer the weights were trained with,
            shipped beside them (token ids mean nothing without it).
    """

    name: str
    model: str
    tag: str
    file: str
    sha256: str | None
    dataset: str
    metrics: dict
    recipe: str
    kwargs: dict
    labels: list
    source: str = "zoo"
    url: str | None = None
    license: str | None = None
    labels_file: str | None = None
    preprocessing: dict = dataclasses.field(default_factory=dict)
    split: str = "validation"
    command: str = ""
    versions: dict = dataclasses.field(default_factory=dict)
    size: int = 0
    tokenizer: dict | None = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def class_names(self) -> list[str]:
        """The class names in output order, from `labels` or `labels_file`.

        Example:

        >>> resolve("resnet50", "a1_in1k").class_names()[:2]
        ['tench', 'goldfish']
        """
        if self.labels or not self.labels_file:
            return list(self.labels)
        path = pretrained_dir() / self.labels_file
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as err:
            raise WeightsError(f"Labels file {str(path)!r} of {self.name!r}: {err}") from err
        return [line.split("\t")[-1] for line in lines if line]


class WeightSource:
    """How a family reads weights published in another library's layout.

    A family registers instances with its models
    (`register_model(..., weight_sources={"timm": source})`); manifest rows
    of `source` `name` and local paths the source `recognizes` are built by
    it. Subclasses implement `recognizes` and `build`; `locate` defaults to
    downloading the row's `url` into the zoo cache (`zoo.downloads.fetch`).

    Class attributes:
        name: str. The manifest's `source` value.
        accepts: str. What `weights=` may be for this source, for messages.

    Example:

    >>> class NpzSource(WeightSource):
    ...     name, accepts = "npz", "an .npz file"
    ...     def recognizes(self, weights):
    ...         return weights.endswith(".npz")
    ...     def build(self, spec, location, overrides, entry):
    ...         model = spec.builder(**spec.resolve_kwargs(overrides))
    ...         model.set_weights(list(np.load(location).values()))
    ...         return model
    """

    name: str = ""
    accepts: str = ""

    def recognizes(self, weights: str) -> bool:
        """Whether `weights` (a local path or a handle) is for this source.

        Args:
            weights: str. What the user passed as `weights=`.
        """
        return False

    def locate(self, entry: WeightsEntry):
        """The local file (or handle) of a manifest row, fetched if needed.

        Args:
            entry: WeightsEntry. A row of this source.
        """
        if not entry.url:
            raise WeightsError(f"Manifest row {entry.name!r} has no url to fetch from.")
        return downloads.fetch(entry.name, entry.url, entry.sha256)

    def build(self, spec, location, overrides: dict, entry: WeightsEntry | None):
        """Builds `spec`'s model and loads the weights found at `location`.

        Args:
            spec: ModelSpec. The registered model.
            location: str or Path. From `locate`, or the user's path/handle.
            overrides: dict. The user's builder overrides.
            entry: WeightsEntry or None. The manifest row, if any.
        """
        raise NotImplementedError


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
    """Hex sha256 of a file, read in chunks (see `zoo.downloads.sha256_of`)."""
    return downloads.sha256_of(path)


def lookup(model: str, weights: str) -> WeightsEntry | None:
    """The manifest row of `model` named `weights` (tag or `arch.tag`), or None."""
    return next((e for e in weights_for(model) if weights in (e.tag, e.name)), None)


def resolve(model: str, weights: str) -> WeightsEntry:
    """Finds the manifest entry for `weights` (`"digits"` or `"resnet20.digits"`).

    Args:
        model: str. The registered model name.
        weights: str. A tag of that model, or its full `arch.tag` name.

    Example:

    >>> resolve("resnet20", "digits").file
    'resnet20.digits.weights.h5'
    """
    entry = lookup(model, weights)
    if entry is not None:
        return entry
    available = ", ".join(repr(e.tag) for e in weights_for(model)) or "none"
    raise WeightsError(
        f"Unknown weights {weights!r} for model {model!r}. Available tags: "
        f"{available}; or pass a path to a .weights.h5 file or a finished run directory."
    )


def recorded_weights(model: str, weights: str) -> str:
    """How a run records `weights=`: a local file or folder by its absolute path.

    A run is resumed and published from any working directory, so a relative
    path must not be read against the directory of a later call. Tags,
    names and handles are kept as they are.

    Args:
        model: str. The registered model name.
        weights: str. What the user passed as `weights=`.

    Example:

    >>> recorded_weights("resnet20", "runs/r20")       # run from /home/me
    '/home/me/runs/r20'
    """
    weights = os.fspath(weights)
    if lookup(model, weights) is None and Path(weights).exists():
        return str(Path(weights).resolve())
    return weights


def provenance(model: str, weights: str) -> dict:
    """What a run records about the weights it started from, beside `weights`.

    Args:
        model: str. The registered model name.
        weights: str. A tag or name, a `.weights.h5` file, a run directory, a
            local folder a weight source reads, or a handle (`hf://...`).

    Returns:
        A dict: the manifest row's `name`, `sha256` and `dataset`; a run's
        `run` (its model and dataset) and the sha256 of its model file; a
        file's or folder's sha256 (a folder's over its files' digests);
        nothing more for a handle another library resolves.

    Example:

    >>> provenance("resnet20", "digits")["name"]
    'resnet20.digits'
    """
    entry = lookup(model, weights)
    if entry is not None:
        return {"name": entry.name, "sha256": entry.sha256, "dataset": entry.dataset}
    run = run_weights.run_directory(weights)
    if run is not None:
        config = run_weights.read_config(run)
        return {
            "run": {"model": config["model"], "dataset": config.get("dataset")},
            "sha256": sha256_of(run.final_model),
        }
    path = Path(weights)
    if path.is_file():
        return {"sha256": sha256_of(path)}
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        listing = "".join(f"{p.relative_to(path).as_posix()}\t{sha256_of(p)}\n" for p in files)
        return {"sha256": hashlib.sha256(listing.encode()).hexdigest(), "sha256_of": "folder"}
    return {}


def verified_file(entry: WeightsEntry) -> Path:
    """The weights file of `entry`, after checking it against its sha256.

    Args:
        entry: WeightsEntry. A manifest row.

    Raises:
        WeightsError: the file is missing, or corrupt / changed (its sha256
            differs); a file that fails is never loaded.
    """
    path = pretrained_dir() / entry.file
    if not path.is_file():
        raise WeightsError(f"Weights file {path} listed for {entry.name!r} is missing.")
    actual = sha256_of(path)
    if actual != entry.sha256:
        raise WeightsError(
            f"Weights file {path} fails its checksum: sha256 {actual}, expected "
            f"{entry.sha256}. The file is corrupt or was changed; restore it."
        )
    return path


def find(name: str) -> WeightsEntry:
    """The manifest entry named `arch.tag`.

    Args:
        name: str. e.g. `"resnet20.digits"`.

    Raises:
        WeightsError: no such entry (the known names are listed).
    """
    for entry in all_weights():
        if entry.name == name:
            return entry
    names = [w.name for w in all_weights()]
    close = difflib.get_close_matches(str(name), names, n=3)
    hint = f" Did you mean: {', '.join(repr(c) for c in close)}?" if close else ""
    raise WeightsError(
        f"Unknown weights {name!r}.{hint} Known weight sets (arch.tag): "
        f"{', '.join(names) or 'none'}."
    )


def is_weights_file(weights: str) -> bool:
    """Whether `weights=` names a file (a `.h5` ending or a path) rather than a tag.

    Args:
        weights: str. What the user passed as `weights=`.

    Example:

    >>> is_weights_file("runs/r20/model.weights.h5"), is_weights_file("digits")
    (True, False)
    """
    return weights.endswith(".h5") or os.sep in weights


def build_with_weights(spec, weights: str, overrides: dict):
    """Builds `spec`'s model with the arguments the weights need, then loads them.

    Args:
        spec: ModelSpec. The registered model.
        weights: str. A tag, an `arch.tag` name, a `.weights.h5` path, or a
            path or handle one of the model's `weight_sources` recognizes.
        overrides: dict. The user's builder overrides.

    Returns:
        The `keras.Model` with the weights loaded.
    """
    if not isinstance(weights, (str, os.PathLike)):
        raise WeightsError(
            f"weights must be a tag, a name or a path. Received: weights={weights!r}."
        )
    weights = os.fspath(weights)
    sources = dict(getattr(spec, "weight_sources", None) or {})
    entry = lookup(spec.name, weights)
    if entry is not None and entry.source != "zoo":
        if entry.source not in sources:
            raise WeightsError(
                f"Weights {entry.name!r} come from {entry.source!r}, which model "
                f"{spec.name!r} cannot read. Its sources: {sorted(sources) or 'none'}."
            )
        source = sources[entry.source]
        return source.build(spec, source.locate(entry), overrides, entry)
    run = run_weights.run_directory(weights) if entry is None else None
    if run is not None:
        return run_weights.build_from_run(spec, run, overrides)
    if entry is None and not weights.endswith(".h5"):
        for source in sources.values():
            if source.recognizes(weights):
                return source.build(spec, weights, overrides, None)
    if is_weights_file(weights):
        path, kwargs = Path(weights), dict(overrides)
        if not path.is_file():
            raise WeightsError(
                f"Weights file not found, or not in a layout {spec.name!r} reads. Received: "
                f"weights={weights!r}. Pass an existing .weights.h5 file, a finished run "
                f"directory of {spec.name!r}{_accepted(sources)}, "
                f"or a tag from zoo.model_info({spec.name!r})."
            )
    else:
        if entry is None:
            available = ", ".join(repr(e.tag) for e in weights_for(spec.name)) or "none"
            raise WeightsError(
                f"Unknown weights {weights!r} for model {spec.name!r}. Available tags: "
                f"{available}; or pass a path to a .weights.h5 file or a finished run "
                f"directory{_accepted(sources)}."
            )
        kwargs = {**entry.kwargs, **overrides}
        path = verified_file(entry)
        trained = spec.resolve_kwargs(entry.kwargs)
        if any(_same(v, trained.get(k)) is False for k, v in spec.resolve_kwargs(kwargs).items()):
            # Another head, input channels or size: load what fits, as timm does.
            from zoo import transfer  # here: `import zoo` stays free of NumPy

            model = transfer.build_adapted(spec, path, entry.kwargs, overrides, name=entry.name)
            return _with_vocabulary(model, entry)
    model = spec.builder(**spec.resolve_kwargs(kwargs))
    try:
        model.load_weights(str(path))
    except Exception as err:  # h5py and Keras raise many types for a bad file
        raise WeightsError(f"Cannot load weights {str(path)!r} into {spec.name!r}: {err}") from err
    return model if entry is None else _with_vocabulary(model, entry)


def _with_vocabulary(model, entry: WeightsEntry):
    """`model`, carrying the vocabulary of its text weights as `model.zoo_vocabulary`.

    Their embedding rows are that vocabulary's token ids, so
    `zoo.get_dataset(..., model=model)` must tokenize with it rather than
    adapt a new one (as for a keras-hub preset's vocabulary).
    """
    vocabulary = shipped_vocabulary(entry)
    if vocabulary is not None:
        model.zoo_vocabulary = vocabulary
    return model


def shipped_vocabulary(entry: WeightsEntry) -> list[str] | None:
    """The tokens, in id order, of text weights' shipped tokenizer; None for other weights.

    Args:
        entry: WeightsEntry. A manifest row.

    Example:

    >>> shipped_vocabulary(resolve("lstm", "sentiment"))[:3]
    ['[PAD]', '[UNK]', 'was']
    """
    if not entry.tokenizer:
        return None
    path = tokenizer_dir(entry) / VOCABULARY_FILE
    return entry_lines(path.read_text(encoding="utf-8"))


def tokenizer_dir(entry: WeightsEntry) -> Path:
    """The shipped tokenizer directory of a text model's weights, checksummed.

    Args:
        entry: WeightsEntry. Its `tokenizer` names the directory and each
            file's sha256.

    Raises:
        WeightsError: the weights have no tokenizer, or a file is missing or
            fails its checksum.
    """
    if not entry.tokenizer:
        raise WeightsError(
            f"Weights {entry.name!r} have no tokenizer: {entry.model!r} does not read text."
        )
    directory = pretrained_dir() / entry.tokenizer["dir"]
    for file, expected in entry.tokenizer["sha256"].items():
        path = directory / file
        if not path.is_file():
            raise WeightsError(f"Tokenizer file {path} of weights {entry.name!r} is missing.")
        if sha256_of(path) != expected:
            raise WeightsError(
                f"Tokenizer file {path} of weights {entry.name!r} fails its checksum "
                f"(expected sha256 {expected}); restore it."
            )
    return directory


def _accepted(sources) -> str:
    return "".join(f", {s.accepts}" for s in sources.values() if s.accepts)


def load_or_convert(model, key: str, convert) -> None:
    """Loads converted weights cached under `key`, else converts and caches them.

    The first load of published weights runs `convert(model)` (reading the
    source's layout into the model) and saves the result as
    `<cache>/converted/<key>.weights.h5`; later loads read that file.

    Args:
        model: keras.Model. Built to receive the weights.
        key: str. Names the source file and converter (digest and version).
        convert: callable. `convert(model)` assigns the weights.

    Example:

    >>> load_or_convert(model, f"resnet50-timm1-{digest[:16]}", copy_timm_tensors)
    """
    path = downloads.converted_path(key)
    if path.is_file():
        try:
            model.load_weights(str(path))
            return
        except Exception:  # noqa: BLE001  a stale or foreign file: convert again
            pass
    convert(model)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_atomic(path, lambda tmp: model.save_weights(str(tmp)))
    except OSError:  # a read-only cache only costs the next load a conversion
        pass


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
