"""The run tests/test_training.py kills: `zoo.train` of the toy CNN on digits.

Deterministic, seeded, the dataset's "shift" augmentation (the pipeline's
random state), 6 batches an epoch for 3 epochs, a backup every 2 batches.
The toy family (tests/toy_family.py) keeps each process short: most of a
process is importing TensorFlow and tracing the train step.

Usage:
    python resumable_run.py RUN_DIR
"""

import importlib.util
import sys
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "zoo_toy_family", Path(__file__).resolve().parents[1] / "toy_family.py"
)
spec.loader.exec_module(importlib.util.module_from_spec(spec))

import zoo  # noqa: E402  (after the family registers)
from zoo.recipes import register_recipe  # noqa: E402

register_recipe(zoo.get_recipe("digits_toy").replace(name="digits_toy_shift", augmentation="shift"))
zoo.train(
    "toy_cnn",
    "digits",
    sys.argv[1],
    recipe="digits_toy_shift",
    epochs=3,
    batch_size=256,
    seed=5,
    deterministic=True,
    backup_every=2,
    verbose=0,
)
