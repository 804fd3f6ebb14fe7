"""Work-arounds for Keras 3 `model.fit` under `MultiWorkerMirroredStrategy`.

Keras 3.13 with TensorFlow 2.21 cannot `fit` under a multi-worker strategy
(keras-team/keras#20585, tensorflow/tensorflow#72388); two places fail when
there is more than one worker:

1. `TensorFlowTrainer._maybe_symbolic_build` reduces the first distributed
   batch across workers only to learn its shapes, and the collective reduce
   rejects the nested batch ("Attempt to convert a value (PerReplica...)").
   The fix builds from this worker's own part of the batch: same shapes.
2. `reduce_per_replica` reduces scalar logs (loss, metrics) with
   `strategy.reduce("MEAN", v, axis=0)`, which fails on a scalar. Keras
   metric variables are already summed over every replica of every worker
   when they update, so each worker holds the global value; the fix reads
   the local copy (Keras' own `"first"` reduction).

Both patches change nothing unless a multi-worker strategy with more than
one worker is in use, and are applied once, when `zoo.distribute` creates
one. They are written by hand because no released Keras fixes this yet.

Example:

>>> strategy = zoo.distribute.get_strategy("multi_worker")   # applies them
>>> # by hand: zoo.keras_fixes.patch_multi_worker_fit(zoo.distribute.is_multi_worker)
>>> with strategy.scope():
...     model = zoo.get_model("resnet20")
"""

from __future__ import annotations

from collections.abc import Callable

_PATCHED = False


def patch_multi_worker_fit(is_multi_worker: Callable[[object], bool]) -> None:
    """Makes `model.fit` / `evaluate` work under a multi-worker strategy.

    Idempotent. Raises nothing if a future Keras renames the patched
    internals: it then leaves Keras as it is.

    Args:
        is_multi_worker: callable. Tells whether a strategy spans several
            workers (`zoo.distribute.is_multi_worker`); passed in, so this
            module sits below `zoo.distribute` with no import back.
    """
    global _PATCHED
    if _PATCHED:
        return
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer as tf_trainer

    trainer_cls = getattr(tf_trainer, "TensorFlowTrainer", None)
    original_build = getattr(trainer_cls, "_maybe_symbolic_build", None)
    original_reduce = getattr(tf_trainer, "reduce_per_replica", None)
    if original_build is None or original_reduce is None:
        return

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if iterator is None or strategy is None or not is_multi_worker(strategy):
            return original_build(self, iterator=iterator, data_batch=data_batch)
        for _, _, batches in iterator:
            data_batch = tf.nest.map_structure(
                lambda v: (
                    strategy.experimental_local_results(v)[0]
                    if isinstance(v, tf.distribute.DistributedValues)
                    else v
                ),
                next(batches),
            )
            break
        return original_build(self, data_batch=data_batch)

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and is_multi_worker(strategy):
            reduction = "first"  # the values are already global; see the module doc
        return original_reduce(values, strategy, reduction)

    trainer_cls._maybe_symbolic_build = _maybe_symbolic_build
    tf_trainer.reduce_per_replica = reduce_per_replica
    _PATCHED = True
