"""Image preprocessing that fits a dataset to a model, and batch augmentation.

Models take raw 0..255 float32 images and do their own rescaling, so the
pipeline only fixes the geometry (size, channel count) and augments. Augmentation
uses Keras preprocessing layers on whole batches: one vectorized op per batch
instead of one per image.
"""

from __future__ import annotations

from zoo import errors

# Policy name -> what it does; recipes name one of these.
AUGMENTATIONS = {
    "none": "no augmentation",
    "shift": "random translation up to 1/8 of the size (digits, no flip)",
    "cifar": "pad 4 pixels and random crop (as a translation), horizontal flip",
    "imagenet": "random zoom-in up to 35% (a scale crop), horizontal flip",
}


def target_shape(model=None) -> tuple | None:
    """The `(height, width, channels)` a model takes, or None to keep the data's.

    Args:
        model: None, a registered model name, or a `keras.Model` with one image
            input.
    """
    if model is None:
        return None
    if isinstance(model, str):
        from zoo import registry

        spec = registry.get_spec(model).input_spec()
        if spec.get("modality") != "image":
            raise errors.InvalidArgumentError(
                f"Model {model!r} does not take images (modality "
                f"{spec.get('modality')!r}); pick an image dataset's model. Received: "
                f"model={model!r}"
            )
        return tuple(spec["shape"])
    inputs = getattr(model, "inputs", None)
    if not inputs or len(inputs) != 1 or len(inputs[0].shape) != 4:
        raise errors.InvalidArgumentError(
            f"get_dataset needs a model with one image input of shape (batch, H, W, C) "
            f"or a registered model name. Received: model={model!r}"
        )
    return tuple(inputs[0].shape[1:])


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
        layers = [keras.layers.RandomTranslation(0.125, 0.125, fill_mode="constant",
                                                 interpolation="nearest")]
    elif policy == "cifar":
        # Pad-4-and-crop is a translation of up to 4 pixels with zero fill.
        layers = [keras.layers.RandomTranslation(4 / height, 4 / width, fill_mode="constant",
                                                 interpolation="nearest"),
                  keras.layers.RandomFlip("horizontal")]
    elif policy == "imagenet":
        layers = [keras.layers.RandomZoom((-0.35, 0.0), fill_mode="reflect"),
                  keras.layers.RandomFlip("horizontal")]
    else:
        raise errors.InvalidArgumentError(
            f"Unknown augmentation {policy!r}; accepted: {sorted(AUGMENTATIONS)}. "
            f"Received: augment={policy!r}"
        )
    return keras.Sequential(layers, name=f"augment_{policy}")
