"""The teacher of a distillation run (`zoo train --teacher`): found, loaded, checked.

A teacher is a finished (or checkpointed) run directory, or shipped or
published weights named `arch.tag` (`zoo weights list`). Its classes must be
the student's dataset's, in the same order: the distillation loss compares
the two distributions class by class, so a teacher of another label order
would teach wrong answers without any error.

A text teacher brings its tokenizer: the student reads the very token ids
the teacher reads, so both must take the same kind of input (word ids for
`lstm` and `transformer_encoder_*`, WordPiece inputs for `bert_*`), and a
student started from text weights must have been trained on that tokenizer.

Example:

>>> teacher = load_teacher("kws_res8.spoken_commands", info.class_names)
>>> teacher.record["name"]
'kws_res8.spoken_commands'
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from zoo import data, errors, factory, pretrained, registry
from zoo.runs.rundir import RunDir


@dataclasses.dataclass(frozen=True)
class Teacher:
    """A loaded teacher.

    Args:
        model: keras.Model. The teacher, as trained (softmax output).
        record: dict. What the student's run records about it (source,
            model, weights name or run, its validation accuracy).
        tokenizer: WordTokenizer, WordPieceTokenizer or None. A text
            teacher's tokenizer; None for image and audio teachers.
    """

    model: object
    record: dict
    tokenizer: object = None


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
        tokenizer = run.load_tokenizer()
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
        tokenizer = data.pretrained_tokenizer(entry.model, entry.tag) if entry.tokenizer else None
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
    return Teacher(model, record, tokenizer)


def student_tokenizer(teacher: Teacher, student_input, weights_tokenizer=None):
    """The tokenizer a student of `teacher` trains with: the teacher's.

    Args:
        teacher: Teacher. As `load_teacher` returns it.
        student_input: InputSpec. The student's input (`spec.input`).
        weights_tokenizer: tokenizer or None. The one the student's starting
            weights were trained with (`--weights`), if any.

    Returns:
        The teacher's tokenizer, or None for an image or audio student.

    Raises:
        InvalidArgumentError: one of the two reads text and the other does
            not, the student takes another kind of token input, or its
            starting weights were trained on another vocabulary.

    Example:

    >>> tokenizer = student_tokenizer(teacher, zoo.registry.get_spec("lstm").input)
    """
    source = teacher.record["teacher"]
    teacher_input = registry.get_spec(teacher.record["model"]).input
    if teacher_input.kind != student_input.kind:
        raise errors.InvalidArgumentError(
            f"Teacher {source!r} and its student must read the same kind of input. "
            f"Received: teacher input {teacher_input.kind!r} ({teacher.record['model']}), "
            f"student input {student_input.kind!r}; accepted: a teacher of "
            f"{student_input.kind!r} input."
        )
    if not student_input.needs_tokenizer:
        return None
    student_kind = student_input.tokenizer
    if teacher.tokenizer is None:
        raise errors.InvalidArgumentError(
            f"Teacher {source!r} has no tokenizer, and a text student must read the token "
            f"ids its teacher was trained on. Received: {source!r}; accepted: a text run "
            f"directory of `zoo train`, or text weights trained on a dataset (e.g. "
            f"'lstm.sentiment')."
        )
    if teacher.tokenizer.kind != student_kind:
        raise errors.InvalidArgumentError(
            f"Teacher {source!r} reads {teacher.tokenizer.kind} token ids and the student "
            f"{student_kind} ones: the two would see different inputs. Received: teacher "
            f"tokenizer {teacher.tokenizer.kind!r}, student tokenizer {student_kind!r}; "
            f"accepted: a teacher of the student's tokenizer kind ({student_kind!r})."
        )
    if weights_tokenizer is not None and (
        list(weights_tokenizer.vocabulary) != list(teacher.tokenizer.vocabulary)
    ):
        raise errors.InvalidArgumentError(
            f"The student's starting weights were trained on another vocabulary than teacher "
            f"{source!r}'s tokenizer, so their token ids would mean other words. Received: "
            f"{weights_tokenizer.vocabulary_size} and {teacher.tokenizer.vocabulary_size} "
            f"tokens; accepted: a student started from scratch, or from weights of the "
            f"teacher's tokenizer."
        )
    return teacher.tokenizer
