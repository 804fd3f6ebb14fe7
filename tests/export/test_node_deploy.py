"""Text and speech exports classify in Node.js exactly as in Keras.

docs/deploy/node/classify.mjs is the text deployer's side: tokenizers.js (npm
`@huggingface/tokenizers`, the tokenizer of transformers.js) reads the
export's `tokenizer.json` and Hugging Face `tokenizer_config.json`,
onnxruntime-node runs `model.onnx`. docs/deploy/node/spot.mjs is the speech
deployer's: WAV files in, onnxruntime-node on the raw samples. `make test`
installs the npm packages (`npm ci --ignore-scripts`) and sets
ZOO_REQUIRE_NODE=1, so there the tests cannot skip.
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


def _spot(export_dir, files):
    return subprocess.run(
        ["node", str(NODE_DIR / "spot.mjs"), str(export_dir), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_speech_export_spots_wav_files_in_node_as_keras_does(tmp_path):
    from scipy.io import wavfile

    from zoo.data import wav

    rng = np.random.default_rng(0)
    tone = np.sin(np.arange(20800) * 0.07) * 0.6  # 1.3 s: the graph crops it to 1 s
    clips = {  # every sample format the training reader takes, at 16 kHz
        "pcm16.wav": (tone * 32767).astype("int16"),
        "float_stereo.wav": np.stack([tone[:8000] * 1.8, -tone[:8000]], 1).astype("float32"),
        "pcm8.wav": (tone[:12000] * 127 + 128).astype("uint8"),
        "pcm32.wav": (rng.uniform(-0.5, 0.5, 16000) * 2**31).astype("int32"),
        "silence.wav": np.zeros(16000, "int16"),
    }
    for name, samples in clips.items():
        wavfile.write(tmp_path / name, 16000, samples)
    files = [tmp_path / name for name in clips]
    waveforms = [wav.load_clip(f, 16000) for f in files]  # what zoo trains and evaluates on

    model = zoo.get_model("kws_res8", **{**get_spec("kws_res8").tiny_kwargs, "num_classes": 3})
    labels = ["yes", "no", "_silence_"]
    out = tmp_path / "export"
    examples = np.stack([np.resize(w, 16000) for w in waveforms]).astype("float32")
    assert zoo.export(model, out, formats="onnx", inputs=examples, labels=labels).passed

    run = _spot(out, files)
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    assert answer["sample_rate"] == 16000 and answer["labels"] == labels
    assert [r["samples"] for r in answer["results"]] == [len(w) for w in waveforms]
    expected = np.concatenate([model.predict(w[None], verbose=0) for w in waveforms])
    node_probabilities = np.array([r["probabilities"] for r in answer["results"]])
    np.testing.assert_allclose(node_probabilities, expected, atol=1e-4)
    assert [r["label"] for r in answer["results"]] == [labels[i] for i in expected.argmax(-1)]

    # Another sample rate is refused with the rate the model takes, not guessed at.
    wavfile.write(tmp_path / "8k.wav", 8000, clips["pcm16.wav"][:8000])
    refused = _spot(out, [tmp_path / "8k.wav"])
    assert refused.returncode == 1 and "8000 Hz; the model takes 16000 Hz" in refused.stderr
    (tmp_path / "empty.wav").write_bytes(b"")
    refused = _spot(out, [tmp_path / "empty.wav"])
    assert refused.returncode == 1 and "not a RIFF/WAVE file" in refused.stderr
