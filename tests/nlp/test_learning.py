"""Learning checks on the embedded `sentiment` set, through `zoo train`.

The set is built so that a bag of words stays at chance
(tests/data/test_sentiment.py); these models must read word order.
"""

import json

import numpy as np
import pytest

import zoo
from zoo import training


def test_lstm_learns_sentiment_and_exports_with_its_tokenizer(tmp_path):
    run_dir = tmp_path / "lstm"
    result = zoo.train(
        "lstm",
        "sentiment",
        run_dir,
        epochs=5,
        verbose=0,
        seed=0,
        overrides={"embedding_dim": 32, "units": 32, "vocabulary_size": 1000},
    )
    # 5 epochs: seeds 0-4 all reached 1.000 here; 3 epochs ranged 0.80-1.00.
    assert result.metrics["accuracy"] >= 0.95, result.metrics
    config = json.loads((run_dir / "config.json").read_text())
    assert config["overrides"]["sequence_length"] == 16  # fitted to the dataset
    assert config["labels"] == ["negative", "positive"]
    assert (run_dir / "tokenizer" / "vocabulary.txt").is_file()

    # evaluate() reuses the saved vocabulary instead of adapting a new one.
    assert zoo.evaluate(run_dir)["accuracy"] == pytest.approx(result.metrics["accuracy"], abs=1e-6)
    report = training.export_run(run_dir, tmp_path / "export", examples=16)
    assert report.passed and report["onnx"].tokens_match is True
    out = tmp_path / "export"
    for name in ("tokenizer.json", "vocabulary.txt", "model.onnx", "savedmodel"):
        assert (out / name).exists(), name
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["tokenizer"]["sequence_length"] == 16

    # The SavedModel takes raw strings; word order decides the class.
    import tensorflow as tf

    serve = tf.saved_model.load(str(out / "savedmodel"))
    probs = serve.serve(
        tf.constant(
            ["the plot was not dull , it was clever", "the plot was not clever , it was dull"]
        )
    ).numpy()
    assert list(np.argmax(probs, -1)) == [1, 0]


def test_transformer_encoder_tiny_learns_sentiment(tmp_path):
    result = zoo.train(
        "transformer_encoder_tiny",
        "sentiment",
        tmp_path / "tr",
        epochs=6,
        verbose=0,
        seed=0,
        overrides={"vocabulary_size": 1000},
    )
    # 6 epochs: seeds tried here all reached >= 0.999; 4 epochs ranged 0.90-1.00.
    assert result.metrics["accuracy"] >= 0.95, result.metrics
