"""Starting weights from a finished `zoo train` run directory: `weights="runs/r20"`.

Train on one dataset, fine-tune on another, without publishing in between:
`get_model(name, weights=RUN_DIR, ...)` loads the run's final `model.keras`
(Keras' safe mode on) and copies its weights into the model built with the
caller's arguments, by `zoo.transfer`'s rules (a new head when the classes
differ, the first convolution adapted to other channels); from a
pretraining run (`zoo.pretrain`), the encoder under a new head. A text run's
vocabulary comes along as `model.zoo_vocabulary`: its embedding rows are
that vocabulary's token ids.

Example:

>>> zoo.train("resnet20", "digits", "runs/r20", epochs=3)
>>> model = zoo.get_model("resnet20", weights="runs/r20", num_classes=2)
>>> model.transfer_report.skipped
('logits/kernel', 'logits/bias')
"""

from __future__ import annotations

import json
from pathlib import Path

from zoo import transfer
from zoo.errors import WeightsError
from zoo.fs import VOCABULARY_FILE, RunLayout, entry_lines

# Keys every `config.json` of `zoo train` holds; a keras-hub preset or a timm
# folder also has a config.json, without them.
RUN_KEYS = ("model", "recipe_name", "overrides")


def run_directory(weights) -> RunLayout | None:
    """The run directory `weights` names, or None when it names none.

    Args:
        weights: str or Path. What the user passed as `weights=`.

    Example:

    >>> run_directory("runs/r20").final_model
    PosixPath('runs/r20/model.keras')
    >>> run_directory("digits") is None
    True
    """
    layout = RunLayout(Path(weights))
    if not layout.root.is_dir():
        return None
    config = read_config(layout)
    return layout if config is not None and all(k in config for k in RUN_KEYS) else None


def build_from_run(spec, layout: RunLayout, overrides: dict):
    """Builds `spec`'s model with `overrides` and the weights of the run at `layout`.

    Args:
        spec: ModelSpec. The registered model; the run must have trained it.
        layout: RunLayout. From `run_directory`.
        overrides: dict. The user's builder arguments; they win over the run's.

    Returns:
        The model, with `model.transfer_report`, and `model.zoo_vocabulary`
        for a text run.

    Raises:
        WeightsError: the run trained another model, has not finished, or
            its model cannot be loaded.

    Example:

    >>> model = build_from_run(registry.get_spec("lstm"), run_directory("runs/lstm"), {})
    >>> len(model.zoo_vocabulary)
    67
    """
    import keras  # here: `import zoo` stays free of Keras

    config = read_config(layout) or {}
    where = str(layout.root)
    if config["model"] != spec.name:
        raise WeightsError(
            f"Run {where!r} trained {config['model']!r}, not {spec.name!r}: its weights fit "
            f"only {config['model']!r}. Pass a finished run of {spec.name!r} as weights, or "
            f"start {config['model']!r} from this one."
        )
    if not config.get("completed") or not layout.final_model.is_file():
        how = (
            "rerun the same `zoo train` command (it resumes)"
            if config.get("task") is None
            else "rerun the same `zoo pretrain` command"
        )
        raise WeightsError(
            f"Run {where!r} has not finished training (no {layout.final_model.name}): "
            f"{how}, then start from it. Accepted: a finished run directory."
        )
    try:
        # Safe mode stays on; the family's classes are registered (the spec is).
        trained = keras.saving.load_model(str(layout.final_model), compile=False)
    except Exception as err:  # Keras raises many types for a bad archive
        raise WeightsError(
            f"Cannot load {str(layout.final_model)!r} of run {where!r}: {err}. Accepted: a "
            f"finished run directory whose model.keras loads (zoo.load_model)."
        ) from err
    if config.get("task") is None:
        model = transfer.adapt_from(spec, trained, config["overrides"], overrides, name=where)
    else:  # a pretraining run (zoo.pretrain): its backbone under a new head
        model = _from_backbone(spec, trained.backbone, config["overrides"], overrides, where)
    vocabulary = layout.tokenizer / VOCABULARY_FILE
    if vocabulary.is_file():
        model.zoo_vocabulary = entry_lines(vocabulary.read_text(encoding="utf-8"))
    return model


def _from_backbone(spec, backbone, trained_kwargs: dict, overrides: dict, name: str):
    """`spec`'s model with `overrides`, its backbone's weights copied from `backbone`."""
    trained = spec.resolve_kwargs(trained_kwargs)
    wanted = spec.resolve_kwargs({**trained_kwargs, **overrides})
    model = spec.builder(**wanted)
    changed = {k: (trained.get(k), v) for k, v in wanted.items() if trained.get(k) != v}
    report = transfer.transfer_weights(backbone, model.backbone, name=name, changed=changed)
    in_backbone = {id(v) for v in model.backbone.weights}
    head = tuple(v.path for v in model.weights if id(v) not in in_backbone)
    model.transfer_report = transfer.TransferReport(
        name, report.loaded, head, report.adapted, report.changed
    )
    return model


def read_config(layout: RunLayout) -> dict | None:
    """The run's `config.json` as a dict, or None when it is missing or not JSON.

    Args:
        layout: RunLayout. A run directory.

    Example:

    >>> read_config(RunLayout("runs/r20"))["model"]
    'resnet20'
    """
    try:
        config = json.loads(layout.config.read_text())
    except (OSError, ValueError):
        return None
    return config if isinstance(config, dict) else None
