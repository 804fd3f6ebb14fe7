"""Exports are verified on several shapes, and metadata.json says which axes are free.

A deployer feeds batch 1, batch 7 or a short sentence; each of those shapes
is run in the artifact's clean process and compared with Keras.
"""

import json
import subprocess
import types

import numpy as np
import pytest

import zoo
from zoo import errors
from zoo.data.tokenizers import WordTokenizer
from zoo.exporting import verify
from zoo.exporting.cases import axis_names, model_cases, text_cases
from zoo.exporting.metadata import dynamic_axes
from zoo.exporting.report import ExportReport, FormatResult
from zoo.registry import get_spec

# One worker builds the module's shared fixtures once (xdist would build them on each).
pytestmark = pytest.mark.xdist_group("test_shapes")

TRAIN = [
    "the plot was not dull , it was clever",
    "the acting was good but the ending was bad",
    "a clever film with a dull ending",
] * 10
# Real lengths 9, 3 and 7 words: padded to 12, the short case cuts to 9.
TEXTS = ["the plot was not dull and it was clever", "a dull film", "the ending was good but bad"]


def _model(*inputs):
    import keras

    tensors = [keras.Input(shape, dtype=dtype, name=name) for name, shape, dtype in inputs]
    pool = keras.layers.GlobalAveragePooling1D()
    pooled = [pool(keras.layers.Embedding(20, 2)(t)) for t in tensors]
    merged = pooled[0] if len(pooled) == 1 else keras.layers.Add()(pooled)
    return keras.Model(tensors, keras.layers.Dense(2)(merged))


def test_cases_cover_batch_1_an_odd_batch_and_the_real_length():
    model = _model(("token_ids", (None,), "int32"))
    ids = np.zeros((4, 12), "int32")
    ids[0, :9], ids[1, :3] = 5, 7
    cases = model_cases(model, {"token_ids": ids})
    assert [c.name for c in cases] == ["given", "one", "odd"] + ["short"]
    assert [c.shapes["token_ids"] for c in cases] == [[4, 12], [1, 12], [7, 12], [4, 9]]
    # The odd batch starts at the second example and wraps around.
    np.testing.assert_array_equal(cases[2].feeds["token_ids"], ids[[1, 2, 3, 0, 1, 2, 3]])
    np.testing.assert_array_equal(cases[3].keras_inputs, ids[:, :9])  # Keras sees the same ids


def test_without_padding_the_short_case_halves_and_batch_7_becomes_5():
    model = _model(("token_ids", (None,), "int32"))
    ids = np.ones((7, 12), "int32")
    assert [c.shapes["token_ids"] for c in model_cases(model, {"token_ids": ids})] == [
        [7, 12],
        [1, 12],
        [5, 12],
        [7, 6],
    ]


def test_fixed_length_inputs_get_no_short_case_and_waveforms_are_halved():
    import keras

    image = keras.Input((4, 4, 1), name="images")
    images = keras.Model(image, keras.layers.Dense(2)(keras.layers.Flatten()(image)))
    cases = model_cases(images, {"images": np.zeros((1, 4, 4, 1), "float32")})
    assert [c.shapes["images"][0] for c in cases] == [1, 1, 7]  # batch 1 given: 7 copies

    wave = keras.Input((None,), name="waveforms")
    audio = keras.Model(wave, keras.layers.Dense(2)(keras.layers.Reshape((-1, 1))(wave)))
    cases = model_cases(audio, {"waveforms": np.zeros((3, 4000), "float32")})
    assert cases[-1].name == "short" and cases[-1].shapes == {"waveforms": [3, 2000]}


def test_text_cases_feed_texts_then_ids_of_every_input():
    model = _model(
        ("padding_mask", (None,), "int32"),
        ("segment_ids", (None,), "int32"),
        ("token_ids", (None,), "int32"),
    )
    ids = np.zeros((2, 8), "int32")
    ids[:, :3] = 4
    token_ids = {"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": (ids > 0) * 1}
    cases = text_cases(model, np.array(["a b", "c"]), token_ids)
    assert [c.name for c in cases] == ["texts", "one_text", "odd", "short"]
    assert cases[0].shapes == {"texts": [2]} and cases[1].shapes == {"texts": [1]}
    np.testing.assert_array_equal(cases[1].token_ids, ids[:1])  # what tokenizer.json must give
    assert cases[3].shapes == {name: [2, 3] for name in token_ids}


def test_dynamic_axes_are_what_every_artifact_leaves_free():
    def result(fmt, shapes):
        return FormatResult(fmt, fmt, 0.0, 1.0, 2, 1e-5, 0.0, input_shapes=shapes)

    model = _model(("token_ids", (None,), "int32"))
    report = ExportReport(
        "m",
        "out",
        (
            result("savedmodel", {"texts": [None], "token_ids": [None, None]}),
            result("onnx", {"token_ids": [None, 12]}),  # a converter that fixed the length
        ),
    )
    assert dynamic_axes(model, report) == {"texts": {"0": "batch"}, "token_ids": {"0": "batch"}}
    assert axis_names("waveforms", 2, "float32") == {"0": "batch", "1": "samples"}
    assert axis_names("images", 4, "float32")["3"] == "channels"


@pytest.fixture(scope="module")
def tokenizer():
    return WordTokenizer.adapt(TRAIN, vocabulary_size=60, sequence_length=12)


@pytest.fixture(scope="module")
def text_model(tokenizer):
    kwargs = {**get_spec("lstm").tiny_kwargs, "vocabulary_size": tokenizer.vocabulary_size}
    return zoo.get_model("lstm", **{**kwargs, "sequence_length": 12})


@pytest.fixture(scope="module")
def text_export(text_model, tokenizer, tmp_path_factory):
    starts = []
    real_run = subprocess.run

    def counting_run(command, **kwargs):
        starts.append(command[2])
        return real_run(command, **kwargs)

    # Only verify's view of subprocess is replaced: it counts runner processes.
    patch = pytest.MonkeyPatch()
    counting = types.SimpleNamespace(run=counting_run, TimeoutExpired=subprocess.TimeoutExpired)
    patch.setattr(verify, "subprocess", counting)
    try:
        out = tmp_path_factory.mktemp("text") / "export"
        report = zoo.export(text_model, out, inputs=TEXTS, tokenizer=tokenizer)
    finally:
        patch.undo()
    return out, report, starts


def test_text_export_verifies_two_batch_sizes_and_two_lengths(text_export):
    out, report, starts = text_export
    assert report.passed, str(report)
    assert len(starts) == 2  # one runner process per format, whatever the number of shapes
    for result in report.formats:
        assert result.tokens_match is not False
        assert result.shapes == [
            {"texts": [3]},
            {"texts": [1]},
            {"token_ids": [7, 12]},  # at the limit
            {"token_ids": [3, 9]},  # cut to the longest real sentence
        ]
    assert report["onnx"].tokens_match is True
    assert "shapes: texts 3, 1; token_ids 7x12, 3x9" in str(report)


def test_text_metadata_declares_the_onnx_graphs_dynamic_axes(text_export):
    import onnx

    out, _, _ = text_export
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["dynamic_axes"] == {
        "texts": {"0": "batch"},  # the SavedModel's serve
        "token_ids": {"0": "batch", "1": "steps"},
    }
    (graph_input,) = onnx.load(str(out / "model.onnx")).graph.input
    dims = graph_input.type.tensor_type.shape.dim
    assert graph_input.name == "token_ids"
    assert [d.WhichOneof("value") for d in dims] == ["dim_param", "dim_param"]
    lengths = {s["token_ids"][1] for s in meta["verified_shapes"]["onnx"] if "token_ids" in s}
    assert lengths == {12, 9}


def test_savedmodel_serves_a_short_sentence_like_keras(text_export, text_model, tokenizer):
    import tensorflow as tf

    out, _, _ = text_export
    loaded = tf.saved_model.load(str(out / "savedmodel"))
    ids = tokenizer(["a dull film"]).numpy()[:, :3]  # batch 1, no padding at all
    got = loaded.signatures["serve_token_ids"](token_ids=tf.constant(ids))
    np.testing.assert_allclose(
        next(iter(got.values())).numpy(), text_model(ids, training=False), atol=1e-5
    )


def test_a_text_export_wrong_on_short_ids_fails_and_writes_nothing(
    text_model, tokenizer, tmp_path, monkeypatch
):
    real = verify.run_artifact

    def wrong_when_short(fmt, artifact, cases):
        ran = real(fmt, artifact, cases)
        for fed, got in zip(cases, ran["cases"]):
            if fed.get("token_ids", np.zeros((0, 12))).shape[1] < 12:
                got["outputs"] = got["outputs"][:, ::-1]  # other classes on short inputs
        return ran

    monkeypatch.setattr(verify, "run_artifact", wrong_when_short)
    with pytest.raises(errors.ExportVerificationError, match="worst on token_ids 3x9"):
        zoo.export(text_model, tmp_path / "bad", formats="onnx", inputs=TEXTS, tokenizer=tokenizer)
    assert list(tmp_path.iterdir()) == []
