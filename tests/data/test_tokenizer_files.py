"""A saved tokenizer is a Hugging Face tokenizer directory as well as zoo's.

`transformers.AutoTokenizer` (through `tokenizer.json` and Hugging Face's
`tokenizer_config.json`) must give the ids zoo's in-graph tokenizers give;
zoo's own settings live in `zoo_tokenizer.json`.
"""

import json

import pytest

from zoo.data.tokenizers import (
    SAVED_FILES,
    WordPieceTokenizer,
    WordTokenizer,
    load_tokenizer,
)

TRAIN = [
    "the plot was not dull , it was clever",
    "the acting was good but the ending was bad",
    "über café naïve résumé",
] * 10
# Unknown words, punctuation, case, Unicode space, truncation, the empty text.
TEXTS = [
    "The plot was TERRIBLE, not clever!",
    "Über\u00a0café —   naïve",
    "zzz qqq www",
    "the plot was not dull it was clever the acting was good but the ending was bad again",
    "",
]


def _tokenizers():
    return [
        WordTokenizer.adapt(TRAIN, vocabulary_size=40, sequence_length=12),
        WordPieceTokenizer.adapt(TRAIN, vocabulary_size=80, sequence_length=12),
    ]


@pytest.mark.parametrize("tokenizer", _tokenizers(), ids=["word", "wordpiece"])
def test_saved_tokenizer_follows_hugging_face_schema(tmp_path, tokenizer):
    directory = tokenizer.save(tmp_path / "tok")
    assert sorted(p.name for p in directory.iterdir()) == sorted(SAVED_FILES)
    config = json.loads((directory / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert config["unk_token"] == "[UNK]" and config["pad_token"] == "[PAD]"
    assert config["model_max_length"] == 12
    assert not {"type", "unknown_id", "sequence_length"} & set(config)  # zoo's keys moved out
    zoo_config = json.loads((directory / "zoo_tokenizer.json").read_text())
    assert zoo_config["type"] == tokenizer.kind and zoo_config["sequence_length"] == 12
    special = json.loads((directory / "special_tokens_map.json").read_text())
    assert special["unk_token"] == "[UNK]"

    reloaded = load_tokenizer(directory)
    assert type(reloaded) is type(tokenizer) and reloaded.vocabulary == tokenizer.vocabulary


@pytest.mark.parametrize("tokenizer", _tokenizers(), ids=["word", "wordpiece"])
def test_transformers_auto_tokenizer_gives_zoo_ids(tmp_path, tokenizer):
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    directory = tokenizer.save(tmp_path / "tok")
    hf = AutoTokenizer.from_pretrained(str(directory))
    assert isinstance(hf, PreTrainedTokenizerFast)
    assert hf.unk_token_id == tokenizer.vocabulary.index("[UNK]") and hf.pad_token_id == 0
    encoded = hf(TEXTS, padding="max_length", truncation=True, return_tensors="np")
    ours = tokenizer(TEXTS)
    if tokenizer.kind == "wordpiece":
        assert (encoded["input_ids"] == ours["token_ids"].numpy()).all()
        assert (encoded["token_type_ids"] == ours["segment_ids"].numpy()).all()
        assert (encoded["attention_mask"] == ours["padding_mask"].numpy()).all()
    else:
        ids = ours.numpy()
        assert (encoded["input_ids"] == ids).all()
        assert (ids == 1).any(), "the texts must exercise unknown words"
        assert (encoded["attention_mask"] == (ids != 0)).all()


def test_runs_saved_by_earlier_versions_still_load(tmp_path):
    """Before zoo_tokenizer.json, zoo's settings were in tokenizer_config.json."""
    tokenizer = WordTokenizer.adapt(TRAIN, vocabulary_size=40, sequence_length=7)
    directory = tmp_path / "old"
    directory.mkdir()
    (directory / "vocabulary.txt").write_text("\n".join(["[PAD]", *tokenizer.vocabulary[1:]]))
    (directory / "tokenizer_config.json").write_text(
        json.dumps({"type": "word", "sequence_length": 7, "padding_id": 0, "unknown_id": 1})
    )
    reloaded = load_tokenizer(directory)
    assert reloaded.sequence_length == 7
    assert (reloaded(TEXTS).numpy() == tokenizer(TEXTS).numpy()).all()


def test_missing_config_names_the_files_a_tokenizer_directory_holds(tmp_path):
    tokenizer = WordTokenizer.adapt(TRAIN, vocabulary_size=40, sequence_length=7)
    directory = tokenizer.save(tmp_path / "tok")
    (directory / "zoo_tokenizer.json").unlink()
    (directory / "tokenizer_config.json").unlink()
    with pytest.raises(Exception, match="zoo_tokenizer.json") as info:
        load_tokenizer(directory)
    assert type(info.value).__name__ == "InvalidArgumentError"
