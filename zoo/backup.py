"""`StepBackup`: the whole training state, every N steps, restorable exactly.

Keras' `BackupAndRestore` keeps the weights and optimizer and the epoch
number: a resumed run replays the interrupted epoch from its first batch, with
fresh dropout and augmentation random state, and a file cut short by a kill
can leave nothing to resume from. `StepBackup` is written by hand to keep what
an exact resume needs:

- the model's weights and the optimizer's state (`model.save_weights`), so
  the learning-rate schedule continues from `optimizer.iterations`;
- the random state of every layer (Keras `SeedGenerator`s: dropout, in-model
  augmentation) and the running metrics of the epoch;
- the position: the epoch and the batches of it already trained on, which
  `zoo.train` turns into a data stream that skips exactly those batches
  (`zoo.data.EpochStream`).

Each backup is a folder `step-<global step>` written under a temporary name
and renamed into place, with the sha256 of its files in `backup.json`, so a
kill never leaves a half-written backup a reader takes for a good one. The
newest backups are kept (`keep`); a damaged one is reported and the one
before it is used.

Example:

>>> backup = StepBackup("runs/r20/backup", every=50)
>>> model.fit(train, epochs=10, callbacks=[backup])
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import keras
import numpy as np

from zoo import errors
from zoo.downloads import sha256_of

_WEIGHTS = "model.weights.h5"
_STATE = "state.npz"
_MANIFEST = "backup.json"
_PREFIX = "step-"


@dataclasses.dataclass(frozen=True)
class BackupPoint:
    """Where a backup was taken.

    Args:
        path: Path. The backup's folder.
        epoch: int. The epoch it is in (0-based); after the last batch of
            an epoch this is the next epoch, with `step` 0.
        step: int. Batches of `epoch` trained before the backup.
        global_step: int. Batches trained in all, over all epochs.
    """

    path: Path
    epoch: int
    step: int
    global_step: int


def newest_backup(backup_dir) -> BackupPoint | None:
    """The newest intact backup in `backup_dir`, or None if there is none.

    Backups whose files are missing or do not match their recorded sha256
    (a disk that filled up, a file cut short) are skipped with a warning.

    Args:
        backup_dir: str or Path. A `StepBackup` folder.

    Example:

    >>> point = newest_backup("runs/r20/backup")
    >>> (point.epoch, point.step)
    (2, 30)
    """
    root = Path(backup_dir)
    if not root.is_dir():
        return None
    for folder in _folders_newest_first(root):
        problem = _check(folder)
        if problem is None:
            manifest = json.loads((folder / _MANIFEST).read_text())
            return BackupPoint(folder, manifest["epoch"], manifest["step"], _global_step(folder))
        warnings.warn(
            f"Backup {str(folder)!r} is damaged ({problem}); resuming from the one before it.",
            stacklevel=2,
        )
    return None


def _folders_newest_first(root: Path) -> list:
    """The `step-*` backup folders in `root`, the highest global step first."""
    folders = (p for p in root.iterdir() if p.name.startswith(_PREFIX) and p.is_dir())
    return sorted(folders, key=_global_step, reverse=True)


def _global_step(folder: Path) -> int:
    try:
        return int(folder.name[len(_PREFIX) :])
    except ValueError:
        return -1


def _check(folder: Path) -> str | None:
    """Why the backup in `folder` cannot be used, or None if it is intact."""
    try:
        manifest = json.loads((folder / _MANIFEST).read_text())
        files = manifest["sha256"]
        int(manifest["epoch"]), int(manifest["step"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        return f"unreadable {_MANIFEST}: {err}"
    for name in (_WEIGHTS, _STATE):
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        if sha256_of(path) != files.get(name):
            return f"{name} does not match its recorded sha256"
    return None


class StepBackup(keras.callbacks.Callback):
    """Backs up the training state every `every` batches and at each epoch end.

    When training begins, the newest intact backup is restored: weights,
    optimizer, layers' random state, and the epoch to start from. The batches
    of that epoch already trained on must then be left out of the data, or
    the epoch is trained again from its first batch (what plain `model.fit`
    does; a warning says so): `zoo.train` does it with
    `zoo.data.EpochStream(first=epoch, skip=step)` and sets `skipped`.

    Args:
        backup_dir: str or Path. Where the backups go (created).
        every: int or None. Batches between backups; None backs up at epoch
            ends only.
        keep: int. How many of the newest backups to keep (>= 1); two let a
            damaged newest one fall back to the one before.
        delete_when_done: bool. Remove the backups when the last epoch ends.

    Attributes:
        skipped: int. Batches of the first epoch of this `fit` that its data
            leaves out (those before the restored backup).
        restored_from: BackupPoint or None. The backup restored when
            training began, if any.

    Example:

    >>> model.fit(train, epochs=10, callbacks=[StepBackup("backup", every=100)])
    """

    def __init__(self, backup_dir, every: int | None = None, keep: int = 2, delete_when_done=True):
        super().__init__()
        if every is not None and (not isinstance(every, int) or every < 1):
            raise errors.InvalidArgumentError(
                f"Backups are taken every N batches, N an int >= 1 (or None for epoch ends "
                f"only). Received: every={every!r}"
            )
        if not isinstance(keep, int) or keep < 1:
            raise errors.InvalidArgumentError(f"keep must be an int >= 1. Received: keep={keep!r}")
        self.backup_dir = Path(backup_dir)
        self.every = every
        self.keep = keep
        self.delete_when_done = delete_when_done
        self.skipped = 0
        self.restored_from = None
        self._restore_done = False
        self._epoch = 0
        self._first_epoch = None
        self._metrics_to_restore = None

    # -- restoring ---------------------------------------------------------

    def on_train_begin(self, logs=None):
        self._first_epoch = None
        if self._restore_done:
            return  # a second `fit` of the same run (zoo.train's resume) goes on
        self._restore_done = True
        point = newest_backup(self.backup_dir)
        if point is None:
            return
        model = self.model
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(str(point.path / _WEIGHTS))
        with np.load(point.path / _STATE) as state:
            random_state = _random_state(model)
            for variable, value in zip(random_state, _stored(state, "random", random_state)):
                variable.assign(value)
            self._metrics_to_restore = (
                {k: state[k] for k in state.files if k.startswith("metric")} if point.step else None
            )
        # Keras' fit starts at `_initial_epoch` when a callback sets it in
        # on_train_begin (as its own BackupAndRestore does).
        model._initial_epoch = point.epoch
        self.restored_from = point
        if point.step and self.skipped != point.step:
            warnings.warn(
                f"The backup was taken after batch {point.step} of epoch {point.epoch + 1}, "
                f"but this fit's data does not skip those batches, so the epoch is trained "
                f"from its first batch again. zoo.train resumes exactly.",
                stacklevel=2,
            )
            self._metrics_to_restore = None

    def on_epoch_begin(self, epoch, logs=None):
        self.model._initial_epoch = None  # read already: a later fit starts where it says
        if self._first_epoch is None:
            self._first_epoch = epoch
        self._epoch = epoch

    # -- each batch, each epoch ----------------------------------------------

    def on_train_batch_end(self, batch, logs=None):
        if self._metrics_to_restore is not None:
            # The resumed epoch's running metrics go on from the backup's. Keras
            # builds the compiled metrics in the first step, so they are merged
            # here: metric states are sums (totals and counts), and a sum is
            # the same in any order.
            for variable, value in zip(
                self.model.metrics_variables,
                _stored(self._metrics_to_restore, "metric", self.model.metrics_variables),
            ):
                variable.assign_add(value)
            self._metrics_to_restore = None
        if self.every is None:
            return
        done = batch + 1 + self._offset()
        per_epoch = self._steps_per_epoch()
        # The last batch of an epoch is backed up by on_epoch_end, after
        # validation: a backup "all batches done" would resume into an empty
        # partial epoch.
        if done < per_epoch and (self._epoch * per_epoch + done) % self.every == 0:
            self._save(self._epoch, done)

    def on_epoch_end(self, epoch, logs=None):
        self._save(epoch + 1, 0)

    def on_train_end(self, logs=None):
        if self.delete_when_done and self._epoch + 1 >= self.params.get("epochs", 0):
            shutil.rmtree(self.backup_dir, ignore_errors=True)

    def _offset(self) -> int:
        return self.skipped if self._epoch == self._first_epoch else 0

    def _steps_per_epoch(self) -> int:
        # In a fit that starts part-way into an epoch, `steps` counts the rest.
        return (self.params.get("steps") or 0) + self.skipped

    def _save(self, epoch: int, step: int) -> None:
        global_step = epoch * self._steps_per_epoch() + step
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        final = self.backup_dir / f"{_PREFIX}{global_step:09d}"
        tmp = Path(tempfile.mkdtemp(dir=self.backup_dir, prefix=".tmp-"))
        try:
            self.model.save_weights(str(tmp / _WEIGHTS))
            arrays = {f"random{i}": v.numpy() for i, v in enumerate(_random_state(self.model))}
            if step:
                arrays.update(
                    {f"metric{i}": v.numpy() for i, v in enumerate(self.model.metrics_variables)}
                )
            with open(tmp / _STATE, "wb") as handle:
                np.savez(handle, **arrays)
            manifest = {
                "epoch": epoch,
                "step": step,
                "sha256": {name: sha256_of(tmp / name) for name in (_WEIGHTS, _STATE)},
            }
            (tmp / _MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
            _fsync_dir(tmp)
            if final.exists():  # the same step again (an epoch end after a step backup)
                shutil.rmtree(final)
            os.replace(tmp, final)  # a whole folder appears at once
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self._prune()

    def _prune(self) -> None:
        for old in _folders_newest_first(self.backup_dir)[self.keep :]:
            shutil.rmtree(old, ignore_errors=True)
        for leftover in self.backup_dir.glob(".tmp-*"):  # from a killed process
            shutil.rmtree(leftover, ignore_errors=True)


def _random_state(model) -> list:
    """The model's variables that are neither weights nor optimizer state: the
    `SeedGenerator` states of dropout and random layers (`save_weights` skips them)."""
    weights = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in weights]


def _stored(arrays, prefix: str, variables) -> list:
    """The arrays saved for `variables` (`<prefix>0`, `<prefix>1`, ...), checked."""
    keys = sorted((k for k in arrays if k.startswith(prefix)), key=lambda k: int(k[len(prefix) :]))
    if len(keys) != len(variables):
        raise errors.RunDirError(
            f"The backup holds {len(keys)} {prefix} variables but the model has "
            f"{len(variables)}: it was taken from another model. Received: a backup of "
            f"another model; delete the backup folder or use a new run directory."
        )
    return [arrays[k] for k in keys]


def _fsync_dir(folder: Path) -> None:
    """Flushes the backup's files before the rename makes them visible."""
    for path in folder.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
