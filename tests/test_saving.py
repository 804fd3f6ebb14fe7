"""zoo.load_model: a fresh process, safe_mode refusals, corrupt and missing files.

Run directories (`RunDir.load_model`, `zoo evaluate`) are in test_training.py.
"""

import subprocess
import sys

import keras
import numpy as np
import pytest

import zoo
from zoo import errors


def lambda_model(path):
    """Saves a model holding a Lambda layer (a Python lambda: code in the file)."""
    inputs = keras.Input((4,))
    doubled = keras.layers.Lambda(lambda x: x * 2.0)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(doubled))
    model.save(path)
    return path


def test_a_saved_model_loads_in_a_fresh_process_after_import_zoo(tmp_path):
    spec = zoo.registry.get_spec("resnet20")
    model = zoo.get_model("resnet20", **spec.tiny_kwargs)
    images = spec.input_for(spec.tiny_kwargs).random_batch(8, seed=1)
    zoo.get_recipe("digits_resnet").compile(model, steps_per_epoch=1)
    model.fit(images, np.arange(8) % 3, epochs=1, verbose=0)  # moves weights and BN stats
    model.save(tmp_path / "model.keras")
    np.save(tmp_path / "images.npy", images)
    expected = model.predict(images, verbose=0)

    # Only `import zoo`: no get_model, no family imported before loading.
    code = (
        "import sys\n"
        "import numpy as np\n"
        "import zoo\n"
        "assert 'tensorflow' not in sys.modules\n"
        f"root = {str(tmp_path)!r}\n"
        "model = zoo.load_model(root + '/model.keras')\n"
        "assert model.optimizer is not None and model.optimizer.iterations.numpy() == 1\n"
        "np.save(root + '/loaded.npy', model.predict(np.load(root + '/images.npy'), verbose=0))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    np.testing.assert_array_equal(np.load(tmp_path / "loaded.npy"), expected)


def test_a_lambda_layer_is_refused_by_safe_mode_not_called_corrupt(tmp_path):
    path = lambda_model(tmp_path / "lambda.keras")
    before = path.read_bytes()
    with pytest.raises(errors.UnsafeModelError) as caught:
        zoo.load_model(path)
    message = str(caught.value)
    assert str(path) in message
    assert "could execute code" in message and "Lambda" in message
    assert "not corrupt" in message and "corrupt or truncated" not in message
    assert "safe_mode=True" in message and "safe_mode=False" in message
    assert "\n" not in message  # the CLI prints errors as one line
    assert isinstance(caught.value, zoo.ModelFileError)
    assert isinstance(caught.value, zoo.ZooError) and isinstance(caught.value, ValueError)
    assert path.read_bytes() == before

    # For a file you trust, the documented way out works.
    trusted = zoo.load_model(path, safe_mode=False)
    np.testing.assert_allclose(
        trusted.layers[1](np.ones((1, 4), "float32")), np.full((1, 4), 2.0), rtol=0
    )


def test_a_truncated_file_is_reported_as_corrupt(tmp_path):
    spec = zoo.registry.get_spec("resnet20")
    path = tmp_path / "model.keras"
    zoo.get_model("resnet20", **spec.tiny_kwargs).save(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(errors.ModelFileError, match="corrupt or truncated") as caught:
        zoo.load_model(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
    assert not isinstance(caught.value, errors.UnsafeModelError)

    # A zip whose config is damaged: still corrupt, with Keras' reason.
    import zipfile

    with zipfile.ZipFile(tmp_path / "bad.keras", "w") as archive:
        archive.writestr("config.json", "{not json")
    with pytest.raises(errors.ModelFileError, match="JSONDecodeError.*corrupt or truncated"):
        zoo.load_model(tmp_path / "bad.keras")


def test_a_missing_file_or_an_unregistered_class_is_named(tmp_path):
    with pytest.raises(errors.ModelFileError, match="No model file at .*nope.keras"):
        zoo.load_model(tmp_path / "nope.keras")

    class Unregistered(keras.layers.Layer):
        def call(self, x):
            return x

    inputs = keras.Input((2,))
    keras.Model(inputs, Unregistered()(inputs)).save(tmp_path / "custom.keras")
    with pytest.raises(
        errors.ModelFileError, match="class 'Unregistered'.*custom_objects"
    ) as caught:
        zoo.load_model(tmp_path / "custom.keras")
    assert "registered with Keras" in str(caught.value) and "\n" not in str(caught.value)
    loaded = zoo.load_model(
        tmp_path / "custom.keras", custom_objects={"Unregistered": Unregistered}
    )
    assert isinstance(loaded.layers[-1], Unregistered)


def test_an_uncompiled_load_of_a_trained_bert_is_silent(tmp_path):
    # keras-hub task models compile a default optimizer when rebuilt; Keras then
    # warns that the saved training optimizer's state does not fit it.
    import warnings

    spec = zoo.registry.get_spec("bert_tiny")
    model = zoo.get_model("bert_tiny", **spec.tiny_kwargs)
    zoo.get_recipe("bert_text").compile(model, steps_per_epoch=1)
    batch = type(spec.input).from_model(model).random_batch(2)
    model.fit(batch, np.array([0, 1]), verbose=0)
    model.save(tmp_path / "bert.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = zoo.load_model(tmp_path / "bert.keras", compile=False)
    assert loaded.count_params() == model.count_params()
