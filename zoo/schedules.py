"""Learning-rate schedules Keras does not ship.

Keras has cosine decay with warmup (`CosineDecay(warmup_target=...)`) but no
linear warmup followed by linear decay, the schedule BERT fine-tuning was
published with (Devlin et al. 2019, appendix A.3), so it is written here.
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="zoo")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup from 0 to `peak`, then linear decay to 0 at `total_steps`.

    Args:
        peak: float. The learning rate at the end of warmup.
        warmup_steps: int. Steps of linear warmup (0 for none).
        total_steps: int. Steps of the whole run; the rate is 0 from there on.

    Example:

    >>> schedule = WarmupLinearDecay(3e-5, warmup_steps=100, total_steps=1000)
    >>> float(schedule(550))
    1.5e-05
    """

    def __init__(self, peak: float, warmup_steps: int, total_steps: int):
        self.peak = float(peak)
        self.warmup_steps = int(warmup_steps)
        self.total_steps = int(total_steps)

    def __call__(self, step):
        from keras import ops

        step = ops.cast(step, "float32")
        warmup = float(max(self.warmup_steps, 1))
        decay = float(max(self.total_steps - self.warmup_steps, 1))
        rising = self.peak * step / warmup
        falling = self.peak * (self.total_steps - step) / decay
        rate = ops.where(step < self.warmup_steps, rising, falling)
        return ops.maximum(rate, 0.0)

    def get_config(self) -> dict:
        return {
            "peak": self.peak,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
        }


@keras.saving.register_keras_serializable(package="zoo")
class TwoPhase(keras.optimizers.schedules.LearningRateSchedule):
    """`first` for `boundary` steps, then the schedule `then` restarted at step 0.

    Fine-tuning trains the new head alone at a recipe's rate, then the whole
    network on a schedule of its own at a lower rate (`zoo.finetune`). Keras'
    `PiecewiseConstantDecay` holds constants only, so the two are joined here.

    Args:
        first: float. The rate of the first phase.
        boundary: int. Steps of the first phase.
        then: float or LearningRateSchedule. The second phase's rate, called
            with the steps since `boundary`.

    Example:

    >>> schedule = TwoPhase(0.05, 100, keras.optimizers.schedules.CosineDecay(5e-3, 900))
    >>> float(schedule(100))
    0.005
    """

    def __init__(self, first: float, boundary: int, then):
        self.first = float(first)
        self.boundary = int(boundary)
        if isinstance(then, dict):  # from get_config
            then = keras.saving.deserialize_keras_object(then)
        self.then = then

    def __call__(self, step):
        from keras import ops

        step = ops.cast(step, "float32")
        later = ops.maximum(step - self.boundary, 0.0)
        second = self.then(later) if callable(self.then) else self.then
        return ops.where(step < self.boundary, self.first, ops.cast(second, "float32"))

    def get_config(self) -> dict:
        then = self.then
        if callable(then):
            then = keras.saving.serialize_keras_object(then)
        return {"first": self.first, "boundary": self.boundary, "then": then}
