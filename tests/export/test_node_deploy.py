"""A text export classifies in Node.js exactly as in Keras.

docs/deploy/node/classify.mjs is the deployer's side: tokenizers.js (npm
`@huggingface/tokenizers`, the tokenizer of transformers.js) reads the
export's `tokenizer.json` and Hugging Face `tokenizer_config.json`,
onnxruntime-node runs `model.onnx`. `make test` installs the npm packages
(`npm ci --ignore-scripts`) and sets ZOO_REQUIRE_NODE=1, so there the test
cannot skip.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo.data.tokenizers import WordPieceTokenizer, WordTokenizer
from zoo.registry import get_spec

NODE_DIR = Path(__file__).resolve().parents[2] / "docs" / "deploy" / "node"
TRAIN = [
    "the plot was not dull , it was clever",
    "the acting was good but the ending was bad",
    "a clever film with a dull ending",
] * 10
# Unknown words (null ids in tokenizers.js without Hugging Face's unk_token),
# case, punctuation, Unicode space and a text longer than the model's length.
TEXTS = [
    "The plot was TERRIBLE, not clever!",
    "zzz qqq www",
    "Über\u00a0café was good",
    "the plot was not dull it was clever the acting was good but the ending was bad again",
]


def _node_ready() -> bool:
    return shutil.which("node") is not None and (NODE_DIR / "node_modules").is_dir()


pytestmark = pytest.mark.skipif(
    not _node_ready() and os.environ.get("ZOO_REQUIRE_NODE") != "1",
    reason="Node.js or docs/deploy/node/node_modules missing (make test installs them)",
)


def _classify(export_dir, texts):
    result = subprocess.run(
        ["node", str(NODE_DIR / "classify.mjs"), str(export_dir), *texts],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    "name, tokenizer_class", [("lstm", WordTokenizer), ("bert_tiny", WordPieceTokenizer)]
)
def test_text_export_gives_keras_ids_and_probabilities_in_node(tmp_path, name, tokenizer_class):
    tokenizer = tokenizer_class.adapt(TRAIN, vocabulary_size=60, sequence_length=12)
    kwargs = {
        **get_spec(name).tiny_kwargs,
        "vocabulary_size": tokenizer.vocabulary_size,
        "sequence_length": 12,
        "num_classes": 3,
    }
    model = zoo.get_model(name, **kwargs)
    labels = ["negative", "neutral", "positive"]
    out = tmp_path / "export"
    report = zoo.export(
        model, out, formats="onnx", inputs=TRAIN[:3], tokenizer=tokenizer, labels=labels
    )
    assert report.passed, report

    answer = _classify(out, TEXTS)
    ids = tokenizer(TEXTS)
    ids = (ids["token_ids"] if isinstance(ids, dict) else ids).numpy()
    node_ids = np.array([r["ids"] for r in answer["results"]])
    assert (node_ids == ids).all(), (node_ids, ids)
    if tokenizer.kind == "word":
        assert (ids == 1).any()  # unknown words reached the model as [UNK], not null

    expected = model.predict(tokenizer(TEXTS), verbose=0)
    node_probabilities = np.array([r["probabilities"] for r in answer["results"]])
    np.testing.assert_allclose(node_probabilities, expected, atol=1e-4)
    assert [r["label"] for r in answer["results"]] == [labels[i] for i in expected.argmax(-1)]
