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
fine-tune from it.

Example:

>>> zoo.pretrain("transformer_encoder_small", "notes.txt", "runs/mlm", epochs=20)
>>> zoo.train("transformer_encoder_small", "reviews.csv", "runs/ft", weights="runs/mlm")
"""

from __future__ import annotations

import random
import shutil

from zoo import data, distribute, errors, factory, recipes, registry
from zoo.nlp.masked_lm import MASK_RATE, MaskedLanguageModel, check_backbone
from zoo.runs.plots import plot_history
from zoo.runs.rundir import RunDir
from zoo.runs.trainer import TrainResult, _check_finite, _finished, _seed_everything

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

    Returns:
        A `TrainResult`: `model` is the `MaskedLanguageModel`, `metrics` its
        validation loss and accuracy on the masked tokens.

    Raises:
        InvalidArgumentError: the model cannot be pretrained this way, or an
            argument is out of range.
        RunDirError: the directory holds another run, or this run finished
            with fewer epochs. (The same call again returns the finished
            run; an interrupted one starts over: the masks and the shuffle
            are not replayed step by step.)

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
        }
        previous = run.read_config() if run.has_config() else None
        if previous is not None:
            run.check_same_run(previous, config, identity=IDENTITY)
            if previous.get("completed"):
                return _finished(run, previous, chosen.epochs)
        seed = config["seed"] = random.SystemRandom().randrange(2**31) if seed is None else seed
        _seed_everything(seed, False)

        train_texts, val_texts = corpora.corpus_splits(
            corpus, data_dir=data_dir, table_columns=columns
        )
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

        def pipeline(texts, training):
            return corpora.masked_lm_pipeline(
                texts,
                tokenizer,
                batch_size=chosen.batch_size,
                training=training,
                mask_rate=mask_rate,
                seed=seed,
                strategy=strat,
            )

        train_ds, val_ds = pipeline(train_texts, True), pipeline(val_texts, False)
        chosen.compile(
            mlm,
            steps_per_epoch=len(train_ds),
            strategy=strat,
            loss=_masked_loss(),
            weighted_metrics=_accuracy(),
        )
        run.start(config, tokenizer)  # starts over: masks and shuffle are not replayed
        history = mlm.fit(
            train_ds,
            validation_data=val_ds,
            epochs=chosen.epochs,
            callbacks=chosen.callbacks(run.root),
            verbose=verbose,
            shuffle=False,  # the pipeline shuffles; Keras would only warn
        )
        _check_finite(history.history.get("loss", []), run, chosen)
        run.save_model(mlm)
        # A fresh validation pipeline, never fit's own copy (see zoo.runs.trainer).
        final = mlm.evaluate(pipeline(val_texts, False), verbose=0, return_dict=True)
        metrics = {k: round(float(v), 4) for k, v in final.items()}
        metrics["examples"] = _count(val_texts)
        plot_history(run.history, run.curves)
        run.write_config({**config, "completed": True, "metrics": metrics})
        shutil.rmtree(run.backup, ignore_errors=True)
        return TrainResult(run.root, mlm, metrics, chosen.epochs, False)


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
