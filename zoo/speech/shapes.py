"""The argument check every speech backbone shares: its `(frames, bins)` input shape."""

from __future__ import annotations

from zoo.errors import InvalidArgumentError


def check_features_shape(value) -> list[int]:
    """Returns `value` as `[frames, bins]` of positive ints, or raises.

    Speech backbones take the front end's features, `(batch, frames, bins)`;
    `AudioClassifier.feature_shape(frontend)` gives the shape to pass.

    Args:
        value: sequence of two int. The features' `(frames, bins)`.

    Example:

    >>> check_features_shape((98, 40))
    [98, 40]
    """
    try:
        shape = [int(d) for d in value]
    except (TypeError, ValueError):
        shape = []
    if len(shape) != 2 or min(shape) < 1:
        raise InvalidArgumentError(
            f"input_shape must be (frames, bins) of positive integers. "
            f"Received: input_shape={value!r}."
        )
    return shape
