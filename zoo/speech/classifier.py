"""The audio classification task model: waveform front end + any backbone + head."""

from __future__ import annotations

import keras

from zoo.errors import InvalidArgumentError
from zoo.models.base import Classifier
from zoo.speech.frontend import FrontendConfig, frontend_layers


@keras.saving.register_keras_serializable(package="zoo")
class AudioClassifier(Classifier):
    """Classifies raw mono waveforms: in-graph front end, a backbone, pooling, a head.

    The model takes one input, `waveforms`: float32 `(batch, samples)` in
    [-1, 1] at `frontend.sample_rate`, of any length (zero-padded or cropped
    to the clip inside the graph). The front end (`zoo.speech.frontend`)
    turns it into features `(batch, frames, bins)`, which is what the
    backbone receives: its input shape must be
    `FrontendConfig.feature_shape` (a backbone that wants a channel axis
    adds it itself, as `KWSResNetBackbone` does). The backbone returns
    either one vector per clip `(batch, features)`, used as is, or a map,
    averaged over all axes but the last (`(batch, steps, features)` over
    time, `(batch, h, w, features)` over both). Then the shared head of
    `zoo.models.Classifier`.

    Training-only augmentation is part of `frontend` and acts only under
    `training=True`; saved files and exports hold the inference graph.

    Args:
        backbone: keras.Model. Maps features `(batch, frames, bins)` to a
            vector or a map (see above).
        num_classes: int. Number of output classes.
        frontend: dict, FrontendConfig or None. Front-end settings (fields
            of `FrontendConfig`); None takes its defaults (16 kHz, 1 s,
            40 log-mel bins of 30 ms windows every 10 ms).
        dropout: float. Dropout before the head, in [0, 1).
        classifier_activation: str or None. `"softmax"` or None for logits.
        **kwargs: passed to `keras.Model` (`name`, `trainable`, `dtype`).

    Attributes:
        frontend_config: FrontendConfig. The validated front-end settings.
        sample_rate: int. What `zoo.inputs.AudioInput.from_model` reads.
        clip_seconds: float. The clip length the front end pads or crops to.

    Example:

    >>> frontend = FrontendConfig(features="mfcc", num_mfcc=40)
    >>> backbone = MyBackbone(input_shape=AudioClassifier.feature_shape(frontend))
    >>> model = AudioClassifier(backbone, num_classes=12, frontend=frontend)
    >>> model(AudioInput().random_batch(2)).shape
    TensorShape([2, 12])
    """

    def __init__(
        self,
        backbone,
        num_classes,
        frontend=None,
        dropout=0.0,
        classifier_activation="softmax",
        **kwargs,
    ):
        # Head arguments first: bad ones are reported before any graph is built.
        self.check_head_arguments(num_classes, dropout, classifier_activation)
        config = FrontendConfig.from_dict(frontend)
        _check_backbone_input(backbone, config.feature_shape)

        waveforms = keras.Input(shape=(None,), name="waveforms")
        x = waveforms
        for layer in frontend_layers(config):
            x = layer(x)
        x = backbone(x)
        if len(x.shape) > 2:
            x = keras.layers.GlobalAveragePooling1D(name="avg_pool")(
                keras.layers.Reshape((-1, x.shape[-1]), name="flatten_map")(x)
                if len(x.shape) > 3
                else x
            )
        super().__init__(
            waveforms,
            x,
            backbone=backbone,
            num_classes=num_classes,
            dropout=dropout,
            classifier_activation=classifier_activation,
            **kwargs,
        )
        self.frontend_config = config
        self.sample_rate = config.sample_rate
        self.clip_seconds = config.clip_seconds

    @staticmethod
    def feature_shape(frontend=None) -> tuple[int, int]:
        """`(frames, bins)` the backbone receives for a front-end config.

        Args:
            frontend: dict, FrontendConfig or None. As the constructor's.

        Example:

        >>> AudioClassifier.feature_shape({"features": "mfcc", "num_mfcc": 13})
        (98, 13)
        """
        return FrontendConfig.from_dict(frontend).feature_shape

    def _task_config(self):
        return {"frontend": self.frontend_config.to_dict()}


def _check_backbone_input(backbone, expected):
    shape = getattr(backbone, "input_shape", None)
    received = tuple(shape[1:]) if isinstance(shape, tuple) else None
    if (
        received is None
        or len(received) != 2
        or any(r is not None and r != e for r, e in zip(received, expected))
    ):
        raise InvalidArgumentError(
            f"The backbone must take the front end's features (frames, bins) = {expected}. "
            f"Received: backbone {getattr(backbone, 'name', backbone)!r} with input shape "
            f"{received}. Build it with input_shape=AudioClassifier.feature_shape(frontend)."
        )
