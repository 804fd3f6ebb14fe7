"""Image preprocessing that fits a dataset to a model, and batch augmentation.

Models take raw 0..255 float32 images and do their own rescaling, so the
pipeline only fixes the geometry (size, channel count) and augments. Augmentation
uses Keras preprocessing layers on whole batches: one vectorized op per batch
instead of one per image.
"""

from __future__ import annotations

from zoo import errors
from zoo.data import folder, pipeline
from zoo.data.catalog import SOURCES
from zoo.data.tfds_source import load_splits
from zoo.inputs import AUGMENTATIONS

__all__ = ["AUGMENTATIONS", "augmentation_layer", "fit_image", "make_pipelines"]


def make_pipelines(
    name,
    info,
    spec,
    *,
    batch_size,
    data_dir=None,
    augment=True,
    strategy=None,
    seed=None,
    stream=None,
    tokenizer=None,
    table_columns=None,
):
    """`(train, val)` image pipelines of a dataset fitted to `spec`.

    Args:
        name: str or Path. The dataset (see `zoo.get_dataset`).
        info: DatasetInfo. Its description.
        spec: ImageInput or None. The model's input; None keeps the data's
            own size and channels.
        batch_size: int. The global batch size.
        data_dir: str or None. tfds data directory.
        augment: bool or str. True for the dataset's default policy, False
            for none, or a name of `AUGMENTATIONS`.
        strategy: tf.distribute.Strategy or None. Shard by example under it.
        seed: int or None. Shuffle seed.
        stream: EpochStream or None. The training split as several epochs (see
            `zoo.data.EpochStream`).
        tokenizer, table_columns: unused by images.
    """
    shape = spec.shape if spec is not None else None
    policy = _augmentation(augment, info.augmentation)
    if info.source == "folder":
        train, val = folder.load_folder(name, shape)
        cache = True  # decoded at the model's size: small enough for most folders
    else:
        source = SOURCES[info.name]
        _, train, val = load_splits(source, data_dir)
        cache = source.cache
    common = dict(shape=shape, batch_size=batch_size, cache=cache, strategy=strategy)
    return (
        pipeline.build_pipeline(
            train, training=True, augmentation=policy, seed=seed, stream=stream, **common
        ),
        pipeline.build_pipeline(val, training=False, **common),
    )


def _augmentation(augment, default: str) -> str:
    if augment is True:
        return default
    if augment is False or augment is None:
        return "none"
    if isinstance(augment, str) and augment in AUGMENTATIONS:
        return augment
    raise errors.InvalidArgumentError(
        f"augment must be True, False or one of {sorted(AUGMENTATIONS)}. "
        f"Received: augment={augment!r}"
    )


def fit_image(image, shape):
    """Casts one image to float32 and converts it to `shape` (size, channels).

    Args:
        image: uint8 or float tensor `(H, W, C)`.
        shape: `(height, width, channels)`; any entry may be None to keep it.
    """
    import tensorflow as tf

    image = tf.cast(image, tf.float32)
    if shape is None:
        return image
    height, width, channels = shape
    have = image.shape[-1]
    if channels is not None and have is not None and have != channels:
        if have == 1 and channels == 3:
            image = tf.image.grayscale_to_rgb(image)
        elif have == 3 and channels == 1:
            image = tf.image.rgb_to_grayscale(image)
        else:
            raise errors.InvalidArgumentError(
                f"Cannot convert {have}-channel images to the model's {channels} channels; "
                f"accepted conversions are 1->3 and 3->1. Received: channels={channels}"
            )
    if height is not None and width is not None:
        size = tf.shape(image)[:2]
        # Resize only when needed; antialias keeps downscaled digits legible.
        image = tf.cond(
            tf.reduce_all(size == (height, width)),
            lambda: tf.ensure_shape(image, (None, None, image.shape[-1])),
            lambda: tf.image.resize(image, (height, width), antialias=True),
        )
        image = tf.ensure_shape(image, (height, width, image.shape[-1]))
    return image


def augmentation_layer(policy: str, image_shape):
    """A Keras layer stack for a policy, applied to float batches; None for "none".

    Args:
        policy: str. One of `AUGMENTATIONS`.
        image_shape: `(height, width, channels)` of the batches.
    """
    import keras

    if policy == "none":
        return None
    height, width = image_shape[0], image_shape[1]
    if policy == "shift":
        layers = [
            keras.layers.RandomTranslation(
                0.125, 0.125, fill_mode="constant", interpolation="nearest"
            )
        ]
    elif policy == "cifar":
        # Pad-4-and-crop is a translation of up to 4 pixels with zero fill.
        layers = [
            keras.layers.RandomTranslation(
                4 / height, 4 / width, fill_mode="constant", interpolation="nearest"
            ),
            keras.layers.RandomFlip("horizontal"),
        ]
    elif policy == "imagenet":
        layers = [
            keras.layers.RandomZoom((-0.35, 0.0), fill_mode="reflect"),
            keras.layers.RandomFlip("horizontal"),
        ]
    else:
        raise errors.InvalidArgumentError(
            f"Unknown augmentation {policy!r}; accepted: {sorted(AUGMENTATIONS)}. "
            f"Received: augment={policy!r}"
        )
    return keras.Sequential(layers, name=f"augment_{policy}")
