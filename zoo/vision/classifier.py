"""The image classification task model: preprocessing + any backbone + head."""

from __future__ import annotations

import keras

from zoo import validation

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLASSIFIER_ACTIVATIONS = ("softmax", "sigmoid", "linear", None)


@keras.saving.register_keras_serializable(package="zoo")
class ImageClassifier(keras.Model):
    """Classifies raw images with a backbone, global pooling and a dense head.

    The model takes raw pixel values in [0, 255] (float32, shape
    `(batch, height, width, channels)`). Rescaling to [0, 1] and per-channel
    normalization are layers inside the graph, so an exported SavedModel or
    ONNX file needs no preprocessing outside it.

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
        validation.check_positive_int("num_classes", num_classes)
        validation.check_fraction("dropout", dropout)
        validation.check_choice(
            "classifier_activation", classifier_activation, CLASSIFIER_ACTIVATIONS
        )
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
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name="head_dropout")(x)
        x = keras.layers.Dense(num_classes, name="logits")(x)
        # A float32 output keeps losses and exports stable under mixed precision.
        outputs = keras.layers.Activation(
            classifier_activation or "linear", dtype="float32", name="predictions"
        )(x)
        super().__init__(inputs=images, outputs=outputs, **kwargs)

        self.backbone = backbone
        self.num_classes = num_classes
        self.dropout = dropout
        self.classifier_activation = classifier_activation
        self.mean = list(mean)
        self.std = list(std)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "num_classes": self.num_classes,
            "dropout": self.dropout,
            "classifier_activation": self.classifier_activation,
            "mean": self.mean,
            "std": self.std,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)


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
