"""`zoo.training`: the documented home of `train`, `evaluate` and `export_run`.

They live in `zoo.runs` (a run directory, its training loop, evaluation,
export and publishing); this module keeps the documented paths working.

Example:

>>> result = zoo.training.train("resnet20", "digits", "runs/r20", epochs=3)
>>> print(zoo.training.export_run("runs/r20", "out/r20"))
"""

from zoo.runs import (  # noqa: F401
    RunDir,
    TrainResult,
    evaluate,
    export_run,
    fit_overrides_to_dataset,
    plot_history,
    pretrain,
    recipe_for,
    train,
)


def load_run(run_dir):
    """`(config, model)` of a run directory (see `RunDir.load`).

    Args:
        run_dir: str or Path. A directory written by `train`.
    """
    return RunDir(run_dir).load()


def load_tokenizer(run_dir):
    """The tokenizer a text run was trained with, or None (see `RunDir.load_tokenizer`).

    Args:
        run_dir: str or Path. A run directory.
    """
    return RunDir(run_dir).load_tokenizer()
