"""A shared check that any zoo model fits, predicts, saves and exports.

Each family's tests call `check_model` on a tiny configuration instead of
repeating the same fit/predict/save/export assertions (the keras-hub way).
It lives in the package so third-party families registered with
`zoo.register_model` can use it too.

`check_registered(name, tmp_dir)` runs it all on a registered name: a tiny
model, a random batch from its input spec, the input kind's own checks
(`InputSpec.check_model`: masking for token ids, raw value range for images).
`family_representatives()` picks one name per family from the registry, so a
new family is checked the moment it registers.

Example:

>>> from zoo.testing import check_model
>>> model = zoo.get_model("resnet20", **zoo.registry.get_spec("resnet20").tiny_kwargs)
>>> check_model(model, images, labels, tmp_path)
>>> check_registered("lstm", tmp_path)
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from zoo import factory, registry, saving
from zoo.exporting import export


def check_model(model, inputs, labels, tmp_dir, *, export_formats=("savedmodel", "onnx")):
    """Asserts the behaviour every zoo model promises; returns the export report.

    Checks: predictions have one row per example and are finite; the config
    round-trips through `from_config`; one epoch of `fit` changes the weights
    and gives a finite loss; `.keras` save/load (safe mode) gives identical
    predictions; and, if `export_formats`, a verified export.

    Args:
        model: keras.Model. A freshly built model.
        inputs: array or dict of arrays. A few real-looking examples.
        labels: array. Integer class ids for `inputs`.
        tmp_dir: str or Path. A scratch directory.
        export_formats: tuple of str. Formats to export and verify; empty
            to skip export.

    Example:

    >>> report = check_model(model, images, labels, tmp_path, export_formats=("onnx",))
    """
    import keras

    tmp_dir = Path(tmp_dir)
    predictions = model.predict(inputs, verbose=0)
    assert predictions.shape[0] == len(labels), predictions.shape
    assert np.isfinite(predictions).all()

    config = keras.saving.serialize_keras_object(model)["config"]
    rebuilt = type(model).from_config(copy.deepcopy(config))  # keras-hub edits its argument
    assert keras.saving.serialize_keras_object(rebuilt)["config"] == config

    before = [w.copy() for w in model.get_weights()]
    model.compile(
        optimizer=keras.optimizers.SGD(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    history = model.fit(inputs, labels, epochs=1, batch_size=len(labels), verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))

    path = tmp_dir / "model.keras"
    model.save(path)
    loaded = saving.load_model(path)  # safe_mode on
    np.testing.assert_array_equal(
        model.predict(inputs, verbose=0), loaded.predict(inputs, verbose=0)
    )

    if not export_formats:
        return None
    report = export(model, tmp_dir / "export", formats=tuple(export_formats), inputs=inputs)
    assert report.passed, str(report)
    return report


def family_representatives() -> list[str]:
    """The first registered name of each family (its smallest, by convention).

    Example:

    >>> family_representatives()[:2]
    ['resnet20', 'lstm']
    """
    return [names[0] for names in registry.list_families().values()]


def check_registered(name: str, tmp_dir, *, export_formats=("savedmodel", "onnx"), batch=4):
    """`check_model` plus the input kind's checks on a registered name, built tiny.

    Args:
        name: str. A registered model; built with its spec's `tiny_kwargs`.
        tmp_dir: str or Path. A scratch directory.
        export_formats: tuple of str. Formats to export and verify.
        batch: int. Examples in the random batch.

    Returns:
        The export report (None without `export_formats`).

    Example:

    >>> report = check_registered("transformer_encoder_tiny", tmp_path)
    """
    spec = registry.get_spec(name)
    model = factory.get_model(name, **spec.tiny_kwargs)
    input_spec = spec.input_for(spec.tiny_kwargs)
    input_spec.check_model(model)
    classes = int(model.outputs[0].shape[-1])
    labels = np.arange(batch) % classes
    return check_model(
        model, input_spec.random_batch(batch), labels, tmp_dir, export_formats=export_formats
    )
