"""Learning checks on the embedded `sentiment` set, through `zoo train`.

The set is built so that a bag of words stays at chance
(tests/data/test_sentiment.py); these models must read word order.
"""

import json

import numpy as np
import pytest

import zoo
from zoo import pretrained, recipes, training


@pytest.mark.slow
def test_lstm_learns_sentiment_and_exports_with_its_tokenizer(tmp_path, monkeypatch):
    run_dir = tmp_path / "lstm"
    # The recipe's 1e-3 needs 5 epochs (seeds 0-4 all reached 1.000; 3 epochs
    # ranged 0.80-1.00); at 1e-2, 2 epochs reached 0.984-1.000 (seeds 0-3).
    fast = recipes.get_recipe("lstm_text").replace(name="lstm_text_fast", learning_rate=1e-2)
    monkeypatch.setitem(recipes._RECIPES, "lstm_text_fast", fast)
    result = zoo.train(
        "lstm",
        "sentiment",
        run_dir,
        epochs=2,
        recipe="lstm_text_fast",
        verbose=0,
        seed=0,
        overrides={"embedding_dim": 32, "units": 32, "vocabulary_size": 1000},
    )
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


@pytest.mark.slow
def test_bert_tiny_fine_tunes_from_its_shipped_weights_with_their_tokenizer(tmp_path):
    # Learning from scratch is what the shipped transformer_encoder_tiny and
    # bert_tiny .sentiment weights recorded (1.000 and 0.993; their commands are
    # in the manifest, and tests/test_pretrained.py re-measures them); here the
    # fine-tuning path (layer-wise decay, the weights' own tokenizer) keeps it.
    run_dir = tmp_path / "bert"
    result = zoo.train(
        "bert_tiny", "sentiment", run_dir, epochs=1, verbose=0, seed=0, weights="sentiment"
    )
    assert result.metrics["accuracy"] >= 0.95, result.metrics
    shipped = pretrained.tokenizer_dir(pretrained.resolve("bert_tiny", "sentiment"))
    assert (run_dir / "tokenizer" / "vocabulary.txt").read_text() == (
        shipped / "vocabulary.txt"
    ).read_text()
    config = json.loads((run_dir / "config.json").read_text())
    assert config["started_from"]["weights"] == "sentiment" and config["recipe"]["finetune"]
    # Read with the weights' own vocabulary, the data they were trained on has no unknown piece.
    assert config["unknown_tokens"] == {
        "share": 0.0,
        "vocabulary_of": "weights 'bert_tiny.sentiment'",
    }
