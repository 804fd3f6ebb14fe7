"""Word-level tokenization for the text models, saved beside them.

`WordTokenizer` wraps Keras' `TextVectorization` (Unicode lowercase, strip
ASCII punctuation, split on whitespace, ids padded/truncated to the model's
sequence length, 0 = padding, 1 = unknown). Its vocabulary is adapted on a
training split once and saved as `vocabulary.txt`, so evaluating, exporting or
reloading never re-adapts.

A saved tokenizer directory is also a Hugging Face tokenizer directory, so an
ONNX deployment needs no TensorFlow and no zoo:

    vocabulary.txt          one token per line, in id order
    zoo_tokenizer.json      zoo's own settings (type, sequence length, ...)
    tokenizer.json          the same tokenization for Hugging Face `tokenizers`
    tokenizer_config.json   Hugging Face's schema (`unk_token`, `pad_token`,
                            `model_max_length`, `tokenizer_class`): what
                            `transformers.AutoTokenizer` and tokenizers.js read
    special_tokens_map.json Hugging Face's special tokens

Example:

>>> tokenizer.save("out/lstm")
>>> from transformers import AutoTokenizer
>>> AutoTokenizer.from_pretrained("out/lstm")("not good", padding="max_length")
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from zoo import errors, fs, validation
from zoo.data import files as data_files

VOCABULARY_FILE = fs.VOCABULARY_FILE
CONFIG_FILE = "zoo_tokenizer.json"
HF_TOKENIZER_FILE = "tokenizer.json"
HF_CONFIG_FILE = "tokenizer_config.json"
HF_SPECIAL_TOKENS_FILE = "special_tokens_map.json"
# Every file `save` writes, in the order a reader needs them.
SAVED_FILES = (
    VOCABULARY_FILE,
    CONFIG_FILE,
    HF_TOKENIZER_FILE,
    HF_CONFIG_FILE,
    HF_SPECIAL_TOKENS_FILE,
)
PAD, UNK = "[PAD]", "[UNK]"
# The ASCII punctuation TextVectorization's default standardization removes.
PUNCTUATION = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'
# Unicode White_Space (what Rust's char::is_whitespace, and so Hugging Face's
# whitespace splitting, uses). TensorFlow splits on ASCII whitespace only, so
# the others (no-break space U+00A0, U+2028, U+3000...) become a plain space,
# as do the separators U+001C-U+001F that keras-hub's WordPiece splits on.
# The pattern reads the same in RE2 (TensorFlow) and Oniguruma (tokenizers).
UNICODE_WHITESPACE = r"[\p{Z}\t\n\x{0B}\f\r\x{1C}-\x{1F}\x{85}]"


def standardize(texts):
    """Unicode whitespace to spaces, Unicode lowercasing, punctuation removal.

    Keras' built-in "lower_and_strip_punctuation" lowercases ASCII only, while
    Hugging Face's `Lowercase` is Unicode-aware; this keeps the in-graph and
    the exported tokenizers identical on text like "Über" or "good\u00a0movie".
    """
    import tensorflow as tf

    return tf.strings.regex_replace(_spaces_and_lower(texts), PUNCTUATION, "")


def _spaces_and_lower(texts):
    """Unicode whitespace to spaces, then Unicode lowercase with every sigma as "σ".

    TensorFlow (ICU) writes a word-final capital sigma as "ς", Hugging Face's
    `Lowercase` as "σ"; mapping "ς" to "σ" on both sides keeps them equal.
    `_hf_spaces_and_lower` is the same steps for `tokenizer.json`.
    """
    import tensorflow as tf

    texts = tf.strings.regex_replace(texts, UNICODE_WHITESPACE, " ")
    return tf.strings.regex_replace(tf.strings.lower(texts, encoding="utf-8"), "ς", "σ")


def _hf_spaces_and_lower() -> list:
    """`_spaces_and_lower` as Hugging Face `tokenizers` normalizers."""
    from tokenizers import Regex, normalizers

    return [
        normalizers.Replace(Regex(UNICODE_WHITESPACE), " "),
        normalizers.Lowercase(),
        normalizers.Replace("ς", "σ"),
    ]


def normalize_for_wordpiece(texts):
    """NFKC, Unicode whitespace to spaces, then Unicode lowercasing.

    keras-hub's own `lowercase=True` case-folds (NFKC_Casefold: "Straße" ->
    "strasse") after splitting on whitespace, which no Hugging Face normalizer
    reproduces; normalizing here, before keras-hub sees the text, keeps the
    exported `tokenizer.json` giving the same ids.
    """
    import tensorflow_text as tf_text

    return _spaces_and_lower(tf_text.normalize_utf8(texts, "NFKC"))


class WordTokenizer:
    """Strings to int32 token ids of a fixed length.

    Args:
        vocabulary: list of str. Tokens in id order, starting with the padding
            entry `""` (or `"[PAD]"`) and `"[UNK]"`.
        sequence_length: int. Ids per text (padded with 0 or truncated).

    Example:

    >>> tokenizer = WordTokenizer.adapt(train_texts, vocabulary_size=20000, sequence_length=64)
    >>> tokenizer(["not good, not bad"]).shape
    TensorShape([1, 64])
    >>> tokenizer.save("runs/lstm/tokenizer")
    """

    kind = "word"
    saved_files = SAVED_FILES

    def __init__(self, vocabulary, sequence_length: int):
        import keras

        vocabulary = [str(token) for token in vocabulary]
        if len(vocabulary) < 3 or vocabulary[1] != UNK:
            raise errors.InvalidArgumentError(
                f"A vocabulary starts with the padding token and {UNK!r} and has at least one "
                f"word. Received: vocabulary={vocabulary[:5]!r} ({len(vocabulary)} entries)"
            )
        self.sequence_length = validation.check_positive_int("sequence_length", sequence_length)
        self.vocabulary = ["", UNK] + vocabulary[2:]
        self.layer = keras.layers.TextVectorization(
            vocabulary=self.vocabulary,
            output_sequence_length=self.sequence_length,
            standardize=standardize,
            split="whitespace",
            output_mode="int",
        )

    @property
    def vocabulary_size(self) -> int:
        return len(self.vocabulary)

    @classmethod
    def adapt(cls, texts, *, vocabulary_size: int, sequence_length: int) -> WordTokenizer:
        """Learns the most frequent words of `texts` (a tf.data dataset or list).

        Args:
            texts: tf.data.Dataset of scalar strings, or a list of str.
            vocabulary_size: int. Largest vocabulary, padding and unknown included.
            sequence_length: int. Ids per text.
        """
        import keras
        import tensorflow as tf

        vocabulary_size = validation.check_positive_int(
            "vocabulary_size", vocabulary_size, minimum=3
        )
        if not isinstance(texts, tf.data.Dataset):
            texts = tf.data.Dataset.from_tensor_slices(list(texts))
        layer = keras.layers.TextVectorization(max_tokens=vocabulary_size, standardize=standardize)
        layer.adapt(texts.batch(1024))
        vocabulary = layer.get_vocabulary()
        if len(vocabulary) < 3:
            raise errors.InvalidArgumentError(
                "The training texts hold no words to build a vocabulary from (all empty or "
                "punctuation). Received: texts with no tokens"
            )
        return cls(vocabulary, sequence_length)

    def __call__(self, texts):
        """Token ids `(batch, sequence_length)` int32 for a batch of strings.

        Args:
            texts: list of str, numpy array or tf.Tensor of strings `(batch,)`.
        """
        import tensorflow as tf

        texts = _string_tensor(texts)
        return tf.cast(self.layer(texts), tf.int32)

    def unknown_share(self, texts) -> float:
        """The share of the tokens the model sees that are `[UNK]`.

        Counted on the ids `__call__` gives (padding excluded), so words cut
        off by `sequence_length` do not count.

        Args:
            texts: list of str, numpy array or tf.Tensor of strings `(batch,)`.

        Example:

        >>> WordTokenizer(["", "[UNK]", "good"], 4).unknown_share(["good film"])
        0.5
        """
        ids = np.asarray(self(texts))
        return _share(ids == 1, ids != 0)

    def save(self, directory) -> Path:
        """Writes the vocabulary, zoo's config and the Hugging Face files.

        Args:
            directory: str or Path. Created if missing.
        """
        return _save(
            directory,
            [PAD] + self.vocabulary[1:],
            {
                "type": self.kind,
                "sequence_length": self.sequence_length,
                "standardize": "unicode lowercase, strip ASCII punctuation",
                "split": "whitespace",
                "padding_id": 0,
                "unknown_id": 1,
            },
            self.to_huggingface_json(),
            self.huggingface_config(),
        )

    def huggingface_config(self) -> dict:
        """`tokenizer_config.json` in Hugging Face's schema (see `huggingface_config`)."""
        return huggingface_config(
            self.sequence_length,
            {"unk_token": UNK, "pad_token": PAD},
            model_input_names=["input_ids", "attention_mask"],
        )

    @classmethod
    def load(cls, directory) -> WordTokenizer:
        """Reads a tokenizer written by `save` (see `load_tokenizer`).

        Args:
            directory: str or Path. Holds `vocabulary.txt` and the config.
        """
        return load_tokenizer(directory)

    def to_huggingface_json(self) -> str:
        """The same tokenization as a Hugging Face `tokenizers` JSON document.

        Lowercasing, punctuation stripping, whitespace splitting, word-level
        lookup with `[UNK]`, truncation and padding to `sequence_length`.
        """
        from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers

        vocab = {token: i for i, token in enumerate([PAD] + self.vocabulary[1:])}
        tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
        tokenizer.normalizer = normalizers.Sequence(
            [*_hf_spaces_and_lower(), normalizers.Replace(Regex(PUNCTUATION), "")]
        )
        tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        tokenizer.enable_truncation(max_length=self.sequence_length)
        tokenizer.enable_padding(length=self.sequence_length, pad_id=0, pad_token=PAD)
        return tokenizer.to_str()


BERT_RESERVED = ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"]


class WordPieceTokenizer:
    """BERT inputs from strings: keras-hub's WordPiece tokenizer and packer.

    Lowercases, splits on whitespace and punctuation, looks words up as
    WordPiece sub-words, and packs `[CLS] text [SEP]` padded to
    `sequence_length` as `token_ids`, `segment_ids` and `padding_mask`
    (int32). The vocabulary is computed from training texts with keras-hub's
    `compute_word_piece_vocabulary` or taken from a BERT preset.

    Args:
        vocabulary: list of str. WordPiece vocabulary; must hold `[PAD]`,
            `[CLS]`, `[SEP]`, `[UNK]` and `[MASK]`.
        sequence_length: int. Ids per text, special tokens included.

    Example:

    >>> tokenizer = WordPieceTokenizer.adapt(texts, vocabulary_size=8000, sequence_length=64)
    >>> tokenizer(["not bad at all"])["token_ids"].shape
    TensorShape([1, 64])
    """

    kind = "wordpiece"
    saved_files = SAVED_FILES

    def __init__(self, vocabulary, sequence_length: int):
        import keras_hub

        vocabulary = [str(token) for token in vocabulary]
        missing = [t for t in BERT_RESERVED if t not in vocabulary]
        if missing or len(vocabulary) <= len(BERT_RESERVED):
            raise errors.InvalidArgumentError(
                f"A WordPiece vocabulary needs {BERT_RESERVED} and at least one word piece. "
                f"Received: vocabulary of {len(vocabulary)} entries missing {missing}"
            )
        self.sequence_length = validation.check_positive_int(
            "sequence_length", sequence_length, minimum=3
        )
        self.vocabulary = vocabulary
        # Lowercasing is done by normalize_for_wordpiece, in a form that
        # tokenizer.json can repeat.
        self.tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocabulary, lowercase=False)
        self.packer = keras_hub.models.BertTextClassifierPreprocessor(
            self.tokenizer, sequence_length=self.sequence_length
        )
        self.layer = self.packer  # what an exporter must track

    @property
    def vocabulary_size(self) -> int:
        return len(self.vocabulary)

    @classmethod
    def adapt(cls, texts, *, vocabulary_size: int, sequence_length: int):
        """Computes a WordPiece vocabulary from `texts` (a dataset or list of str).

        Args:
            texts: tf.data.Dataset of scalar strings, or a list of str.
            vocabulary_size: int. Largest vocabulary, reserved tokens included.
            sequence_length: int. Ids per text.
        """
        import keras_hub
        import tensorflow as tf

        vocabulary_size = validation.check_positive_int(
            "vocabulary_size", vocabulary_size, minimum=len(BERT_RESERVED) + 1
        )
        if not isinstance(texts, tf.data.Dataset):
            texts = tf.data.Dataset.from_tensor_slices(list(texts))
        vocabulary = keras_hub.tokenizers.compute_word_piece_vocabulary(
            texts.batch(1024).map(normalize_for_wordpiece),
            vocabulary_size=vocabulary_size,
            lowercase=False,
            reserved_tokens=BERT_RESERVED,
        )
        if len(vocabulary) <= len(BERT_RESERVED):
            raise errors.InvalidArgumentError(
                "The training texts hold no words to build a vocabulary from. "
                "Received: texts with no tokens"
            )
        return cls(vocabulary, sequence_length)

    def __call__(self, texts) -> dict:
        """`{"token_ids", "segment_ids", "padding_mask"}` int32 `(batch, length)`."""
        import tensorflow as tf

        texts = normalize_for_wordpiece(_string_tensor(texts))
        packed = self.packer(texts)
        return {key: tf.cast(value, tf.int32) for key, value in packed.items()}

    def unknown_share(self, texts) -> float:
        """The share of the word pieces the model sees that are `[UNK]`.

        `[CLS]`, `[SEP]` and padding are not counted.

        Args:
            texts: list of str, numpy array or tf.Tensor of strings `(batch,)`.

        Example:

        >>> tokenizer = zoo.pretrained_tokenizer("bert_tiny", "sentiment")
        >>> share = tokenizer.unknown_share(["the plot was clever"])
        """
        ids = np.asarray(self(texts)["token_ids"])
        special = [self.vocabulary.index(t) for t in ("[PAD]", "[CLS]", "[SEP]")]
        return _share(ids == self.vocabulary.index(UNK), ~np.isin(ids, special))

    def save(self, directory) -> Path:
        """Writes the vocabulary, zoo's config and the Hugging Face files.

        Args:
            directory: str or Path. Created if missing.
        """
        return _save(
            directory,
            self.vocabulary,
            {
                "type": self.kind,
                "sequence_length": self.sequence_length,
                "lowercase": True,
                "template": "[CLS] text [SEP]",
                "padding_id": 0,
            },
            self.to_huggingface_json(),
            self.huggingface_config(),
        )

    def huggingface_config(self) -> dict:
        """`tokenizer_config.json` in Hugging Face's schema (see `huggingface_config`)."""
        return huggingface_config(
            self.sequence_length,
            {
                "unk_token": "[UNK]",
                "pad_token": "[PAD]",
                "cls_token": "[CLS]",
                "sep_token": "[SEP]",
                "mask_token": "[MASK]",
            },
            model_input_names=["input_ids", "token_type_ids", "attention_mask"],
        )

    def to_huggingface_json(self) -> str:
        """The same tokenization as a Hugging Face `tokenizers` JSON document."""
        from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

        vocab = {token: i for i, token in enumerate(self.vocabulary)}
        tokenizer = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]"))
        tokenizer.normalizer = normalizers.Sequence(
            [
                normalizers.NFKC(),
                *_hf_spaces_and_lower(),
                normalizers.BertNormalizer(
                    clean_text=False,
                    handle_chinese_chars=True,
                    strip_accents=False,
                    lowercase=False,
                ),
            ]
        )
        tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tokenizer.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]",
            special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
        )
        tokenizer.enable_truncation(max_length=self.sequence_length)
        tokenizer.enable_padding(length=self.sequence_length, pad_id=0, pad_token="[PAD]")
        return tokenizer.to_str()


def _share(unknown, counted) -> float:
    """`unknown` over `counted` (boolean arrays); 0.0 when nothing is counted."""
    total = int(np.count_nonzero(counted))
    return int(np.count_nonzero(unknown & counted)) / total if total else 0.0


def _string_tensor(texts):
    """Strings as a tf.string tensor; anything else is a user error."""
    import tensorflow as tf

    if isinstance(texts, str):
        texts = [texts]
    if isinstance(texts, (list, tuple)):
        bad = [t for t in texts if not isinstance(t, (str, bytes))]
        if bad:
            raise errors.InvalidArgumentError(
                f"The tokenizer takes strings. Received: {bad[0]!r} of type {type(bad[0]).__name__}"
            )
        texts = tf.constant(list(texts), tf.string)
    texts = tf.convert_to_tensor(texts)
    if texts.dtype != tf.string:
        raise errors.InvalidArgumentError(
            f"The tokenizer takes strings. Received: a tensor of dtype {texts.dtype.name}"
        )
    return texts


TOKENIZERS = {"word": WordTokenizer, "wordpiece": WordPieceTokenizer}


def huggingface_config(sequence_length: int, special_tokens: dict, *, model_input_names) -> dict:
    """A `tokenizer_config.json` in the schema Hugging Face libraries read.

    `transformers.AutoTokenizer` builds a `PreTrainedTokenizerFast` over the
    `tokenizer.json` beside it; tokenizers.js takes `unk_token` from here for
    word-level vocabularies (without it, unknown words become `null` ids) and
    neither pads nor truncates, so `model_max_length` and `pad_token` tell a
    deployer how to fit ids to the model.

    Args:
        sequence_length: int. The model's ids per text (`model_max_length`).
        special_tokens: dict. `unk_token`, `pad_token` (and BERT's `cls_token`,
            `sep_token`, `mask_token`).
        model_input_names: list of str. The encodings `transformers` returns.

    Example:

    >>> huggingface_config(8, {"unk_token": "[UNK]", "pad_token": "[PAD]"},
    ...                    model_input_names=["input_ids"])["model_max_length"]
    8
    """
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        **special_tokens,
        "model_max_length": int(sequence_length),
        "padding_side": "right",
        "truncation_side": "right",
        "clean_up_tokenization_spaces": False,
        "model_input_names": list(model_input_names),
    }


def _save(directory, vocabulary, zoo_config, hf_json, hf_config) -> Path:
    """Writes every file of `SAVED_FILES`, each by temporary file and rename."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    fs.replace_atomic(
        directory / VOCABULARY_FILE,
        lambda tmp: tmp.write_text("\n".join(vocabulary) + "\n", encoding="utf-8"),
    )
    fs.write_json_atomic(directory / CONFIG_FILE, zoo_config, mode=0o644)
    fs.replace_atomic(
        directory / HF_TOKENIZER_FILE, lambda tmp: tmp.write_text(hf_json, encoding="utf-8")
    )
    fs.write_json_atomic(directory / HF_CONFIG_FILE, hf_config, mode=0o644)
    special = {k: v for k, v in hf_config.items() if k.endswith("_token")}
    fs.write_json_atomic(directory / HF_SPECIAL_TOKENS_FILE, special, mode=0o644)
    return directory


def load_tokenizer(directory):
    """Reads a tokenizer saved by `WordTokenizer.save` or `WordPieceTokenizer.save`.

    Args:
        directory: str or Path. Holds `vocabulary.txt` and `zoo_tokenizer.json`.

    Example:

    >>> tokenizer = load_tokenizer("runs/bert/tokenizer")
    """
    directory = Path(directory)
    vocabulary_path = directory / VOCABULARY_FILE
    if not vocabulary_path.is_file():
        raise errors.InvalidArgumentError(
            f"No {VOCABULARY_FILE} in {str(directory)!r}; pass a directory written by a zoo "
            f"tokenizer's save(). Received: {str(directory)!r}"
        )
    text = data_files.check_utf8(vocabulary_path.read_bytes(), vocabulary_path)
    vocabulary = fs.entry_lines(text)  # "\n" only: a token may hold U+0085
    if not vocabulary:
        raise errors.InvalidArgumentError(
            f"The vocabulary file {str(vocabulary_path)!r} is empty; it needs the special "
            f"tokens and at least one word, one per line."
        )
    config = _read_zoo_config(directory)
    kind = config.get("type", "word")
    if kind not in TOKENIZERS:
        raise errors.InvalidArgumentError(
            f"Unknown tokenizer type {kind!r} in {str(directory)!r}; accepted: {sorted(TOKENIZERS)}"
        )
    if "sequence_length" not in config:
        raise errors.InvalidArgumentError(
            f"The tokenizer config in {str(directory)!r} has no 'sequence_length'; pass a "
            f"directory written by a zoo tokenizer's save(). Received keys: {sorted(config)}"
        )
    return TOKENIZERS[kind](vocabulary, config["sequence_length"])


def _read_zoo_config(directory: Path) -> dict:
    """zoo's tokenizer settings; runs saved by earlier zoo versions kept them in
    `tokenizer_config.json`, the name Hugging Face's schema now has."""
    path = directory / CONFIG_FILE
    if not path.is_file():
        legacy = directory / HF_CONFIG_FILE
        try:
            config = json.loads(legacy.read_text())
        except (OSError, ValueError):
            config = {}
        if "type" in config and "sequence_length" in config:
            return config
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise errors.InvalidArgumentError(
            f"Cannot read the tokenizer config {str(path)!r}: {err}. Pass a directory written "
            f"by a zoo tokenizer's save() (it holds {', '.join(SAVED_FILES)})."
        ) from err
