"""Speech model families; importing the package registers their models and recipes."""

from zoo.speech import classifier, kwt, lstm, recipes, resnet, sequence_recipes  # noqa: F401
