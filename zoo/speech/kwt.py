"""Keyword Transformer (`kwt_1`, `kwt_2`, `kwt_3`) on raw waveforms.

Berg, O'Connor & Tairum Cruz 2021, "Keyword Transformer: A Self-Attention
Model for Keyword Spotting" (Interspeech), built as the authors' code
(ARM-software/keyword-transformer, `KWSTransformer` with its default
`attention_type="time"`, `prenorm=False`) builds it:

- features: 98 frames x 40 MFCCs (30 ms windows every 10 ms of a 1 s clip);
- each frame is one patch, linearly projected to `dim`; a learned class
  token is prepended and learned position embeddings are added;
- 12 post-norm encoder blocks (the paper found PostNorm better than
  PreNorm): `x = LN(x + MHA(x))`, `x = LN(x + MLP(x))`, the MLP being
  dim -> mlp_dim -> GELU -> dim; LayerNorm epsilon 1e-6; weights drawn from
  a truncated normal of std 0.02; no final norm;
- the class token's output is the feature vector; the shared dense head.

| name  | dim | mlp_dim | heads | layers | params at 12 classes (paper) | 35 classes |
|-------|-----|---------|-------|--------|------------------------------|------------|
| kwt_1 |  64 |     256 |     1 |     12 | 609,612 (607K)               | 611,107    |
| kwt_2 | 128 |     512 |     2 |     12 | 2,398,860 (2.394M)           | 2,401,827  |
| kwt_3 | 192 |     768 |     3 |     12 | 5,367,756 (5.361M)           | 5,372,195  |

Differences from the reference, each small:

- Keras' `MultiHeadAttention` has query, key and value biases, the
  reference only an output bias: 3 x dim more parameters per block (+0.4%
  for kwt_1). Without them the counts equal the reference's exactly
  (606,528 + head for kwt_1). The function class is the reference's plus a
  query bias: a key bias cancels in the softmax, and a value bias passes
  through the attention weights (they sum to 1) as an output bias.
- GELU is the tanh form (`zoo.layers.activations.gelu_tanh`, the
  reference's `approximate_gelu` option): TensorFlow lowers the exact one to
  `Erfc`, which tf2onnx cannot convert.
- The front end (see `PAPER_FRONTEND`) takes the reference's bands (40
  MFCCs of 80 mel bands, 20-7600 Hz) but zoo's power spectrum with a 1e-6
  log offset and per-clip normalization (`zoo.speech.frontend`), where the
  reference logs the magnitude plus 1e-12 without normalization: a floor that
  low turns float rounding on clipped or constant stretches into feature
  noise that differs between TensorFlow and onnxruntime.
- Training-time resampling (speed 0.85-1.15) is not in the front end.

Example:

>>> model = zoo.get_model("kwt_1", num_classes=35)
>>> model(zoo.inputs.AudioInput().random_batch(2)).shape
TensorShape([2, 35])
"""

from __future__ import annotations

import keras
from keras import ops

from zoo import validation
from zoo.errors import InvalidArgumentError
from zoo.inputs import AudioInput
from zoo.layers.activations import gelu_tanh
from zoo.models import Backbone
from zoo.registry import register_model
from zoo.speech.classifier import AudioClassifier
from zoo.speech.frontend import FrontendConfig
from zoo.speech.shapes import check_features_shape

# name: (dim, mlp_dim, num_heads), the paper's table 1; all have 12 layers.
SIZES = {1: (64, 256, 1), 2: (128, 512, 2), 3: (192, 768, 3)}
PAPER_LAYERS = 12
INIT_STDDEV = 0.02  # the reference's truncated-normal std for every weight
NORM_EPSILON = 1e-6

# The reference's features (flags of its released models), as far as
# FrontendConfig takes them; power spectrum and log offset are zoo's (see
# the module docstring).
PAPER_FRONTEND = {
    "features": "mfcc",
    "num_mel_bins": 80,
    "num_mfcc": 40,
    "window_ms": 30.0,
    "hop_ms": 10.0,
    "lower_hz": 20.0,
    "upper_hz": 7600.0,
}
# The reference's training augmentation: +-100 ms shifts, background noise
# on 80% of the clips, SpecAugment with 2 time masks of up to 25 frames and
# 2 frequency masks of up to 7 coefficients.
PAPER_AUGMENTATION = {
    "time_shift_ms": 100.0,
    "noise_probability": 0.8,
    "time_masks": 2,
    "time_mask_frames": 25,
    "freq_masks": 2,
    "freq_mask_bins": 7,
}


def _initializer():
    # A new instance per weight: Keras warns about reusing an unseeded one.
    return keras.initializers.TruncatedNormal(stddev=INIT_STDDEV)


@keras.saving.register_keras_serializable(package="zoo")
class ClassTokenAndPosition(keras.layers.Layer):
    """Prepends a learned class token and adds learned position embeddings.

    `(batch, steps, dim)` becomes `(batch, steps + 1, dim)`; step 0 is the
    class token. Written here because Keras has no class-token layer (and
    keras-hub's `PositionEmbedding` would be the only other piece).

    Args:
        stddev: float. Std of the truncated-normal initial values.
        **kwargs: passed to `keras.layers.Layer`.

    Example:

    >>> ClassTokenAndPosition()(np.zeros((2, 98, 64), "float32")).shape
    TensorShape([2, 99, 64])
    """

    def __init__(self, stddev=INIT_STDDEV, **kwargs):
        super().__init__(**kwargs)
        self.stddev = float(stddev)

    def build(self, input_shape):
        steps, dim = input_shape[1], input_shape[2]
        if steps is None or dim is None:
            raise InvalidArgumentError(
                f"ClassTokenAndPosition needs a known number of steps and features "
                f"(its position table has one row per step). Received: input shape "
                f"{tuple(input_shape)}."
            )
        init = keras.initializers.TruncatedNormal(stddev=self.stddev)
        self.class_token = self.add_weight(shape=(1, 1, dim), initializer=init, name="class_token")
        init = keras.initializers.TruncatedNormal(stddev=self.stddev)
        self.position_embedding = self.add_weight(
            shape=(1, steps + 1, dim), initializer=init, name="position_embedding"
        )

    def call(self, inputs):
        batch = ops.shape(inputs)[0]
        token = ops.broadcast_to(
            ops.cast(self.class_token, inputs.dtype), (batch, 1, inputs.shape[-1])
        )
        tokens = ops.concatenate([token, inputs], axis=1)
        return tokens + ops.cast(self.position_embedding, inputs.dtype)

    def compute_output_shape(self, input_shape):
        steps = None if input_shape[1] is None else input_shape[1] + 1
        return (input_shape[0], steps, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev}


@keras.saving.register_keras_serializable(package="zoo")
class KWTBackbone(Backbone):
    """Features `(frames, bins)` to the class token's output through a Transformer encoder.

    Args:
        input_shape: tuple of int. `(frames, bins)`, as
            `AudioClassifier.feature_shape` gives (98 x 40 in the paper).
        dim: int. Model width; divisible by `num_heads`.
        num_layers: int. Encoder blocks (12 in the paper).
        num_heads: int. Attention heads.
        mlp_dim: int. Width of each block's MLP.
        dropout: float. Dropout on the attention and MLP outputs before
            their residual sums, in [0, 1) (0 in the paper).
        norm_first: bool. Pre-norm blocks (`x + MHA(LN(x))`) instead of the
            paper's post-norm; the reference's `prenorm` option.
        **kwargs: passed to `keras.Model` (`name`, `trainable`, `dtype`).

    Example:

    >>> KWTBackbone((98, 40), dim=64, num_heads=1, mlp_dim=256).output_shape
    (None, 64)
    """

    def __init__(
        self,
        input_shape,
        dim=64,
        num_layers=PAPER_LAYERS,
        num_heads=1,
        mlp_dim=256,
        dropout=0.0,
        norm_first=False,
        **kwargs,
    ):
        input_shape = check_features_shape(input_shape)
        dim = validation.check_positive_int("dim", dim)
        num_layers = validation.check_positive_int("num_layers", num_layers)
        num_heads = validation.check_positive_int("num_heads", num_heads)
        mlp_dim = validation.check_positive_int("mlp_dim", mlp_dim)
        dropout = validation.check_fraction("dropout", dropout)
        norm_first = validation.check_bool("norm_first", norm_first)
        if dim % num_heads:
            raise InvalidArgumentError(
                f"dim must be divisible by num_heads, so that each head gets "
                f"dim // num_heads features. Received: dim={dim}, num_heads={num_heads}."
            )

        features = keras.Input(shape=tuple(input_shape), name="features")
        x = keras.layers.Dense(dim, kernel_initializer=_initializer(), name="patch_projection")(
            features
        )
        x = ClassTokenAndPosition(name="class_token_and_position")(x)
        for i in range(num_layers):
            x = _encoder_block(x, dim, num_heads, mlp_dim, dropout, norm_first, f"block{i}")
        super().__init__(inputs=features, outputs=x[:, 0], **kwargs)  # the class token
        self._remember_config(
            input_shape=list(input_shape),
            dim=dim,
            num_layers=num_layers,
            num_heads=num_heads,
            mlp_dim=mlp_dim,
            dropout=dropout,
            norm_first=norm_first,
        )


def _encoder_block(x, dim, num_heads, mlp_dim, dropout, norm_first, name):
    """One encoder block, post-norm as the paper (or pre-norm with `norm_first`)."""

    def norm(t, which):
        return keras.layers.LayerNormalization(epsilon=NORM_EPSILON, name=f"{name}_{which}")(t)

    def dropped(t, which):
        return keras.layers.Dropout(dropout, name=f"{name}_{which}_dropout")(t) if dropout else t

    attention = keras.layers.MultiHeadAttention(
        num_heads,
        key_dim=dim // num_heads,
        kernel_initializer=_initializer(),
        name=f"{name}_attention",
    )
    inputs = norm(x, "norm1") if norm_first else x
    y = dropped(attention(inputs, inputs), "attention")
    x = keras.layers.Add(name=f"{name}_attention_add")([x, y])
    if not norm_first:
        x = norm(x, "norm1")

    inputs = norm(x, "norm2") if norm_first else x
    y = keras.layers.Dense(
        mlp_dim, activation=gelu_tanh, kernel_initializer=_initializer(), name=f"{name}_mlp_in"
    )(inputs)
    y = keras.layers.Dense(dim, kernel_initializer=_initializer(), name=f"{name}_mlp_out")(y)
    x = keras.layers.Add(name=f"{name}_mlp_add")([x, dropped(y, "mlp")])
    return x if norm_first else norm(x, "norm2")


def kwt(
    size,
    num_classes=12,
    num_layers=PAPER_LAYERS,
    sample_rate=16000,
    clip_seconds=1.0,
    augment=True,
    frontend=None,
    dropout=0.0,
    norm_first=False,
    classifier_activation="softmax",
):
    """Builds a Keyword Transformer (`kwt_1`, `kwt_2`, `kwt_3`) on raw waveforms.

    Args:
        size: int. 1, 2 or 3 (width, MLP width and heads of `SIZES`); fixed
            by the name.
        num_classes: int. Output classes (12 for speech_commands as tfds
            defines it; the paper also reports 35).
        num_layers: int. Encoder blocks (12 in the paper).
        sample_rate: int. Input samples per second.
        clip_seconds: float. Clip length the input is padded or cropped to.
        augment: bool. The reference's training augmentation (time shift,
            background noise, SpecAugment; see `PAPER_AUGMENTATION`).
        frontend: dict or None. `FrontendConfig` fields over the paper's.
        dropout: float. Dropout in the encoder blocks, in [0, 1) (0 in the
            paper).
        norm_first: bool. Pre-norm blocks instead of the paper's post-norm.
        classifier_activation: str or None. `"softmax"` or None for logits.

    Example:

    >>> model = kwt(1, num_classes=35)
    """
    validation.check_choice("size", size, tuple(SIZES))
    validation.check_bool("augment", augment)
    settings = {
        **PAPER_FRONTEND,
        **(PAPER_AUGMENTATION if augment else {}),
        "sample_rate": sample_rate,
        "clip_seconds": clip_seconds,
    }
    config = FrontendConfig.from_dict(frontend, base=settings)
    dim, mlp_dim, num_heads = SIZES[size]
    backbone = KWTBackbone(
        config.feature_shape,
        dim=dim,
        num_layers=num_layers,
        num_heads=num_heads,
        mlp_dim=mlp_dim,
        dropout=dropout,
        norm_first=norm_first,
        name=f"kwt_{size}_backbone",
    )
    return AudioClassifier(
        backbone,
        num_classes=num_classes,
        frontend=config,
        classifier_activation=classifier_activation,
        name=f"kwt_{size}",
    )


_PAPER = (
    "Berg, O'Connor & Tairum Cruz 2021, Keyword Transformer: A Self-Attention Model "
    "for Keyword Spotting"
)
# Two blocks of the real width on a quarter-second clip of 16 MFCCs: the
# graph of every size, in seconds.
_TINY = {
    "num_classes": 3,
    "num_layers": 2,
    "clip_seconds": 0.25,
    "frontend": {"num_mel_bins": 16, "num_mfcc": 16, "time_mask_frames": 5, "freq_mask_bins": 4},
}

for _size, (_dim, _mlp, _heads) in SIZES.items():
    register_model(
        f"kwt_{_size}",
        family="kwt",
        task="audio_classification",
        input=AudioInput(),
        fixed_kwargs={"size": _size},
        default_kwargs={"num_classes": 12, "sample_rate": 16000, "clip_seconds": 1.0},
        default_dataset="speech_commands",
        recipe="speech_commands_kwt",
        dataset_recipes={"spoken_commands": "spoken_commands_kwt"},
        tags=("keyword_spotting", "transformer", "post-norm"),
        description=f"Keyword Transformer on 40 MFCCs x 98 frames, 12 post-norm blocks of "
        f"width {_dim}, {_heads} head(s), MLP {_mlp}, class token.",
        paper=_PAPER,
        tiny_kwargs=_TINY,
    )(kwt)
