"""The embedded `sentiment` set: deterministic, offline, and it needs word order."""

import numpy as np

import zoo
from zoo.data.sentiment import ZooSentiment, generate


def test_prepares_offline_and_is_deterministic(tmp_path):
    builder = ZooSentiment(data_dir=str(tmp_path))
    builder.download_and_prepare()
    assert builder.info.splits["train"].num_examples == 4000
    assert builder.info.splits["test"].num_examples == 1000
    test = [(t.decode(), int(l)) for t, l in
            builder.as_dataset(split="test", as_supervised=True).as_numpy_iterator()]
    assert sorted(test) == sorted(generate(1000, seed=20260102))
    labels = np.array([l for _, l in test])
    assert 0.45 < labels.mean() < 0.55
    assert zoo.dataset_info("sentiment").class_names == ("negative", "positive")


def test_same_words_opposite_labels():
    words = {}
    for text, label in generate(4000, seed=20260101) + generate(1000, seed=20260102):
        words.setdefault(tuple(sorted(text.split())), set()).add(label)
    # Identical word multisets occur with both labels: only the order tells them apart.
    assert sum(len(labels) == 2 for labels in words.values()) >= 50


def test_bag_of_words_fails_where_word_order_succeeds():
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    train, test = generate(4000, seed=20260101), generate(1000, seed=20260102)

    def accuracy(ngrams):
        vectorizer = CountVectorizer(ngram_range=ngrams, token_pattern=r"[^ ]+")
        features = vectorizer.fit_transform([t for t, _ in train])
        model = LogisticRegression(max_iter=2000).fit(features, [l for _, l in train])
        return model.score(vectorizer.transform([t for t, _ in test]), [l for _, l in test])

    bag, trigrams = accuracy((1, 1)), accuracy((1, 3))
    print(f"bag of words {bag:.3f}, 1-3 grams {trigrams:.3f}")
    assert bag < 0.6          # chance is 0.5
    assert trigrams > 0.95    # the labels are learnable from local order


def test_sentiment_pipeline_tokenizes_to_the_dataset_length():
    train, val = zoo.get_dataset("sentiment", batch_size=100)
    ids, labels = next(iter(train))
    assert ids.shape == (100, 128) and (len(train), len(val)) == (40, 10)
    assert zoo.dataset_info("sentiment").sequence_length == 16
