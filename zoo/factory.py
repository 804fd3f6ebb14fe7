"""Models by name: `get_model`, `model_info` and `list_models` over the registry.

The registry records what each name means; this layer adds what needs the
pretrained weights too (building with `weights=`, weight listings in model
cards, `list_models(pretrained=True)`) and what needs a built model
(parameter counts, the input spec of a `keras.Model`).

Example:

>>> model = zoo.get_model("resnet20", num_classes=10)
>>> zoo.model_info("resnet20").num_params
269722
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Mapping
from typing import Any

from zoo import cards, errors, flops, inputs, registry
from zoo import pretrained as _pretrained
from zoo.registry import get_spec


def get_model(name: str, *, weights: str | None = None, **overrides):
    """Builds the model registered under `name` as a plain `keras.Model`.

    Args:
        name: str. A registered name (see `list_models`).
        weights: str or None. A pretrained tag of this model (`"digits"` or
            `"resnet20.digits"`, `"a1_in1k"` for timm's ImageNet ResNets),
            a finished `zoo train` run directory of this model (its
            vocabulary comes along for text), a path to a `.weights.h5`
            file, or a path or handle in a
            published layout the model reads (a timm folder with
            `config.json` + `model.safetensors`, a keras-hub BERT preset).
        **overrides: builder arguments, e.g. `num_classes=100`,
            `input_shape=(64, 64, 3)`, `dropout=0.2`.

    Returns:
        A `keras.Model` that takes raw images in [0, 255] (for image models)
        and returns class probabilities.

    Example:

    >>> model = zoo.get_model("resnet20", num_classes=100)
    >>> model.output_shape
    (None, 100)
    """
    spec = get_spec(name)
    if weights is not None:
        return _pretrained.build_with_weights(spec, weights, overrides)
    return spec.builder(**spec.resolve_kwargs(overrides))


def list_models(
    pattern: str | Iterable[str] | None = None,
    *,
    task: str | None = None,
    exclude: str | Iterable[str] | None = None,
    pretrained: bool | None = None,
) -> list[str]:
    """Lists registered names, sorted, filtered by wildcards and metadata.

    Args:
        pattern: str, list of str or None. fnmatch wildcards to include
            (`"resnet*"`); None includes everything.
        task: str or None. Keep only this task.
        exclude: str, list of str or None. Wildcards to drop.
        pretrained: bool or None. True keeps models with pretrained weights,
            False those without.

    Example:

    >>> zoo.list_models("resnet*", exclude="resnet1*")
    ['resnet20', 'resnet32', 'resnet34', 'resnet44', 'resnet50', 'resnet56']
    >>> zoo.list_models(pretrained=True)[:4]
    ['bert_base', 'bert_medium', 'bert_small', 'bert_tiny']
    """
    if pretrained not in (None, True, False):
        raise errors.InvalidArgumentError(
            f"pretrained must be True, False or None. Received: pretrained={pretrained!r}."
        )
    if cards.usable():  # zoo's own families only: no Keras import needed
        names = cards.names(pattern, task=task, exclude=exclude)
    else:
        names = registry.list_models(pattern, task=task, exclude=exclude)
    if pretrained is None:
        return names
    weighted = {w.model for w in _pretrained.all_weights()}
    return [n for n in names if (n in weighted) == pretrained]


def input_of(model) -> inputs.InputSpec:
    """The input spec of a registered name or a built `keras.Model`.

    Args:
        model: str or keras.Model. A registered name (its default input) or
            a model (read from its inputs, see `zoo.inputs.for_model`).

    Example:

    >>> zoo.factory.input_of("lstm").kind
    'text'
    """
    if isinstance(model, str):
        return get_spec(model).input_for()
    return inputs.for_model(model)


def model_info(name: str) -> ModelCard:
    """Returns the card of a registered model.

    Builds the model once at its default arguments to count parameters,
    unless the generated cards of zoo's families answer (`zoo.cards`).

    Args:
        name: str. A registered name.

    Example:

    >>> card = zoo.model_info("resnet20")
    >>> card.num_params
    269722
    """
    if cards.usable():
        stored = cards.card(name)
        return ModelCard(
            **{**stored, "tags": tuple(stored["tags"])},
            weights=[w.to_dict() for w in _pretrained.weights_for(name)],
        )
    spec = get_spec(name)
    return ModelCard(
        name=spec.name,
        family=spec.family,
        task=spec.task,
        description=spec.description,
        paper=spec.paper,
        input_spec=spec.input_spec(),
        input_summary=spec.input_for().describe(),
        default_kwargs=_jsonable(spec.resolve_kwargs({})),
        accepted_overrides=spec.accepted_kwargs(),
        num_params=_measure(name)[0],
        macs=_measure(name)[1],
        default_dataset=spec.default_dataset,
        recipe=spec.recipe,
        tags=spec.tags,
        weights=[w.to_dict() for w in _pretrained.weights_for(name)],
    )


@functools.cache
def _measure(name: str) -> tuple[int, int | None]:
    """Trainable parameters and multiply-adds per example at the default arguments."""
    import keras  # here: `import zoo` stays free of TensorFlow

    model = get_model(name)
    count = sum(int(keras.ops.size(w)) for w in model.trainable_weights)
    macs = flops.count_macs(model)
    keras.backend.clear_session(free_memory=True)
    return count, macs


@dataclasses.dataclass(frozen=True)
class ModelCard:
    """What `model_info` returns: the spec plus figures computed from it.

    Args:
        name, family, task, description, paper, default_dataset, recipe,
        tags: as in `ModelSpec`.
        input_spec: dict. See `ModelSpec.input_spec`.
        input_summary: str. The input in one line (`InputSpec.describe`).
        default_kwargs: dict. Every argument the builder receives.
        accepted_overrides: list of str. Keywords `get_model` accepts.
        num_params: int. Trainable parameters at the default arguments.
        macs: int or None. Multiply-adds per example at the default input,
            counted from the graph (`zoo.flops`); None where not countable.
        weights: list of dict. Pretrained weights from `pretrained/`.
    """

    name: str
    family: str
    task: str
    description: str
    paper: str
    input_spec: dict
    input_summary: str
    default_kwargs: dict
    accepted_overrides: list
    num_params: int
    macs: int | None
    default_dataset: str | None
    recipe: str | None
    tags: tuple
    weights: list

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def __str__(self) -> str:
        rows = [
            ("name", self.name),
            ("family", self.family),
            ("task", self.task),
            ("description", self.description),
            ("paper", self.paper),
            ("input", self.input_summary),
            ("parameters", f"{self.num_params:,} trainable"),
            ("multiply-adds", _format_macs(self.macs)),
            ("defaults", _format_kwargs(self.default_kwargs)),
            ("overrides", ", ".join(self.accepted_overrides)),
            ("dataset", self.default_dataset or "-"),
            ("recipe", self.recipe or "-"),
            ("tags", ", ".join(self.tags) or "-"),
        ]
        width = max(len(k) for k, _ in rows)
        lines = [f"{k:<{width}}  {v}" for k, v in rows]
        lines.append(f"{'weights':<{width}}  {'-' if not self.weights else ''}".rstrip())
        for w in self.weights:
            accuracy = w["metrics"].get("accuracy")
            measured = (
                f"accuracy {accuracy:.4f} on {w['dataset']} {w.get('split', '')}".rstrip()
                if accuracy is not None
                else f"trained on {w['dataset']}"
            )
            where = w.get("url") or "shipped with zoo"
            lines.append(f"  {w['name']}: {measured}")
            lines.append(
                f"    source: {where}" + (f" ({w['license']})" if w.get("license") else "")
            )
            if w.get("command"):
                lines.append(f"    command: {w['command']}")
        return "\n".join(lines)


def _jsonable(kwargs: Mapping[str, Any]) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()}


def _format_macs(macs: int | None) -> str:
    if macs is None:
        return "-"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if macs >= scale:
            return f"{macs / scale:.2f} {unit} per example (default input)"
    return f"{macs} per example (default input)"


def _format_kwargs(kwargs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
