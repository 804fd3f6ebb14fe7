"""Text datasets: tfds sources on mock data, tables, folders, the word tokenizer."""

import numpy as np
import pytest

import zoo
from zoo import errors
from zoo.data.tokenizers import WordTokenizer


@pytest.mark.parametrize(
    "name, classes",
    [
        ("imdb_reviews", 2),
        ("ag_news_subset", 4),
        ("glue/sst2", 2),
        ("yelp_polarity_reviews", 2),
    ],
)
def test_tfds_text_sources_with_mock_data(mock_tfds, name, classes):
    info = zoo.dataset_info(name)
    assert info.modality == "text" and info.num_classes == classes
    train, val = zoo.get_dataset(name, batch_size=4)
    ids, labels = next(iter(train))
    assert ids.shape == (4, 128) and ids.dtype.name == "int32"
    assert labels.dtype.name == "int32" and (len(train), len(val)) == (2, 2)


def write_table(path, rows, sep=","):
    path.write_text("\n".join(sep.join(row) for row in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def reviews(tmp_path):
    rows = [("review", "stars")] + [
        (f"review number {i} was {'good' if i % 2 else 'bad'}", "pos" if i % 2 else "neg")
        for i in range(20)
    ]
    return write_table(tmp_path / "reviews.csv", rows)


def test_csv_table_split_and_tokenized(reviews):
    info = zoo.dataset_info(str(reviews), text_column="review", label_column="stars")
    assert info.class_names == ("neg", "pos") and info.source == "table"
    tokenizer = zoo.data.get_tokenizer(str(reviews), text_column="review", label_column="stars")
    train, val = zoo.get_dataset(
        str(reviews), batch_size=32, tokenizer=tokenizer, text_column="review", label_column="stars"
    )
    (ids, labels), (vids, vlabels) = next(iter(train)), next(iter(val))
    assert ids.shape == (16, 128) and vids.shape == (4, 128)
    assert sorted(np.bincount(vlabels.numpy())) == [2, 2]  # stratified
    good = tokenizer.vocabulary.index("good")
    # The label follows the text: "good" rows are "pos" (1).
    assert all((good in row) == bool(label) for row, label in zip(ids.numpy(), labels.numpy()))


@pytest.mark.parametrize(
    "rows, kwargs, match",
    [
        ([("text", "label"), ("a", "x"), ("b", "y")], dict(text_column="body"), "'body'"),
        ([("text", "label"), ("a", "x"), ("b", "")], {}, "rows without a label"),
        ([("text", "label"), ("a", "x"), ("b", "x")], {}, "at least 2 classes"),
    ],
)
def test_bad_tables_name_the_problem(tmp_path, rows, kwargs, match):
    path = write_table(tmp_path / "t.tsv", rows, sep="\t")
    with pytest.raises(errors.InvalidArgumentError, match=match):
        zoo.get_dataset(str(path), **kwargs)


def test_text_folder(tmp_path):
    for label in ("ham", "spam"):
        (tmp_path / "mail" / label).mkdir(parents=True)
        for i in range(5):
            (tmp_path / "mail" / label / f"{i}.txt").write_text(f"{label} message {i}")
    info = zoo.dataset_info(str(tmp_path / "mail"))
    assert info.modality == "text" and info.class_names == ("ham", "spam")
    train, val = zoo.get_dataset(str(tmp_path / "mail"), batch_size=10)
    assert sum(int(y.shape[0]) for _, y in train) == 8
    assert sum(int(y.shape[0]) for _, y in val) == 2


def test_tokenizer_round_trip_and_huggingface_equivalence(tmp_path):
    from tokenizers import Tokenizer

    texts = [
        "The movie was GOOD!",
        "not bad, not good",
        "Über-cool, naïve café",
        "tabs\tand   spaces",
        "",
        "unseen words entirely",
    ]
    tokenizer = WordTokenizer.adapt(texts[:4], vocabulary_size=50, sequence_length=5)
    ids = tokenizer(texts).numpy()
    assert ids.shape == (6, 5) and ids.dtype == np.int32
    assert (ids[4] == 0).all()  # an empty string is all padding
    assert (ids[5][:3] == 1).all()  # unknown words map to [UNK]
    loaded = WordTokenizer.load(tokenizer.save(tmp_path / "tok"))
    np.testing.assert_array_equal(loaded(texts).numpy(), ids)
    hf = Tokenizer.from_str(tokenizer.to_huggingface_json())
    np.testing.assert_array_equal(np.array([e.ids for e in hf.encode_batch(texts)]), ids)


def test_tokenizer_bad_inputs(tmp_path):
    tokenizer = WordTokenizer.adapt(["a b c"], vocabulary_size=10, sequence_length=4)
    with pytest.raises(errors.InvalidArgumentError, match="of type int"):
        tokenizer(["fine", 3])
    with pytest.raises(errors.InvalidArgumentError, match="dtype float32"):
        tokenizer(np.zeros(2, "float32"))
    with pytest.raises(errors.InvalidArgumentError, match="no words"):
        WordTokenizer.adapt(["", "!!"], vocabulary_size=10, sequence_length=4)
    with pytest.raises(errors.InvalidArgumentError, match="No vocabulary.txt"):
        WordTokenizer.load(tmp_path)
    (tmp_path / "vocabulary.txt").write_text("")
    with pytest.raises(errors.InvalidArgumentError, match="is empty"):
        WordTokenizer.load(tmp_path)


def test_image_dataset_is_not_text():
    with pytest.raises(errors.InvalidArgumentError, match="holds images"):
        zoo.data.get_tokenizer("digits")


def test_model_with_fewer_outputs_than_classes_is_rejected():
    model = zoo.get_model(
        "lstm", num_classes=1, vocabulary_size=100, sequence_length=16, embedding_dim=4, units=4
    )
    with pytest.raises(errors.InvalidArgumentError, match="num_classes=2"):
        zoo.get_dataset("sentiment", model=model)


def test_tokenizer_larger_than_the_model_vocabulary_is_rejected():
    tokenizer = zoo.data.get_tokenizer("sentiment", model="lstm")
    small = zoo.get_model("lstm", vocabulary_size=10, sequence_length=16, embedding_dim=4, units=4)
    with pytest.raises(errors.InvalidArgumentError, match="embeds only 10"):
        zoo.get_dataset("sentiment", model=small, tokenizer=tokenizer)


# Text where TensorFlow and Hugging Face `tokenizers` differ unless normalized
# alike: no-break and other Unicode spaces, separators, compatibility forms,
# German sharp s, Turkish dotted I and a word-final Greek sigma.
TRICKY = [
    "a good\u00a0movie",
    "Straße was good",
    "\ufb01ne movie",
    "\uff26\uff55\uff4c\uff4c film",
    "x\u2028y\x85z\u3000w",
    "\u0130stanbul \u03a3\u038a\u03a3\u03a5\u03a6\u039f\u03a3",
    "tabs\tand\u2003em",
    "naïve café Über",
    "good\x1emovie",
    "",
]


@pytest.mark.parametrize("kind", ["word", "wordpiece"])
def test_exported_tokenizer_json_matches_on_unicode_text(kind):
    from tokenizers import Tokenizer

    from zoo.data.tokenizers import TOKENIZERS

    train = TRICKY * 3 + ["the movie was good and fine", "strasse istanbul"] * 3
    tokenizer = TOKENIZERS[kind].adapt(train, vocabulary_size=120, sequence_length=12)
    ids = tokenizer(TRICKY)
    ids = (ids["token_ids"] if kind == "wordpiece" else ids).numpy()
    hf = Tokenizer.from_str(tokenizer.to_huggingface_json())
    for text, ours, theirs in zip(TRICKY, ids, (e.ids for e in hf.encode_batch(TRICKY))):
        assert list(ours) == list(theirs), text


def test_vocabulary_file_keeps_tokens_with_unusual_line_breaks(tmp_path):
    # str.splitlines() would split these tokens and shift every later id.
    vocabulary = ["", "[UNK]", "gamma\x85delta", "alpha\u2028beta", "rs\x1esep", "plain"]
    tokenizer = WordTokenizer(vocabulary, sequence_length=4)
    loaded = WordTokenizer.load(tokenizer.save(tmp_path / "tok"))
    assert loaded.vocabulary == tokenizer.vocabulary


def test_tokenizer_longer_than_the_model_is_rejected():
    tokenizer = WordTokenizer.adapt(["a b c"], vocabulary_size=10, sequence_length=64)
    model = zoo.get_model("lstm", vocabulary_size=100, sequence_length=16, embedding_dim=4, units=4)
    with pytest.raises(errors.InvalidArgumentError, match="sequence_length=64.*<= 16"):
        zoo.get_dataset("sentiment", model=model, tokenizer=tokenizer)


def test_unknown_share_counts_the_unk_ids_the_model_sees():
    tokenizer = WordTokenizer(["", "[UNK]", "good", "film"], sequence_length=4)
    # "a" and "very" are unknown; "plot" is cut off at 4 ids; padding is not counted.
    assert tokenizer.unknown_share(["a very good film plot", "good"]) == pytest.approx(2 / 5)
    assert tokenizer.unknown_share([""]) == 0.0


def test_wordpiece_unknown_share_leaves_out_special_tokens():
    from zoo.data.tokenizers import BERT_RESERVED, WordPieceTokenizer

    tokenizer = WordPieceTokenizer([*BERT_RESERVED, "good", "film"], sequence_length=8)
    # [CLS] good [UNK] film [SEP] + padding: 1 unknown piece of 3.
    assert tokenizer.unknown_share(["good ☃ film"]) == pytest.approx(1 / 3)


def test_unknown_token_share_of_a_table_read_with_a_vocabulary_made_elsewhere(reviews):
    columns = dict(text_column="review", label_column="stars")
    own = zoo.data.get_tokenizer(str(reviews), **columns)
    assert zoo.data.unknown_token_share(str(reviews), own, **columns) == 0.0
    # "review number N was good": only "good"/"bad" known, so 4 of 5 tokens unknown.
    elsewhere = WordTokenizer(["", "[UNK]", "good", "bad"], sequence_length=16)
    share = zoo.data.unknown_token_share(str(reviews), elsewhere, **columns)
    assert share == pytest.approx(4 / 5)
