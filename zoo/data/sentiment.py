"""`sentiment`: a generated review dataset whose labels depend on word order.

Every review is made from templates where the verdict hangs on negation scope
or on which clause of a contrast wins: "the plot was not dull , it was clever"
(positive) and "the plot was not clever , it was dull" (negative) hold the
same words, and so do "not surprisingly , the plot was dull" (negative) and
"surprisingly , the plot was not dull" (positive). The generator is symmetric:
every bag of words is exactly as likely under either label, so no bag-of-words
model (linear or not) beats chance, while any model that reads the sequence
can learn the rule. A fixed-seed tfds builder makes the data: no download,
the same examples everywhere.

Texts are lowercase words separated by single spaces; the comma is a word of
its own (zoo's tokenizer strips it; the order of the other words carries the
meaning).
"""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds

POSITIVE = (
    "good",
    "great",
    "excellent",
    "wonderful",
    "brilliant",
    "enjoyable",
    "fun",
    "moving",
    "clever",
    "beautiful",
    "charming",
    "gripping",
)
NEGATIVE = (
    "bad",
    "awful",
    "terrible",
    "boring",
    "dull",
    "weak",
    "poor",
    "silly",
    "predictable",
    "messy",
    "clumsy",
    "tedious",
)
SUBJECTS = (
    "movie",
    "film",
    "plot",
    "acting",
    "ending",
    "story",
    "cast",
    "soundtrack",
    "script",
    "dialogue",
    "direction",
    "pacing",
    "sequel",
    "premise",
)
# Drawn independently for each adjective, so "very X" says nothing about
# which adjective is the verdict.
INTENSIFIERS = ("", "", "", "really ", "very ", "quite ", "so ")

# `{b}` is the verdict, with the label's polarity; `{a}` has the opposite
# polarity and is negated or overridden. Both adjectives are in every pair
# review, so swapping them flips the label and keeps the words. `{plain_a}`
# is `{a}` without its intensifier, where one reads badly ("far from very dull").
PAIR_TEMPLATES = (
    "the {s} was not {a} , it was {b}",
    "the {s} was {b} , not {a}",
    "the {s} was not {a} but {b}",
    "i would not call the {s} {a} , it was {b}",
    "not {plain_a} at all , the {s} was {b}",
    "far from {plain_a} , the {s} was {b}",
    "the {s} was {a} but mostly {b}",
    "although the {s} was {a} , it was {b}",
    "the {s} was {b} , although some say {a}",
    "they said the {s} would be {a} , it was {b}",
)
# One adjective, in twins that share their words and differ only in where
# "not" stands: its scope decides whether the adjective is the verdict. (The
# plain "the plot was good" / "the plot was not good" would let "not" plus the
# adjective's polarity give the label away to a nonlinear bag of words.)
SINGLE_TEMPLATES = (
    "not surprisingly , the {s} was {b}",
    "surprisingly , the {s} was not {a}",
    "i did not expect the {s} to be {b} , but it was",
    "i did expect the {s} to be {a} , but it was not",
)
_SINGLE_SHARE = 0.25
_SIZES = {"train": 4000, "test": 1000}
_SEEDS = {"train": 20260101, "test": 20260102}
# 14 words at most ("i did expect the plot to be very dull , but it was not").
MAX_WORDS = 14


def generate(count: int, seed: int) -> list[tuple[str, int]]:
    """`count` `(review, label)` pairs, label 1 = positive; deterministic in `seed`.

    Labels are exactly balanced (one more negative when `count` is odd).

    Args:
        count: int. Number of reviews.
        seed: int. Seed of the generator.

    Example:

    >>> generate(2, seed=0)
    [('the ending was good but mostly terrible', 0), ...]
    """
    rng = np.random.default_rng(seed)

    def pick(words):
        return words[rng.integers(len(words))]

    labels = rng.permutation(np.arange(count) % 2)
    examples = []
    for label in labels.tolist():
        verdict, other = (POSITIVE, NEGATIVE) if label else (NEGATIVE, POSITIVE)
        templates = SINGLE_TEMPLATES if rng.random() < _SINGLE_SHARE else PAIR_TEMPLATES
        # Every draw happens whether or not the template uses it, so one
        # review's template never shifts the random stream of the next.
        template, subject = pick(templates), pick(SUBJECTS)
        intensifier, negated = pick(INTENSIFIERS), pick(other)
        kept = pick(INTENSIFIERS) + pick(verdict)
        text = template.format(s=subject, a=intensifier + negated, plain_a=negated, b=kept)
        examples.append((text, label))
    return examples


class ZooSentiment(tfds.core.GeneratorBasedBuilder):
    """tfds builder for the generated `sentiment` reviews (4,000 train, 1,000 test).

    Example:

    >>> builder = ZooSentiment(data_dir="/tmp/tfds")
    >>> builder.download_and_prepare()
    >>> train = builder.as_dataset(split="train", as_supervised=True)
    """

    VERSION = tfds.core.Version("1.1.0")
    RELEASE_NOTES = {
        "1.0.0": "8 order-dependent and 2 negation templates, seeds fixed.",
        "1.1.0": "10 pair templates and 2 single-adjective twins: every bag of words "
        "equally likely under both labels; labels exactly balanced.",
    }

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            description="Generated short reviews whose label depends on negation scope "
            "and clause order; a bag of words cannot solve it.",
            features=tfds.features.FeaturesDict(
                {
                    "text": tfds.features.Text(),
                    "label": tfds.features.ClassLabel(names=["negative", "positive"]),
                }
            ),
            supervised_keys=("text", "label"),
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # generated here: nothing to download
        return {split: self._generate_examples(split) for split in _SIZES}

    def _generate_examples(self, split):
        for i, (text, label) in enumerate(generate(_SIZES[split], _SEEDS[split])):
            yield i, {"text": text, "label": label}
