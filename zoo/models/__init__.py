"""Shared model bases: `Backbone` for feature extractors, `Classifier` for the head.

Example:

>>> from zoo.models import Classifier
>>> issubclass(zoo.vision.classifier.ImageClassifier, Classifier)
True
"""

from zoo.models.base import CLASSIFIER_ACTIVATIONS, Backbone, Classifier

__all__ = ["CLASSIFIER_ACTIVATIONS", "Backbone", "Classifier"]
