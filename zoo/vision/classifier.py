"""The image classification task model: preprocessing + any backbone + head."""

from __future__ import annotations

import keras

from zoo import validation

# CLASSIFIER_ACTIVATIONS is re-exported: code importing it from here (zoo.nlp.bert) still works.
from zoo.models.base import CLASSIFIER_ACTIVATIONS, Classifier  # noqa: F401

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@keras.saving.register_keras_serializable(package="zoo")
class ImageClassifier(Classifier):
    """Classifies raw images with a backbone, global pooling and a dense head.

    The model takes raw pixel values in [0, 255] (float32, shape
    `(batch, height, width, channels)`). Rescaling to [0, 1] and per-channel
    normalization are layers inside the graph, so an exported SavedModel or
    ONNX file needs no preprocessing outside it. The head and the config are
    `zoo.models.Classifier`'s.

    Args:
        backbone: keras.Model. Maps normalized images to a feature map
            `(batch, h, w, features)`.
        num_classes: int. Number of output classes.
        dropout: float. Dropout rate before the head, in [0, 1).
        classifier_activation: str or None. `"softmax"` (default) returns
            probabilities; None or `"linear"` returns logits.
        mean: sequence of float or None. Per-channel mean in [0, 1]; None uses
            the ImageNet statistics for 3 channels, 0.5 otherwise.
        std: sequence of float or None. Per-channel standard deviation.
        **kwargs: passed to `keras.Model` (`name`, `trainable`, `dtype`).

    Example:

    >>> backbone = zoo.vision.resnet.ResNetBackbone.cifar(depth=20)
    >>> model = ImageClassifier(backbone, num_classes=10)
    >>> model.output_shape
    (None, 10)
    """

    def __init__(
        self,
        backbone,
        num_classes,
        dropout=0.0,
        classifier_activation="softmax",
        mean=None,
        std=None,
        **kwargs,
    ):
        # Head arguments first, so their errors come before mean/std's.
        self.check_head_arguments(num_classes, dropout, classifier_activation)
        input_shape = tuple(backbone.input_shape[1:])
        channels = input_shape[-1]
        mean = _per_channel("mean", mean, channels, IMAGENET_MEAN, 0.5)
        std = _per_channel("std", std, channels, IMAGENET_STD, 0.5)

        images = keras.Input(shape=input_shape, name="images")
        # (x / 255 - mean) / std as one per-channel affine map. Keras'
        # Normalization layer would do the same, but its mean/variance become
        # captured tensors that Keras' ONNX export turns into graph inputs.
        x = keras.layers.Rescaling(
            scale=[1.0 / (255.0 * s) for s in std],
            offset=[-m / s for m, s in zip(mean, std)],
            name="normalize",
        )(images)
        x = backbone(x)
        features = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        super().__init__(
            images,
            features,
            backbone=backbone,
            num_classes=num_classes,
            dropout=dropout,
            classifier_activation=classifier_activation,
            **kwargs,
        )
        self.mean = list(mean)
        self.std = list(std)

    def _task_config(self):
        return {"mean": self.mean, "std": self.std}


def _per_channel(name, value, channels, rgb_default, other_default):
    if value is None:
        return tuple(rgb_default) if channels == 3 else (other_default,) * channels
    try:
        values = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        values = ()  # not numbers: reported below
    if len(values) != channels or (name == "std" and min(values) <= 0):
        raise validation.InvalidArgumentError(
            f"{name} must hold one {'positive ' if name == 'std' else ''}number per "
            f"input channel ({channels}). Received: {name}={value!r}."
        )
    return values
