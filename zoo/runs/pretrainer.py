"""`pretrain`: masked-language-model pretraining of a text encoder into a run directory.

The first half of "pretrain, then fine-tune" (Devlin et al. 2019): the
encoder of a registered text model learns the user's unlabeled text by
predicting masked words (`zoo.nlp.masked_lm`), then `zoo train NAME
--dataset D --weights RUN` fine-tunes a classifier from it (its backbone
and vocabulary, through `zoo.run_weights`).

The run directory holds what a `zoo train` run does (`config.json` with
`"task": "masked_lm"`, `tokenizer/`, `model.keras` (the `MaskedLanguageModel`),
`history.csv`, `curves.png`, TensorBoard logs, the best checkpoint by
validation accuracy on the masked tokens). It has no classifier, so
`zoo evaluate` / `export` / `weights publish` refuse it and say how to
fine-tune from it. An interrupted run resumes from its newest backup, as a
`zoo train` run does (`zoo.backup.StepBackup`, `zoo.data.EpochStream`),
with the masks of the remaining batches drawn afresh.

Example:

>>> zoo.pretrain("transformer_encoder_small", "notes.txt", "runs/mlm", epochs=20)
>>> zoo.train("transformer_encoder_small", "reviews.csv", "runs/ft", weights="runs/mlm")
"""

from __future__ import annotations

import random
import shutil

from zoo import data, distribute, errors, factory, recipes, registry
from zoo.backup import newest_backup
from zoo.nlp.masked_lm import MASK_RATE, MaskedLanguageModel, check_backbone
from zoo.runs.plots import plot_history
from zoo.runs.rundir import RunDir
from zoo.runs.trainer import (
    TrainResult,
    _check_finite,
    _finished,
    _seed_everything,
    _stages,
    fit_stages,
)

TASK = "masked_lm"
RECIPE = "masked_lm"
# What makes two calls the same pretraining run (a rerun returns the finished one).
IDENTITY = (
    "model",
    "task",
    "requested",
    "dataset",
    "data_dir",
    "table_columns",
    "recipe_name",
    "batch_size",
    "mask_rate",
    "seed",  # it orders the epochs a resumed run continues
)


def pretrain(
    model_name: str,
    corpus,
    run_dir,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    overrides: dict | None = None,
    mask_rate: float = MASK_RATE,
    seed: int | None = None,
    data_dir: str | None = None,
    text_column: str | None = None,
    strategy: str = "auto",
    cpu_replicas: int | None = None,
    verbose: int | str = "auto",
    backup_every: int | None = 100,
) -> TrainResult:
    """Pretrains `model_name`'s encoder on unlabeled text by masked-token prediction.

    Args:
        model_name: str. A registered text model whose encoder gives one
            feature vector per token (`transformer_encoder_*`).
        corpus: str or Path. A `.txt` file (one text per line), or a text
            dataset whose labels are ignored (name, CSV/TSV, class folder).
        run_dir: str or Path. Where the run's files go.
        epochs: int or None. Defaults to the `masked_lm` recipe's.
        batch_size: int or None. Global batch; defaults to the recipe's.
        overrides: dict or None. Builder arguments (`vocabulary_size`: the
            largest vocabulary, mask token included; `sequence_length`).
            `num_classes` is not one: the classifier head comes at fine-tuning.
        mask_rate: float. Share of tokens selected for prediction (BERT: 0.15).
        seed: int or None. Seeds weights and shuffling; None draws one,
            recorded. The masks are drawn by tf.text's unseeded ops, so two
            runs are alike, not bit-identical.
        data_dir: str or None. tfds data directory.
        text_column: str or None. The text column of a CSV/TSV corpus.
        strategy: str. See `zoo.distribute.get_strategy`.
        cpu_replicas: int or None. Split the CPU into logical devices first.
        verbose: int or "auto". Keras progress bar setting.
        backup_every: int or None. Batches between backups of the whole
            training state (also taken at every epoch end); None: epoch ends
            only. A killed run resumes from the newest one.

    Returns:
        A `TrainResult`: `model` is the `MaskedLanguageModel`, `metrics` its
        validation loss and accuracy on the masked tokens; `resumed` tells
        whether this call continued an interrupted run.

    Raises:
        InvalidArgumentError: the model cannot be pretrained this way, or an
            argument is out of range.
        RunDirError: the directory holds another run, or this run finished
            with fewer epochs. (The same call again returns the finished
            run, or resumes an interrupted one from its newest backup: the
            weights, optimizer and position are restored and the texts come
            in the order an uninterrupted run saw, with masks drawn afresh.)

    Example:

    >>> result = zoo.pretrain("transformer_encoder_tiny", "sentiment", "runs/mlm", epochs=3)
    >>> result.metrics["accuracy"]      # of the masked words, on held-out texts
    """
    from zoo.data import corpus as corpora

    spec = registry.get_spec(model_name)
    if not spec.input.needs_tokenizer:
        raise errors.InvalidArgumentError(
            f"Masked-language-model pretraining reads text; {model_name!r} takes "
            f"{spec.input.kind} input. Received: {model_name!r}; accepted: "
            f"zoo.list_models('transformer_encoder_*')."
        )
    overrides = dict(overrides or {})
    if "num_classes" in overrides:
        raise errors.InvalidArgumentError(
            "Pretraining trains no classifier head: num_classes is set when fine-tuning "
            f"(zoo train --weights RUN). Received: num_classes={overrides['num_classes']!r}"
        )
    resolved = spec.resolve_kwargs(overrides)  # rejects unknown keywords first
    mask_rate = corpora.check_mask_rate(mask_rate)
    if strategy == "multi_worker" or (strategy == "auto" and distribute.cluster_size() > 1):
        # Refused before the strategy connects to the cluster (it would wait for the others).
        raise errors.StrategyError(
            "zoo pretrain runs on one machine (one or more devices); a multi-worker cluster "
            "(TF_CONFIG with several workers) is not supported yet. Received: "
            f"strategy={strategy!r} with a cluster; accepted: auto, mirrored, one_device, "
            "default on one machine (unset TF_CONFIG)."
        )
    # Before any TensorFlow op: CPU splits need that.
    strat = distribute.get_strategy(strategy, cpu_replicas=cpu_replicas)
    # A throwaway tiny build: a model whose encoder pools inside is refused before any work.
    check_backbone(factory.get_model(model_name, **spec.tiny_kwargs).backbone, model_name)
    chosen = recipes.get_recipe(RECIPE)
    chosen = chosen.replace(
        **{k: v for k, v in (("epochs", epochs), ("batch_size", batch_size)) if v is not None}
    )
    distribute.per_replica_batch_size(chosen.batch_size, strat)
    columns = {"text_column": text_column} if text_column else {}

    run = RunDir(run_dir)
    run.check_writable()
    with run.lock():
        config = {
            "model": model_name,
            "task": TASK,
            "requested": dict(overrides),  # the builder arguments asked for
            "dataset": data.recorded_name(corpus),
            "data_dir": data.recorded_dir(data_dir),
            "table_columns": columns,
            "recipe_name": chosen.name,
            "recipe": chosen.to_dict(),
            "epochs": chosen.epochs,
            "batch_size": chosen.batch_size,
            "mask_rate": mask_rate,
            "strategy": strategy,
            "replicas": distribute.num_replicas(strat),
            "seed": seed,
        }
        previous = run.read_config() if run.has_config() else None
        if previous is not None:
            if seed is None:  # a rerun keeps the seed, hence the order, of the run
                seed = config["seed"] = previous.get("seed")
            run.check_same_run(previous, config, identity=IDENTITY)
            if previous.get("completed"):
                return _finished(run, previous, chosen.epochs)
        # A backup of this very run (a fresh run ignores a stale folder).
        start = newest_backup(run.backup) if previous is not None else None
        seed = config["seed"] = random.SystemRandom().randrange(2**31) if seed is None else seed
        _seed_everything(seed, False)

        train_texts, val_texts = corpora.corpus_splits(
            corpus, data_dir=data_dir, table_columns=columns
        )
        # A resumed run keeps the vocabulary its weights were trained with.
        tokenizer = run.load_tokenizer() if start is not None else None
        if tokenizer is None:
            tokenizer = corpora.masked_lm_tokenizer(
                train_texts,
                vocabulary_size=resolved["vocabulary_size"],
                sequence_length=resolved["sequence_length"],
            )
        # The embedding holds exactly the vocabulary, so a fine-tuned model has no unused rows.
        config["overrides"] = {**overrides, "vocabulary_size": tokenizer.vocabulary_size}
        with strat.scope():
            model = factory.get_model(model_name, **config["overrides"])
            mlm = MaskedLanguageModel(model.backbone, name=f"{model_name}_masked_lm")

        def pipeline(texts, training, stream=None):
            return corpora.masked_lm_pipeline(
                texts,
                tokenizer,
                batch_size=chosen.batch_size,
                training=training,
                mask_rate=mask_rate,
                seed=seed,
                strategy=strat,
                stream=stream,
            )

        first, skip = (start.epoch, start.step) if start is not None else (0, 0)
        stages = _stages(first, skip, chosen.epochs, False)
        train_ds, val_ds = pipeline(train_texts, True, stages[0].stream), pipeline(val_texts, False)
        steps_per_epoch = stages[0].steps_per_epoch(len(train_ds))
        chosen.compile(
            mlm,
            steps_per_epoch=steps_per_epoch,
            strategy=strat,
            loss=_masked_loss(),
            weighted_metrics=_accuracy(),
        )
        resumed = run.start(config, tokenizer, resume_epoch=first if start is not None else None)
        callbacks = chosen.callbacks(run.root, backup_every=backup_every, keep_backup=True)
        losses = fit_stages(
            mlm,
            stages,
            train_ds,
            lambda stream: pipeline(train_texts, True, stream),
            val_ds,
            steps_per_epoch=steps_per_epoch,
            callbacks=callbacks,
            verbose=verbose,
        )
        _check_finite(losses, run, chosen)
        run.save_model(mlm)
        # A fresh validation pipeline, never fit's own copy (see zoo.runs.trainer).
        final = mlm.evaluate(pipeline(val_texts, False), verbose=0, return_dict=True)
        metrics = {k: round(float(v), 4) for k, v in final.items()}
        metrics["examples"] = _count(val_texts)
        plot_history(run.history, run.curves)
        run.write_config({**config, "completed": True, "metrics": metrics})
        shutil.rmtree(run.backup, ignore_errors=True)  # only once the run is recorded complete
        return TrainResult(run.root, mlm, metrics, chosen.epochs, resumed)


def _masked_loss():
    import keras

    # The mean over the masked tokens: the zero-weight padding of
    # `mask_positions` would otherwise dilute it.
    return keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, reduction="mean_with_sample_weight"
    )


def _accuracy():
    import keras

    # Weighted: the padding of `mask_positions` has weight 0 and must not count.
    return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]


def _count(ds) -> int:
    """Examples in an unbatched dataset: its cardinality, else counted."""
    known = int(ds.cardinality())
    return known if known >= 0 else sum(1 for _ in ds)
