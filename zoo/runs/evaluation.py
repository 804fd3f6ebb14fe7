"""`evaluate` and `export_run`: a finished (or interrupted) run, reloaded from disk.

Example:

>>> zoo.evaluate("runs/r20")
{'loss': 0.11, 'accuracy': 0.97, 'examples': 360}
>>> print(zoo.training.export_run("runs/r20", "out/r20"))
"""

from __future__ import annotations

import os

from zoo import data, errors, factory, pretrained, recipes, validation
from zoo.exporting import DEFAULT_MAX_ACCURACY_DROP, check_request, export
from zoo.runs.rundir import as_run_dir


def evaluate(
    run_dir,
    *,
    dataset: str | None = None,
    data_dir: str | None = None,
    batch_size: int | None = None,
) -> dict:
    """Evaluates a run's model on the validation split of its dataset.

    Args:
        run_dir: str or Path. A directory written by `train`.
        dataset: str or None. Another dataset whose classes are among the
            run's, matched by name (a folder of some of them is scored on
            the model's own class indices); defaults to the run's own. A run
            that recorded no class names (`labels` in `config.json`) is
            scored by index.
        data_dir: str or None. tfds data directory; defaults to the run's.
        batch_size: int or None. Defaults to the run's.

    Returns:
        `{"loss": float, "accuracy": float, "examples": int}`.

    Example:

    >>> zoo.evaluate("runs/r20")["accuracy"]
    0.97
    """
    if batch_size is not None:  # 0 must not fall back to the run's batch size
        validation.check_positive_int("batch_size", batch_size)
    run = as_run_dir(run_dir)
    config, model = run.load()
    source = _RunData(run, config, model, dataset, data_dir)
    _, val_ds = source.pipelines(
        model,
        batch_size if batch_size is not None else config["batch_size"],
        tokenizer=run.load_tokenizer(),
    )
    recipe = recipes.Recipe(**{**config["recipe"], "metrics": tuple(config["recipe"]["metrics"])})
    return evaluate_model(compile_for_eval(model, recipe), val_ds)


class _RunData:
    """The dataset a run is measured on: its own, or `dataset` with its labels mapped.

    Attributes:
        name: str. The dataset to read.
        data_dir: str or None. tfds data directory.
        columns: dict. The run's CSV/TSV column names.
        positions: list of int or None. The run's class index of each label
            of `dataset`; None when the labels are the run's already.
    """

    def __init__(self, run, config, model, dataset, data_dir):
        self.columns = config.get("table_columns", {})
        self.data_dir = data_dir or config.get("data_dir")
        self.name = dataset or config["dataset"]
        self.positions = None
        if dataset is None:
            _check_recorded_dataset(run.root, self.name)
        elif config.get("labels"):
            info = data.dataset_info(dataset, data_dir=self.data_dir, **self.columns)
            if info.modality == factory.input_of(model).kind:  # else get_dataset names both
                positions = label_positions(info.class_names, config["labels"], dataset, run.root)
                if positions != list(range(len(positions))):
                    self.positions = positions

    def pipelines(self, model, batch_size: int, tokenizer=None):
        """`(train, val)` of this data for `model`, unaugmented, labelled as the run numbers
        its classes (`get_dataset` arguments as for `zoo.get_dataset`)."""
        train, val = data.get_dataset(
            self.name,
            model=model,
            batch_size=batch_size,
            data_dir=self.data_dir,
            augment=False,
            tokenizer=tokenizer,
            **self.columns,
        )
        if self.positions is None:
            return train, val
        import tensorflow as tf

        # The dataset numbers its classes its own way; the model's outputs are the run's.
        table = tf.constant(self.positions, tf.int32)

        def relabel(x, y):
            return x, tf.gather(table, tf.cast(y, tf.int32))

        return train.map(relabel), val.map(relabel)


def _check_recorded_dataset(run_dir, name: str) -> None:
    """A run's folder or table file that is gone: say so, and how to point elsewhere."""
    if os.path.isabs(name) and not os.path.exists(name):
        raise errors.DatasetNotAvailableError(
            f"Run {str(run_dir)!r} was trained on {name!r}, which does not exist here "
            f"(moved, deleted, or another machine). Pass where its data is now: "
            f"--dataset PATH (Python: dataset=PATH), a folder or file of the same classes."
        )


def label_positions(class_names, trained_on, dataset, run_dir) -> list[int]:
    """Where each class of a dataset sits among the classes a run was trained on.

    Classes are matched by name, so a dataset may hold some of the run's
    classes, numbered its own way (a folder numbers its subfolders in
    sorted order).

    Args:
        class_names: sequence of str. The dataset's classes, label `i` first.
        trained_on: sequence of str. The run's classes (its `labels`).
        dataset: str. The dataset, for the message.
        run_dir: str or Path. The run, for the message.

    Returns:
        list of int: the run's class index of each dataset label.

    Raises:
        InvalidArgumentError: the dataset has a class the run was not
            trained on.

    Example:

    >>> label_positions(["cat", "owl"], ["cat", "dog", "owl"], "photos/", "runs/r20")
    [0, 2]
    """
    trained_on = [str(name) for name in trained_on]
    unknown = [name for name in class_names if str(name) not in trained_on]
    if unknown:
        raise errors.InvalidArgumentError(
            f"Dataset {str(dataset)!r} has classes {unknown} that run {str(run_dir)!r} was "
            f"not trained on; it knows {trained_on}. Accepted: a dataset whose classes are "
            f"among the run's (matched by name). Received: dataset classes "
            f"{[str(name) for name in class_names]}"
        )
    return [trained_on.index(str(name)) for name in class_names]


def evaluate_weights(name: str, *, data_dir: str | None = None, batch_size: int = 64) -> dict:
    """Measures a weight set of the manifest the way its metrics were recorded.

    Builds the model with the weights, and evaluates it on the validation
    split of the dataset they were trained on, with their tokenizer for text
    models and the loss and metrics of their recipe.

    Args:
        name: str. `arch.tag`, e.g. `"resnet20.digits"`.
        data_dir: str or None. tfds data directory.
        batch_size: int. Evaluation batch size (does not change the figures).

    Returns:
        `{"loss": float, "accuracy": float, "examples": int}`.

    Example:

    >>> zoo.runs.evaluate_weights("resnet20.digits")["accuracy"]
    0.989
    """
    entry = pretrained.find(name)
    model = factory.get_model(entry.model, weights=entry.name)
    tokenizer = data.pretrained_tokenizer(entry.model, entry.name) if entry.tokenizer else None
    _, val_ds = data.get_dataset(
        entry.dataset,
        model=model,
        batch_size=batch_size,
        data_dir=data_dir,
        augment=False,
        tokenizer=tokenizer,
    )
    return evaluate_model(compile_for_eval(model, recipes.get_recipe(entry.recipe)), val_ds)


def export_run(
    run_dir,
    out_dir,
    *,
    formats=("savedmodel", "onnx"),
    examples: int = 32,
    overwrite: bool = False,
    quantize: str | None = None,
    max_accuracy_drop: float = DEFAULT_MAX_ACCURACY_DROP,
    calibration_examples: int = 1024,
    accuracy_examples: int | None = None,
    dataset: str | None = None,
):
    """Exports a run's model, verified on real examples of its validation split.

    Args:
        run_dir: str or Path. A directory written by `train`.
        out_dir: str or Path. Where the export goes (written atomically).
        formats: tuple of str. `"savedmodel"` and/or `"onnx"`.
        examples: int. Validation examples to verify the artifacts on.
        overwrite: bool. Replace an existing export.
        quantize: str or None. `"int8"` adds `model.int8.onnx`, calibrated on
            the run's training split (convolutional models) and refused when
            its accuracy on the validation split drops more than
            `max_accuracy_drop` below the float model's (`zoo.export`).
        max_accuracy_drop: float. Accepted accuracy drop, a fraction (0.01:
            one point).
        calibration_examples: int. Training examples that calibrate static
            quantization (1024: with 256, kws_res8_narrow's int8 accuracy
            varied by 3 points from one draw of examples to the next).
        accuracy_examples: int or None. Validation examples of the accuracy
            gate; None for the whole split.
        dataset: str or None. Read the examples from this dataset instead
            of the run's (its data moved, or lives elsewhere on this
            machine); its classes must be among the run's, matched by name.

    Returns:
        The `ExportReport`.

    Example:

    >>> print(zoo.training.export_run("runs/r20", "out/r20"))
    """
    # Before the model and the data are read: a typo or an existing export fails at once.
    out_dir, formats = check_request(
        out_dir,
        formats=formats,
        overwrite=overwrite,
        quantize=quantize,
        max_accuracy_drop=max_accuracy_drop,
    )
    run = as_run_dir(run_dir)
    config, model = run.load()
    source = _RunData(run, config, model, dataset, None)
    tokenizer = run.load_tokenizer()
    if tokenizer is not None:  # verify on raw validation texts, tokenizer included
        inputs = data.text_examples(
            source.name, examples, data_dir=source.data_dir, **source.columns
        )
    else:
        _, val_ds = source.pipelines(model, examples)
        inputs = next(iter(val_ds))[0]
        inputs = (
            {k: v.numpy() for k, v in inputs.items()}
            if isinstance(inputs, dict)
            else inputs.numpy()
        )
    quantized = {}
    if quantize is not None:
        quantized = _quantization_data(
            source, model, tokenizer, calibration_examples, accuracy_examples
        )
    return export(
        model,
        out_dir,
        formats=formats,
        inputs=inputs,
        tokenizer=tokenizer,
        model_name=config["model"],
        labels=config.get("labels"),
        overwrite=overwrite,
        quantize=quantize,
        max_accuracy_drop=max_accuracy_drop,
        **quantized,
        extra_metadata={
            "run_dir": str(run.root),
            "dataset": data.shared_name(config["dataset"]),
            **({"verified_on": data.shared_name(str(source.name))} if dataset is not None else {}),
            "metrics": config.get("metrics", {}),
        },
    )


def compile_for_eval(model, recipe):
    """Compiles `model` with the recipe's loss and metrics only (no optimizer
    state), plus a count of the examples seen (`evaluate_model` reads it).

    Args:
        model: keras.Model. The model to measure.
        recipe: Recipe. Its loss and metrics are used.

    Example:

    >>> evaluate_model(compile_for_eval(model, zoo.get_recipe("digits_resnet")), val)
    """
    model.compile(loss=recipe.build_loss(), metrics=[*recipe.metrics, _example_count()])
    return model


def evaluate_model(model, dataset) -> dict:
    """`{"loss", "accuracy", "examples"}` of a model `compile_for_eval` compiled.

    One pass over `dataset`: the examples are counted by a metric, not by
    reading the split a second time (50,000 ImageNet images are decoded again
    otherwise, and a second reader of a cached pipeline is one more chance
    to meet a cache another iterator is filling).

    Args:
        model: keras.Model. Compiled by `compile_for_eval`.
        dataset: tf.data.Dataset. Batched `(inputs, labels)`.

    Example:

    >>> evaluate_model(compile_for_eval(model, recipe), val)["examples"]
    360
    """
    values = model.evaluate(dataset, verbose=0, return_dict=True)
    return {
        "loss": float(values["loss"]),
        "accuracy": float(values.get("accuracy", values.get("compile_metrics", 0.0))),
        "examples": int(round(float(values["examples"]))),
    }


def _example_count():
    """A Keras metric summing the batch sizes it sees (exact up to 2**24 in float32)."""
    import keras

    class ExampleCount(keras.metrics.Sum):
        def update_state(self, y_true, y_pred, sample_weight=None):
            batch = keras.ops.cast(keras.ops.shape(y_true)[0], self.dtype)
            return super().update_state(batch)

    return ExampleCount(name="examples")


def _quantization_data(source, model, tokenizer, calibration_examples, accuracy_examples) -> dict:
    """`calibration` (training examples) and `validation_data` (labelled
    validation examples, labels as the run numbers them) for a quantized
    export, as model inputs."""

    calibration_examples = validation.check_positive_int(
        "calibration_examples", calibration_examples
    )
    if accuracy_examples is not None:
        accuracy_examples = validation.check_positive_int("accuracy_examples", accuracy_examples)
    train_ds, val_ds = source.pipelines(model, 64, tokenizer=tokenizer)
    return {
        "calibration": data.as_arrays(train_ds, calibration_examples)[0],
        "validation_data": data.as_arrays(val_ds, accuracy_examples),
    }
