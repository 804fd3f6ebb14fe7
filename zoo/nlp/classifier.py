"""The text classification task model: any token-id backbone + a dense head."""

from __future__ import annotations

import keras

from zoo.models.base import Classifier


@keras.saving.register_keras_serializable(package="zoo")
class TextClassifier(Classifier):
    """Classifies token-id sequences with a backbone that pools to one vector.

    The model takes one input, `token_ids`: int32 `(batch, steps)`, 0 for
    padding, any number of steps up to the backbone's `sequence_length`.
    Tokenization stays outside (see `zoo.data.tokenizers`), so the same
    model exports to ONNX on token ids and to a SavedModel on raw strings.
    The head and the config are `zoo.models.Classifier`'s.

    Args:
        backbone: keras.Model. Maps token ids to `(batch, features)`.
        num_classes: int. Number of output classes.
        dropout: float. Dropout before the head, in [0, 1).
        classifier_activation: str or None. `"softmax"` or None for logits.
        **kwargs: passed to `keras.Model` (`name`, `trainable`, `dtype`).

    Example:

    >>> backbone = zoo.nlp.lstm.LSTMBackbone(vocabulary_size=1000, sequence_length=32)
    >>> model = TextClassifier(backbone, num_classes=2)
    """

    def __init__(
        self, backbone, num_classes, dropout=0.0, classifier_activation="softmax", **kwargs
    ):
        # Head arguments first: bad ones are reported before the backbone runs.
        self.check_head_arguments(num_classes, dropout, classifier_activation)
        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        super().__init__(
            token_ids,
            backbone(token_ids),
            backbone=backbone,
            num_classes=num_classes,
            dropout=dropout,
            classifier_activation=classifier_activation,
            **kwargs,
        )
