"""Training recipes: typed, registered by name, applied with `Recipe.compile`.

A recipe holds everything `model.compile` and `model.fit` need beyond the
model and the data: optimizer, learning-rate schedule, weight decay, label
smoothing, loss, metrics, epochs, batch size and augmentation policy. The
learning rate is given at `reference_batch` and scaled to the global batch
when compiling, so the same recipe works on one CPU or eight GPUs.

Example:

>>> recipe = zoo.get_recipe("resnet20")      # the model's default recipe
>>> recipe.name, recipe.optimizer, recipe.learning_rate
('cifar_resnet', 'sgd', 0.1)
>>> recipe.compile(model, steps_per_epoch=len(train))
>>> model.fit(train, epochs=recipe.epochs, callbacks=recipe.callbacks("runs/r20"))
"""

from __future__ import annotations

import contextlib
import dataclasses
import math

from zoo import errors, registry, validation
from zoo.fs import RunLayout
from zoo.inputs import AUGMENTATIONS

OPTIMIZERS = ("sgd", "adamw", "adam")
SCHEDULES = ("cosine", "linear", "constant")
LR_SCALING = ("linear", "sqrt", "none")
# Keras dtype policies: variables stay float32 under the mixed ones.
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A named, validated training recipe.

    Args:
        name: str. Registry name.
        description: str. Where the numbers come from.
        optimizer: str. `"sgd"` (with momentum), `"adamw"` or `"adam"`.
        learning_rate: float. Peak learning rate at `reference_batch`.
        reference_batch: int. Global batch the learning rate was tuned for.
        lr_scaling: str. How the rate follows the global batch: `"linear"`
            (Goyal et al. 2017), `"sqrt"` or `"none"`.
        momentum: float. SGD momentum (ignored by Adam variants).
        nesterov: bool. Nesterov momentum for SGD.
        weight_decay: float. L2-equivalent decay strength (see
            `optimizer_weight_decay`). Norm scales and biases are not decayed.
        warmup_epochs: float. Linear warmup from 0 to the peak rate.
        schedule: str. `"cosine"` or `"linear"` decay to 0 after warmup, or
            `"constant"`.
        label_smoothing: float. In [0, 1).
        epochs: int. Training epochs.
        batch_size: int. Global batch size.
        augmentation: str. Pipeline augmentation policy (`"cifar"`,
            `"imagenet"`, `"shift"`, `"none"`).
        from_logits: bool. Whether the model outputs logits (zoo models
            output probabilities by default).
        metrics: tuple of str. Keras metric names.
        precision: str. Keras dtype policy the model is built under
            (`PRECISIONS`): `"mixed_float16"` (GPUs; Keras wraps the optimizer
            in a `LossScaleOptimizer`) or `"mixed_bfloat16"` compute in 16
            bits with float32 variables, outputs and losses. Build the model
            inside `precision_scope()`; exports are float32 either way.
        jit_compile: bool. Compile train and eval steps with XLA (Keras'
            "auto" leaves it off on CPU and under tf.distribute).
        accumulate: int. Gradient accumulation: average the gradients of
            this many batches before each update (Keras'
            `gradient_accumulation_steps`), so `batch_size * accumulate` is the
            effective batch the learning rate is scaled to.
        ema: bool. Keep an exponential moving average of the weights (Keras'
            `use_ema`); `fit` writes it into the model when training ends, so
            the saved and exported model holds the averaged weights.
        ema_momentum: float. The average's momentum.
        finetune: bool. Start-from-weights training (`zoo.finetune`):
            `compile` and `callbacks` add a frozen-backbone warm-up, then
            the whole network at a lower rate. `zoo.train(..., weights=...)`
            sets it.
        finetune_warmup_epochs: int. Epochs with the backbone frozen (batch
            norm in inference mode), the head training at `learning_rate`;
            at most `epochs - 1`.
        finetune_lr_scale: float. The whole network then trains at
            `learning_rate * finetune_lr_scale`, on `schedule` over the
            remaining epochs.
        finetune_layer_decay: float. Layer-wise learning-rate decay in
            (0, 1] for encoders of numbered layers (BERT): layer `i` of `n`
            trains at `decay ** (n - i)` times the rate, embeddings at
            `decay ** (n + 1)`; 1 turns it off.
        finetune_freeze_batchnorm: bool. Keep batch norm in inference mode
            after the warm-up too (Keras' transfer-learning guide).

    Example:

    >>> recipe = zoo.get_recipe("cifar_resnet").replace(epochs=30)
    >>> fast = recipe.replace(precision="mixed_bfloat16", accumulate=2, ema=True)
    """

    name: str
    description: str = ""
    optimizer: str = "sgd"
    learning_rate: float = 0.1
    reference_batch: int = 128
    lr_scaling: str = "linear"
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 1e-4
    warmup_epochs: float = 0.0
    schedule: str = "cosine"
    label_smoothing: float = 0.0
    epochs: int = 10
    batch_size: int = 128
    augmentation: str = "none"
    from_logits: bool = False
    metrics: tuple = ("accuracy",)
    precision: str = "float32"
    jit_compile: bool = False
    accumulate: int = 1
    ema: bool = False
    ema_momentum: float = 0.99
    finetune: bool = False
    finetune_warmup_epochs: int = 1
    finetune_lr_scale: float = 0.1
    finetune_layer_decay: float = 1.0
    finetune_freeze_batchnorm: bool = True

    def __post_init__(self):
        validation.check_choice("optimizer", self.optimizer, OPTIMIZERS)
        validation.check_choice("schedule", self.schedule, SCHEDULES)
        validation.check_choice("lr_scaling", self.lr_scaling, LR_SCALING)
        validation.check_choice("augmentation", self.augmentation, tuple(AUGMENTATIONS))
        validation.check_positive_int("epochs", self.epochs)
        validation.check_positive_int("batch_size", self.batch_size)
        validation.check_positive_int("reference_batch", self.reference_batch)
        validation.check_fraction("label_smoothing", self.label_smoothing)
        validation.check_fraction("momentum", self.momentum)
        validation.check_choice("precision", self.precision, PRECISIONS)
        validation.check_positive_int("accumulate", self.accumulate)
        validation.check_fraction("ema_momentum", self.ema_momentum)
        validation.check_positive_int(
            "finetune_warmup_epochs", self.finetune_warmup_epochs, minimum=0
        )
        for key in ("finetune_lr_scale", "finetune_layer_decay"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
                raise errors.InvalidArgumentError(
                    f"{key} must be a number in (0, 1]. Received: {key}={value!r}."
                )
        for key in (
            "nesterov",
            "from_logits",
            "jit_compile",
            "ema",
            "finetune",
            "finetune_freeze_batchnorm",
        ):
            if not isinstance(getattr(self, key), bool):
                raise errors.InvalidArgumentError(
                    f"{key} must be True or False. Received: {key}={getattr(self, key)!r}."
                )
        for key in ("learning_rate", "weight_decay", "warmup_epochs"):
            value = getattr(self, key)
            # `not value >= 0` also refuses NaN, which compares false to everything.
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0 <= value < math.inf
            ):
                raise errors.InvalidArgumentError(
                    f"{key} must be a finite number >= 0. Received: {key}={value!r}."
                )
        if isinstance(self.metrics, str) or not all(
            isinstance(m, str) and m for m in _iterable(self.metrics)
        ):
            raise errors.InvalidArgumentError(
                f"metrics must be a tuple of Keras metric names, e.g. ('accuracy',). "
                f"Received: metrics={self.metrics!r}."
            )
        if self.learning_rate == 0:
            raise errors.InvalidArgumentError(
                "learning_rate must be > 0. Received: learning_rate=0."
            )

    def replace(self, **changes) -> Recipe:
        """A copy with some fields changed (validated like the original).

        Args:
            **changes: field names and new values, e.g. `epochs=5`.

        Example:

        >>> zoo.get_recipe("digits_resnet").replace(epochs=3).epochs
        3
        """
        fields = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - fields)
        if unknown:
            raise errors.InvalidArgumentError(
                f"Unknown recipe field(s) {unknown}. Accepted: {', '.join(sorted(fields))}."
            )
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def scaled_learning_rate(self, global_batch_size: int) -> float:
        """The peak learning rate for `global_batch_size` (times `accumulate`).

        Args:
            global_batch_size: int. Examples per step over all replicas; an
                update averages `accumulate` such steps.

        Example:

        >>> zoo.get_recipe("cifar_resnet").scaled_learning_rate(256)
        0.2
        """
        validation.check_positive_int("global_batch_size", global_batch_size)
        ratio = global_batch_size * self.accumulate / self.reference_batch
        factor = {"linear": ratio, "sqrt": math.sqrt(ratio), "none": 1.0}[self.lr_scaling]
        return self.learning_rate * factor

    def optimizer_weight_decay(self) -> float:
        """The `weight_decay` to give the Keras optimizer.

        Keras optimizers decay decoupled (`w -= lr * wd * w` each step). With
        SGD momentum m, an L2 penalty's gradient is amplified by 1 / (1 - m)
        in steady state, so the coupled strength of the papers maps to
        wd / (1 - m). AdamW's decay is decoupled by definition and is passed
        as is.
        """
        if self.optimizer == "sgd":
            return self.weight_decay / (1.0 - self.momentum)
        return self.weight_decay

    def finetune_warmup(self) -> int:
        """Epochs with the backbone frozen when fine-tuning (0 if not fine-tuning).

        `finetune_warmup_epochs`, but at most `epochs - 1`, so that the whole
        network trains for at least one epoch.
        """
        return min(self.finetune_warmup_epochs, self.epochs - 1) if self.finetune else 0

    def learning_rate_schedule(self, steps_per_epoch: int, global_batch_size: int):
        """A Keras schedule: linear warmup then cosine decay (or constant).

        When fine-tuning, `finetune_warmup()` epochs at the peak rate come
        first (the head alone), then this schedule at `finetune_lr_scale`
        times the rate over the remaining epochs (`zoo.schedules.TwoPhase`).

        Args:
            steps_per_epoch: int. Optimizer steps in one epoch.
            global_batch_size: int. For the learning-rate scaling rule.
        """
        import keras

        validation.check_positive_int("steps_per_epoch", steps_per_epoch)
        if self.finetune:
            from zoo.schedules import TwoPhase  # here: zoo.schedules imports keras

            warmup = self.finetune_warmup()
            then = self.replace(
                finetune=False,
                epochs=self.epochs - warmup,
                learning_rate=self.learning_rate * self.finetune_lr_scale,
            ).learning_rate_schedule(steps_per_epoch, global_batch_size)
            peak = self.scaled_learning_rate(global_batch_size)
            return TwoPhase(peak, warmup * steps_per_epoch, then) if warmup else then
        peak = self.scaled_learning_rate(global_batch_size)
        total = steps_per_epoch * self.epochs
        warmup = min(int(round(self.warmup_epochs * steps_per_epoch)), total - 1)
        if self.schedule == "constant" and not warmup:
            return peak
        if self.schedule == "linear":
            from zoo.schedules import WarmupLinearDecay  # here: zoo.schedules imports keras

            return WarmupLinearDecay(peak, warmup_steps=warmup, total_steps=total)
        if self.schedule == "constant":
            return keras.optimizers.schedules.CosineDecay(
                0.0, decay_steps=total, alpha=1.0, warmup_target=peak, warmup_steps=warmup
            )
        if not warmup:
            return keras.optimizers.schedules.CosineDecay(peak, decay_steps=total)
        return keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=total - warmup, warmup_target=peak, warmup_steps=warmup
        )

    def build_optimizer(
        self, steps_per_epoch: int, global_batch_size: int | None = None, lr_scales=None
    ):
        """The Keras optimizer with schedule and weight decay.

        Args:
            steps_per_epoch: int. Optimizer steps in one epoch.
            global_batch_size: int or None. Defaults to `batch_size`.
            lr_scales: dict or None. Learning-rate factor per variable path
                (`zoo.finetune.layer_scales`); None for one rate.
        """
        import keras

        classes = {
            "sgd": keras.optimizers.SGD,
            "adamw": keras.optimizers.AdamW,
            "adam": keras.optimizers.Adam,
        }
        # The schedule counts batches, not updates (Keras' schedules read the
        # optimizer's batch counter), so its length is the same with accumulation.
        lr = self.learning_rate_schedule(steps_per_epoch, global_batch_size or self.batch_size)
        decay = self.optimizer_weight_decay() or None
        common = dict(
            gradient_accumulation_steps=self.accumulate if self.accumulate > 1 else None,
            use_ema=self.ema,
            ema_momentum=self.ema_momentum,
        )
        if lr_scales:
            from zoo.finetune import LAYER_SCALED  # here: zoo.finetune imports keras

            classes, common = LAYER_SCALED, {**common, "lr_scales": lr_scales}
        if self.optimizer == "sgd":
            opt = classes["sgd"](
                lr, momentum=self.momentum, nesterov=self.nesterov, weight_decay=decay, **common
            )
        elif self.optimizer == "adamw":
            opt = classes["adamw"](lr, weight_decay=decay or 0.0, **common)
        else:
            opt = classes["adam"](lr, weight_decay=decay, **common)
        if decay:
            # Decaying norm scales and biases only hurts (Goyal et al. 2017).
            opt.exclude_from_weight_decay(var_names=["gamma", "beta", "bias"])
        return opt

    def build_loss(self):
        """Cross-entropy on integer labels, with label smoothing if set."""
        import keras

        if self.label_smoothing:
            # here: zoo.losses imports keras
            from zoo.losses import SparseCategoricalCrossentropyWithSmoothing

            return SparseCategoricalCrossentropyWithSmoothing(
                label_smoothing=self.label_smoothing, from_logits=self.from_logits
            )
        return keras.losses.SparseCategoricalCrossentropy(from_logits=self.from_logits)

    def precision_scope(self):
        """A context in which models are built with this recipe's `precision`.

        Keras fixes a layer's dtype policy when the layer is made, so the
        model must be built inside; the global policy is restored on exit.

        Example:

        >>> recipe = zoo.get_recipe("resnet20").replace(precision="mixed_bfloat16")
        >>> with recipe.precision_scope():
        ...     model = zoo.get_model("resnet20")
        """
        return dtype_policy_scope(self.precision)

    def compile(self, model, steps_per_epoch: int, strategy=None, global_batch_size=None, **kwargs):
        """Compiles `model` with this recipe, under `strategy` if given.

        Build the model inside the same strategy's scope first, and inside
        `precision_scope()` when `precision` is not float32.

        Args:
            model: keras.Model. The model to compile.
            steps_per_epoch: int. Steps per epoch (`len(train_dataset)`), for
                the schedule length.
            strategy: tf.distribute.Strategy or None. Compile in its scope.
            global_batch_size: int or None. Defaults to `batch_size`; the
                learning rate is scaled to it.
            **kwargs: passed to `model.compile` (e.g. `jit_compile`, or a
                `loss` / `metrics` in place of the recipe's).

        With `finetune`, the optimizer is built for every variable and runs
        the two-phase rate (see `learning_rate_schedule`, `zoo.finetune`);
        `callbacks()` then holds the `FineTuning` callback that freezes the
        backbone for the warm-up.

        Example:

        >>> recipe.compile(model, steps_per_epoch=len(train))
        """
        import contextlib

        built = model.dtype_policy.name
        if built != self.precision:
            raise errors.InvalidArgumentError(
                f"Recipe {self.name!r} trains in precision={self.precision!r} but the model "
                f"was built with the dtype policy {built!r}; build it inside "
                f"recipe.precision_scope(), or pass a recipe with precision={built!r}."
            )
        self._check_replicas(strategy)
        lr_scales = None
        if self.finetune:
            from zoo import finetune  # here: zoo.finetune imports keras

            finetune.backbone_of(model)  # refuses a model without one, before any work
            lr_scales = finetune.layer_scales(model, self.finetune_layer_decay)
        scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
        with scope:
            settings = {
                "loss": self.build_loss(),
                "metrics": list(self.metrics),
                "jit_compile": self.jit_compile,
                **kwargs,  # the caller's loss or metrics win
            }
            model.compile(
                optimizer=self.build_optimizer(steps_per_epoch, global_batch_size, lr_scales),
                **settings,
            )
            if self.finetune:
                # Keras' optimizer updates only the variables it was built
                # with: all of them, before the warm-up freezes the backbone.
                model.optimizer.build(model.trainable_variables)
        return model

    def _check_replicas(self, strategy) -> None:
        """Refuses the switches Keras 3 cannot run over several replicas.

        Measured with Keras 3.15 under MirroredStrategy on 2 devices: XLA
        fails on variables placed on another device. Gradient accumulation
        fails in Keras' own optimizer step ("merge_call called while defining
        a new graph"), so `zoo.keras_fixes.patch_accumulation_over_replicas`
        is applied here; it is refused only if that patch cannot be. EMA and
        mixed precision work as they are.
        """
        import tensorflow as tf

        from zoo import keras_fixes

        if strategy is None and tf.distribute.has_strategy():
            strategy = tf.distribute.get_strategy()
        replicas = getattr(strategy, "num_replicas_in_sync", 1) if strategy is not None else 1
        if replicas < 2:
            return
        refused = []
        if self.jit_compile:
            refused.append("jit_compile=True (XLA fails on variables of other devices)")
        if self.accumulate > 1 and not keras_fixes.patch_accumulation_over_replicas():
            refused.append(
                f"accumulate={self.accumulate} (this Keras lacks what zoo's fix of its "
                "gradient accumulation over replicas needs)"
            )
        if refused:
            raise errors.InvalidArgumentError(
                f"Recipe {self.name!r} sets {' and '.join(refused)}, which Keras 3 cannot "
                f"train over {replicas} replicas. Received: a strategy of {replicas} "
                "replicas; accepted there: jit_compile=False and accumulate=1, or one device."
            )

    def callbacks(
        self,
        run_dir,
        *,
        monitor: str = "val_accuracy",
        tensorboard: bool = True,
        backup_every: int | None = None,
        keep_backup: bool = False,
    ):
        """The standard callbacks of a run directory.

        For a fine-tuning recipe, first `FineTuning` (`finetune_callbacks`);
        then `zoo.callbacks.AverageMovingStatistics` (multi-worker runs only;
        first, so saved models hold the averaged batch-norm statistics),
        ModelCheckpoint (best model by `monitor`), CSVLogger (`history.csv`,
        appended on resume), `zoo.backup.StepBackup` (resume after
        interruption; after the files above, so a backup never runs ahead of
        them), TerminateOnNaN and TensorBoard logs.

        Args:
            run_dir: str or Path. Where the run's files go (created).
            monitor: str. Metric for the best checkpoint.
            tensorboard: bool. Whether to write TensorBoard logs.
            backup_every: int or None. Also back up every N batches (None:
                at epoch ends only).
            keep_backup: bool. Keep the backups when training ends (zoo.train
                removes them itself once the run is recorded as complete).

        Example:

        >>> model.fit(train, epochs=3, callbacks=recipe.callbacks("runs/r20"))
        """
        import keras

        # here: these modules import keras
        from zoo.backup import StepBackup
        from zoo.callbacks import AverageMovingStatistics

        layout = RunLayout(run_dir)
        layout.checkpoints.mkdir(parents=True, exist_ok=True)
        callbacks = [
            *self.finetune_callbacks(),
            AverageMovingStatistics(),
            keras.callbacks.ModelCheckpoint(
                str(layout.best_checkpoint),
                monitor=monitor,
                save_best_only=True,
                mode="max" if "acc" in monitor else "auto",
            ),
            keras.callbacks.CSVLogger(str(layout.history), append=True),
            StepBackup(layout.backup, every=backup_every, delete_when_done=not keep_backup),
            keras.callbacks.TerminateOnNaN(),
        ]
        if tensorboard:
            callbacks.append(keras.callbacks.TensorBoard(str(layout.logs)))
        return callbacks

    def finetune_callbacks(self) -> list:
        """`[FineTuning(...)]` for a fine-tuning recipe, else `[]`.

        Already part of `callbacks()`; for a `model.fit` with callbacks of
        your own.

        Example:

        >>> model.fit(train, epochs=recipe.epochs, callbacks=recipe.finetune_callbacks())
        """
        if not self.finetune:
            return []
        from zoo.finetune import FineTuning  # here: zoo.finetune imports keras

        return [FineTuning(self.finetune_warmup(), self.finetune_freeze_batchnorm)]


def _iterable(value) -> tuple:
    try:
        return tuple(value)
    except TypeError:
        return (None,)  # not iterable: refused by the caller


@contextlib.contextmanager
def dtype_policy_scope(policy: str):
    """Sets Keras' global dtype policy for the body, then restores the previous one.

    Keras fixes a layer's dtype policy when the layer is made, so building
    (or rebuilding) a model in a precision means making it in such a scope.

    Args:
        policy: str. A Keras dtype policy name (`"float32"`, `"mixed_bfloat16"`).

    Example:

    >>> with dtype_policy_scope("mixed_bfloat16"):
    ...     model = zoo.get_model("resnet20")
    """
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


_RECIPES: dict[str, Recipe] = {}


def register_recipe(recipe: Recipe) -> Recipe:
    """Adds a recipe to the registry under `recipe.name`.

    Args:
        recipe: Recipe. Its name must be new.

    Example:

    >>> register_recipe(Recipe("my_recipe", optimizer="adamw", learning_rate=1e-3))

    A family registers its recipes in its own package (`zoo/vision/recipes.py`)
    and names them in `register_model(recipe=..., dataset_recipes=...)`.
    """
    if recipe.name in _RECIPES:
        raise errors.InvalidArgumentError(f"Recipe {recipe.name!r} is already registered.")
    _RECIPES[recipe.name] = recipe
    return recipe


def list_recipes() -> list[str]:
    """Sorted names of the registered recipes (the families register theirs)."""
    registry.load_families()  # the family packages register the recipes
    return sorted(_RECIPES)


def get_recipe(name: str) -> Recipe:
    """Returns a recipe by its name, or a model's default recipe by model name.

    Args:
        name: str. A recipe name (`"cifar_resnet"`) or model name (`"resnet20"`).

    Example:

    >>> zoo.get_recipe("resnet50").name
    'imagenet_resnet'
    """
    registry.load_families()  # the family packages register the recipes
    if isinstance(name, str) and name in _RECIPES:
        return _RECIPES[name]
    if isinstance(name, str) and name in registry.list_models():
        spec = registry.get_spec(name)
        if spec.recipe in _RECIPES:
            return _RECIPES[spec.recipe]
    raise errors.UnknownRecipeError(name, list(_RECIPES) + registry.list_models())
