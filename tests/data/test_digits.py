"""The embedded digits dataset: real scikit-learn digits through a tfds builder."""

import numpy as np


def test_digits_prepares_offline_with_a_fixed_stratified_split(tmp_path):
    from sklearn.datasets import load_digits

    from zoo.data.digits import ZooDigits

    builder = ZooDigits(data_dir=str(tmp_path))
    builder.download_and_prepare()  # ZOO_OFFLINE is set: must not need the network
    assert builder.info.splits["train"].num_examples == 1437
    assert builder.info.splits["test"].num_examples == 360

    test = list(builder.as_dataset(split="test", as_supervised=True).as_numpy_iterator())
    images = np.stack([image for image, _ in test])
    labels = np.array([label for _, label in test])
    assert images.shape == (360, 8, 8, 1) and images.dtype == np.uint8
    assert images.max() == 255 and images.min() == 0
    # Stratified: every class keeps its 20% share of the test split.
    counts = np.bincount(labels, minlength=10)
    assert counts.min() >= 34 and counts.max() <= 38, counts

    # The pixels are sklearn's, rescaled 0..16 -> 0..255.
    source = (load_digits().images.astype(int) * 255 // 16).astype("uint8")
    flat = {tuple(img.ravel()) for img in source}
    assert all(tuple(img.ravel()) in flat for img in images[:20])
