"""The teacher of a distillation run (`zoo train --teacher`): found, loaded, checked.

A teacher is a finished (or checkpointed) run directory, or shipped or
published weights named `arch.tag` (`zoo weights list`). Its classes must be
the student's dataset's, in the same order: the distillation loss compares
the two distributions class by class, so a teacher of another label order
would teach wrong answers without any error.

Example:

>>> teacher = load_teacher("kws_res8.spoken_commands", info.class_names)
>>> teacher.record["name"]
'kws_res8.spoken_commands'
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from zoo import errors, factory, pretrained
from zoo.runs.rundir import RunDir


@dataclasses.dataclass(frozen=True)
class Teacher:
    """A loaded teacher.

    Args:
        model: keras.Model. The teacher, as trained (softmax output).
        record: dict. What the student's run records about it (source,
            model, weights name or run, its validation accuracy).
    """

    model: object
    record: dict


def load_teacher(source: str, class_names) -> Teacher:
    """Loads the teacher `source` names and checks it fits the dataset's classes.

    Build under the student's strategy scope: the teacher's variables must
    live where the student's do.

    Args:
        source: str. A run directory (holding `config.json`) or a weights
            name `arch.tag` from `zoo weights list`.
        class_names: list of str. The student's dataset's classes, in order.

    Raises:
        InvalidArgumentError: `source` is neither, or its classes differ.
        RunDirError, WeightsError: the run or the weights cannot be loaded.
    """
    path = Path(str(source))
    run = RunDir(path)
    if run.has_config():
        config = run.read_config()
        model = run.load_model()
        labels = config.get("labels")
        record = {
            "teacher": str(source),
            "model": config.get("model"),
            "dataset": config.get("dataset"),
            "val_accuracy": (config.get("metrics") or {}).get("accuracy"),
            "completed": bool(config.get("completed")),
        }
    elif path.exists() or "." not in str(source):
        raise errors.InvalidArgumentError(
            f"Unknown teacher {str(source)!r}. Accepted: a run directory of `zoo train` (it "
            f"holds config.json), or a weights name arch.tag from `zoo weights list` (e.g. "
            f"'kws_res8.spoken_commands')."
        )
    else:
        entry = pretrained.find(str(source))
        model = factory.get_model(entry.model, weights=entry.tag)
        labels = entry.class_names()
        record = {
            "teacher": str(source),
            "model": entry.model,
            "dataset": entry.dataset,
            "name": entry.name,
            "sha256": entry.sha256,
            "val_accuracy": entry.metrics.get("accuracy"),
        }
    if labels and list(labels) != list(class_names):
        raise errors.InvalidArgumentError(
            f"Teacher {str(source)!r} was trained on other classes than the student's dataset "
            f"(or in another order). Received: teacher classes {list(labels)}, dataset classes "
            f"{list(class_names)}; accepted: a teacher trained on the same dataset."
        )
    return Teacher(model, record)
