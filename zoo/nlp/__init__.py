"""Text model families; importing the package registers their models and recipes."""

from zoo.nlp import bert, lstm, masked_lm, recipes, transformer  # noqa: F401
