"""Turns unbatched `(image, label)` pairs into training and validation pipelines.

The order follows the tf.data performance guide: parallel decode/resize, cache
the deterministic part, shuffle, batch with the global batch size, augment
whole batches, prefetch last.
"""

from __future__ import annotations

import dataclasses
import functools

from zoo import errors

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
    stream=None,
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
        stream: EpochStream or None. Training only: several epochs in one
            dataset, each in the order its seed and number give.

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
    if not training:
        return finish(ds.batch(batch_size, num_parallel_calls=_AUTOTUNE), strategy)
    layer = augmentation_layer(augmentation, ds.element_spec[0].shape)
    return finish(training_batches(ds, seed, stream, batch_size, augment=layer), strategy)


@dataclasses.dataclass(frozen=True)
class EpochStream:
    """Epochs `first` to `stop - 1` of a training split as one dataset.

    Epoch `e` is shuffled with a seed made of the run's seed and `e`, never
    from how often the dataset was iterated before, so a process that starts
    at epoch 5 sees the order an uninterrupted run saw in its epoch 5. `skip`
    leaves out the first batches of epoch `first`: the ones a resumed run
    already trained on. Feed it to `model.fit` with `steps_per_epoch`: the
    stream is one dataset for all its epochs.

    Args:
        first: int. The first epoch (0-based).
        stop: int. One past the last epoch.
        skip: int. Batches of epoch `first` to leave out.
        deterministic: bool. Seed each batch's augmentation from (seed, epoch,
            batch index) and run it sequentially, so augmentation is
            bit-identical too; otherwise it runs in parallel from the
            layers' running random state.

    Example:

    >>> stream = EpochStream(first=2, stop=10, skip=30)
    >>> train, val = zoo.get_dataset("digits", model="resnet20", seed=0, stream=stream)
    >>> model.fit(train, initial_epoch=2, epochs=3, steps_per_epoch=len(train) - 30)
    """

    first: int
    stop: int
    skip: int = 0
    deterministic: bool = False

    def __post_init__(self):
        if not 0 <= self.first < self.stop or self.skip < 0:
            raise errors.InvalidArgumentError(
                f"An epoch stream needs 0 <= first < stop and skip >= 0. Received: "
                f"first={self.first}, stop={self.stop}, skip={self.skip}"
            )


def shuffled(ds, seed: int | None):
    """Reshuffles every epoch, with a buffer as large as the split up to 10,000."""
    return ds.shuffle(_buffer(ds), seed=seed, reshuffle_each_iteration=True)


def _buffer(ds) -> int:
    size = int(ds.cardinality())
    return min(size, _SHUFFLE_BUFFER) if size > 0 else _SHUFFLE_BUFFER


def training_batches(
    ds,
    seed: int | None,
    stream: EpochStream | None,
    batch_size: int,
    *,
    transform=None,
    augment=None,
):
    """The shuffled, batched training split: one epoch, or an `EpochStream`.

    Args:
        ds: tf.data.Dataset. Unbatched `(inputs, labels)`, cached where they
            should be.
        seed: int or None. The run's seed (a stream needs one).
        stream: EpochStream or None. None: one epoch, reshuffled each time
            Keras iterates it.
        batch_size: int. The global batch size.
        transform: callable or None. `(inputs, labels) -> (inputs, labels)` on
            whole batches (a tokenizer), run in parallel.
        augment: keras.Layer or None. Random augmentation of whole batches,
            in training mode; seeded per batch in a deterministic stream.

    Returns:
        A batched dataset of known length.
    """
    import tensorflow as tf

    def batched(examples):
        return examples.batch(batch_size, num_parallel_calls=_AUTOTUNE)

    def finished(batches):  # transform first, then augment (the same in both modes)
        if transform is not None:
            batches = batches.map(transform, num_parallel_calls=_AUTOTUNE)
        if augment is None:
            return batches
        return batches.map(
            lambda x, y: (augment(x, training=True), y), num_parallel_calls=_AUTOTUNE
        )

    if stream is None:
        return finished(batched(shuffled(ds, seed)))
    if seed is None:
        raise errors.InvalidArgumentError(
            "An epoch stream orders every epoch from the seed, so it needs one. "
            "Received: seed=None; accepted: an int >= 0."
        )
    buffer = _buffer(ds)
    per_epoch = int(batched(ds).cardinality())
    if per_epoch < 0:  # a source of unknown length: count it once (it is cached)
        per_epoch = int(batched(ds).reduce(0, lambda count, _: count + 1))
    # Each epoch is its own shuffle with its own Python-int seed, tagged with
    # (epoch seed, batch index); the epochs are concatenated (no function is
    # traced per epoch), so the maps below are built once for the stream.
    epochs = [
        tf.data.Dataset.zip(
            tf.data.Dataset.from_tensors(tf.constant(_mix(seed, number), tf.int64)).repeat(),
            tf.data.Dataset.range(per_epoch),
            batched(ds.shuffle(buffer, seed=_mix(seed, number), reshuffle_each_iteration=False)),
        )
        for number in range(stream.first, stream.stop)
    ]
    tagged = functools.reduce(lambda a, b: a.concatenate(b), epochs).skip(stream.skip)
    if augment is None or not stream.deterministic:
        return finished(tagged.map(lambda _seed, _index, batch: batch))
    if transform is not None:
        tagged = tagged.map(
            lambda epoch_seed, index, batch: (epoch_seed, index, transform(*batch)),
            num_parallel_calls=_AUTOTUNE,
        )
    return _seeded(tagged, augment)


def _mix(seed: int, number: int) -> int:
    """The shuffle seed of epoch `number` of a run seeded with `seed`."""
    return (seed * 1_000_003 + number) % (2**31 - 1)


def _seeded(ds, layer):
    """Augments `(epoch_seed, index, (x, y))` batches as a function of the two numbers.

    Keras' random layers draw from their `generator` (a SeedGenerator whose
    state is `[seed, counter]`); setting that state before each batch makes
    them stateless: a batch is augmented alike whenever it is drawn, in a
    resumed run too. Sequential, since the state is shared between calls.
    """
    import tensorflow as tf

    generators = [sub.generator for sub in _flat_layers(layer) if hasattr(sub, "generator")]

    def seeded(epoch_seed, index, batch):
        x, y = batch
        for offset, generator in enumerate(generators):
            state = tf.stack([epoch_seed + offset, index])
            generator.state.assign(tf.cast(state, generator.state.dtype))
        return layer(x, training=True), y

    return ds.map(seeded)


def _flat_layers(layer):
    sublayers = getattr(layer, "layers", None)
    return [layer] if not sublayers else [s for sub in sublayers for s in _flat_layers(sub)]


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
