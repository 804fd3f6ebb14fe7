"""zoo.backup.StepBackup: what a killed run resumes from, and damaged backups."""

import json

import keras
import numpy as np
import pytest

from zoo import errors
from zoo.backup import StepBackup, newest_backup


def tiny_model(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4,))
    hidden = keras.layers.Dropout(0.5)(keras.layers.Dense(8, activation="relu")(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2)(hidden))
    model.compile(
        keras.optimizers.Adam(0.01),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


DATA = (np.random.default_rng(0).normal(size=(40, 4)), np.arange(40) % 2)


class Stop(keras.callbacks.Callback):
    """Ends training with an error after `at` batches: a crash."""

    def __init__(self, at):
        super().__init__()
        self.at, self.seen = at, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.at:
            raise KeyboardInterrupt


def test_backups_hold_weights_optimizer_random_state_and_position(tmp_path):
    model = tiny_model()
    backup = StepBackup(tmp_path, every=3, keep=2)
    with pytest.raises(KeyboardInterrupt):
        model.fit(*DATA, batch_size=8, epochs=3, callbacks=[backup, Stop(6)], verbose=0)
    # 5 batches an epoch: backups after global steps 3, 5 (epoch end), 6; two kept.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-000000005", "step-000000006"]
    point = newest_backup(tmp_path)
    assert (point.epoch, point.step, point.global_step) == (1, 1, 6)

    restored = tiny_model(seed=1)  # other initial weights and random state
    restored.optimizer.build(restored.trainable_variables)
    callback = StepBackup(tmp_path)
    callback.set_model(restored)
    with pytest.warns(UserWarning, match="trained from its first batch again"):
        callback.on_train_begin()
    assert callback.restored_from == point
    for a, b in zip(model.variables, restored.variables):  # incl. dropout's seed state
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(restored.optimizer.iterations) == 6 == int(model.optimizer.iterations)


def test_a_damaged_newest_backup_falls_back_to_the_one_before(tmp_path):
    model = tiny_model()
    model.fit(
        *DATA,
        batch_size=8,
        epochs=2,
        callbacks=[StepBackup(tmp_path, every=2, delete_when_done=False)],
        verbose=0,
    )
    newest = newest_backup(tmp_path)
    weights = newest.path / "model.weights.h5"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # cut short
    with pytest.warns(UserWarning, match="does not match its recorded sha256"):
        fallback = newest_backup(tmp_path)
    assert fallback.global_step < newest.global_step
    (fallback.path / "backup.json").write_text("{")  # and a torn manifest
    with pytest.warns(UserWarning) as record:
        assert newest_backup(tmp_path) is None
    reasons = " ".join(str(w.message) for w in record)
    assert "unreadable backup.json" in reasons and "sha256" in reasons
    # A half-written folder of a killed process is never taken for a backup.
    (tmp_path / ".tmp-x").mkdir()
    assert all(p.name.startswith(("step-", ".tmp")) for p in tmp_path.iterdir())


def test_backups_are_removed_when_training_ends_and_bad_settings_refused(tmp_path):
    model = tiny_model()
    model.fit(
        *DATA, batch_size=8, epochs=1, callbacks=[StepBackup(tmp_path / "b", every=1)], verbose=0
    )
    assert not (tmp_path / "b").exists()
    for bad in (0, -1, 2.5, "3"):
        with pytest.raises(errors.InvalidArgumentError, match=f"every={bad!r}"):
            StepBackup(tmp_path, every=bad)
    with pytest.raises(errors.InvalidArgumentError, match="keep=0"):
        StepBackup(tmp_path, keep=0)


def test_a_backup_of_another_model_is_refused(tmp_path):
    model = tiny_model()
    model.fit(
        *DATA,
        batch_size=8,
        epochs=1,
        callbacks=[StepBackup(tmp_path, delete_when_done=False)],
        verbose=0,
    )
    manifest = json.loads((newest_backup(tmp_path).path / "backup.json").read_text())
    assert manifest["epoch"] == 1 and manifest["step"] == 0
    inputs = keras.Input((4,))
    other = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Dense(8)(inputs)))
    other.compile("adam", "sparse_categorical_crossentropy")
    callback = StepBackup(tmp_path)
    callback.set_model(other)
    with pytest.raises((errors.RunDirError, ValueError)):
        callback.on_train_begin()
