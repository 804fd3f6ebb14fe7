"""The `lstm` text classifier: embedding, stacked bidirectional LSTMs, masked pooling."""

from __future__ import annotations

import keras

from zoo import validation
from zoo.inputs import TokenInput
from zoo.layers.pooling import MaskedMeanPooling
from zoo.layers.rnn import Bidirectional, SequenceLengths
from zoo.models import Backbone
from zoo.nlp.classifier import TextClassifier
from zoo.registry import register_model


@keras.saving.register_keras_serializable(package="zoo")
class LSTMBackbone(Backbone):
    """Token ids to one feature vector through bidirectional LSTMs.

    Embedding (id 0 is padding), `num_layers` bidirectional LSTMs returning
    sequences, then the mean over the real (non-padding) steps. Inputs are
    right-padded, as zoo tokenizers make them: each example's outputs are
    those of its real tokens alone, which a masked
    `keras.layers.Bidirectional` would give, but without a Keras mask, so the
    ONNX export runs the ONNX `LSTM` op (see `zoo.layers.rnn.Bidirectional`).

    Args:
        vocabulary_size: int. Number of token ids (>= 2).
        sequence_length: int. Longest input the tokenizer produces.
        embedding_dim: int. Embedding width.
        units: int. LSTM units per direction.
        num_layers: int. Stacked bidirectional LSTM layers.
        dropout: float. Dropout on the LSTM inputs, in [0, 1).
        **kwargs: passed to `keras.Model`.

    Example:

    >>> backbone = LSTMBackbone(vocabulary_size=20000, sequence_length=256)
    >>> backbone.output_shape
    (None, 256)
    """

    def __init__(
        self,
        vocabulary_size,
        sequence_length,
        embedding_dim=128,
        units=128,
        num_layers=2,
        dropout=0.0,
        **kwargs,
    ):
        vocabulary_size = validation.check_positive_int(
            "vocabulary_size", vocabulary_size, minimum=2
        )
        sequence_length = validation.check_positive_int("sequence_length", sequence_length)
        embedding_dim = validation.check_positive_int("embedding_dim", embedding_dim)
        units = validation.check_positive_int("units", units)
        num_layers = validation.check_positive_int("num_layers", num_layers)
        dropout = validation.check_fraction("dropout", dropout)

        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        # No Keras mask (mask_zero=False): with one, tf2onnx exports each LSTM
        # as a generic Loop that onnxruntime runs slower than TensorFlow.
        # Padding is on the right, so the layers below take the real lengths
        # and compute at real steps what the masked model computes there.
        x = keras.layers.Embedding(vocabulary_size, embedding_dim, name="embedding")(token_ids)
        lengths = SequenceLengths(name="lengths")(token_ids)
        for i in range(num_layers):
            x = Bidirectional(units, dropout=dropout, name=f"bilstm_{i}")([x, lengths])
        features = MaskedMeanPooling(name="pool")([x, token_ids])
        super().__init__(inputs=token_ids, outputs=features, **kwargs)
        self._remember_config(
            vocabulary_size=vocabulary_size,
            sequence_length=sequence_length,
            embedding_dim=embedding_dim,
            units=units,
            num_layers=num_layers,
            dropout=dropout,
        )
        self.vocabulary_size = vocabulary_size
        self.sequence_length = sequence_length
        self.embedding_dim = embedding_dim
        self.units = units
        self.num_layers = num_layers
        self.dropout = dropout


@register_model(
    "lstm",
    family="lstm",
    task="text_classification",
    input=TokenInput(tokenizer="word"),
    default_kwargs={"num_classes": 2, "vocabulary_size": 20000, "sequence_length": 256},
    default_dataset="sentiment",
    recipe="lstm_text",
    tags=("rnn", "bidirectional"),
    description="Embedding, 2 bidirectional LSTM layers, masked mean pooling.",
    paper="Hochreiter and Schmidhuber 1997, Long Short-Term Memory",
    tiny_kwargs={
        "num_classes": 3,
        "vocabulary_size": 50,
        "sequence_length": 12,
        "embedding_dim": 8,
        "units": 8,
    },
)
def lstm(
    num_classes=2,
    vocabulary_size=20000,
    sequence_length=256,
    embedding_dim=128,
    units=128,
    num_layers=2,
    dropout=0.0,
    classifier_activation="softmax",
):
    """Builds the `lstm` text classifier.

    Args:
        num_classes: int. Output classes.
        vocabulary_size: int. Token ids the embedding accepts.
        sequence_length: int. Tokens per text the tokenizer produces.
        embedding_dim: int. Embedding width.
        units: int. LSTM units per direction.
        num_layers: int. Stacked bidirectional LSTMs.
        dropout: float. Dropout in the LSTMs and before the head, in [0, 1).
        classifier_activation: str or None. `"softmax"` or None for logits.

    Example:

    >>> model = zoo.get_model("lstm", vocabulary_size=5000, num_classes=4)
    """
    backbone = LSTMBackbone(
        vocabulary_size,
        sequence_length,
        embedding_dim=embedding_dim,
        units=units,
        num_layers=num_layers,
        dropout=dropout,
        name="lstm_backbone",
    )
    return TextClassifier(
        backbone,
        num_classes,
        dropout=dropout,
        classifier_activation=classifier_activation,
        name="lstm",
    )
