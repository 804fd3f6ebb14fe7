"""Residual keyword spotters (Tang & Lin 2018) and their registered classifiers.

"Deep Residual Learning for Small-Footprint Keyword Spotting" (ICASSP 2018),
built as the authors' code (castorini/honk, `SpeechResModel`) builds it:

- 40 MFCCs of 40 mel bands (20 Hz - 4 kHz), 30 ms windows every 10 ms;
- a 3x3 convolution to 45 feature maps, then `layers` more 3x3
  convolutions; every convolution is followed by a ReLU, every one but the
  first by batch norm without affine parameters; every second convolution
  closes a residual block (its output plus the block's input, taken before
  the block's first batch norm);
- `kws_res8`: 6 layers after 4x3 average pooling of the first map;
  `kws_res15`: 13 layers with dilation 2^floor(i/3) for the i-th (from 0), no
  pooling; no convolution has a bias;
- average over time and frequency, then the shared dense softmax head.

At 12 classes `kws_res8` has 110,307 trainable parameters (paper: 110K) and
`kws_res15` 237,882 (paper: 238K). Deviations, both documented in
`FrontendConfig`: frames are the 98 whole windows of a 1 s clip (honk pads
to 101), and each clip's log-mel energies are normalized (mean and scale,
removing the recording gain) before the DCT, where honk feeds raw MFCCs.

Example:

>>> model = zoo.get_model("kws_res15", num_classes=12)
>>> model(zoo.inputs.AudioInput().random_batch(2)).shape
TensorShape([2, 12])
"""

from __future__ import annotations

import keras

from zoo import validation
from zoo.errors import InvalidArgumentError
from zoo.inputs import AudioInput
from zoo.models import Backbone
from zoo.registry import register_model
from zoo.speech.classifier import AudioClassifier
from zoo.speech.frontend import FrontendConfig
from zoo.speech.shapes import check_features_shape

# PyTorch BatchNorm2d defaults, as in honk (Keras' momentum is 1 - PyTorch's).
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5

# The paper's front end (section 3.1) and the augmentation it takes from the
# TensorFlow speech-commands example: +-100 ms shifts, background noise on
# 80% of the clips.
PAPER_FRONTEND = {
    "features": "mfcc",
    "num_mel_bins": 40,
    "num_mfcc": 40,
    "window_ms": 30.0,
    "hop_ms": 10.0,
    "lower_hz": 20.0,
    "upper_hz": 4000.0,
}
PAPER_AUGMENTATION = {"time_shift_ms": 100.0, "noise_probability": 0.8}


@keras.saving.register_keras_serializable(package="zoo")
class KWSResNetBackbone(Backbone):
    """The residual stack of Tang & Lin 2018 on `(frames, bins)` features.

    Args:
        input_shape: tuple of int. `(frames, bins)`, as
            `AudioClassifier.feature_shape` gives.
        layers: int. Convolutions after the first one (6 for res8, 13 for
            res15); each pair forms a residual block.
        feature_maps: int. Channels of every convolution (45 in the paper,
            19 in its "narrow" variants).
        pool: sequence of two int, or None. Average pooling (frames, bins)
            after the first convolution; `(4, 3)` in res8.
        dilation: bool. Dilate the i-th layer's kernel by 2^floor(i/3), as
            res15 does, to widen the receptive field without pooling.
        sync_batchnorm: bool. Synchronize batch statistics across replicas
            under a `tf.distribute` strategy (as one large batch would compute).
        **kwargs: passed to `keras.Model` (`name`, `trainable`, `dtype`).

    Example:

    >>> KWSResNetBackbone((98, 40), layers=6, pool=(4, 3)).output_shape
    (None, 24, 13, 45)
    """

    def __init__(
        self,
        input_shape,
        layers,
        feature_maps=45,
        pool=None,
        dilation=False,
        sync_batchnorm=False,
        **kwargs,
    ):
        layers = validation.check_positive_int("layers", layers)
        validation.check_bool("sync_batchnorm", sync_batchnorm)
        feature_maps = validation.check_positive_int("feature_maps", feature_maps)
        validation.check_bool("dilation", dilation)
        input_shape = check_features_shape(input_shape)
        if pool is not None:
            pool = [validation.check_positive_int("pool", p) for p in pool]
            if len(pool) != 2 or any(p > d for p, d in zip(pool, input_shape)):
                raise InvalidArgumentError(
                    f"pool must be (frames, bins) no larger than the features {input_shape}. "
                    f"Received: pool={pool}."
                )

        features = keras.Input(shape=input_shape, name="features")
        x = keras.layers.Reshape((*input_shape, 1), name="add_channel")(features)
        x = _conv_relu(x, feature_maps, 1, "conv0")
        if pool:
            x = keras.layers.AveragePooling2D(tuple(pool), name="pool")(x)
        block_input = x
        for i in range(1, layers + 1):
            rate = 2 ** ((i - 1) // 3) if dilation else 1
            x = _conv_relu(x, feature_maps, rate, f"conv{i}")
            if i % 2 == 0:
                x = keras.layers.Add(name=f"block{i // 2}_add")([x, block_input])
                block_input = x
            # Honk normalizes after the sum and keeps the un-normalized sum
            # as the next shortcut; kept, since it changes the function.
            x = keras.layers.BatchNormalization(
                center=False,
                scale=False,
                momentum=BN_MOMENTUM,
                epsilon=BN_EPSILON,
                synchronized=sync_batchnorm,
                name=f"bn{i}",
            )(x)
        super().__init__(inputs=features, outputs=x, **kwargs)
        self._remember_config(
            input_shape=list(input_shape),
            layers=layers,
            feature_maps=feature_maps,
            pool=pool,
            dilation=dilation,
            sync_batchnorm=sync_batchnorm,
        )


def _conv_relu(x, filters, rate, name):
    # "same" with stride 1 pads `rate` on each side, as honk's padding=rate.
    x = keras.layers.Conv2D(
        filters,
        3,
        padding="same",
        dilation_rate=rate,
        use_bias=False,
        kernel_initializer="he_normal",
        name=name,
    )(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def kws_resnet(
    layers,
    pool=None,
    dilation=False,
    num_classes=12,
    feature_maps=45,
    sample_rate=16000,
    clip_seconds=1.0,
    augment=True,
    frontend=None,
    dropout=0.0,
    classifier_activation="softmax",
    sync_batchnorm=False,
    name=None,
):
    """Builds a Tang & Lin keyword spotter (`kws_res8`, `kws_res15`) on raw waveforms.

    Args:
        layers: int. Convolutions after the first; fixed by the name.
        pool: tuple of int or None. Pooling after the first convolution;
            fixed by the name.
        dilation: bool. Dilated convolutions; fixed by the name.
        num_classes: int. Output classes (12 for speech_commands).
        feature_maps: int. Channels (45; 19 for the paper's narrow models).
        sample_rate: int. Input samples per second.
        clip_seconds: float. Clip length the input is padded or cropped to.
        augment: bool. The paper's training augmentation (time shift,
            background noise; see `PAPER_AUGMENTATION`) in the front end.
        frontend: dict or None. `FrontendConfig` fields over the paper's
            (e.g. `{"features": "log_mel"}` or SpecAugment masks).
        dropout: float. Dropout before the head, in [0, 1).
        classifier_activation: str or None. `"softmax"` or None for logits.
        sync_batchnorm: bool. Synchronized batch norm under tf.distribute.
        name: str or None. The model's name; None: `kws_res8` / `kws_res15`
            from `layers`.

    Example:

    >>> model = kws_resnet(6, pool=(4, 3), num_classes=12)
    """
    validation.check_bool("augment", augment)
    settings = {
        **PAPER_FRONTEND,
        **(PAPER_AUGMENTATION if augment else {}),
        "sample_rate": sample_rate,
        "clip_seconds": clip_seconds,
    }
    config = FrontendConfig.from_dict(frontend, base=settings)
    # The paper counts the first conv and the output layer.
    if name is not None and (not isinstance(name, str) or not name):
        raise InvalidArgumentError(
            f"name must be a non-empty string or None. Received: name={name!r}."
        )
    name = name or f"kws_res{layers + 2}"
    backbone = KWSResNetBackbone(
        config.feature_shape,
        layers=layers,
        feature_maps=feature_maps,
        pool=pool,
        dilation=dilation,
        sync_batchnorm=sync_batchnorm,
        name=f"{name}_backbone",
    )
    return AudioClassifier(
        backbone,
        num_classes=num_classes,
        frontend=config,
        dropout=dropout,
        classifier_activation=classifier_activation,
        name=name,
    )


_PAPER = "Tang & Lin 2018, Deep Residual Learning for Small-Footprint Keyword Spotting"
_TINY = {
    "num_classes": 3,
    "clip_seconds": 0.25,
    "feature_maps": 4,
    "frontend": {"num_mel_bins": 16, "num_mfcc": 16},
}

_RES8 = {"layers": 6, "pool": (4, 3), "dilation": False}
_RES15 = {"layers": 13, "pool": None, "dilation": True}
for _name, _fixed, _maps, _params, _what in (
    ("kws_res8", _RES8, 45, "110K", "4x3 pooling"),
    ("kws_res15", _RES15, 45, "238K", "dilated convs"),
    # The paper's narrow models: 19 maps, for small devices.
    (
        "kws_res8_narrow",
        {**_RES8, "feature_maps": 19, "name": "kws_res8_narrow"},
        19,
        "19.9K",
        "4x3 pooling",
    ),
    (
        "kws_res15_narrow",
        {**_RES15, "feature_maps": 19, "name": "kws_res15_narrow"},
        19,
        "42.6K",
        "dilated convs",
    ),
):
    register_model(
        _name,
        family="kws_resnet",
        task="audio_classification",
        input=AudioInput(),
        fixed_kwargs=_fixed,
        default_kwargs={"num_classes": 12, "sample_rate": 16000, "clip_seconds": 1.0},
        default_dataset="speech_commands",
        recipe="speech_commands_kws",
        dataset_recipes={"spoken_commands": "spoken_commands_kws_quick"},
        tags=("keyword_spotting", "resnet"),
        description=f"Residual keyword spotter on 40 MFCCs, {_maps} maps, {_what} "
        f"({_params} params).",
        paper=_PAPER,
        tiny_kwargs={k: v for k, v in _TINY.items() if k not in _fixed},
    )(kws_resnet)
