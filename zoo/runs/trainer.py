"""`train`: a registered model on a dataset, into a run directory that resumes.

Running the same `train` call again on an interrupted run resumes it from its
last backup (every `backup_every` batches and at each epoch end), at the same
batch of the same epoch, with the data in the same order: the training split
is an `EpochStream` ordered by (seed, epoch), so where a run resumes does not
change what it sees. With `deterministic=True` (op determinism and seeded
augmentation) a resumed run ends bit-identical to an uninterrupted one. On a
finished run it returns the stored result.

Example:

>>> result = zoo.train("resnet20", "digits", "runs/r20", epochs=3)
>>> result.metrics["val_accuracy"]
0.97
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import random
import shutil
import warnings
from pathlib import Path

from zoo import (
    data,
    distribute,
    errors,
    factory,
    pretrained,
    recipes,
    registry,
    run_weights,
    validation,
)
from zoo.backup import newest_backup
from zoo.distill import (
    DEFAULT_STUDENT_LOSS_WEIGHT,
    DEFAULT_TEMPERATURE,
    Distiller,
    check_settings,
)
from zoo.runs.evaluation import compile_for_eval, evaluate_model
from zoo.runs.plots import plot_history
from zoo.runs.rundir import RunDir
from zoo.runs.teachers import load_teacher, student_tokenizer

# Above this share of [UNK] tokens, a vocabulary made elsewhere (shipped
# weights, a teacher, a preset) is warned about: in-domain text read with a
# large word vocabulary stays a few percent unknown.
UNKNOWN_TOKENS_WARNING = 0.10


@dataclasses.dataclass
class TrainResult:
    """What `train` returns.

    Args:
        run_dir: Path. The run directory.
        model: keras.Model. The trained model.
        metrics: dict. Final validation loss and accuracy.
        epochs: int. Epochs trained in total.
        resumed: bool. Whether this call continued an interrupted run or
            found it already complete.
        already_complete: bool. The run had finished before this call, which
            only reloaded it.
    """

    run_dir: Path
    model: object
    metrics: dict
    epochs: int
    resumed: bool
    already_complete: bool = False


def recipe_for(model_name: str, dataset: str):
    """The recipe tuned for this model on this dataset, else the model's default.

    A model's spec may name recipes per dataset (`dataset_recipes`, e.g.
    resnet on `digits`): small embedded datasets get a recipe sized for them.

    Args:
        model_name: str. A registered model.
        dataset: str. A dataset name or folder path.
    """
    name = registry.get_spec(model_name).recipe_for(dataset)
    return recipes.get_recipe(name if name is not None else model_name)


def fit_overrides_to_dataset(spec, overrides: dict, info) -> dict:
    """Defaults `num_classes` and what the input spec fits to the dataset's.

    Training resnet20 on digits then builds an 8x8x1, 10-class model instead
    of upsampling 8x8 digits to 32x32 RGB (`InputSpec.dataset_overrides`:
    image size, sequence length, sample rate); explicit overrides always win.

    Args:
        spec: ModelSpec. The model's registry entry.
        overrides: dict. The user's builder overrides.
        info: DatasetInfo. From `zoo.data.dataset_info`.
    """
    accepted = spec.accepted_kwargs()
    fitted = {"num_classes": info.num_classes} if "num_classes" in accepted else {}
    fitted.update(spec.input.dataset_overrides(info, accepted))
    return {**fitted, **overrides}


def train(
    model_name: str,
    dataset: str,
    run_dir,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    recipe: str | None = None,
    data_dir: str | None = None,
    strategy: str = "auto",
    cpu_replicas: int | None = None,
    overrides: dict | None = None,
    verbose: int | str = "auto",
    seed: int | None = None,
    text_column: str | None = None,
    label_column: str | None = None,
    precision: str | None = None,
    jit_compile: bool | None = None,
    accumulate: int | None = None,
    ema: bool | None = None,
    weights: str | None = None,
    deterministic: bool | None = None,
    backup_every: int | None = 100,
    teacher: str | None = None,
    temperature: float | None = None,
    student_loss_weight: float | None = None,
) -> TrainResult:
    """Trains a registered model on a dataset into a run directory.

    Args:
        model_name: str. A registered model name.
        dataset: str. A dataset name (`"digits"`, `"cifar10"`) or a folder
            of class subfolders.
        run_dir: str or Path. Where the run's files go; resumes if it holds
            an interrupted run of the same model and dataset.
        epochs: int or None. Defaults to the recipe's.
        batch_size: int or None. Global batch; defaults to the recipe's.
        recipe: str or None. Recipe name; defaults to `recipe_for`.
        data_dir: str or None. tfds data directory.
        strategy: str. See `zoo.distribute.get_strategy`.
        cpu_replicas: int or None. Split the CPU into logical devices first.
        overrides: dict or None. Model builder overrides.
        verbose: int or "auto". Keras progress bar setting.
        seed: int or None. Seeds Python, NumPy, TensorFlow and Keras (weights,
            dropout, augmentation) and the order of every epoch, so a rerun on
            the same machine repeats the run. None draws a seed, recorded in
            the run (a resumed run needs it to continue the same data order).
        deterministic: bool or None. Bit-identical runs: TensorFlow's op
            determinism and augmentation seeded per batch (run sequentially),
            at some cost in speed. Two runs with the same seed, or a run
            killed and resumed any number of times, end with the same weights
            to the bit. None keeps what the run started with (default off).
            Turns op determinism on for the whole process.
        backup_every: int or None. Batches between backups of the whole
            training state (also taken at every epoch end); None: epoch ends
            only. A killed run resumes from the newest one.
        text_column: str or None. For a CSV/TSV dataset, the text column
            (default `"text"`); kept in the run, so evaluate/export reuse it.
        label_column: str or None. For a CSV/TSV dataset, the label column
            (default `"label"`).
        precision: str or None. `"float32"`, `"mixed_float16"` or
            `"mixed_bfloat16"` (see `Recipe.precision`); None keeps the recipe's.
        jit_compile: bool or None. XLA-compile the steps; None keeps the recipe's.
        accumulate: int or None. Batches per update (gradient accumulation).
        ema: bool or None. Train with an exponential moving average of the
            weights and keep the average.
        weights: str or None. Fine-tune from these weights (a tag of the
            model, a finished run directory of the same model, a
            `.weights.h5` file, or a folder or handle one of the model's
            weight sources reads): the model is built for the
            dataset with them (`get_model(weights=...)` re-initialises the
            head and adapts the input channels) and trained with the recipe
            in fine-tuning mode (`Recipe.finetune`: frozen-backbone warm-up,
            then the whole network at a lower rate). Recorded in the run.
        teacher: str or None. Distil from this trained model (a run
            directory, or a weights name `arch.tag`): the model trains on the
            labels and on the teacher's softened outputs (`zoo.distill`).
            Its classes must be the dataset's and its input kind the
            model's; a text student trains with the teacher's tokenizer (so
            both read the same token ids). Recorded in the run.
        temperature: float or None. Distillation temperature (default
            `zoo.distill.DEFAULT_TEMPERATURE`); only with `teacher`.
        student_loss_weight: float or None. Weight of the label loss in [0, 1]
            (default `zoo.distill.DEFAULT_STUDENT_LOSS_WEIGHT`); only with
            `teacher`.

    Example:

    >>> zoo.train("resnet20", "digits", "runs/r20", epochs=3, seed=0)
    """
    spec = registry.get_spec(model_name)
    overrides = dict(overrides or {})
    spec.resolve_kwargs(overrides)  # reject unknown keywords first
    # Before any TensorFlow op: CPU splits and multi-worker clusters need that.
    strat = distribute.get_strategy(strategy, cpu_replicas=cpu_replicas)
    columns = {
        key: value
        for key, value in (("text_column", text_column), ("label_column", label_column))
        if value
    }
    info = data.dataset_info(dataset, data_dir=data_dir, **columns)
    chosen_input = "input_shape" in overrides
    overrides = fit_overrides_to_dataset(spec, overrides, info)
    chosen = recipes.get_recipe(recipe) if recipe else recipe_for(model_name, dataset)
    switches = {
        "epochs": epochs,
        "batch_size": batch_size,
        "precision": precision,
        "jit_compile": jit_compile,
        "accumulate": accumulate,
        "ema": ema,
    }
    chosen = chosen.replace(**{k: v for k, v in switches.items() if v is not None})
    if weights is not None:
        chosen = chosen.replace(finetune=True)
    distribute.per_replica_batch_size(chosen.batch_size, strat)
    if backup_every is not None:
        validation.check_positive_int("backup_every", backup_every)
    distill = _distill_settings(teacher, temperature, student_loss_weight)

    run = RunDir(run_dir)
    run.check_writable()
    if not distribute.is_chief(strat):
        # The other workers of a cluster take part in every step but keep their
        # files (backup for resuming, logs, their copy of the model) apart.
        run = run.worker(distribute.worker_name(strat))
    config = {
        "model": model_name,
        "overrides": _jsonable(overrides),
        "dataset": data.recorded_name(dataset),  # a folder by its absolute path
        "data_dir": data.recorded_dir(data_dir),  # read from any working directory
        "recipe_name": chosen.name,
        "recipe": chosen.to_dict(),
        "epochs": chosen.epochs,
        "batch_size": chosen.batch_size,
        "strategy": strategy,
        "replicas": distribute.num_replicas(strat),
        "seed": seed,
        "table_columns": columns,
        # A local file or run directory by its absolute path, like a folder dataset.
        "weights": pretrained.recorded_weights(model_name, weights) if weights else None,
        "deterministic": bool(deterministic),
        "distill": distill,
    }
    with run.lock():  # one writer per run directory, until training ends
        previous = run.read_config() if run.has_config() else None
        if previous is not None:
            if seed is None:  # a rerun keeps the seed the run started with
                seed = config["seed"] = previous.get("seed")
            if deterministic is None:
                config["deterministic"] = bool(previous.get("deterministic"))
            previous = _with_absolute_paths(previous, config)
            run.check_same_run(previous, config)
            if previous.get("completed"):
                return _finished(run, previous, chosen.epochs)
        if seed is None:
            # Every run has a seed: the order of its epochs is made from it,
            # which is what lets a resumed run see the data an uninterrupted
            # one would. The workers of a cluster shard by example, so they
            # must order alike: they cannot each draw one.
            multi = distribute.is_multi_worker(strat)
            seed = config["seed"] = 0 if multi else random.SystemRandom().randrange(2**31)
        # A backup of this very run (a fresh run ignores a stale folder).
        start = newest_backup(run.backup) if previous is not None else None
        _seed_everything(seed, config["deterministic"])

        # Builds first: bad override values fail before any I/O.
        with strat.scope(), chosen.precision_scope():
            model = factory.get_model(model_name, weights=weights, **overrides)
            found = None if distill is None else load_teacher(distill["teacher"], info.class_names)
        if previous is None and not chosen_input:
            _warn_colour_dropped(info, model, weights, dataset)
        # Before the distiller: a text teacher's tokenizer must fit the student.
        tokenizer, made_for = _run_tokenizer(
            run,
            spec,
            model,
            weights,
            found,
            adapt=lambda: data.get_tokenizer(dataset, model=model, data_dir=data_dir, **columns),
        )
        if made_for is not None:
            share = data.unknown_token_share(dataset, tokenizer, data_dir=data_dir, **columns)
            config["unknown_tokens"] = {"share": round(share, 4), "vocabulary_of": made_for}
            _warn_unknown_tokens(share, made_for, dataset, tokenizer)
        elif previous is not None and "unknown_tokens" in previous:
            config["unknown_tokens"] = previous["unknown_tokens"]  # measured at its start
        fitted = model  # what `fit` runs: the model, or a distiller teaching it
        if found is not None:
            config["teacher"] = found.record
            with strat.scope(), chosen.precision_scope():
                fitted = Distiller(
                    found.model,
                    model,
                    temperature=distill["temperature"],
                    student_loss_weight=distill["student_loss_weight"],
                )

        def pipelines(stream, again=False):
            # Keras' folder loaders print "Found N files ..." each time; once is enough.
            with _keras_messages_off() if again else contextlib.nullcontext():
                return _pipelines(stream)

        def _pipelines(stream):
            return data.get_dataset(
                dataset,
                model=model,
                batch_size=chosen.batch_size,
                data_dir=data_dir,
                augment=chosen.augmentation,
                strategy=strat,
                tokenizer=tokenizer,
                seed=seed,  # workers of a cluster shard by example: they order alike
                stream=stream,
                **columns,
            )

        first, skip = (start.epoch, start.step) if start is not None else (0, 0)
        stages = _stages(first, skip, chosen.epochs, config["deterministic"])
        train_ds, val_ds = pipelines(stages[0].stream)
        steps_per_epoch = stages[0].steps_per_epoch(len(train_ds))
        # A distiller outputs the student's logits (`zoo.distill.logits_view`).
        fitting = chosen.replace(from_logits=True) if distill is not None else chosen
        fitting.compile(fitted, steps_per_epoch=steps_per_epoch, strategy=strat)

        config.update(labels=list(info.class_names), input_spec=spec.input_spec(overrides))
        if weights is not None:
            config["started_from"] = _started_from(model_name, weights, model)
        resumed = run.start(config, tokenizer, resume_epoch=first if start is not None else None)
        callbacks = chosen.callbacks(run.root, backup_every=backup_every, keep_backup=True)
        losses = fit_stages(
            fitted,
            stages,
            train_ds,
            lambda stream: pipelines(stream, again=True)[0],
            val_ds,
            steps_per_epoch=steps_per_epoch,
            callbacks=callbacks,
            verbose=verbose,
        )
        _check_finite(losses, run, chosen)
        run.save_model(model)
        # Report the figures of the saved file, evaluated on one device: under
        # MirroredStrategy each replica evaluates with its own BatchNorm moving
        # statistics, while the file holds their mean.
        # A fresh validation pipeline, never `val_ds` again: fit's distributed
        # copy of it shares its in-memory cache (tf.data shares the cache
        # across iterators and graph rewrites), and when that copy's iterator
        # is torn down part-read it resets the cache under the next reader.
        # A two-worker run once reported 175 of its 360 validation examples.
        _, final_val = pipelines(None, again=True)
        metrics = evaluate_model(compile_for_eval(run.load_model(), chosen), final_val)
        plot_history(run.history, run.curves)
        run.write_config({**config, "completed": True, "metrics": metrics})
        shutil.rmtree(run.backup, ignore_errors=True)  # only once the run is recorded complete
        return TrainResult(run.root, model, metrics, chosen.epochs, resumed)


@dataclasses.dataclass(frozen=True)
class _Stage:
    """One `model.fit` of a run: epochs `first..stop-1`, the first `skip` batches
    of epoch `first` left out (trained before the backup it resumes from)."""

    first: int
    stop: int
    skip: int
    stream: object  # EpochStream, or None for no epochs left

    def steps_per_epoch(self, length: int) -> int:
        """Batches per whole epoch, from the length of this stage's dataset."""
        if self.stream is None:
            return length
        return (length + self.skip) // (self.stop - self.first)


def fit_stages(
    fitted, stages, train_ds, train_for, val_ds, *, steps_per_epoch, callbacks, verbose
) -> list:
    """Runs `fitted.fit` once per stage of `_stages`; returns the training losses.

    Args:
        fitted: keras.Model. Compiled.
        stages: list of `_Stage`. From `_stages`.
        train_ds: tf.data.Dataset. The first stage's training data.
        train_for: callable. `EpochStream -> tf.data.Dataset` for later stages.
        val_ds: tf.data.Dataset. Validation data.
        steps_per_epoch: int. Batches of a whole epoch.
        callbacks: list. From `Recipe.callbacks(..., keep_backup=True)`; its
            `StepBackup` is told the batches each stage skips.
        verbose: int or "auto". Keras progress bar setting.

    Example:

    >>> stages = _stages(first=1, skip=8, epochs=3, deterministic=False)
    >>> losses = fit_stages(model, stages, train, make_train, val, steps_per_epoch=12,
    ...                     callbacks=recipe.callbacks(run_dir, keep_backup=True), verbose=0)
    """
    backup = next(c for c in callbacks if hasattr(c, "skipped"))
    losses = []
    for index, stage in enumerate(stages):
        if index:  # the partial epoch came first; the whole epochs follow
            train_ds = train_for(stage.stream)
        backup.skipped = stage.skip
        history = fitted.fit(
            train_ds,
            validation_data=val_ds,
            initial_epoch=stage.first,
            epochs=stage.stop,
            steps_per_epoch=steps_per_epoch - stage.skip,
            callbacks=callbacks,
            verbose=verbose,
            shuffle=False,
        )  # the pipeline shuffles; Keras would only warn
        losses += history.history.get("loss", [])
    return losses


def _stages(first: int, skip: int, epochs: int, deterministic: bool) -> list:
    """The fits that train from batch `skip` of epoch `first` to the end.

    A run resumed part-way into an epoch fits that epoch's remaining batches
    first (Keras epochs have a fixed length), then the whole epochs after it.
    A run whose backup is past its last epoch fits nothing: the `fit` of zero
    epochs only restores the backup.
    """
    spans = [(first, first + 1, skip)] if skip else []
    spans.append((first + 1 if skip else first, epochs, 0))
    stages = [
        _Stage(a, b, k, data.EpochStream(a, b, skip=k, deterministic=deterministic))
        for a, b, k in spans
        if a < b
    ]
    return stages or [_Stage(epochs, epochs, 0, None)]


def _distill_settings(teacher, temperature, student_loss_weight) -> dict | None:
    """The run's distillation settings, checked; None when not distilling."""
    if teacher is None:
        given = [
            k
            for k, v in (("temperature", temperature), ("student_loss_weight", student_loss_weight))
            if v is not None
        ]
        if given:
            raise errors.InvalidArgumentError(
                f"{' and '.join(given)} set distillation, which needs a teacher. Received: "
                f"teacher=None; pass teacher= (zoo train --teacher RUN_DIR|ARCH.TAG)."
            )
        return None
    temperature, student_loss_weight = check_settings(
        DEFAULT_TEMPERATURE if temperature is None else temperature,
        DEFAULT_STUDENT_LOSS_WEIGHT if student_loss_weight is None else student_loss_weight,
    )
    return {
        "teacher": str(teacher),
        "temperature": temperature,
        "student_loss_weight": student_loss_weight,
    }


def _seed_everything(seed: int, deterministic: bool) -> None:
    """Seeds Python, NumPy, TensorFlow and Keras; op determinism if asked."""
    import keras

    keras.utils.set_random_seed(seed)
    if deterministic:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


@contextlib.contextmanager
def _keras_messages_off():
    """Keras' `print_msg` lines go to absl's INFO log (off by default) for a while."""
    import keras

    was_on = keras.config.is_interactive_logging_enabled()
    keras.config.disable_interactive_logging()
    try:
        yield
    finally:
        if was_on:
            keras.config.enable_interactive_logging()


def _run_tokenizer(run: RunDir, spec, model, weights, teacher, adapt):
    """The tokenizer a run trains with, and whose vocabulary it is.

    A resumed run keeps the vocabulary its weights were trained with, and
    text weights come with theirs; a taught student reads its teacher's,
    once both of those are checked to be that same vocabulary. Otherwise
    `adapt()` makes one from the data (or takes a preset's).

    Returns:
        `(tokenizer, made_for)`: `(None, None)` for image and audio models;
        `made_for` names the weights or teacher whose vocabulary a fresh
        run reads this data with, and is None for a vocabulary made from
        this data or a resumed run's own.
    """
    text = spec.input.needs_tokenizer
    resumed = run.load_tokenizer() if text else None
    # Read only where it is checked or used: a resumed run's own one wins.
    needed = text and (teacher is not None or resumed is None)
    from_weights = _weights_tokenizer(spec.name, weights) if needed else None
    if teacher is not None:
        student_input = (spec.input.from_model(model) if text else None) or spec.input
        known = {
            "resumed run": resumed.vocabulary if resumed else None,
            f"starting weights {weights!r}": (
                from_weights.vocabulary if from_weights else getattr(model, "zoo_vocabulary", None)
            ),
        }
        taught = student_tokenizer(teacher, student_input, known)
        if taught is not None:
            return taught, (None if resumed else f"teacher {teacher.record['teacher']!r}")
    if not text:
        return None, None
    if resumed is not None:
        return resumed, None
    if from_weights is not None:
        return _within(from_weights, model), _weights_label(spec.name, weights)
    preset = getattr(model, "zoo_vocabulary", None) is not None
    return adapt(), (f"weights {weights!r}" if preset else None)


def _within(tokenizer, model):
    """`tokenizer` at the sequence length `model` was built with (the same vocabulary).

    Weights pretrained on 128 ids fine-tune on a dataset of short texts with
    a shorter position table (`zoo.transfer`), and an LSTM's weights on
    longer texts: their tokenizer follows, so no text is cut short of what
    the model reads.
    """
    backbone = getattr(model, "backbone", None)
    # zoo's encoders say sequence_length; keras-hub's BERT max_sequence_length.
    length = getattr(backbone, "sequence_length", None) or getattr(
        backbone, "max_sequence_length", None
    )
    if not length or tokenizer.sequence_length == length:
        return tokenizer
    return type(tokenizer)(tokenizer.vocabulary, length)


def _warn_unknown_tokens(share: float, made_for: str, dataset, tokenizer) -> None:
    """Warns when a vocabulary made elsewhere reads much of this data as `[UNK]`."""
    if share <= UNKNOWN_TOKENS_WARNING:
        return
    warnings.warn(
        f"{share:.0%} of the tokens of the training texts of {str(dataset)!r} are unknown to "
        f"the vocabulary of {made_for} ({tokenizer.vocabulary_size} entries): the model "
        f"reads every one of them as [UNK] and cannot tell them apart. Accepted without "
        f"this warning: at most {UNKNOWN_TOKENS_WARNING:.0%}. Start from weights whose "
        f"vocabulary covers this data, or train from scratch (no --weights / --teacher) "
        f"for a vocabulary made from it.",
        stacklevel=2,
    )


def _warn_colour_dropped(info, model, weights, dataset) -> None:
    """Warns when colour images feed a 1-channel model whose shape the user did not pick.

    Fine-tuning `resnet20.digits` (8x8 grayscale) on a folder of photos
    otherwise trains on their grayscale conversion without a word. A
    folder's files are read only when the model takes 1 channel.
    """
    if info.modality != "image":
        return
    shape = getattr(factory.input_of(model), "shape", None)
    if not shape or shape[-1] != 1:
        return
    channels = info.channels
    if channels is None and info.source == "folder":
        channels = data.folder.image_channels(dataset)
    if (channels or 0) < 3:
        return  # grayscale (with or without alpha) loses nothing but the alpha
    wanted = [*shape[:-1], 3]
    origin = f"weights {weights!r}" if weights else "the model's defaults"
    adapted = "; the weights' first convolution is adapted to 3 channels" if weights else ""
    warnings.warn(
        f"The images of {str(info.name)!r} hold {channels} channels (colour) but the model "
        f"takes 1-channel images: its input_shape {tuple(shape)} comes from {origin}. The "
        f"pipeline converts the images to grayscale and the colour is lost. To train on "
        f"colour, pass --set 'input_shape={str(wanted).replace(' ', '')}' (Python: "
        f"overrides={{'input_shape': {tuple(wanted)}}}){adapted}.",
        stacklevel=2,
    )


def _with_absolute_paths(previous: dict, config: dict) -> dict:
    """`previous`, its folder dataset and weights path as this version records them.

    Runs of earlier versions recorded them as typed (`photos`, `runs/a`); the
    same command from the same directory must still resume them.
    """
    model = previous.get("model", "")
    if data.recorded_name(previous.get("dataset", "")) == config["dataset"]:
        previous = {**previous, "dataset": config["dataset"]}
    weights = previous.get("weights")
    if weights and pretrained.recorded_weights(model, weights) == config["weights"]:
        previous = {**previous, "weights": config["weights"]}
    return previous


def _weights_tokenizer(model_name: str, weights: str | None):
    """The tokenizer of text weights (shipped, or a run's): their token ids need its vocabulary."""
    if weights is None:
        return None
    entry = pretrained.lookup(model_name, weights)
    if entry is None:
        # A run directory's own tokenizer; None for image runs and other paths.
        return RunDir(weights).load_tokenizer() if run_weights.run_directory(weights) else None
    if not entry.tokenizer:
        return None
    return data.pretrained_tokenizer(model_name, entry.name)


def _weights_label(model_name: str, weights: str) -> str:
    """How messages name the starting weights: `weights 'lstm.sentiment'`, `run '/abs/path'`."""
    entry = pretrained.lookup(model_name, weights)
    if entry is not None:
        return f"weights {entry.name!r}"
    if run_weights.run_directory(weights) is not None:
        return f"run {pretrained.recorded_weights(model_name, weights)!r}"
    return f"weights {weights!r}"


def _started_from(model_name: str, weights: str, model) -> dict:
    """What a fine-tuning run records about its starting weights."""
    record = {"weights": pretrained.recorded_weights(model_name, weights)}
    record.update(pretrained.provenance(model_name, weights))
    report = getattr(model, "transfer_report", None)
    if report is not None:
        record.update(skipped=list(report.skipped), adapted=list(report.adapted))
    return record


def _finished(run: RunDir, config: dict, epochs: int) -> TrainResult:
    if epochs > config["epochs"]:
        raise errors.RunDirError(
            f"Run directory {str(run.root)!r} holds a finished run of {config['epochs']} "
            f"epochs; received epochs={epochs}. Train into a new --out directory (or delete "
            f"this one)."
        )
    return TrainResult(
        run.root,
        run.load_model(check_task=False),  # a pretraining run's own model too
        config.get("metrics", {}),
        config["epochs"],
        True,
        already_complete=True,
    )


def _check_finite(losses, run: RunDir, recipe) -> None:
    """Keras' TerminateOnNaN only stops `fit`; a diverged run must not look finished."""
    if all(math.isfinite(loss) for loss in losses):
        return
    epoch = next(i for i, loss in enumerate(losses) if not math.isfinite(loss))
    raise errors.TrainingDivergedError(
        f"Training diverged: the loss became {losses[epoch]} in epoch {epoch + 1}, so it "
        f"was stopped. Received: recipe {recipe.name!r} with learning_rate="
        f"{recipe.learning_rate} at batch {recipe.batch_size}. Try a lower learning rate or "
        f"another recipe, in a new run directory (or delete {str(run.root)!r}); the run is "
        f"left marked unfinished."
    )


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
