"""`MaskedLanguageModel`: the pretraining task model on a text encoder's backbone."""

import numpy as np
import pytest

import zoo
from zoo import errors
from zoo.nlp.masked_lm import MaskedLanguageModel

TINY = {"vocabulary_size": 50, "sequence_length": 12}


def test_logits_at_the_masked_positions_and_a_keras_round_trip(tmp_path):
    backbone = zoo.get_model("transformer_encoder_tiny", **TINY).backbone
    model = MaskedLanguageModel(backbone)
    ids = np.random.default_rng(0).integers(1, 50, (2, 12)).astype("int32")
    batch = {"token_ids": ids, "mask_positions": np.array([[1, 3, 0], [5, 6, 7]], "int32")}
    logits = model(batch)
    assert tuple(logits.shape) == (2, 3, 50) and logits.dtype == "float32"
    # The output projection is the token embedding itself (tied, as in BERT).
    assert model.get_layer("mlm_head").token_embedding is backbone.token_embedding

    model.save(tmp_path / "mlm.keras")
    loaded = zoo.load_model(tmp_path / "mlm.keras", compile=False)
    np.testing.assert_allclose(loaded(batch), logits, atol=1e-6)
    assert type(loaded.backbone) is type(backbone)


def test_an_encoder_that_pools_inside_is_refused():
    backbone = zoo.get_model("lstm", **TINY).backbone
    with pytest.raises(errors.InvalidArgumentError, match=r"'.*' pools its tokens inside"):
        MaskedLanguageModel(backbone)
