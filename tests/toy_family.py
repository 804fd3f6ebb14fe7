"""A model family that lives outside the package: the proof that a family is a
folder plus one import line.

It has what every zoo family has: a backbone (`zoo.models.Backbone`), a task
model (the shared `ImageClassifier`), its input spec, a registration and a
recipe tuned on a dataset. `tests/test_toy_family.py` imports it and runs the
shared checks, `zoo.train` and `zoo.export` on it with no edit anywhere else.
"""

import keras

from zoo.inputs import ImageInput
from zoo.models import Backbone
from zoo.recipes import Recipe, register_recipe
from zoo.registry import register_model
from zoo.vision.classifier import ImageClassifier


@keras.saving.register_keras_serializable(package="zoo_toy")
class ToyBackbone(Backbone):
    """Two 3x3 convolutions with ReLU: a feature map for the shared image head.

    Args:
        input_shape: tuple. `(height, width, channels)`.
        filters: int. Channels of both convolutions.
        **kwargs: passed to `keras.Model`.
    """

    def __init__(self, input_shape, filters=8, **kwargs):
        images = keras.Input(shape=tuple(input_shape))
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(images)
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        super().__init__(inputs=images, outputs=x, **kwargs)
        self._remember_config(input_shape=list(input_shape), filters=filters)


def toy_cnn(num_classes=10, input_shape=(8, 8, 1), filters=32):
    """The toy family's one model.

    Args:
        num_classes: int. Output classes.
        input_shape: tuple. `(height, width, channels)` of raw 0..255 images.
        filters: int. Backbone width.
    """
    backbone = ToyBackbone(input_shape, filters, name="toy_backbone")
    return ImageClassifier(backbone, num_classes, name="toy_cnn")


register_recipe(
    Recipe(
        "digits_toy",
        description="Adam 1e-2 at batch 64, constant rate, 10 epochs: the toy CNN on digits.",
        optimizer="adam",
        learning_rate=1e-2,
        reference_batch=64,
        weight_decay=0.0,
        schedule="constant",
        epochs=10,
        batch_size=64,
    )
)
register_model(
    "toy_cnn",
    family="toy",
    task="image_classification",
    input=ImageInput(),
    default_kwargs={"num_classes": 10, "input_shape": (8, 8, 1)},
    default_dataset="digits",
    recipe="digits_toy",
    dataset_recipes={"digits": "digits_toy"},
    description="Two convolutions and the shared image head (a test family).",
    tiny_kwargs={"num_classes": 3, "input_shape": (8, 8, 1), "filters": 4},
)(toy_cnn)
