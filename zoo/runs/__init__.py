"""Training runs on disk: `RunDir`, and train, evaluate, export and publish them.

Example:

>>> result = zoo.train("resnet20", "digits", "runs/r20", epochs=3, seed=0)
>>> zoo.evaluate("runs/r20")["accuracy"]
0.97
>>> zoo.runs.RunDir("runs/r20").read_config()["recipe_name"]
'digits_resnet'
"""

from zoo.runs.evaluation import evaluate, evaluate_weights, export_run
from zoo.runs.plots import plot_history
from zoo.runs.pretrainer import pretrain
from zoo.runs.publish import publish_run
from zoo.runs.rundir import RunDir
from zoo.runs.trainer import TrainResult, fit_overrides_to_dataset, recipe_for, train

__all__ = [
    "RunDir",
    "TrainResult",
    "evaluate",
    "evaluate_weights",
    "export_run",
    "fit_overrides_to_dataset",
    "plot_history",
    "pretrain",
    "publish_run",
    "recipe_for",
    "train",
]
