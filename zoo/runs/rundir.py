"""`RunDir`: one training run on disk: its layout, config, identity and model.

    config.json          model, overrides, dataset, recipe, labels, status, the
                         weights a fine-tuning run started from
    model.keras          the final model (written when training completes)
    checkpoints/best.keras  best validation accuracy so far
    backup/              StepBackup state while a run is in progress
    logs/                TensorBoard
    history.csv          one row per epoch (appended on resume)
    curves.png           loss and accuracy curves
    tokenizer/           text runs: the tokenizer the model was trained with
    .lock                held (flock) by the process training into the directory

Example:

>>> run = RunDir("runs/r20")
>>> config, model = run.load()
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from zoo import errors, saving
from zoo.data import tokenizers
from zoo.fs import RunLayout, replace_atomic, write_json_atomic

# Keys of config.json that must match for a run to be resumed: another batch
# size, say, would rebuild the learning-rate schedule from another number of
# steps per epoch.
IDENTITY = (
    "model",
    "overrides",
    "dataset",
    "recipe_name",
    "batch_size",
    "seed",
    "weights",
    "distill",
)


class RunDir(RunLayout):
    """A run directory: reads, checks and writes the files of `RunLayout`.

    Args:
        root: str or Path. The run directory (need not exist yet).

    Example:

    >>> RunDir("runs/r20").read_config()["model"]
    'resnet20'
    """

    def has_config(self) -> bool:
        return self.config.is_file()

    def worker(self, name: str) -> RunDir:
        """Where a non-chief worker of a cluster keeps its files (backup, logs)."""
        return RunDir(self.root / "workers" / name)

    def check_writable(self) -> None:
        """Fails before any work when the root cannot become a directory."""
        existing = self.root
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            what = "is not a directory" if not existing.is_dir() else "is not writable"
            raise errors.RunDirError(
                f"Cannot use {str(self.root)!r} as a run directory: {str(existing)!r} {what}. "
                f"Pass a directory path that can be created or written."
            )

    @contextlib.contextmanager
    def lock(self):
        """Holds the run's lock for the body; a second trainer gets `RunDirError`.

        An advisory `flock` on `.lock`, which the system releases when the
        process dies (SIGKILL included), so a crashed run never leaves a stale
        lock behind. Without `fcntl` (Windows) there is no lock. A directory
        this call had to create is removed again if nothing else was written.

        Raises:
            RunDirError: another process holds the lock.

        Example:

        >>> with RunDir("runs/r20").lock():
        ...     train_into("runs/r20")
        """
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; documented
            yield
            return
        created = not self.root.exists()
        self.root.mkdir(parents=True, exist_ok=True)
        handle = open(self.lock_file, "a+")  # noqa: SIM115  (held for the body)
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                raise errors.RunDirError(
                    f"Run directory {str(self.root)!r} is being written by another zoo train "
                    f"process (pid {holder}). Wait for it to finish (a rerun then resumes or "
                    f"reports the finished run), or train into another --out directory."
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        finally:
            handle.close()
            if created and [p.name for p in self.root.iterdir()] == [self.lock_file.name]:
                self.lock_file.unlink()
                self.root.rmdir()

    def read_config(self) -> dict:
        """The run's `config.json`.

        Raises:
            RunDirError: no config, or not valid JSON.
        """
        import json

        if not self.config.is_file():
            raise errors.RunDirError(
                f"{str(self.root)!r} is not a run directory (no {self.config.name}). Pass a "
                f"directory written by `zoo train`."
            )
        try:
            return json.loads(self.config.read_text())
        except ValueError as err:
            raise errors.RunDirError(f"{self.config} is not valid JSON: {err}.") from err

    def write_config(self, config: dict) -> None:
        """Writes `config.json` atomically (a crash never leaves half of it)."""
        write_json_atomic(self.config, config)

    def check_same_run(self, previous: dict, config: dict, identity=IDENTITY) -> None:
        """Refuses to resume a run whose identity (`IDENTITY`) differs.

        Args:
            previous: dict. The config on disk.
            config: dict. The config of the new call.
            identity: tuple of str. The keys that must agree.
        """
        changed = [k for k in identity if previous.get(k) != config[k]]
        if changed:
            details = ", ".join(f"{k}: {previous.get(k)!r} -> {config[k]!r}" for k in changed)
            raise errors.RunDirError(
                f"Run directory {str(self.root)!r} belongs to another run ({details}). "
                f"Use a new --out directory, or delete this one."
            )

    def start(self, config: dict, tokenizer=None, resume_epoch: int | None = None) -> bool:
        """Creates the directory, saves the tokenizer and config; True if resuming.

        A run that died before its first backup starts over, so its history
        rows and any stale backup are dropped; a resumed run keeps the rows
        of the epochs before the one it resumes in (a row written after the
        backup it resumes from would otherwise appear twice).

        Args:
            config: dict. The run's config (written with `completed=False`).
            tokenizer: WordTokenizer, WordPieceTokenizer or None.
            resume_epoch: int or None. The epoch the run resumes in; None
                for a run that starts from scratch.
        """
        resumed = resume_epoch is not None
        if not resumed:
            self.history.unlink(missing_ok=True)
            shutil.rmtree(self.backup, ignore_errors=True)
        elif self.history.exists():
            _keep_history_before(self.history, resume_epoch)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise errors.RunDirError(
                f"Cannot create the run directory {str(self.root)!r}: {err}. Pass a writable "
                f"directory path."
            ) from err
        if tokenizer is not None:
            tokenizer.save(self.tokenizer)
        self.write_config({**config, "completed": False})
        return resumed

    def save_model(self, model) -> None:
        """Saves the final model atomically."""
        replace_atomic(self.final_model, lambda tmp: model.save(str(tmp)))

    def load_model(self, check_task: bool = True):
        """The final model, or the best checkpoint when training has not finished.

        Loads with `zoo.load_model` (every zoo class registered, `safe_mode`
        on, not compiled).

        Args:
            check_task: bool. Refuse a pretraining run (`zoo.pretrain`): it
                holds no classifier to evaluate, export, publish or teach.

        Raises:
            RunDirError: no model yet; a pretraining run; a file that is
                corrupt, or that `safe_mode` refused because loading it could
                execute code.

        Example:

        >>> RunDir("runs/r20").load_model().name
        'resnet20'
        """
        config = self.read_config() if check_task and self.has_config() else {}
        if config.get("task") is not None:
            task, model = config["task"], config.get("model")
            raise errors.RunDirError(
                f"Run directory {str(self.root)!r} is a {task} pretraining run of {model!r}: it "
                f"has no classifier to evaluate, export, publish or teach with. Fine-tune one "
                f"from it: zoo train {model} --dataset DATASET --weights {self.root}"
            )
        for candidate in (self.final_model, self.best_checkpoint):
            if candidate.is_file():
                try:
                    return saving.load_model(candidate, compile=False)
                except errors.ModelFileError as err:  # the message names the file
                    raise errors.RunDirError(str(err)) from err
        raise errors.RunDirError(
            f"Run directory {str(self.root)!r} holds no trained model yet "
            f"({self.final_model.name} or checkpoints/best.keras). Run `zoo train` into it "
            f"first."
        )

    def load(self):
        """`(config, model)`: see `read_config` and `load_model`."""
        return self.read_config(), self.load_model()

    def load_tokenizer(self):
        """The tokenizer a text run was trained with, or None (image runs, new runs)."""
        if not self.tokenizer.is_dir():
            return None
        return tokenizers.load_tokenizer(self.tokenizer)


def as_run_dir(run_dir) -> RunDir:
    """`run_dir` as a `RunDir` (a str, Path or RunDir)."""
    return run_dir if isinstance(run_dir, RunDir) else RunDir(Path(run_dir))


def _keep_history_before(path: Path, epoch: int) -> None:
    """Drops the rows of `history.csv` for epochs >= `epoch` (0-based, as Keras logs)."""
    import csv

    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows or "epoch" not in rows[0]:
        return
    column = rows[0].index("epoch")
    kept = [rows[0]] + [r for r in rows[1:] if r and r[column].isdigit() and int(r[column]) < epoch]
    if len(kept) == len(rows):
        return

    def write(tmp):
        with open(tmp, "w", newline="") as handle:
            csv.writer(handle).writerows(kept)

    replace_atomic(path, write)
