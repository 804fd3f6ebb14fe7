"""BERT weights through keras-hub presets, behind `get_model(..., weights=)`.

A keras-hub preset holds a BERT encoder's config, weights and WordPiece
vocabulary. `weights=` takes a preset by name (`"bert_tiny_en_uncased"`,
downloaded from Kaggle by keras-hub), a handle (`kaggle://...`,
`hf://google/bert_uncased_L-4_H-256_A-4`: keras-hub converts Hugging Face
BERT checkpoints), a local preset directory (`save_to_preset`, or a
downloaded Hugging Face folder), or a manifest tag (`bert_tiny.en_uncased`).
The model is built by `zoo.nlp.bert.bert(pretrained=...)`: the preset's
encoder with a new head of `num_classes`.

The vocabulary comes with the weights: the model carries it as
`model.zoo_vocabulary`, and `zoo.get_dataset` / `zoo.train` tokenize with it
instead of computing a new one (`zoo.inputs.TokenInput.vocabulary`).

Offline (`ZOO_OFFLINE=1`, or Kaggle unreachable), a preset that keras-hub
has not downloaded before is a `WeightsError` naming the handle and the
kagglehub cache folder it would be read from.

Example:

>>> model = zoo.get_model("bert_tiny", weights="en_uncased", num_classes=2)
>>> len(model.zoo_vocabulary)
30522
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from zoo import downloads, pretrained
from zoo.errors import WeightsError

REMOTE_SCHEMES = ("kaggle://", "hf://")
_PROBE_URLS = {"kaggle://": "https://www.kaggle.com", "hf://": "https://huggingface.co"}
# Files a downloaded keras-hub BERT preset holds before it loads offline.
PRESET_FILES = ("config.json", "model.weights.h5", "tokenizer.json")


class KerasHubBert(pretrained.WeightSource):
    """Loads keras-hub BERT presets into `bert_<size>` (`weight_sources["keras_hub"]`).

    Example:

    >>> register_model("bert_tiny", ..., weight_sources={"keras_hub": KerasHubBert()})
    """

    name = "keras_hub"
    accepts = "a keras-hub BERT preset (name, kaggle:// or hf:// handle, or preset folder)"

    def recognizes(self, weights):
        if weights.startswith(REMOTE_SCHEMES):
            return True
        path = Path(weights)
        if path.is_dir():
            return _is_bert_config(path / "config.json")
        return os.sep not in weights and weights in _builtin_presets()

    def locate(self, entry):
        return entry.url  # a handle: keras-hub downloads it (see `build`)

    def build(self, spec, location, overrides, entry):
        preset = _available(str(location), entry.name if entry else str(location))
        model = spec.builder(**spec.resolve_kwargs({**overrides, "pretrained": preset}))
        _check_size(spec, model, location)
        vocabulary = _vocabulary(preset)
        if vocabulary is not None:
            model.zoo_vocabulary = vocabulary
        return model


def _is_bert_config(path: Path) -> bool:
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    # keras-hub's own presets name the class; Hugging Face folders the model type.
    return "BertBackbone" in str(config.get("registered_name", "")) or (
        config.get("model_type") == "bert"
    )


def _builtin_presets() -> dict:
    import keras_hub  # here: `import zoo` stays free of keras-hub

    return keras_hub.models.BertBackbone.presets


def _available(preset: str, name: str) -> str:
    """The preset, or its local kagglehub copy when offline; else a WeightsError."""
    if Path(preset).is_dir():
        return preset
    handle = _builtin_presets().get(preset, {}).get("kaggle_handle", preset)
    scheme = next((s for s in REMOTE_SCHEMES if handle.startswith(s)), None)
    cached = _kagglehub_copy(handle) if scheme == "kaggle://" else None
    if cached is not None and all((cached / f).is_file() for f in PRESET_FILES):
        return str(cached)  # keras-hub downloaded it before: no network needed
    if scheme is not None and downloads.reachable(_PROBE_URLS[scheme]):
        return preset
    why = (
        "ZOO_OFFLINE is set" if downloads.offline() else f"{_PROBE_URLS.get(scheme)} is unreachable"
    )
    where = f" (kagglehub would keep it in {str(cached)!r})" if cached is not None else ""
    raise WeightsError(
        f"BERT preset {name!r} ({handle}) is not downloaded{where} and {why}. On a machine with "
        f"internet run `keras_hub.models.BertTextClassifier.from_preset({preset!r})` (or "
        f"`huggingface-cli download` for hf:// handles), copy the preset folder here and pass "
        f"its path as weights=; or set KAGGLEHUB_CACHE to a cache that holds it."
    )


def _kagglehub_copy(handle: str) -> Path | None:
    """Where kagglehub caches a versioned Kaggle model handle, or None."""
    try:
        from kagglehub.cache import get_cached_path
        from kagglehub.handle import parse_model_handle

        return Path(get_cached_path(parse_model_handle(handle.removeprefix("kaggle://"))))
    except Exception:  # noqa: BLE001  an unversioned or odd handle: no cache to read
        return None


def _check_size(spec, model, location) -> None:
    from zoo.nlp.bert import SIZES

    size = spec.fixed_kwargs.get("size")
    layers, hidden = SIZES.get(size, (None, None))
    backbone = model.backbone
    if layers is not None and (backbone.num_layers, backbone.hidden_dim) != (layers, hidden):
        raise WeightsError(
            f"Preset {str(location)!r} is a BERT with {backbone.num_layers} layers of width "
            f"{backbone.hidden_dim}; {spec.name!r} has {layers} of width {hidden}. Load it "
            f"with the matching size (zoo.list_models('bert_*'))."
        )


def _vocabulary(preset: str) -> tuple | None:
    """The preset's WordPiece vocabulary, if zoo's tokenizer can use it (uncased).

    zoo's WordPiece tokenizer lowercases (`zoo.data.tokenizers`), so a cased
    preset's vocabulary is not attached; its weights still load.
    """
    import keras_hub

    try:
        tokenizer = keras_hub.models.BertTokenizer.from_preset(preset)
    except Exception as err:  # keras-hub raises many types for a preset without one
        raise WeightsError(
            f"Cannot read the WordPiece vocabulary of preset {preset!r}: {err}"
        ) from err
    if not getattr(tokenizer, "lowercase", True):
        return None
    return tuple(tokenizer.get_vocabulary())
