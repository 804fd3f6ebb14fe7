"""Text model families; importing the package registers their models and recipes."""

from zoo.nlp import bert, lstm, recipes, transformer  # noqa: F401
