"""Work-arounds for Keras 3 `model.fit` under tf.distribute strategies.

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
one.

A third (`patch_accumulation_over_replicas`): Keras 3.15 optimizers with
`gradient_accumulation_steps` fail in `fit` over several replicas ("merge_call
called while defining a new graph"): the update sits inside an `ops.cond`,
and TensorFlow allows no cross-replica merge there. The fix all-reduces in
the replica context first and takes the branch in the cross-replica context.
It is applied when a recipe compiles an accumulating model under a
strategy of several replicas.

They are written by hand because no released Keras fixes these yet.

Example:

>>> strategy = zoo.distribute.get_strategy("multi_worker")   # applies them
>>> # by hand: zoo.keras_fixes.patch_multi_worker_fit(zoo.distribute.is_multi_worker)
>>> with strategy.scope():
...     model = zoo.get_model("resnet20")
"""

from __future__ import annotations

from collections.abc import Callable

_PATCHED = False
_ACCUMULATION_PATCHED = False
# What the accumulation patch reads of a Keras optimizer: if a future Keras
# renames any of it, the patch is not applied (and recipes refuse instead).
_OPTIMIZER_METHODS = (
    "_get_variable_index",
    "_clip_gradients",
    "_use_weight_decay",
    "_distributed_tf_update_step",
    "_backend_apply_gradients",
)
_OPTIMIZER_STATE = ("_accumulated_gradients", "_iterations")


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


def patch_accumulation_over_replicas() -> bool:
    """Makes Keras' gradient accumulation train under a strategy of several replicas.

    Keras (3.15) applies an accumulating optimizer's update inside an
    `ops.cond` (update every N steps, else add to the accumulators), and each
    branch merges into the cross-replica context, which TensorFlow refuses
    inside a cond. The patched step does what Keras does, in an order
    TensorFlow accepts: in the replica context, each replica's
    `(gradients + accumulated) / N` is summed over the replicas and clipped
    as one device would clip it (every step: one all-reduce, where Keras
    would do one per update); then, in the cross-replica context, the cond
    either applies weight decay and the update (as Keras'
    `_apply_weight_decay` and `_distributed_tf_update_step` do) and zeroes
    the accumulators, or adds each replica's own gradients to its
    accumulators. Over one device, or without accumulation, Keras' own step
    runs. Idempotent.

    Returns:
        bool. True when the patch is in place; False when this Keras lacks
        an internal it relies on (Keras is then left as it is).

    Example:

    >>> zoo.keras_fixes.patch_accumulation_over_replicas()
    True
    """
    global _ACCUMULATION_PATCHED
    if _ACCUMULATION_PATCHED:
        return True
    import keras
    import tensorflow as tf
    from keras.src.backend.tensorflow import optimizer as tf_optimizer

    optimizer_cls = getattr(tf_optimizer, "TFOptimizer", None)
    if optimizer_cls is None or not all(hasattr(optimizer_cls, n) for n in _OPTIMIZER_METHODS):
        return False
    keras_step = optimizer_cls._backend_apply_gradients

    def _backend_apply_gradients(self, grads, trainable_variables):
        replica = tf.distribute.get_replica_context()
        strategy = getattr(self, "_distribution_strategy", None)
        if (
            not self.gradient_accumulation_steps
            or replica is None
            or strategy is None
            or strategy.num_replicas_in_sync < 2
            or not all(hasattr(self, n) for n in _OPTIMIZER_STATE)
        ):
            return keras_step(self, grads, trainable_variables)
        steps = self.gradient_accumulation_steps
        accumulators = [
            self._accumulated_gradients[self._get_variable_index(v)] for v in trainable_variables
        ]
        # Outside any cond: the update's gradients, summed over the replicas.
        local = [(g + a.value) / steps for g, a in zip(grads, accumulators)]
        update_grads = self._clip_gradients(replica.all_reduce(tf.distribute.ReduceOp.SUM, local))
        is_update_step = (self._iterations + 1) % steps == 0
        variables = [v.value if isinstance(v, keras.Variable) else v for v in trainable_variables]
        sums = [a.value for a in accumulators]

        def decay(variable):
            if self._use_weight_decay(variable):
                rate = tf.cast(self.learning_rate, variable.dtype)
                variable.assign_sub(variable * tf.cast(self.weight_decay, variable.dtype) * rate)

        def in_cross_replica_context(distribution, grads, update_grads):
            def update():
                if self.weight_decay is not None:  # Keras' `_apply_weight_decay`, unmerged
                    for variable in variables:
                        distribution.extended.update(variable, decay, group=False)
                self._distributed_tf_update_step(
                    distribution, list(zip(update_grads, variables)), self.learning_rate
                )
                for total in sums:
                    distribution.extended.update(
                        total, lambda v: v.assign(tf.zeros_like(v)), group=False
                    )

            def accumulate():
                # Each replica adds its own gradients, as in Keras' own step.
                for grad, total in zip(grads, sums):
                    distribution.extended.update(
                        total, lambda v, g: v.assign_add(g), args=(grad,), group=False
                    )

            tf.cond(is_update_step, update, accumulate)

        tf.__internal__.distribute.interim.maybe_merge_call(
            in_cross_replica_context, strategy, grads, update_grads
        )

    optimizer_cls._backend_apply_gradients = _backend_apply_gradients
    _ACCUMULATION_PATCHED = True
    return True
