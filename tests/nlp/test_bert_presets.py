"""BERT weights from keras-hub presets behind `weights=`, offline: weights, vocabulary, errors."""

import shutil
import time

import numpy as np
import pytest

import zoo
from zoo import errors, pretrained

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (
    "the movie was great bad not plot dull clever ##ly ##s".split()
)


@pytest.fixture
def preset(tmp_path):
    """A keras-hub preset folder of bert_tiny's shape (2 layers, width 128), built offline."""
    import keras_hub

    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(VOCABULARY),
        num_layers=2,
        num_heads=2,
        hidden_dim=128,
        intermediate_dim=512,
        max_sequence_length=16,
    )
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=VOCABULARY, lowercase=True)
    backbone.save_to_preset(str(tmp_path / "preset"))
    tokenizer.save_to_preset(str(tmp_path / "preset"))
    return tmp_path / "preset", backbone


@pytest.fixture(autouse=True)
def kagglehub_cache(tmp_path, monkeypatch):
    """An empty kagglehub cache: nothing the user downloaded is read."""
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "kagglehub"))
    return tmp_path / "kagglehub"


def test_preset_weights_and_vocabulary_land(preset):
    folder, backbone = preset
    model = zoo.get_model("bert_tiny", weights=str(folder), num_classes=3)
    for ours, theirs in zip(backbone.weights, model.backbone.weights):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=ours.path)
    assert len(backbone.weights) == len(model.backbone.weights)
    assert model.output_shape == (None, 3) and list(model.zoo_vocabulary) == VOCABULARY

    # The pipelines tokenize with the preset's vocabulary instead of computing one.
    tokenizer = zoo.data.get_tokenizer("sentiment", model=model)
    assert tokenizer.vocabulary == VOCABULARY and tokenizer.sequence_length == 16
    ids = tokenizer(["The movie was NOT dull"])["token_ids"].numpy()[0]
    assert [VOCABULARY[i] for i in ids[:7]] == [
        "[CLS]", "the", "movie", "was", "not", "dull", "[SEP]"
    ]  # fmt: skip
    assert np.isfinite(model.predict(tokenizer(["a clever plot"]), verbose=0)).all()


def test_manifest_tag_reads_keras_hubs_download_offline(preset, kagglehub_cache):
    entry = pretrained.resolve("bert_tiny", "en_uncased")
    assert entry.source == "keras_hub" and entry.license == "Apache-2.0"
    # Where kagglehub keeps `bert_tiny_en_uncased` once keras-hub downloaded it.
    cached = kagglehub_cache / "models/keras/bert/keras/bert_tiny_en_uncased/3"
    shutil.copytree(preset[0], cached)
    model = zoo.get_model("bert_tiny", weights="bert_tiny.en_uncased")
    assert list(model.zoo_vocabulary) == VOCABULARY


@pytest.mark.parametrize(
    "weights, match",
    [
        ("en_uncased", "kaggle://keras/bert/keras/bert_tiny_en_uncased/3"),
        ("bert_tiny_en_uncased", "kagglehub would keep it in"),
        ("hf://google/bert_uncased_L-2_H-128_A-2", "huggingface-cli download"),
    ],
)
def test_offline_missing_preset_is_a_fast_weights_error(weights, match):
    start = time.perf_counter()
    with pytest.raises(errors.WeightsError, match=match) as info:
        zoo.get_model("bert_tiny", weights=weights)
    assert time.perf_counter() - start < 5 and "ZOO_OFFLINE" in str(info.value)


def test_a_preset_of_another_size_is_refused(preset):
    with pytest.raises(errors.WeightsError, match="2 layers of width 128; 'bert_mini' has 4"):
        zoo.get_model("bert_mini", weights=str(preset[0]))
