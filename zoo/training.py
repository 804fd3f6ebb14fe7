"""The run-directory training loop behind `zoo train` and `zoo evaluate`.

A run directory holds everything about one training run:

    config.json          model, overrides, dataset, recipe, labels, status
    model.keras          the final model (written when training completes)
    checkpoints/best.keras  best validation accuracy so far
    backup/              BackupAndRestore state while a run is in progress
    logs/                TensorBoard
    history.csv          one row per epoch (appended on resume)
    curves.png           loss and accuracy curves

Running the same `train` call again on an interrupted run resumes it from the
last finished epoch; on a finished run it returns the stored result.

Example:

>>> result = zoo.train("resnet20", "digits", "runs/r20", epochs=3)
>>> result.metrics["val_accuracy"]
0.97
>>> zoo.evaluate("runs/r20")
{'loss': 0.11, 'accuracy': 0.97}
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
from pathlib import Path

from zoo import errors, factory, recipes, registry

CONFIG = "config.json"
TOKENIZER_DIR = "tokenizer"
FINAL_MODEL = "model.keras"
# Keys of config.json that must match for a run to be resumed.
# What a rerun into the same directory must repeat: another batch size would
# rebuild the learning-rate schedule from another number of steps per epoch.
_IDENTITY = ("model", "overrides", "dataset", "recipe_name", "batch_size", "seed")


@dataclasses.dataclass
class TrainResult:
    """What `train` returns.

    Args:
        run_dir: Path. The run directory.
        model: keras.Model. The trained model.
        metrics: dict. Final validation loss and accuracy.
        epochs: int. Epochs trained in total.
        resumed: bool. Whether this call continued an interrupted run or
            found it already complete.
        already_complete: bool. The run had finished before this call, which
            only reloaded it.
    """

    run_dir: Path
    model: object
    metrics: dict
    epochs: int
    resumed: bool
    already_complete: bool = False


def recipe_for(model_name: str, dataset: str):
    """The recipe tuned for this model on this dataset, else the model's default.

    A model's spec may name recipes per dataset (`dataset_recipes`, e.g.
    resnet on `digits`): small embedded datasets get a recipe sized for them.

    Args:
        model_name: str. A registered model.
        dataset: str. A dataset name or folder path.
    """
    name = registry.get_spec(model_name).recipe_for(dataset)
    return recipes.get_recipe(name if name is not None else model_name)


def fit_overrides_to_dataset(spec, overrides: dict, info) -> dict:
    """Defaults `num_classes` and what the input spec fits to the dataset's.

    Training resnet20 on digits then builds an 8x8x1, 10-class model instead
    of upsampling 8x8 digits to 32x32 RGB (`InputSpec.dataset_overrides`:
    image size, sequence length, sample rate); explicit overrides always win.

    Args:
        spec: ModelSpec. The model's registry entry.
        overrides: dict. The user's builder overrides.
        info: DatasetInfo. From `zoo.data.dataset_info`.
    """
    accepted = spec.accepted_kwargs()
    fitted = {"num_classes": info.num_classes} if "num_classes" in accepted else {}
    fitted.update(spec.input.dataset_overrides(info, accepted))
    return {**fitted, **overrides}


def train(
    model_name: str,
    dataset: str,
    run_dir,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    recipe: str | None = None,
    data_dir: str | None = None,
    strategy: str = "auto",
    cpu_replicas: int | None = None,
    overrides: dict | None = None,
    verbose: int | str = "auto",
    seed: int | None = None,
    text_column: str | None = None,
    label_column: str | None = None,
) -> TrainResult:
    """Trains a registered model on a dataset into a run directory.

    Args:
        model_name: str. A registered model name.
        dataset: str. A dataset name (`"digits"`, `"cifar10"`) or a folder
            of class subfolders.
        run_dir: str or Path. Where the run's files go; resumes if it holds
            an interrupted run of the same model and dataset.
        epochs: int or None. Defaults to the recipe's.
        batch_size: int or None. Global batch; defaults to the recipe's.
        recipe: str or None. Recipe name; defaults to `recipe_for`.
        data_dir: str or None. tfds data directory.
        strategy: str. See `zoo.distribute.get_strategy`.
        cpu_replicas: int or None. Split the CPU into logical devices first.
        overrides: dict or None. Model builder overrides.
        verbose: int or "auto". Keras progress bar setting.
        seed: int or None. Seeds Python, NumPy, TensorFlow and Keras (weights,
            dropout, augmentation) and the shuffle order, so a rerun on the
            same machine repeats the run. None draws fresh randomness.
        text_column: str or None. For a CSV/TSV dataset, the text column
            (default `"text"`); kept in the run, so evaluate/export reuse it.
        label_column: str or None. For a CSV/TSV dataset, the label column
            (default `"label"`).

    Example:

    >>> zoo.train("resnet20", "digits", "runs/r20", epochs=3, seed=0)
    """
    from zoo import data, distribute

    spec = registry.get_spec(model_name)
    overrides = dict(overrides or {})
    spec.resolve_kwargs(overrides)  # reject unknown keywords first
    # Before any TensorFlow op: CPU splits and multi-worker clusters need that.
    strat = distribute.get_strategy(strategy, cpu_replicas=cpu_replicas)
    columns = {key: value for key, value in (("text_column", text_column),
                                             ("label_column", label_column)) if value}
    info = data.dataset_info(dataset, data_dir=data_dir, **columns)
    overrides = fit_overrides_to_dataset(spec, overrides, info)
    chosen = recipes.get_recipe(recipe) if recipe else recipe_for(model_name, dataset)
    chosen = chosen.replace(
        **({"epochs": epochs} if epochs is not None else {}),
        **({"batch_size": batch_size} if batch_size is not None else {}),
    )
    distribute.per_replica_batch_size(chosen.batch_size, strat)

    run_dir = Path(run_dir)
    _check_writable(run_dir)
    if not distribute.is_chief(strat):
        # The other workers of a cluster take part in every step but keep their
        # files (backup for resuming, logs, their copy of the model) apart.
        run_dir = run_dir / "workers" / distribute.worker_name(strat)
    config = {
        "model": model_name,
        "overrides": _jsonable(overrides),
        "dataset": str(dataset),
        "data_dir": data_dir,
        "recipe_name": chosen.name,
        "recipe": chosen.to_dict(),
        "epochs": chosen.epochs,
        "batch_size": chosen.batch_size,
        "strategy": strategy,
        "replicas": distribute.num_replicas(strat),
        "seed": seed,
        "table_columns": columns,
    }
    previous = _read_config(run_dir) if (run_dir / CONFIG).exists() else None
    if previous is not None:
        if seed is None:  # a rerun keeps the seed the run started with
            seed = config["seed"] = previous.get("seed")
        _check_same_run(run_dir, previous, config)
        if previous.get("completed"):
            return _finished(run_dir, previous, chosen.epochs, data_dir)
    if seed is not None:
        import keras

        keras.utils.set_random_seed(seed)

    with strat.scope():  # builds first: bad override values fail before any I/O
        model = factory.get_model(model_name, **overrides)
    tokenizer = None
    if spec.input.needs_tokenizer:
        # A resumed run must keep the vocabulary its weights were trained with.
        tokenizer = load_tokenizer(run_dir) or data.get_tokenizer(dataset, model=model,
                                                                  data_dir=data_dir, **columns)
    train_ds, val_ds = data.get_dataset(
        dataset,
        model=model,
        batch_size=chosen.batch_size,
        data_dir=data_dir,
        augment=chosen.augmentation,
        strategy=strat,
        tokenizer=tokenizer,
        # Workers shard the data by example, so they must shuffle alike.
        seed=0 if seed is None and distribute.is_multi_worker(strat) else seed,
        **columns,
    )
    chosen.compile(model, steps_per_epoch=len(train_ds), strategy=strat)

    resumed = (run_dir / "backup").exists()
    if not resumed and (run_dir / "history.csv").exists():
        # A run that died before its first backup starts over; drop its rows.
        (run_dir / "history.csv").unlink()
    config.update(labels=list(info.class_names), input_spec=spec.input_spec(overrides),
                  completed=False)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise errors.RunDirError(
            f"Cannot create the run directory {str(run_dir)!r}: {err}. Pass a writable "
            f"directory path.") from err
    if tokenizer is not None:
        tokenizer.save(run_dir / TOKENIZER_DIR)
    _write_json(run_dir / CONFIG, config)

    history = model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=chosen.epochs,
        callbacks=chosen.callbacks(run_dir),
        verbose=verbose,
        shuffle=False,  # the pipeline shuffles; Keras would only warn that it ignores this
    )
    _check_finite(history.history.get("loss", []), run_dir, chosen)
    _save_model(model, run_dir / FINAL_MODEL)
    # Report the figures of the saved file, evaluated on one device: under
    # MirroredStrategy each replica evaluates with its own BatchNorm moving
    # statistics, while the file holds their mean.
    _, saved = load_run(run_dir)
    metrics = _evaluate_model(_compile_for_eval(saved, chosen), val_ds)
    plot_history(run_dir / "history.csv", run_dir / "curves.png")
    config.update(completed=True, metrics=metrics)
    _write_json(run_dir / CONFIG, config)
    return TrainResult(run_dir, model, metrics, chosen.epochs, resumed)


def load_run(run_dir):
    """Loads a run directory's config and trained model.

    Args:
        run_dir: str or Path. A directory written by `train`.

    Returns:
        `(config, model)`; the model is the final one, or the best
        checkpoint when training has not finished.
    """
    import keras

    registry.list_models()  # imports every family: registers their serializable classes
    run_dir = Path(run_dir)
    config = _read_config(run_dir)
    for candidate in (run_dir / FINAL_MODEL, run_dir / "checkpoints" / "best.keras"):
        if candidate.is_file():
            try:
                return config, keras.saving.load_model(str(candidate), compile=False)
            except Exception as err:  # a truncated or tampered file
                raise errors.RunDirError(
                    f"Cannot load {candidate}: {err}. The file is corrupt; retrain or "
                    f"restore it."
                ) from err
    raise errors.RunDirError(
        f"Run directory {str(run_dir)!r} holds no trained model yet ({FINAL_MODEL} or "
        f"checkpoints/best.keras). Run `zoo train` into it first."
    )


def load_tokenizer(run_dir):
    """The tokenizer a text run was trained with, or None (image runs, new runs).

    Args:
        run_dir: str or Path. A run directory.
    """
    path = Path(run_dir) / TOKENIZER_DIR
    if not path.is_dir():
        return None
    from zoo.data.tokenizers import load_tokenizer as load

    return load(path)


def evaluate(run_dir, *, dataset: str | None = None, data_dir: str | None = None,
             batch_size: int | None = None) -> dict:
    """Evaluates a run's model on the validation split of its dataset.

    Args:
        run_dir: str or Path. A directory written by `train`.
        dataset: str or None. Another dataset with the same classes;
            defaults to the run's own.
        data_dir: str or None. tfds data directory; defaults to the run's.
        batch_size: int or None. Defaults to the run's.

    Returns:
        `{"loss": float, "accuracy": float, "examples": int}`.

    Example:

    >>> zoo.evaluate("runs/r20")["accuracy"]
    0.97
    """
    from zoo import data

    config, model = load_run(run_dir)
    _, val_ds = data.get_dataset(
        dataset or config["dataset"],
        model=model,
        batch_size=batch_size or config["batch_size"],
        data_dir=data_dir or config.get("data_dir"),
        augment=False,
        tokenizer=load_tokenizer(run_dir),
        **config.get("table_columns", {}),
    )
    recipe = recipes.Recipe(**{**config["recipe"], "metrics": tuple(config["recipe"]["metrics"])})
    return _evaluate_model(_compile_for_eval(model, recipe), val_ds)


def export_run(run_dir, out_dir, *, formats=("savedmodel", "onnx"), examples: int = 32,
               overwrite: bool = False):
    """Exports a run's model, verified on real images of its validation split.

    Args:
        run_dir: str or Path. A directory written by `train`.
        out_dir: str or Path. Where the export goes (written atomically).
        formats: tuple of str. `"savedmodel"` and/or `"onnx"`.
        examples: int. Validation examples to verify the artifacts on.
        overwrite: bool. Replace an existing export.

    Returns:
        The `ExportReport`.

    Example:

    >>> print(zoo.training.export_run("runs/r20", "out/r20"))
    """
    config, model = load_run(run_dir)
    from zoo import data
    from zoo.export import export

    tokenizer = load_tokenizer(run_dir)
    if tokenizer is not None:  # text: verify on raw validation texts, tokenizer included
        inputs = data.text_examples(config["dataset"], examples, data_dir=config.get("data_dir"),
                                    **config.get("table_columns", {}))
    else:
        _, val_ds = data.get_dataset(config["dataset"], model=model, batch_size=examples,
                                     data_dir=config.get("data_dir"), augment=False)
        inputs = next(iter(val_ds))[0].numpy()
    return export(
        model,
        out_dir,
        formats=tuple(formats),
        inputs=inputs,
        tokenizer=tokenizer,
        model_name=config["model"],
        labels=config.get("labels"),
        overwrite=overwrite,
        extra_metadata={"run_dir": str(run_dir), "dataset": config["dataset"],
                        "metrics": config.get("metrics", {})},
    )


def plot_history(csv_path, png_path) -> Path | None:
    """Draws loss and accuracy curves from a CSVLogger file into a PNG.

    Args:
        csv_path: str or Path. `history.csv` of a run.
        png_path: str or Path. Where the picture goes.
    """
    import csv

    import matplotlib

    matplotlib.use("Agg")  # no display on servers and CI
    import matplotlib.pyplot as plt

    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return None
    epochs = [int(r["epoch"]) + 1 for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for prefix, style in (("", "-"), ("val_", "--")):
            key = prefix + metric
            if key in rows[0]:
                ax.plot(epochs, [float(r[key]) for r in rows], style, label=key)
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return Path(png_path)


def _compile_for_eval(model, recipe):
    model.compile(loss=recipe.build_loss(), metrics=list(recipe.metrics))
    return model


def _evaluate_model(model, dataset) -> dict:
    values = model.evaluate(dataset, verbose=0, return_dict=True)
    examples = sum(int(labels.shape[0]) for _, labels in dataset)
    return {
        "loss": float(values["loss"]),
        "accuracy": float(values.get("accuracy", values.get("compile_metrics", 0.0))),
        "examples": examples,
    }


def _finished(run_dir, config, epochs, data_dir) -> TrainResult:
    if epochs > config["epochs"]:
        raise errors.RunDirError(
            f"Run directory {str(run_dir)!r} holds a finished run of {config['epochs']} "
            f"epochs; received epochs={epochs}. Train into a new --out directory."
        )
    _, model = load_run(run_dir)
    return TrainResult(Path(run_dir), model, config.get("metrics", {}), config["epochs"], True,
                       already_complete=True)


def _check_writable(run_dir: Path) -> None:
    """Fails before any work when `run_dir` cannot become a directory."""
    existing = run_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        what = "is not a directory" if not existing.is_dir() else "is not writable"
        raise errors.RunDirError(
            f"Cannot use {str(run_dir)!r} as a run directory: {str(existing)!r} {what}. "
            f"Pass a directory path that can be created or written.")


def _check_finite(losses, run_dir: Path, recipe) -> None:
    """Keras' TerminateOnNaN only stops `fit`; a diverged run must not look finished."""
    if all(math.isfinite(loss) for loss in losses):
        return
    epoch = next(i for i, loss in enumerate(losses) if not math.isfinite(loss))
    raise errors.TrainingDivergedError(
        f"Training diverged: the loss became {losses[epoch]} in epoch {epoch + 1}, so it "
        f"was stopped. Received: recipe {recipe.name!r} with learning_rate="
        f"{recipe.learning_rate} at batch {recipe.batch_size}. Try a lower learning rate or "
        f"another recipe, in a new run directory (or delete {str(run_dir)!r}); the run is "
        f"left marked unfinished.")


def _check_same_run(run_dir, previous, config) -> None:
    changed = [k for k in _IDENTITY if previous.get(k) != config[k]]
    if changed:
        details = ", ".join(f"{k}: {previous.get(k)!r} -> {config[k]!r}" for k in changed)
        raise errors.RunDirError(
            f"Run directory {str(run_dir)!r} belongs to another run ({details}). "
            f"Use a new --out directory, or delete this one."
        )


def _read_config(run_dir: Path) -> dict:
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        raise errors.RunDirError(
            f"{str(run_dir)!r} is not a run directory (no {CONFIG}). Pass a directory "
            f"written by `zoo train`."
        )
    try:
        return json.loads(path.read_text())
    except ValueError as err:
        raise errors.RunDirError(f"{path} is not valid JSON: {err}.") from err


def _write_json(path: Path, payload: dict) -> None:
    # Write then rename, so a crash never leaves half a config behind.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as handle:
        json.dump(payload, handle, indent=2, default=str)
    os.replace(tmp, path)


def _save_model(model, path: Path) -> None:
    tmp = path.with_name(f".tmp-{path.name}")
    model.save(str(tmp))
    os.replace(tmp, path)


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
