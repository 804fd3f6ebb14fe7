"""The named datasets zoo knows: where they come from and how they are split.

A dataset name maps to a `DatasetSource`: a tfds builder name, the splits used
for training and validation, the native image shape, the augmentation the
recipes use on it, and whether the decoded set is small enough to cache in
memory. A path to a folder of class subfolders is also a dataset (see
`zoo.data.folder`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from zoo import errors


@dataclasses.dataclass(frozen=True)
class DatasetSource:
    """How one named dataset is loaded.

    Args:
        name: str. The name users pass to `get_dataset`.
        tfds_name: str. The tensorflow-datasets builder name.
        train_split: str. The tfds split used for training.
        val_split: str. The tfds split used for validation.
        image_shape: tuple or None. Native `(height, width, channels)`; None
            when images vary in size.
        augmentation: str. The default augmentation policy (see
            `zoo.data.image.AUGMENTATIONS`).
        cache: bool. Cache decoded examples in memory (small sets only).
        manual_files: tuple of str. Files a user must place in the tfds manual
            directory because the dataset cannot be downloaded automatically.
        embedded: bool. Built from data shipped inside an installed package,
            so it never needs the network.
        description: str. One line for `zoo` listings.
        modality: str. `"image"`, `"text"` or `"audio"`.
        feature_key: str. The tfds feature holding the input.
        label_key: str. The tfds feature holding the class.
        sequence_length: int or None. Text: tokens per example that cover
            (nearly) all examples; text models are built with it by `zoo train`.
        sample_rate: int or None. Audio: samples per second of the clips;
            audio models are built with it by `zoo train`.
    """

    name: str
    tfds_name: str
    train_split: str
    val_split: str
    image_shape: tuple | None
    augmentation: str
    cache: bool = True
    manual_files: tuple = ()
    embedded: bool = False
    description: str = ""
    modality: str = "image"
    feature_key: str = "image"
    label_key: str = "label"
    sequence_length: int | None = None
    sample_rate: int | None = None


SOURCES = {
    source.name: source
    for source in (
        DatasetSource(
            "digits",
            "zoo_digits",
            "train",
            "test",
            (8, 8, 1),
            "none",
            embedded=True,
            description="1,797 8x8 handwritten digits bundled with scikit-learn (no download).",
        ),
        DatasetSource(
            "spoken_commands",
            "zoo_spoken_commands",
            "train",
            "test",
            None,
            "none",
            embedded=True,
            modality="audio",
            feature_key="audio",
            sample_rate=16000,
            description="6,000 1 s clips of 10 command words, silence and unknown words, "
            "synthesized with espeak-ng (680 voices) in noise; test voices held out; no download.",
        ),
        DatasetSource(
            "mnist",
            "mnist",
            "train",
            "test",
            (28, 28, 1),
            "none",
            description="70,000 28x28 handwritten digits.",
        ),
        DatasetSource(
            "fashion_mnist",
            "fashion_mnist",
            "train",
            "test",
            (28, 28, 1),
            "none",
            description="70,000 28x28 Zalando clothing images, 10 classes.",
        ),
        DatasetSource(
            "cifar10",
            "cifar10",
            "train",
            "test",
            (32, 32, 3),
            "cifar",
            description="60,000 32x32 colour images, 10 classes.",
        ),
        DatasetSource(
            "cifar100",
            "cifar100",
            "train",
            "test",
            (32, 32, 3),
            "cifar",
            description="60,000 32x32 colour images, 100 classes.",
        ),
        DatasetSource(
            "imagenet2012",
            "imagenet2012",
            "train",
            "validation",
            None,
            "imagenet",
            cache=False,  # ~150 GB decoded: streaming only
            manual_files=("ILSVRC2012_img_train.tar", "ILSVRC2012_img_val.tar"),
            description="ILSVRC 2012, 1.28M images, 1000 classes (manual download).",
        ),
        DatasetSource(
            "sentiment",
            "zoo_sentiment",
            "train",
            "test",
            None,
            "none",
            embedded=True,
            modality="text",
            feature_key="text",
            sequence_length=16,
            description="5,000 generated reviews whose label depends on word order "
            "(negation scope, clause order); no download.",
        ),
        DatasetSource(
            "imdb_reviews",
            "imdb_reviews/plain_text",
            "train",
            "test",
            None,
            "none",
            modality="text",
            feature_key="text",
            sequence_length=256,
            description="50,000 IMDB movie reviews, positive/negative.",
        ),
        DatasetSource(
            "ag_news_subset",
            "ag_news_subset",
            "train",
            "test",
            None,
            "none",
            modality="text",
            feature_key="description",
            sequence_length=64,
            description="127,600 news articles, 4 topics.",
        ),
        DatasetSource(
            "glue/sst2",
            "glue/sst2",
            "train",
            "validation",
            None,
            "none",
            modality="text",
            feature_key="sentence",
            sequence_length=64,  # test labels hidden
            description="GLUE SST-2: 68,221 movie-review sentences, binary.",
        ),
        DatasetSource(
            "yelp_polarity_reviews",
            "yelp_polarity_reviews",
            "train",
            "test",
            None,
            "none",
            modality="text",
            feature_key="text",
            sequence_length=256,
            description="598,000 Yelp reviews, positive/negative.",
        ),
        DatasetSource(
            "speech_commands",
            "speech_commands",
            "train",
            "validation",
            None,
            "none",
            cache=False,  # 85,511 training clips are 5.5 GB as float32: streamed
            modality="audio",
            feature_key="audio",
            sample_rate=16000,
            description="Speech Commands v0.02: 100,503 1 s clips at 16 kHz, 10 words, "
            "_silence_ and _unknown_ (12 classes); preparing it needs `pip install pydub`.",
        ),
    )
}


def get_source(name) -> DatasetSource:
    """The `DatasetSource` of a dataset name.

    Args:
        name: str. A name of `SOURCES`.

    Raises:
        DatasetNotAvailableError: `name` looks like a path that does not exist.
        UnknownDatasetError: any other unknown name (close matches listed).
    """
    if isinstance(name, str) and name in SOURCES:
        return SOURCES[name]
    accepted = (
        f"an existing folder of class subfolders, a .csv/.tsv file, or one of {sorted(SOURCES)}"
    )
    if isinstance(name, (str, Path)) and Path(name).is_file():
        raise errors.InvalidArgumentError(
            f"Dataset path {str(name)!r} is a file that zoo does not read as a dataset. "
            f"Accepted: {accepted}."
        )
    if isinstance(name, (str, Path)) and (
        "/" in str(name) or "\\" in str(name) or Path(str(name)).suffix in (".csv", ".tsv")
    ):
        raise errors.DatasetNotAvailableError(
            f"Dataset path {str(name)!r} does not exist. Pass an existing folder of class "
            f"subfolders, a .csv/.tsv file, or one of {sorted(SOURCES)}."
        )
    raise errors.UnknownDatasetError(name, sorted(SOURCES))
