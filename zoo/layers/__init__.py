"""Layers shared across model families."""

from zoo.layers.shortcut import ZeroPadShortcut

__all__ = ["ZeroPadShortcut"]
