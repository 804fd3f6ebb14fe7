"""`transformer_encoder_{tiny,small,base}`: pre-norm Transformer encoders over token ids.

Token + learned position embeddings, N pre-norm encoder blocks (keras-hub's
`TransformerEncoder` with `normalize_first=True`: self-attention and a
feed-forward network, each behind a LayerNorm and a residual), a final
LayerNorm and the mean over real tokens.
"""

from __future__ import annotations

import keras

from zoo import errors, validation
from zoo.inputs import TokenInput
from zoo.layers.activations import gelu_tanh
from zoo.layers.pooling import MaskedMeanPooling
from zoo.models import Backbone
from zoo.nlp.classifier import TextClassifier
from zoo.registry import register_model

# name: (num_layers, hidden_dim, num_heads, intermediate_dim)
SIZES = {"tiny": (2, 128, 2, 512), "small": (4, 256, 4, 1024), "base": (12, 768, 12, 3072)}


@keras.saving.register_keras_serializable(package="zoo")
class TransformerEncoderBackbone(Backbone):
    """Token ids to one feature vector through pre-norm Transformer encoder blocks.

    Args:
        vocabulary_size: int. Number of token ids (>= 2); 0 is padding.
        sequence_length: int. Longest input (size of the position table).
        hidden_dim: int. Model width; divisible by `num_heads`.
        num_layers: int. Encoder blocks.
        num_heads: int. Attention heads.
        intermediate_dim: int. Feed-forward width.
        dropout: float. Dropout in the blocks, in [0, 1).
        **kwargs: passed to `keras.Model`.

    Example:

    >>> backbone = TransformerEncoderBackbone(20000, 256, hidden_dim=128, num_layers=2,
    ...                                       num_heads=2, intermediate_dim=512)
    """

    def __init__(
        self,
        vocabulary_size,
        sequence_length,
        hidden_dim=128,
        num_layers=2,
        num_heads=2,
        intermediate_dim=512,
        dropout=0.0,
        **kwargs,
    ):
        import keras_hub  # imported here: `import zoo` stays free of keras-hub

        vocabulary_size = validation.check_positive_int(
            "vocabulary_size", vocabulary_size, minimum=2
        )
        sequence_length = validation.check_positive_int("sequence_length", sequence_length)
        hidden_dim = validation.check_positive_int("hidden_dim", hidden_dim)
        num_layers = validation.check_positive_int("num_layers", num_layers)
        num_heads = validation.check_positive_int("num_heads", num_heads)
        intermediate_dim = validation.check_positive_int("intermediate_dim", intermediate_dim)
        dropout = validation.check_fraction("dropout", dropout)
        if hidden_dim % num_heads:
            raise errors.InvalidArgumentError(
                f"hidden_dim must be divisible by num_heads, so that each head gets "
                f"hidden_dim // num_heads features. Received: hidden_dim={hidden_dim}, "
                f"num_heads={num_heads}."
            )

        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        padding_mask = keras.ops.not_equal(token_ids, 0)
        x = keras_hub.layers.TokenAndPositionEmbedding(
            vocabulary_size, sequence_length, hidden_dim, name="embeddings"
        )(token_ids)
        for i in range(num_layers):
            x = keras_hub.layers.TransformerEncoder(
                intermediate_dim,
                num_heads,
                dropout=dropout,
                activation=gelu_tanh,
                normalize_first=True,
                name=f"encoder_{i}",
            )(x, padding_mask=padding_mask)
        x = keras.layers.LayerNormalization(epsilon=1e-6, name="final_norm")(x)
        features = MaskedMeanPooling(name="pool")([x, token_ids])
        super().__init__(inputs=token_ids, outputs=features, **kwargs)
        self._remember_config(
            vocabulary_size=vocabulary_size,
            sequence_length=sequence_length,
            hidden_dim=hidden_dim,
            num_layers=num_layers,
            num_heads=num_heads,
            intermediate_dim=intermediate_dim,
            dropout=dropout,
        )
        self.vocabulary_size = vocabulary_size
        self.sequence_length = sequence_length
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout

    @property
    def token_embedding(self):
        """The token embedding (keras' `ReversibleEmbedding`): a masked-LM head ties to it."""
        return self.get_layer("embeddings").token_embedding

    def token_features(self) -> keras.Model:
        """The same layers up to the final LayerNorm: one feature vector per token.

        The model shares this backbone's weights (masked-LM pretraining,
        `zoo.nlp.masked_lm`, trains them through it).

        Example:

        >>> backbone.token_features()(token_ids).shape   # (batch, steps, hidden_dim)
        """
        return keras.Model(self.input, self.get_layer("final_norm").output, name="token_features")


def transformer_encoder(
    size,
    num_classes=2,
    vocabulary_size=20000,
    sequence_length=256,
    dropout=0.1,
    classifier_activation="softmax",
):
    """Builds a `transformer_encoder_<size>` text classifier.

    Args:
        size: str. `"tiny"`, `"small"` or `"base"`; fixed by the registered name.
        num_classes: int. Output classes.
        vocabulary_size: int. Token ids the embedding accepts.
        sequence_length: int. Longest input; sizes the position table.
        dropout: float. Dropout in the blocks and before the head, in [0, 1).
        classifier_activation: str or None. `"softmax"` or None for logits.

    Example:

    >>> model = zoo.get_model("transformer_encoder_tiny", sequence_length=64)
    """
    num_layers, hidden_dim, num_heads, intermediate_dim = SIZES[size]
    backbone = TransformerEncoderBackbone(
        vocabulary_size,
        sequence_length,
        hidden_dim=hidden_dim,
        num_layers=num_layers,
        num_heads=num_heads,
        intermediate_dim=intermediate_dim,
        dropout=dropout,
        name=f"transformer_encoder_{size}_backbone",
    )
    return TextClassifier(
        backbone,
        num_classes,
        dropout=dropout,
        classifier_activation=classifier_activation,
        name=f"transformer_encoder_{size}",
    )


for _size, (_layers, _hidden, _heads, _ffn) in SIZES.items():
    register_model(
        f"transformer_encoder_{_size}",
        family="transformer_encoder",
        task="text_classification",
        input=TokenInput(tokenizer="word"),
        fixed_kwargs={"size": _size},
        default_kwargs={"num_classes": 2, "vocabulary_size": 20000, "sequence_length": 256},
        default_dataset="sentiment",
        recipe="transformer_text",
        tags=("transformer", "pre-norm"),
        description=f"Pre-norm Transformer encoder, {_layers} layers, width {_hidden}, "
        f"{_heads} heads, masked mean pooling.",
        paper="Vaswani et al. 2017, Attention Is All You Need; pre-norm as in Xiong et al. 2020",
        tiny_kwargs={"num_classes": 3, "vocabulary_size": 50, "sequence_length": 12},
    )(transformer_encoder)
