"""Speech model families; importing the package registers their models and recipes."""

from zoo.speech import classifier, recipes, resnet  # noqa: F401
