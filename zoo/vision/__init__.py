"""Vision model families; importing the package registers their models and recipes."""

from zoo.vision import recipes, resnet  # noqa: F401
