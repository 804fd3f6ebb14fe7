"""Argument checks shared by builders, pipelines and recipes.

Each check raises `InvalidArgumentError` with the received value and what is
accepted, so every entry point reports bad input the same way.

Example:

>>> check_positive_int("num_classes", 10)
10
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from zoo.errors import InvalidArgumentError


def check_positive_int(name: str, value, *, minimum: int = 1) -> int:
    """Returns `value` if it is an int >= `minimum`, else raises.

    Args:
        name: str. The argument name, quoted in the message.
        value: object. What the caller passed.
        minimum: int. The smallest accepted value.

    Example:

    >>> check_positive_int("batch_size", 0)
    Traceback (most recent call last):
    zoo.errors.InvalidArgumentError: batch_size must be an integer >= 1. Received: batch_size=0.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidArgumentError(
            f"{name} must be an integer >= {minimum}. Received: {name}={value!r}."
        )
    return value


def check_bool(name: str, value) -> bool:
    """Returns `value` if it is a bool, else raises (no `"yes"`, no `1`).

    Args:
        name: str. The argument name, quoted in the message.
        value: object. What the caller passed.

    Example:

    >>> check_bool("preact", True)
    True
    """
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"{name} must be True or False. Received: {name}={value!r}.")
    return value


def check_fraction(name: str, value, *, upper_inclusive: bool = False) -> float:
    """Returns `value` if it is a number in [0, 1) (or [0, 1]), else raises.

    Args:
        name: str. The argument name.
        value: object. What the caller passed.
        upper_inclusive: bool. Whether 1.0 is accepted.

    Example:

    >>> check_fraction("dropout", 0.2)
    0.2
    """
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok:
        ok = 0.0 <= value <= 1.0 if upper_inclusive else 0.0 <= value < 1.0
    if not ok:
        bound = "[0, 1]" if upper_inclusive else "[0, 1)"
        raise InvalidArgumentError(
            f"{name} must be a number in {bound}. Received: {name}={value!r}."
        )
    return float(value)


def check_choice(name: str, value, choices: Sequence) -> object:
    """Returns `value` if it is one of `choices`, else raises.

    Args:
        name: str. The argument name.
        value: object. What the caller passed.
        choices: sequence. The accepted values.

    Example:

    >>> check_choice("optimizer", "sgd", ("sgd", "adamw"))
    'sgd'
    """
    if value not in choices:
        accepted = ", ".join(repr(c) for c in choices)
        raise InvalidArgumentError(f"{name} must be one of {accepted}. Received: {name}={value!r}.")
    return value


def check_path(name: str, value, *, optional: bool = True):
    """Returns `value` if it is a str or `os.PathLike` (or None when optional), else raises.

    Args:
        name: str. The argument name.
        value: object. What the caller passed.
        optional: bool. Whether None is accepted.

    Example:

    >>> check_path("data_dir", "~/tensorflow_datasets")
    '~/tensorflow_datasets'
    """
    if (value is None and optional) or (isinstance(value, (str, os.PathLike)) and str(value)):
        return value
    raise InvalidArgumentError(
        f"{name} must be a directory path (str or pathlib.Path){' or None' if optional else ''}. "
        f"Received: {name}={value!r}."
    )


def check_image_shape(value, *, min_size: int = 1) -> tuple[int, int, int]:
    """Returns `value` as a (height, width, channels) tuple of ints, else raises.

    Args:
        value: object. What the caller passed as `input_shape`.
        min_size: int. The smallest height and width the network's strides
            allow.

    Example:

    >>> check_image_shape([32, 32, 3])
    (32, 32, 3)
    """
    accepted = (
        f"a (height, width, channels) tuple of positive integers with height "
        f"and width >= {min_size}"
    )
    try:
        shape = tuple(value)
    except TypeError:
        shape = None
    if (
        shape is None
        or len(shape) != 3
        or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)
    ):
        raise InvalidArgumentError(
            f"input_shape must be {accepted}. Received: input_shape={value!r}."
        )
    if shape[0] < min_size or shape[1] < min_size:
        raise InvalidArgumentError(
            f"input_shape must be {accepted} (the stem and stages downsample by "
            f"{min_size}). Received: input_shape={value!r}."
        )
    return shape
