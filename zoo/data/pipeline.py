"""Turns unbatched `(image, label)` pairs into training and validation pipelines.

The order follows the tf.data performance guide: parallel decode/resize, cache
the deterministic part, shuffle, batch with the global batch size, augment
whole batches, prefetch last.
"""

from __future__ import annotations

_SHUFFLE_BUFFER = 10_000
_AUTOTUNE = -1  # tf.data.AUTOTUNE, without importing TensorFlow at module import


def build_pipeline(
    ds,
    *,
    shape,
    batch_size: int,
    training: bool,
    cache: bool,
    augmentation: str = "none",
    seed: int | None = None,
    strategy=None,
):
    """Batches and (for training) shuffles and augments one split.

    Args:
        ds: tf.data.Dataset of unbatched `(image, label)`.
        shape: `(height, width, channels)` to fit images to, or None.
        batch_size: int. The global batch size (all replicas together).
        training: bool. Shuffle and augment.
        cache: bool. Cache decoded, resized examples in memory.
        augmentation: str. A policy of `zoo.data.image.AUGMENTATIONS`.
        seed: int or None. Shuffle seed, for reproducible order.
        strategy: tf.distribute.Strategy or None. Under a strategy the data is
            sharded by example, since tfds and folder sources may be one file.

    Returns:
        A batched, prefetched `tf.data.Dataset` of `(float32 images, int32 labels)`.
    """
    import tensorflow as tf

    # here: zoo.data.image imports this module at its top (a cycle)
    from zoo.data.image import augmentation_layer, fit_image

    ds = ds.map(
        lambda image, label: (fit_image(image, shape), tf.cast(label, tf.int32)),
        num_parallel_calls=_AUTOTUNE,
    )
    if cache:
        ds = ds.cache()
    if training:
        ds = shuffled(ds, seed)
    ds = ds.batch(batch_size, num_parallel_calls=_AUTOTUNE)
    if training:
        layer = augmentation_layer(augmentation, ds.element_spec[0].shape[1:])
        if layer is not None:
            ds = ds.map(
                lambda images, labels: (layer(images, training=True), labels),
                num_parallel_calls=_AUTOTUNE,
            )
    return finish(ds, strategy)


def shuffled(ds, seed: int | None):
    """Reshuffles every epoch, with a buffer as large as the split up to 10,000."""
    size = int(ds.cardinality())
    buffer = min(size, _SHUFFLE_BUFFER) if size > 0 else _SHUFFLE_BUFFER
    return ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)


def finish(ds, strategy=None):
    """Shards by example under a strategy, then prefetches (always last).

    tfds splits and folder sources may be a single file, so file-based
    auto-sharding would give some workers nothing.
    """
    import tensorflow as tf

    if strategy is not None:
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA
        )
        ds = ds.with_options(options)
    return ds.prefetch(_AUTOTUNE)


def as_arrays(ds, limit: int | None = None):
    """The first `limit` examples of a batched `(inputs, labels)` dataset as NumPy.

    Args:
        ds: tf.data.Dataset. Batched; inputs a tensor or a dict of tensors.
        limit: int or None. Examples to keep; None reads the whole dataset.

    Returns:
        `(inputs, labels)`: an array (or dict of arrays) and an array.

    Example:

    >>> _, val = zoo.get_dataset("digits", model="resnet20", augment=False)
    >>> images, labels = as_arrays(val, 100)
    """
    import numpy as np

    xs, ys, seen = [], [], 0
    for x, y in ds:
        xs.append({k: v.numpy() for k, v in x.items()} if isinstance(x, dict) else x.numpy())
        ys.append(y.numpy())
        seen += len(ys[-1])
        if limit is not None and seen >= limit:
            break
    if isinstance(xs[0], dict):
        inputs = {k: np.concatenate([b[k] for b in xs])[:limit] for k in xs[0]}
    else:
        inputs = np.concatenate(xs)[:limit]
    return inputs, np.concatenate(ys)[:limit]
