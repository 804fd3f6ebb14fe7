"""Model cards without Keras: `zoo list` and `zoo info` in well under a second.

The registry is filled by importing every family, and so Keras and
TensorFlow (several seconds). `cards.json`, generated from the registry by
`make docs` (`python -m zoo.docs`), holds every model's card except its
weights, which come from the pretrained manifest when read. `zoo.factory`
answers `list_models` and `model_info` from it while the registry would hold
exactly zoo's own families (`registry.only_builtin_families`); once anything
is registered, or a family is installed through the `zoo.families` entry
points, the live registry answers. A test checks the file equals the registry.

Example:

>>> from zoo import cards
>>> cards.usable()            # in a fresh process
True
>>> cards.names("kws_*")
['kws_lstm', 'kws_res8', 'kws_res15']
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from zoo import errors, fs, registry

CARDS_FILE = Path(__file__).with_name("cards.json")


def usable() -> bool:
    """Whether `cards.json` may answer for the registry in this process."""
    return registry.only_builtin_families() and CARDS_FILE.is_file()


@functools.cache
def load() -> dict:
    """Model name -> card dict (`ModelCard.to_dict()` without `weights`)."""
    return json.loads(CARDS_FILE.read_text(encoding="utf-8"))["models"]


def names(pattern=None, *, task=None, exclude=None) -> list[str]:
    """`registry.list_models` answered from the cards.

    Args:
        pattern, task, exclude: as for `zoo.list_models`.
    """
    return registry.filter_names(
        {name: card["task"] for name, card in load().items()}, pattern, task, exclude
    )


def card(name: str) -> dict:
    """The stored card of `name`.

    Args:
        name: str. A model name.

    Raises:
        UnknownModelError: not a model of zoo's families (close matches listed).
    """
    models = load()
    if not isinstance(name, str) or name not in models:
        raise errors.UnknownModelError(name, models)
    return models[name]


def write(models: dict, path=CARDS_FILE) -> Path:
    """Writes the cards (by temporary file and rename).

    Args:
        models: dict. Model name -> `ModelCard.to_dict()` (weights are dropped).
        path: str or Path. Defaults to the package's `cards.json`.
    """
    stored = {
        name: {k: v for k, v in card.items() if k != "weights"} for name, card in models.items()
    }
    payload = {"generated_by": "python -m zoo.docs (make docs)", "models": stored}
    return fs.write_json_atomic(path, payload, mode=0o644)
