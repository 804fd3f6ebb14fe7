"""The BERT family: published sizes, presets offline, WordPiece, learning check."""

import numpy as np
import pytest

import zoo
from zoo import errors
from zoo.data.tokenizers import WordPieceTokenizer, load_tokenizer

TINY = {"num_classes": 2, "vocabulary_size": 60, "sequence_length": 12}


def test_published_sizes():
    from zoo.nlp.bert import SIZES

    assert SIZES == {
        "tiny": (2, 128),
        "mini": (4, 256),
        "small": (4, 512),
        "medium": (8, 512),
        "base": (12, 768),
    }
    # BERT-base, 30,522-token vocabulary, 2 classes: the published ~110M.
    card = zoo.model_info("bert_base")
    assert 109_000_000 < card.num_params < 111_000_000
    assert card.input_spec["input_names"] == ["token_ids", "segment_ids", "padding_mask"]


def test_local_preset_loads_offline(tmp_path):
    model = zoo.get_model("bert_tiny", **TINY)
    model.save_to_preset(str(tmp_path / "preset"))
    # Fine-tuning start: the preset's encoder weights, a new 4-class head.
    loaded = zoo.get_model("bert_tiny", pretrained=str(tmp_path / "preset"), num_classes=4)
    for ours, theirs in zip(model.backbone.get_weights(), loaded.backbone.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    assert loaded.outputs[0].shape[-1] == 4


def test_missing_preset_is_a_weights_error(tmp_path):
    with pytest.raises(errors.WeightsError, match="pretrained="):
        zoo.get_model("bert_tiny", pretrained=str(tmp_path / "nowhere"))


def test_wordpiece_tokenizer_matches_huggingface(tmp_path):
    from tokenizers import Tokenizer

    texts = [
        "The plot was NOT dull, it was clever!",
        "surprisingly , unseenword",
        "",
        "a b c " * 10,
    ]
    tokenizer = WordPieceTokenizer.adapt(texts[:2] * 20, vocabulary_size=80, sequence_length=10)
    packed = tokenizer(texts)
    ids = packed["token_ids"].numpy()
    assert ids.shape == (4, 10) and ids[2, 0] == tokenizer.vocabulary.index("[CLS]")
    assert (packed["padding_mask"].numpy() == (ids != 0)).all()
    hf = Tokenizer.from_str(tokenizer.to_huggingface_json())
    np.testing.assert_array_equal(np.array([e.ids for e in hf.encode_batch(texts)]), ids)
    reloaded = load_tokenizer(tokenizer.save(tmp_path / "tok"))
    np.testing.assert_array_equal(reloaded(texts)["token_ids"].numpy(), ids)
    with pytest.raises(errors.InvalidArgumentError, match="\\[CLS\\]"):
        WordPieceTokenizer(["a", "b", "c"], sequence_length=8)
