"""`kws_lstm`: a stacked LSTM keyword spotter over log-mel frames, on raw waveforms.

In the style of Zhang, Suda, Lai & Chandra 2017, "Hello Edge: Keyword
Spotting on Microcontrollers": their framing (40 ms windows every 20 ms, 49
frames per second) and their 40 mel bands of 20 Hz - 4 kHz, read as log-mel
energies rather than their 10 MFCCs; two stacked LSTMs of 128 units instead
of their one (with a projection layer, which Keras' LSTM does not have); the
last step's output of the top LSTM is the feature vector, then the shared
dense head.

Trainable parameters: 4 x (128 x (40 + 128) + 128) = 86,528 for the first
LSTM, 4 x (128 x 256 + 128) = 131,584 for the second, 1,548 for a 12-class
head: 219,660 in all, between Hello Edge's basic LSTM M (214 units) and L,
and next to `kws_res15` (238K).

No masking: the front end pads or crops every clip to the same length, so
the LSTMs need none, and tf2onnx then converts each one to ONNX's `LSTM`
op (with a mask it emits a slower `Loop`; see STACK.md).

Example:

>>> model = zoo.get_model("kws_lstm")
>>> model.backbone.input_shape
(None, 49, 40)
"""

from __future__ import annotations

import keras

from zoo import validation
from zoo.inputs import AudioInput
from zoo.models import Backbone
from zoo.registry import register_model
from zoo.speech.classifier import AudioClassifier
from zoo.speech.frontend import FrontendConfig
from zoo.speech.shapes import check_features_shape

# Hello Edge's framing and mel bands, as log-mel energies.
HELLO_EDGE_FRONTEND = {
    "features": "log_mel",
    "num_mel_bins": 40,
    "window_ms": 40.0,
    "hop_ms": 20.0,
    "lower_hz": 20.0,
    "upper_hz": 4000.0,
}
# Hello Edge trains with the TensorFlow speech-commands example's
# augmentation: +-100 ms shifts, background noise on 80% of the clips.
HELLO_EDGE_AUGMENTATION = {"time_shift_ms": 100.0, "noise_probability": 0.8}


@keras.saving.register_keras_serializable(package="zoo")
class KWSLSTMBackbone(Backbone):
    """Features `(frames, bins)` to one vector through stacked unidirectional LSTMs.

    Every LSTM but the last returns its sequence; the last returns the output
    of the final frame, which has seen the whole clip.

    Args:
        input_shape: tuple of int. `(frames, bins)`, as
            `AudioClassifier.feature_shape` gives.
        units: int. LSTM units of every layer.
        num_layers: int. Stacked LSTMs.
        dropout: float. Dropout on each LSTM's inputs, in [0, 1); only
            input dropout, so the LSTM keeps its fused kernels.
        **kwargs: passed to `keras.Model` (`name`, `trainable`, `dtype`).

    Example:

    >>> KWSLSTMBackbone((49, 40), units=128, num_layers=2).output_shape
    (None, 128)
    """

    def __init__(self, input_shape, units=128, num_layers=2, dropout=0.0, **kwargs):
        input_shape = check_features_shape(input_shape)
        units = validation.check_positive_int("units", units)
        num_layers = validation.check_positive_int("num_layers", num_layers)
        dropout = validation.check_fraction("dropout", dropout)

        features = keras.Input(shape=tuple(input_shape), name="features")
        x = features
        for i in range(num_layers):
            x = keras.layers.LSTM(
                units, return_sequences=i < num_layers - 1, dropout=dropout, name=f"lstm_{i}"
            )(x)
        super().__init__(inputs=features, outputs=x, **kwargs)
        self._remember_config(
            input_shape=list(input_shape), units=units, num_layers=num_layers, dropout=dropout
        )


@register_model(
    "kws_lstm",
    family="kws_lstm",
    task="audio_classification",
    input=AudioInput(),
    default_kwargs={"num_classes": 12, "sample_rate": 16000, "clip_seconds": 1.0},
    default_dataset="speech_commands",
    recipe="speech_commands_lstm",
    dataset_recipes={"spoken_commands": "spoken_commands_lstm"},
    tags=("keyword_spotting", "rnn"),
    description="2 stacked LSTMs of 128 units over 49 frames of 40 log-mel bands "
    "(Hello Edge framing; 220K params).",
    paper="Zhang et al. 2017, Hello Edge: Keyword Spotting on Microcontrollers (LSTM models)",
    tiny_kwargs={
        "num_classes": 3,
        "clip_seconds": 0.25,
        "units": 8,
        "frontend": {"num_mel_bins": 16},
    },
)
def kws_lstm(
    num_classes=12,
    units=128,
    num_layers=2,
    sample_rate=16000,
    clip_seconds=1.0,
    augment=True,
    frontend=None,
    dropout=0.0,
    classifier_activation="softmax",
):
    """Builds the `kws_lstm` keyword spotter on raw waveforms.

    Args:
        num_classes: int. Output classes (12 for speech_commands).
        units: int. LSTM units of every layer.
        num_layers: int. Stacked LSTMs.
        sample_rate: int. Input samples per second.
        clip_seconds: float. Clip length the input is padded or cropped to.
        augment: bool. Training augmentation in the front end (time shift,
            background noise; see `HELLO_EDGE_AUGMENTATION`).
        frontend: dict or None. `FrontendConfig` fields over Hello Edge's
            framing (e.g. SpecAugment masks, or 98 frames with `hop_ms=10`).
        dropout: float. Dropout on the LSTM inputs and before the head, in [0, 1).
        classifier_activation: str or None. `"softmax"` or None for logits.

    Example:

    >>> model = kws_lstm(units=64, num_classes=35)
    """
    validation.check_bool("augment", augment)
    settings = {
        **HELLO_EDGE_FRONTEND,
        **(HELLO_EDGE_AUGMENTATION if augment else {}),
        "sample_rate": sample_rate,
        "clip_seconds": clip_seconds,
    }
    config = FrontendConfig.from_dict(frontend, base=settings)
    backbone = KWSLSTMBackbone(
        config.feature_shape,
        units=units,
        num_layers=num_layers,
        dropout=dropout,
        name="kws_lstm_backbone",
    )
    return AudioClassifier(
        backbone,
        num_classes=num_classes,
        frontend=config,
        dropout=dropout,
        classifier_activation=classifier_activation,
        name="kws_lstm",
    )
