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
import itertools
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
        kind: str. The teacher's input kind (`"image"`, `"text"`, `"audio"`).
        tokenizer: WordTokenizer, WordPieceTokenizer or None. A text
            teacher's tokenizer; None for image and audio teachers.
    """

    model: object
    record: dict
    kind: str
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
        # The run records its input; a teacher need not be registered here.
        kind = (config.get("input_spec") or {}).get("modality") or _registered_kind(
            config.get("model")
        )
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
        tokenizer = data.pretrained_tokenizer(entry.model, entry.name) if entry.tokenizer else None
        kind = _registered_kind(entry.model)
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
    return Teacher(model, record, kind, tokenizer)


def _registered_kind(name) -> str:
    """The input kind of a registered model; "" when `name` is not registered here."""
    return registry.get_spec(name).modality if name in registry.list_models() else ""


def student_tokenizer(teacher: Teacher, student_input, trained_on=None):
    """The tokenizer a student of `teacher` trains with: the teacher's.

    Args:
        teacher: Teacher. As `load_teacher` returns it.
        student_input: InputSpec. The built student's (`TokenInput.from_model`
            for text: its vocabulary size and sequence length are checked).
        trained_on: dict or None. Vocabularies the student's weights already
            know, by where they come from (e.g. `{"starting weights
            'en_uncased'": [...], "resumed run": [...]}`); None values skip.

    Returns:
        The teacher's tokenizer, or None for an image or audio student.

    Raises:
        InvalidArgumentError: the two read different kinds of input or token
            input, the teacher's token ids do not fit the student, or the
            student's weights know another vocabulary.

    Example:

    >>> tokenizer = student_tokenizer(teacher, TokenInput.from_model(student))
    """
    source = teacher.record["teacher"]
    if teacher.kind and teacher.kind != student_input.kind:
        raise errors.InvalidArgumentError(
            f"Teacher {source!r} and its student must read the same kind of input. "
            f"Received: teacher input {teacher.kind!r} ({teacher.record.get('model')}), "
            f"student input {student_input.kind!r}; accepted: a teacher of "
            f"{student_input.kind!r} input."
        )
    if not student_input.needs_tokenizer:
        return None
    taught = teacher.tokenizer
    if taught is None:
        raise errors.InvalidArgumentError(
            f"Teacher {source!r} has no tokenizer, and a text student must read the token "
            f"ids its teacher was trained on. Received: {source!r}; accepted: a text run "
            f"directory of `zoo train`, or text weights trained on a dataset (e.g. "
            f"'lstm.sentiment')."
        )
    if taught.kind != student_input.tokenizer:
        raise errors.InvalidArgumentError(
            f"Teacher {source!r} reads {taught.kind} token ids and the student "
            f"{student_input.tokenizer} ones: the two would see different inputs. Received: "
            f"teacher tokenizer {taught.kind!r}, student tokenizer "
            f"{student_input.tokenizer!r}; accepted: a teacher of the student's tokenizer kind."
        )
    for size, length, key in (
        (taught.vocabulary_size, student_input.vocabulary_size, "vocabulary_size"),
        (taught.sequence_length, student_input.length, "sequence_length"),
    ):
        if length is not None and size > length:
            raise errors.InvalidArgumentError(
                f"Teacher {source!r}'s tokenizer does not fit the student. Received: its "
                f"{key} {size}, the student's {key}={length}; accepted: a student with "
                f"{key} >= {size} (zoo train --set {key}={size})."
            )
    for where, vocabulary in (trained_on or {}).items():
        if vocabulary is not None and list(vocabulary) != list(taught.vocabulary):
            pairs = itertools.zip_longest(vocabulary, taught.vocabulary)
            index, (theirs, ours) = next((i, p) for i, p in enumerate(pairs) if p[0] != p[1])
            raise errors.InvalidArgumentError(
                f"The student's {where} know another vocabulary than teacher {source!r}'s "
                f"tokenizer, so their token ids would mean other words. Received: id {index} "
                f"is {theirs!r} there and {ours!r} in the teacher's ({len(vocabulary)} and "
                f"{taught.vocabulary_size} tokens); accepted: a student of the teacher's "
                f"vocabulary, or one started from scratch."
            )
    return taught
