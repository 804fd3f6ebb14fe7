"""Speech model families; importing the package registers their models and recipes."""

from zoo.speech import classifier  # noqa: F401
