"""Learning check of the speech family on the embedded `spoken_commands`, through `zoo train`.

Validation voices are never heard in training (tests/data/test_spoken_commands.py),
so the accuracy is on unseen speakers. The CI-sized run below is 4 epochs; the
full recipe (12 epochs) is what the issue's >= 90% target refers to (see
CHANGELOG.md for the figures measured).
"""

import json

import numpy as np
import pytest

import zoo
from zoo import training


@pytest.mark.slow
def test_kws_res8_learns_held_out_voices_and_exports(tmp_path):
    run_dir = tmp_path / "res8"
    result = zoo.train("kws_res8", "spoken_commands", run_dir, epochs=4, seed=0, verbose=0)
    # 12 classes: chance is 0.083. Seed 0 on the 2-core machine: see CHANGELOG.md.
    assert result.metrics["accuracy"] >= 0.7, result.metrics
    config = json.loads((run_dir / "config.json").read_text())
    assert config["labels"][-2:] == ["_silence_", "_unknown_"]
    assert config["input_spec"]["sample_rate"] == 16000

    # Verified on real validation clips (silence among them) and on clipped audio.
    report = training.export_run(run_dir, tmp_path / "export", examples=24)
    assert report.passed, report
    model = zoo.load_model(run_dir / "model.keras")
    _, val = zoo.get_dataset("spoken_commands", model=model, batch_size=8, augment=False)
    clips = next(iter(val))[0].numpy()
    clipped = np.clip(clips * 50.0, -1.0, 1.0)
    report = zoo.export(model, tmp_path / "clipped", formats="onnx", inputs=clipped)
    assert report.passed, report
