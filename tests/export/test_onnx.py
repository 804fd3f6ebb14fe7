"""`export_onnx` as a script calls it: no warnings about Keras' own code."""

import warnings

import keras
import numpy as np
import onnxruntime as ort

from zoo.exporting.onnx import export_onnx


def test_onnx_export_from_a_script_shows_only_warnings_about_the_script(tmp_path, monkeypatch):
    # A script is outside `zoo.quiet.console()`: Keras' NumPy 2 probe
    # (`hasattr(np, "object")`) warned on the first export of a process.
    from keras.src.export import tf2onnx_lib

    # As in a fresh process: Keras' patch runs once and then defines np.object.
    monkeypatch.delattr(np, "object", raising=False)
    tf2onnx_lib.patch_tf2onnx.cache_clear()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        path = export_onnx(model, tmp_path / "m.onnx")
    assert not [w for w in shown if "np.object" in str(w.message)], [str(w.message) for w in shown]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.ones((1, 4), "float32")
    np.testing.assert_allclose(
        session.run(None, {session.get_inputs()[0].name: x})[0],
        model.predict_on_batch(x),
        atol=1e-6,
    )
