"""The embedded `sentiment` set: deterministic, offline, and it needs word order."""

import time

import numpy as np
import pytest

import zoo
from zoo.data.sentiment import _SEEDS, MAX_WORDS, ZooSentiment, generate


@pytest.fixture(scope="module")
def splits():
    return generate(4000, _SEEDS["train"]), generate(1000, _SEEDS["test"])


def _read(builder, split):
    return [
        (t.decode(), int(label))
        for t, label in builder.as_dataset(split=split, as_supervised=True).as_numpy_iterator()
    ]


def test_prepares_offline_and_is_deterministic(tmp_path, splits):
    builders = [ZooSentiment(data_dir=str(tmp_path / d)) for d in ("a", "b")]
    for builder in builders:
        builder.download_and_prepare()  # ZOO_OFFLINE is set: must not need the network
        assert builder.info.splits["train"].num_examples == 4000
        assert builder.info.splits["test"].num_examples == 1000
    for split, expected in zip(("train", "test"), splits):
        first, second = (_read(b, split) for b in builders)
        assert first == second  # same examples in the same order, wherever prepared
        assert sorted(first) == sorted(expected)
        assert np.mean([label for _, label in first]) == 0.5
    assert builders[0].info.features["label"].names == ["negative", "positive"]
    assert zoo.dataset_info("sentiment").class_names == ("negative", "positive")


def test_reviews_fit_the_catalog_sequence_length(splits):
    texts = [text for split in splits for text, _ in split]
    assert max(len(text.split()) for text in texts) == MAX_WORDS
    assert zoo.dataset_info("sentiment").sequence_length >= MAX_WORDS
    assert all(text == text.lower() and "  " not in text for text in texts)


def test_same_words_opposite_labels(splits):
    words = {}
    for text, label in splits[0] + splits[1]:
        words.setdefault(tuple(sorted(text.split())), set()).add(label)
    # Identical word multisets occur with both labels: only the order tells them apart.
    assert sum(len(labels) == 2 for labels in words.values()) >= 50


def _encode(data, vocabulary, length=MAX_WORDS):
    ids = np.zeros((len(data), length), "int32")
    for row, (text, _) in enumerate(data):
        tokens = [vocabulary.get(w, 1) for w in text.split()]
        ids[row, : len(tokens)] = tokens
    return ids, np.array([label for _, label in data])


def test_bag_of_words_fails_where_word_order_succeeds(splits):
    import keras
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    train, test = splits
    y_train, y_test = [y for _, y in train], [y for _, y in test]

    def ngram_accuracy(ngrams, model):
        vectorizer = CountVectorizer(ngram_range=ngrams, token_pattern=r"[^ ]+")
        model.fit(vectorizer.fit_transform([t for t, _ in train]), y_train)
        return model.score(vectorizer.transform([t for t, _ in test]), y_test)

    bag = ngram_accuracy((1, 1), LogisticRegression(max_iter=2000))
    # A nonlinear bag of words too: the generator makes every bag equally likely
    # under both labels, so even interactions of words carry no signal.
    forest = ngram_accuracy((1, 1), RandomForestClassifier(100, random_state=0, n_jobs=2))
    trigrams = ngram_accuracy((1, 3), LogisticRegression(max_iter=2000))

    # A sequence model: a tiny bidirectional LSTM over word ids.
    keras.utils.set_random_seed(0)
    vocabulary = {w: i + 2 for i, w in enumerate(sorted({w for t, _ in train for w in t.split()}))}
    (x_train, y_fit), (x_test, y_eval) = _encode(train, vocabulary), _encode(test, vocabulary)
    model = keras.Sequential(
        [
            keras.Input((MAX_WORDS,), dtype="int32"),
            keras.layers.Embedding(len(vocabulary) + 2, 16, mask_zero=True),
            keras.layers.Bidirectional(keras.layers.LSTM(16)),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(
        keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    start = time.perf_counter()
    model.fit(x_train, y_fit, batch_size=64, epochs=2, verbose=0)
    seconds = time.perf_counter() - start
    lstm = model.evaluate(x_test, y_eval, verbose=0)[1]

    print(
        f"bag of words: logistic {bag:.3f}, random forest {forest:.3f}; "
        f"1-3 grams {trigrams:.3f}; bidirectional LSTM {lstm:.3f} ({seconds:.1f} s)"
    )
    assert bag < 0.6 and forest < 0.6  # chance is 0.5
    # Local order carries most of the signal; the rest (a "not" ending the
    # review, far from its adjective) needs a model of the whole sequence.
    assert trigrams > 0.85
    assert lstm >= 0.9


def test_sentiment_pipeline_tokenizes_to_the_dataset_length():
    train, val = zoo.get_dataset("sentiment", batch_size=100)
    ids, labels = next(iter(train))
    assert ids.shape == (100, 128) and (len(train), len(val)) == (40, 10)
    assert zoo.dataset_info("sentiment").sequence_length == 16
