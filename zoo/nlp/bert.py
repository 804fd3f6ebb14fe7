"""`bert_{tiny,mini,small,medium,base}`: keras-hub's BERT as zoo text classifiers.

The published BERT sizes (Turc et al. 2019 for the small ones; Devlin et al.
2019 for base): `L` layers of width `H`, `H / 64` heads, feed-forward `4H`.
Built from arguments (no download) as keras-hub `BertBackbone` +
`BertTextClassifier` without a preprocessor: the model takes `token_ids`,
`segment_ids` and `padding_mask` (int32), and zoo's `WordPieceTokenizer` makes
them. `pretrained=` loads a keras-hub preset (a Kaggle handle, or a local
preset directory, which works offline); `zoo.get_model(name, weights=...)`
does the same and brings the preset's vocabulary along (`zoo.nlp.bert_presets`).
"""

from __future__ import annotations

from zoo import errors, validation
from zoo.inputs import TokenInput
from zoo.models import CLASSIFIER_ACTIVATIONS
from zoo.nlp.bert_presets import KerasHubBert
from zoo.registry import register_model

# name: (num_layers, hidden_dim)
SIZES = {
    "tiny": (2, 128),
    "mini": (4, 256),
    "small": (4, 512),
    "medium": (8, 512),
    "base": (12, 768),
}


def bert(
    size,
    num_classes=2,
    vocabulary_size=30522,
    sequence_length=512,
    dropout=0.1,
    classifier_activation="softmax",
    pretrained=None,
):
    """Builds a `bert_<size>` text classifier.

    Args:
        size: str. One of `SIZES`; fixed by the registered name.
        num_classes: int. Output classes.
        vocabulary_size: int. WordPiece vocabulary size (30,522 for the
            published English uncased vocabulary).
        sequence_length: int. Longest input (the position table size).
        dropout: float. Dropout in the encoder and before the head, in [0, 1).
        classifier_activation: str or None. `"softmax"` or None for logits.
        pretrained: str or None. A keras-hub preset (e.g. `"bert_tiny_en_uncased"`
            or a local directory written by `save_to_preset`) whose encoder
            weights to start from; its architecture wins over `size`, and the
            head is new, sized `num_classes` (keras-hub's fine-tuning rule).

    Example:

    >>> model = zoo.get_model("bert_tiny", num_classes=4, sequence_length=128)
    """
    import keras_hub  # imported here: `import zoo` stays free of keras-hub

    num_classes = validation.check_positive_int("num_classes", num_classes)
    dropout = validation.check_fraction("dropout", dropout)
    validation.check_choice("classifier_activation", classifier_activation, CLASSIFIER_ACTIVATIONS)
    activation = classifier_activation or None
    if pretrained is not None:
        return _from_preset(keras_hub, pretrained, num_classes, activation, dropout)
    vocabulary_size = validation.check_positive_int("vocabulary_size", vocabulary_size, minimum=6)
    sequence_length = validation.check_positive_int("sequence_length", sequence_length, minimum=3)
    num_layers, hidden_dim = SIZES[size]
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=vocabulary_size,
        num_layers=num_layers,
        num_heads=hidden_dim // 64,
        hidden_dim=hidden_dim,
        intermediate_dim=4 * hidden_dim,
        dropout=dropout,
        max_sequence_length=sequence_length,
        name=f"bert_{size}_backbone",
    )
    return keras_hub.models.BertTextClassifier(
        backbone,
        num_classes,
        preprocessor=None,
        activation=activation,
        dropout=dropout,
        name=f"bert_{size}",
    )


def _from_preset(keras_hub, preset, num_classes, activation, dropout):
    try:
        return keras_hub.models.BertTextClassifier.from_preset(
            preset,
            num_classes=num_classes,
            preprocessor=None,
            activation=activation,
            dropout=dropout,
        )
    except Exception as err:  # keras-hub raises many types for a bad or offline handle
        raise errors.WeightsError(
            f"Cannot load the keras-hub preset {preset!r}: {err}. Pass a BERT preset name "
            f"(needs internet the first time) or a local preset directory. "
            f"Received: pretrained={preset!r}"
        ) from err


for _size, (_layers, _hidden) in SIZES.items():
    register_model(
        f"bert_{_size}",
        family="bert",
        task="text_classification",
        input=TokenInput(tokenizer="wordpiece"),
        fixed_kwargs={"size": _size},
        default_kwargs={"num_classes": 2, "vocabulary_size": 30522, "sequence_length": 512},
        default_dataset="sentiment",
        recipe="bert_text",
        dataset_recipes={"sentiment": "sentiment_bert"},
        tags=("transformer", "bert", "keras-hub"),
        description=f"BERT L={_layers} H={_hidden} ({_hidden // 64} heads) with a "
        f"classification head on [CLS].",
        paper="Devlin et al. 2019, BERT; small sizes from Turc et al. 2019",
        tiny_kwargs={"num_classes": 3, "vocabulary_size": 60, "sequence_length": 12},
        # Published BERT weights (pretrained/manifest.json, a preset name or folder).
        weight_sources={"keras_hub": KerasHubBert()},
    )(bert)
