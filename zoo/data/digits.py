"""`digits`: real handwritten digits that need no download.

scikit-learn ships the UCI optical-digits test set (1,797 8x8 images, values
0..16) inside its wheel. Serving it through a tfds `GeneratorBasedBuilder`
means it is prepared, cached and read exactly like cifar10 or mnist, so the
demo and the learning checks exercise the real tfds code path offline.
"""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds

# The split is fixed so that every machine gets the same train/test examples.
_SPLIT_SEED = 0
_TEST_FRACTION = 0.2


class ZooDigits(tfds.core.GeneratorBasedBuilder):
    """tfds builder for scikit-learn's 8x8 digits, split 80/20 by class.

    Images are rescaled from 0..16 to 0..255 uint8 so that they look like any
    other image dataset to the models (which take raw 0..255 pixels).

    Example:

    >>> builder = ZooDigits(data_dir="/tmp/tfds")
    >>> builder.download_and_prepare()
    >>> train = builder.as_dataset(split="train", as_supervised=True)
    """

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "scikit-learn load_digits, stratified 80/20 split, seed 0."}

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            description="scikit-learn's 8x8 handwritten digits (UCI optdigits test set).",
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(8, 8, 1)),
                    "label": tfds.features.ClassLabel(names=[str(d) for d in range(10)]),
                }
            ),
            supervised_keys=("image", "label"),
            homepage="https://archive.ics.uci.edu/dataset/80",
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # nothing to download: the data is in the sklearn wheel
        train_idx, test_idx = _stratified_split()
        return {
            "train": self._generate_examples(train_idx),
            "test": self._generate_examples(test_idx),
        }

    def _generate_examples(self, indices):
        images, labels = _load_digits()
        for i in indices:
            yield int(i), {"image": images[i], "label": int(labels[i])}


def _load_digits():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images.astype(np.int32) * 255 // 16).astype(np.uint8)[..., None]
    return images, bunch.target.astype(np.int64)


def _stratified_split():
    from sklearn.model_selection import train_test_split

    _, labels = _load_digits()
    return train_test_split(
        np.arange(len(labels)), test_size=_TEST_FRACTION, stratify=labels, random_state=_SPLIT_SEED
    )
