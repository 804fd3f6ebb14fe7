"""The kind of input a model takes, as one typed spec per kind.

Everything in zoo that depends on whether a model reads images, token ids or
waveforms is a method of its input spec: the JSON description shown by
`model_info`, a deterministic random batch (tests, bench, exports without
examples), the description a deployer reads in `metadata.json`, the builder
overrides that fit a model to a dataset, and which `zoo.data` module builds
its pipelines. Code outside this module asks the spec instead of branching on
a modality string, so a new kind of input is one class here and a new family
of an existing kind is only its folder.

Example:

>>> from zoo.inputs import ImageInput
>>> spec = ImageInput().for_kwargs({"input_shape": (32, 32, 3)})
>>> spec.random_batch(2).shape
(2, 32, 32, 3)
>>> spec.to_dict()["value_range"]
[0.0, 255.0]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from zoo import errors


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """Base of the input kinds; subclasses fill in what depends on the kind.

    A registered model holds a template of its kind (e.g. `TokenInput(
    tokenizer="wordpiece")`); `for_kwargs` completes it from the builder's
    arguments (shape, sequence length, sample rate).

    Class attributes:
        kind: str. `"image"`, `"text"`, `"audio"`: matches a dataset's kind.
        pipeline: str. The `zoo.data` module whose `make_pipelines` serves it.
        needs_tokenizer: bool. Whether a run keeps a tokenizer beside the model.
        folder_suffixes: tuple of str. File endings that make a folder of
            class subfolders a dataset of this kind.
        export_atol: float. Default largest |exported - Keras| `zoo.export` accepts.
    """

    kind: ClassVar[str] = ""
    pipeline: ClassVar[str] = ""
    needs_tokenizer: ClassVar[bool] = False
    folder_suffixes: ClassVar[tuple] = ()
    export_atol: ClassVar[float] = 1e-5

    def for_kwargs(self, kwargs: Mapping[str, Any]) -> InputSpec:
        """This spec completed from a model's resolved builder arguments.

        Args:
            kwargs: dict. What the builder receives.
        """
        return self

    def to_dict(self) -> dict:
        """A JSON-friendly description (`model_info(name).input_spec`)."""
        return {"modality": self.kind}

    def describe(self) -> str:
        """One line for model cards."""
        return str(self.to_dict())

    def random_batch(self, batch: int, *, seed: int = 0):
        """A deterministic batch of valid raw inputs.

        Args:
            batch: int. Examples in the batch.
            seed: int. The same seed gives the same batch.
        """
        raise NotImplementedError(f"{type(self).__name__} makes no random batch")

    def metadata(self, model) -> dict:
        """`inputs` and `preprocessing` entries of an export's `metadata.json`.

        Args:
            model: keras.Model. The exported model.
        """
        return {
            "inputs": [_tensor_entry(t) for t in model.inputs],
            "preprocessing": "none outside the graph",
        }

    def check_model(self, model) -> None:
        """Asserts what every model of this kind promises (`zoo.testing` calls it).

        Args:
            model: keras.Model. A built model taking this input.
        """
        out = np.asarray(model.predict(self.random_batch(2), verbose=0))
        assert np.isfinite(out).all(), "predictions on a random batch are not finite"

    def dataset_overrides(self, info, accepted) -> dict:
        """Builder overrides that fit the model to a dataset (explicit ones win).

        Args:
            info: DatasetInfo. From `zoo.data.dataset_info`.
            accepted: list of str. Keywords the builder accepts.
        """
        return {}

    @classmethod
    def from_model(cls, model) -> InputSpec | None:
        """The spec of a built model of this kind, or None if it is not one.

        Args:
            model: keras.Model.
        """
        return None


@dataclasses.dataclass(frozen=True)
class ImageInput(InputSpec):
    """Raw images: float32 `(batch, height, width, channels)` in `value_range`.

    Args:
        shape: tuple or None. `(height, width, channels)`; filled from the
            builder's `input_shape`.
        value_range: tuple of float. Pixel values the model expects; zoo
            models take raw 0..255 and normalize inside the graph.

    Example:

    >>> ImageInput((8, 8, 1)).random_batch(4).shape
    (4, 8, 8, 1)
    """

    shape: tuple | None = None
    value_range: tuple = (0.0, 255.0)

    kind: ClassVar[str] = "image"
    pipeline: ClassVar[str] = "zoo.data.image"
    # What keras.utils.image_dataset_from_directory reads.
    folder_suffixes: ClassVar[tuple] = (".jpg", ".jpeg", ".png", ".bmp", ".gif")

    def for_kwargs(self, kwargs):
        if "input_shape" not in kwargs:
            return self
        return dataclasses.replace(self, shape=tuple(int(d) for d in kwargs["input_shape"]))

    def to_dict(self):
        return {
            "modality": self.kind,
            "shape": list(self.shape or ()),
            "dtype": "float32",
            "value_range": [float(v) for v in self.value_range],
        }

    def describe(self):
        low, high = self.value_range
        return f"image {tuple(self.shape or ())} float32 in [{low:g}, {high:g}]"

    def random_batch(self, batch, *, seed=0):
        low, high = self.value_range
        rng = np.random.default_rng(seed)
        return rng.uniform(low, high, (batch, *_fixed(self.shape))).astype("float32")

    def metadata(self, model):
        low, high = self.value_range
        return {
            "inputs": [
                {**_tensor_entry(t), "value_range": [float(low), float(high)]} for t in model.inputs
            ],
            "preprocessing": f"raw float32 images in [{low:g}, {high:g}], NHWC; rescaling and "
            f"normalization are inside the graph",
        }

    def check_model(self, model):
        """Raw values in `value_range` go in; the graph normalizes them itself."""
        super().check_model(model)
        low, high = self.value_range
        for value in (low, high):  # the ends of the range, e.g. black and white
            batch = np.full((1, *_fixed(self.shape)), value, "float32")
            out = np.asarray(model.predict(batch, verbose=0))
            assert np.isfinite(out).all(), f"predictions on a constant {value:g} are not finite"
        normalize = next((layer for layer in model.layers if layer.name == "normalize"), None)
        if normalize is not None:
            features = np.asarray(normalize(self.random_batch(4)))
            # Raw 0..255 pixels that were not rescaled would have std ~74.
            assert abs(features.mean()) < 3 and 0.1 < features.std() < 3, (
                f"in-graph normalization maps {self.value_range} to mean "
                f"{features.mean():.3g}, std {features.std():.3g}"
            )

    def dataset_overrides(self, info, accepted):
        if "input_shape" in accepted and info.image_shape is not None:
            return {"input_shape": tuple(info.image_shape)}
        return {}

    @classmethod
    def from_model(cls, model):
        inputs = getattr(model, "inputs", None) or []
        if len(inputs) == 1 and len(inputs[0].shape) == 4 and "float" in str(inputs[0].dtype):
            return cls(tuple(inputs[0].shape[1:]))
        return None


# Image augmentation policies (applied by `zoo.data.image` to whole batches);
# recipes name one of them.
AUGMENTATIONS = {
    "none": "no augmentation",
    "shift": "random translation up to 1/8 of the size (digits, no flip)",
    "cifar": "pad 4 pixels and random crop (as a translation), horizontal flip",
    "imagenet": "random zoom-in up to 35% (a scale crop), horizontal flip",
}

# Input names of the tokenizer kinds zoo makes (`zoo.data.tokenizers.TOKENIZERS`):
# a WordPiece tokenizer packs BERT's three id tensors, a word tokenizer one.
TOKENIZER_INPUTS = {
    "word": ("token_ids",),
    "wordpiece": ("token_ids", "segment_ids", "padding_mask"),
}


@dataclasses.dataclass(frozen=True)
class TokenInput(InputSpec):
    """Token ids: int32 `(batch, steps)`, 0 for padding, from a zoo tokenizer.

    Args:
        length: int or None. Longest sequence (the builder's `sequence_length`).
        vocabulary_size: int or None. Ids the embedding accepts.
        tokenizer: str. `"word"` or `"wordpiece"` (see `TOKENIZER_INPUTS`).
        padding_id: int. The id of padding.
        vocabulary: tuple of str or None. The vocabulary the model's weights
            were trained with (a pretrained BERT's `model.zoo_vocabulary`);
            pipelines tokenize with it instead of computing one.

    Example:

    >>> spec = TokenInput(tokenizer="wordpiece").for_kwargs(
    ...     {"sequence_length": 8, "vocabulary_size": 50})
    >>> sorted(spec.random_batch(2))
    ['padding_mask', 'segment_ids', 'token_ids']
    """

    length: int | None = None
    vocabulary_size: int | None = None
    tokenizer: str = "word"
    padding_id: int = 0
    vocabulary: tuple | None = dataclasses.field(default=None, repr=False, compare=False)

    kind: ClassVar[str] = "text"
    pipeline: ClassVar[str] = "zoo.data.text"
    needs_tokenizer: ClassVar[bool] = True
    folder_suffixes: ClassVar[tuple] = (".txt",)

    def __post_init__(self):
        if self.tokenizer not in TOKENIZER_INPUTS:
            raise errors.InvalidArgumentError(
                f"Unknown tokenizer kind. Received: tokenizer={self.tokenizer!r}; accepted: "
                f"{sorted(TOKENIZER_INPUTS)}."
            )

    @property
    def input_names(self) -> tuple:
        return TOKENIZER_INPUTS[self.tokenizer]

    def for_kwargs(self, kwargs):
        return dataclasses.replace(
            self,
            length=int(kwargs.get("sequence_length", self.length or 0)) or None,
            vocabulary_size=int(kwargs.get("vocabulary_size", self.vocabulary_size or 0)) or None,
        )

    def to_dict(self):
        names = list(self.input_names)
        return {
            "modality": self.kind,
            "tokenizer": self.tokenizer,
            **({"input_name": names[0]} if len(names) == 1 else {"input_names": names}),
            "dtype": "int32",
            "sequence_length": self.length,
            "vocabulary_size": self.vocabulary_size,
            "padding_id": self.padding_id,
        }

    def describe(self):
        return (
            f"{self.tokenizer} token ids int32 (batch, <= {self.length}), vocabulary "
            f"{self.vocabulary_size}, {self.padding_id} = padding"
        )

    def random_batch(self, batch, *, seed=0):
        rng = np.random.default_rng(seed)
        length = self.length or 16
        ids = rng.integers(1, max(2, self.vocabulary_size or 100), (batch, length))
        ids[0, length // 2 :] = self.padding_id  # one padded row: masking is exercised
        ids = ids.astype("int32")
        if len(self.input_names) == 1:
            return ids
        mask = (ids != self.padding_id).astype("int32")
        return {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": mask}

    def metadata(self, model):
        return {
            "inputs": [_tensor_entry(t) for t in model.inputs],
            "preprocessing": f"int32 {', '.join(self.input_names)} [batch, steps] from the "
            f"model's {self.tokenizer} tokenizer",
        }

    def check_model(self, model):
        """Padding is masked: more padding after the real ids changes nothing."""
        super().check_model(model)
        batch = self.random_batch(2, seed=1)
        steps = self.length or 16  # random_batch's length
        short = _each_input(batch, lambda ids: ids[:, : steps // 2])
        padded = _each_input(short, lambda ids: np.pad(ids, ((0, 0), (0, steps - ids.shape[1]))))
        a = np.asarray(model.predict(short, verbose=0))
        b = np.asarray(model.predict(padded, verbose=0))
        assert np.allclose(a, b, atol=1e-5), (
            f"padding changes predictions: max |diff| {np.abs(a - b).max():.3g}"
        )

    def dataset_overrides(self, info, accepted):
        if "sequence_length" in accepted and getattr(info, "sequence_length", None):
            return {"sequence_length": int(info.sequence_length)}
        return {}

    @classmethod
    def from_model(cls, model):
        # Keras orders a dict of inputs by name (keras-hub BERT: padding_mask first).
        names = {t.name for t in getattr(model, "inputs", None) or []}
        kind = next((k for k, v in TOKENIZER_INPUTS.items() if set(v) == names), None)
        backbone = getattr(model, "backbone", None)
        if kind is None or backbone is None:
            return None
        length = getattr(backbone, "sequence_length", None) or getattr(
            backbone, "max_sequence_length", None
        )
        vocabulary = getattr(model, "zoo_vocabulary", None)
        return cls(
            length=length,
            vocabulary_size=getattr(backbone, "vocabulary_size", None),
            tokenizer=kind,
            vocabulary=tuple(vocabulary) if vocabulary else None,
        )


@dataclasses.dataclass(frozen=True)
class AudioInput(InputSpec):
    """Raw mono waveforms: float32 `(batch, samples)` in [-1, 1].

    The front end (STFT, log-mel) belongs inside the model, so exports take
    waveforms too.

    Args:
        sample_rate: int. Samples per second (the builder's `sample_rate`).
        clip_seconds: float. Clip length (the builder's `clip_seconds`).

    Example:

    >>> AudioInput(16000, 1.0).random_batch(2).shape
    (2, 16000)
    """

    sample_rate: int = 16000
    clip_seconds: float = 1.0

    kind: ClassVar[str] = "audio"
    pipeline: ClassVar[str] = "zoo.data.audio"
    # A trained model's exports differ by up to ~3e-5 (the STFT convolution
    # sums 480 products per bin); the bound for audio is 1e-4.
    export_atol: ClassVar[float] = 1e-4
    folder_suffixes: ClassVar[tuple] = (".wav",)

    @property
    def samples(self) -> int:
        return int(round(self.sample_rate * self.clip_seconds))

    def for_kwargs(self, kwargs):
        return dataclasses.replace(
            self,
            sample_rate=int(kwargs.get("sample_rate", self.sample_rate)),
            clip_seconds=float(kwargs.get("clip_seconds", self.clip_seconds)),
        )

    def to_dict(self):
        return {
            "modality": self.kind,
            "shape": [self.samples],
            "dtype": "float32",
            "sample_rate": self.sample_rate,
            "clip_seconds": self.clip_seconds,
            "value_range": [-1.0, 1.0],
        }

    def describe(self):
        return f"audio ({self.samples},) float32 waveform in [-1, 1] at {self.sample_rate} Hz"

    def random_batch(self, batch, *, seed=0):
        # Tones plus noise, not pure noise: a front end sees real spectral peaks.
        rng = np.random.default_rng(seed)
        t = np.arange(self.samples) / self.sample_rate
        freqs = rng.uniform(100.0, self.sample_rate / 4, (batch, 1))
        waves = 0.5 * np.sin(2 * np.pi * freqs * t) + 0.1 * rng.standard_normal(
            (batch, self.samples)
        )
        return np.clip(waves, -1.0, 1.0).astype("float32")

    def metadata(self, model):
        return {
            "inputs": [
                {**_tensor_entry(t), "value_range": [-1.0, 1.0], "sample_rate": self.sample_rate}
                for t in model.inputs
            ],
            "preprocessing": f"raw mono float32 waveforms at {self.sample_rate} Hz in "
            f"[-1, 1]; the spectral front end is inside the graph",
        }

    def dataset_overrides(self, info, accepted):
        rate = getattr(info, "sample_rate", None)
        return {"sample_rate": int(rate)} if rate and "sample_rate" in accepted else {}

    @classmethod
    def from_model(cls, model):
        inputs = getattr(model, "inputs", None) or []
        if len(inputs) == 1 and len(inputs[0].shape) == 2 and "float" in str(inputs[0].dtype):
            rate = int(getattr(model, "sample_rate", 16000))
            # zoo's audio models take any length (padded or cropped in the
            # graph) and name their clip length; otherwise the input's width.
            seconds = getattr(model, "clip_seconds", None)
            samples = inputs[0].shape[1]
            if seconds is None:
                seconds = samples / rate if samples else 1.0
            return cls(rate, float(seconds))
        return None


# Dataset kind -> its input spec class.
KINDS: dict[str, type[InputSpec]] = {cls.kind: cls for cls in (ImageInput, TokenInput, AudioInput)}


def for_model(model) -> InputSpec:
    """The input spec of a built `keras.Model`, read from its inputs.

    Args:
        model: keras.Model. A zoo model (or one shaped like one).

    Raises:
        InvalidArgumentError: the inputs match no known kind.

    Example:

    >>> zoo.inputs.for_model(zoo.get_model("resnet20")).kind
    'image'
    """
    for cls in KINDS.values():
        spec = cls.from_model(model)
        if spec is not None:
            return spec
    described = [(t.name, tuple(t.shape), str(t.dtype)) for t in getattr(model, "inputs", [])]
    raise errors.InvalidArgumentError(
        f"Cannot tell what kind of input this model takes. Received: model "
        f"{getattr(model, 'name', model)!r} with inputs {described}; accepted: one float32 "
        f"image input (batch, H, W, C), token ids {list(TOKENIZER_INPUTS.values())} of a model "
        f"with a `backbone`, or one float32 waveform input (batch, samples)."
    )


def _fixed(shape) -> tuple:
    # Unknown dimensions get a small size, so a batch can still be made.
    return tuple(16 if d is None else int(d) for d in (shape or ()))


def _each_input(batch, fn):
    """`fn` applied to one array, or to each array of a dict of model inputs."""
    return {k: fn(v) for k, v in batch.items()} if isinstance(batch, dict) else fn(batch)


def _tensor_entry(tensor) -> dict:
    return {
        "name": tensor.name,
        "shape": [None if d is None else int(d) for d in tensor.shape],
        "dtype": str(tensor.dtype),
    }
