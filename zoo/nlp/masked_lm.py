"""`MaskedLanguageModel`: masked-token pretraining of a text encoder (BERT's first task).

Devlin et al. 2019 pretrain an encoder on unlabeled text by hiding 15% of the
tokens and predicting them from both sides of their context, then fine-tune
it with a classification head. Here the encoder is a zoo backbone that
exposes its per-token features (`token_features()`) and its token embedding
(`token_embedding`): today the `transformer_encoder_*` family. The head is
keras-hub's `MaskedLMHead` (dense + GELU + LayerNorm, then the output
projection tied to the token embedding, as in BERT); the masking itself is
keras-hub's `MaskedLMMaskGenerator` in the input pipeline
(`zoo.data.corpus`), so the model takes the masked ids and the positions to
predict and returns logits over the vocabulary at those positions.

`zoo.pretrain` trains one into a run directory; `get_model(name,
weights=RUN_DIR)` then starts a classifier from its backbone
(`zoo.run_weights`).

Example:

>>> backbone = zoo.get_model("transformer_encoder_tiny", vocabulary_size=1000).backbone
>>> mlm = MaskedLanguageModel(backbone)
>>> mlm({"token_ids": ids, "mask_positions": positions}).shape   # (batch, masks, 1000)
"""

from __future__ import annotations

import keras

from zoo import errors

# The token that replaces a selected word; never produced from text (the
# word tokenizer strips brackets), appended to the vocabulary it pretrains.
MASK = "[MASK]"
# The share of tokens BERT selects for prediction.
MASK_RATE = 0.15


def check_backbone(backbone, model_name: str = "") -> None:
    """Refuses a backbone that cannot be pretrained with masked tokens.

    Args:
        backbone: keras.Model. A task model's `backbone`.
        model_name: str. The registered name, for the message.

    Raises:
        InvalidArgumentError: it has no per-token features or token embedding.

    Example:

    >>> check_backbone(zoo.get_model("lstm").backbone, "lstm")   # raises: it pools inside
    """
    if callable(getattr(backbone, "token_features", None)) and hasattr(backbone, "token_embedding"):
        return
    name = model_name or getattr(backbone, "name", type(backbone).__name__)
    raise errors.InvalidArgumentError(
        f"Masked-language-model pretraining needs an encoder that gives one feature vector "
        f"per token; {name!r} pools its tokens inside. Received: {name!r}; accepted: the "
        f"transformer_encoder_* models (zoo.list_models('transformer_encoder_*'))."
    )


@keras.saving.register_keras_serializable(package="zoo")
class MaskedLanguageModel(keras.Model):
    """Predicts masked tokens from their context with a text encoder backbone.

    Inputs: `token_ids` int32 `(batch, steps)` with some ids replaced (the
    mask token, a random one, or kept) and `mask_positions` int32
    `(batch, masks)`, the positions to predict. Output: float32 logits
    `(batch, masks, vocabulary_size)`.

    Args:
        backbone: keras.Model. An encoder with `token_features()` and
            `token_embedding` (e.g. `TransformerEncoderBackbone`); its
            weights are the ones trained.
        **kwargs: passed to `keras.Model` (`name`, `trainable`).

    Example:

    >>> mlm = MaskedLanguageModel(TransformerEncoderBackbone(1000, 64))
    >>> mlm.compile("adamw", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    """

    def __init__(self, backbone, **kwargs):
        import keras_hub  # imported here: `import zoo` stays free of keras-hub

        check_backbone(backbone)
        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        mask_positions = keras.Input(shape=(None,), dtype="int32", name="mask_positions")
        features = backbone.token_features()(token_ids)
        logits = keras_hub.layers.MaskedLMHead(
            token_embedding=backbone.token_embedding,
            intermediate_activation="gelu",
            name="mlm_head",
        )(features, mask_positions=mask_positions)
        # float32 logits: the loss stays stable under mixed precision.
        logits = keras.layers.Activation("linear", dtype="float32", name="mlm_logits")(logits)
        super().__init__(
            inputs={"token_ids": token_ids, "mask_positions": mask_positions},
            outputs=logits,
            **kwargs,
        )
        self.backbone = backbone

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.saving.serialize_keras_object(self.backbone),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)
