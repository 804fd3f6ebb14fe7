"""Training switches of a recipe: gradient accumulation, EMA, precision, XLA."""

import json

import keras
import numpy as np
import pytest

import zoo
from zoo.recipes import Recipe

# Plain SGD at a constant rate: one update's effect is easy to state exactly.
PLAIN_SGD = dict(
    optimizer="sgd",
    learning_rate=0.1,
    reference_batch=32,
    lr_scaling="none",
    momentum=0.0,
    weight_decay=0.0,
    schedule="constant",
    epochs=1,
)


def _data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 6)).astype("float32"), rng.integers(0, 3, n).astype("int32")


def _dense_model(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, activation="tanh"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )


def _fit(recipe, batch_size, x, y, callbacks=()):
    model = _dense_model()
    recipe.compile(model, steps_per_epoch=len(x) // batch_size, global_batch_size=batch_size)
    model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0, callbacks=callbacks)
    return model


def test_accumulating_four_batches_equals_one_batch_four_times_larger():
    x, y = _data()
    big = _fit(Recipe("big", **PLAIN_SGD), 32, x, y)
    micro = _fit(Recipe("micro", accumulate=4, **PLAIN_SGD), 8, x, y)
    for a, b in zip(big.get_weights(), micro.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    untouched = _dense_model().get_weights()
    assert not np.allclose(big.get_weights()[0], untouched[0])  # an update happened


def test_accumulation_scales_the_learning_rate_to_the_effective_batch():
    recipe = zoo.get_recipe("cifar_resnet")
    assert recipe.replace(accumulate=4).scaled_learning_rate(32) == pytest.approx(
        recipe.scaled_learning_rate(128)
    )


def test_ema_model_holds_the_moving_average_of_the_trained_weights():
    x, y = _data(64)
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(
            [w.numpy().copy() for w in model_ref[0].trainable_weights]
        )
    )
    model_ref = [None]
    recipe = Recipe("ema", ema=True, ema_momentum=0.5, **PLAIN_SGD)
    model = _dense_model()
    model_ref[0] = model
    recipe.compile(model, steps_per_epoch=8, global_batch_size=8)
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0, callbacks=[record])
    assert len(seen) == 8
    average = seen[0]
    for weights in seen[1:]:  # Keras: the first step copies, then m * avg + (1 - m) * w
        average = [0.5 * a + 0.5 * w for a, w in zip(average, weights)]
    for got, want, last in zip(model.trainable_weights, average, seen[-1]):
        np.testing.assert_allclose(got.numpy(), want, atol=1e-6)
        assert not np.allclose(want, last)  # the average is not just the last weights


def test_recipe_refuses_a_model_built_in_another_precision():
    model = _dense_model()
    with pytest.raises(zoo.InvalidArgumentError, match="precision_scope"):
        Recipe("bf16", precision="mixed_bfloat16", **PLAIN_SGD).compile(model, steps_per_epoch=1)
    with pytest.raises(zoo.InvalidArgumentError, match="precision"):
        Recipe("bad", precision="float8", **PLAIN_SGD)
    with pytest.raises(zoo.InvalidArgumentError, match="accumulate"):
        Recipe("bad", accumulate=0, **PLAIN_SGD)


class _TwoReplicas:
    """What Recipe.compile reads of a strategy, without splitting the CPU."""

    num_replicas_in_sync = 2

    def scope(self):
        import contextlib

        return contextlib.nullcontext()


def test_xla_is_refused_over_replicas():
    recipe = Recipe("sw", jit_compile=True, **PLAIN_SGD)
    with pytest.raises(zoo.InvalidArgumentError, match="replicas") as info:
        recipe.compile(_dense_model(), steps_per_epoch=1, strategy=_TwoReplicas())
    assert "jit_compile=True" in str(info.value)
    # EMA, mixed precision and accumulation do train over replicas (the CLI
    # test; accumulation's equivalence just below).
    Recipe("ok", ema=True, accumulate=2, **PLAIN_SGD).compile(
        _dense_model(), steps_per_epoch=1, strategy=_TwoReplicas()
    )


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_accumulation_over_two_replicas_equals_one_big_batch_on_one_device(
    optimizer, script_result
):
    """Keras 3.15 fails here on its own ("merge_call called while defining a
    new graph"); `zoo.keras_fixes.patch_accumulation_over_replicas` mends it.
    2 replicas x 8 examples x 2 accumulated steps against one batch of 32."""
    result = script_result("accumulation_over_replicas.py", optimizer)
    assert result["replicas"] == 2 and result["updates"] == [4, 4]
    assert result["moved"] > 1e-2  # the updates really happened
    assert result["max_weight_diff"] <= 1e-6, result


def test_jit_compile_reaches_keras():
    x, y = _data()
    model = _fit(Recipe("xla", jit_compile=True, **PLAIN_SGD), 8, x, y)
    assert model.jit_compile is True
    assert _fit(Recipe("plain", **PLAIN_SGD), 8, x, y).jit_compile is False


@pytest.mark.slow
def test_bfloat16_run_with_accumulation_learns_saves_and_exports_float32(toy_family, tmp_path):
    # The toy CNN: on CPUs bfloat16 convolutions run about 5x slower than float32.
    run_dir = tmp_path / "run"
    result = zoo.train(
        "toy_cnn",
        "digits",
        run_dir,
        epochs=8,
        batch_size=32,
        seed=0,
        verbose=0,
        precision="mixed_bfloat16",
        accumulate=2,
    )
    recipe = json.loads((run_dir / "config.json").read_text())["recipe"]
    assert (recipe["precision"], recipe["accumulate"]) == ("mixed_bfloat16", 2)
    assert result.metrics["accuracy"] >= 0.8, result.metrics
    saved = zoo.load_model(run_dir / "model.keras")
    convs = [layer for layer in saved.backbone.layers if isinstance(layer, keras.layers.Conv2D)]
    assert convs and all(c.dtype_policy.name == "mixed_bfloat16" for c in convs)
    assert saved.output.dtype == "float32"

    report = zoo.training.export_run(run_dir, tmp_path / "export", formats=("onnx",), examples=16)
    assert report.passed, report


def test_an_ema_run_saves_the_averaged_weights(toy_family, tmp_path):
    result = zoo.train("toy_cnn", "digits", tmp_path / "run", epochs=1, seed=0, verbose=0, ema=True)
    averages = result.model.optimizer._model_variables_moving_average
    saved = zoo.load_model(tmp_path / "run" / "model.keras")
    assert len(averages) == len(saved.trainable_weights) > 0
    for average, weight in zip(averages, saved.trainable_weights):
        np.testing.assert_array_equal(average.numpy(), weight.numpy())


@pytest.mark.slow
def test_a_run_with_accumulation_and_ema_resumes_mid_epoch_exactly(tmp_path, monkeypatch):
    """Every switch combines with resume: the accumulators, the EMA weights and
    the dropout state are in the backup; the crash leaves a half-filled
    accumulation. Without --deterministic too: on this CPU a seeded run repeats
    to the bit (the killed run's first 10 steps are the uninterrupted run's)."""
    from zoo import recipes

    class Crash(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen = 0

        def on_train_batch_end(self, batch, logs=None):
            self.seen += 1
            if self.seen == 10:  # 8 batches an epoch: batch 2 of epoch 1, just backed up
                raise RuntimeError("simulated crash")

    small = {"embedding_dim": 8, "units": 8, "vocabulary_size": 200, "dropout": 0.3}
    small["num_layers"] = 1  # one recurrent layer: the resume path is what is tested
    run = dict(epochs=2, batch_size=512, seed=2, accumulate=3, ema=True, overrides=small)
    run.update(verbose=0, backup_every=5)  # 10 = 3 updates of 3 batches + 1 accumulated
    whole = zoo.train("lstm", "sentiment", tmp_path / "whole", **run)

    original = recipes.Recipe.callbacks
    monkeypatch.setattr(
        recipes.Recipe, "callbacks", lambda self, d, **kw: original(self, d, **kw) + [Crash()]
    )
    with pytest.raises(RuntimeError, match="simulated crash"):
        zoo.train("lstm", "sentiment", tmp_path / "killed", **run)
    monkeypatch.setattr(recipes.Recipe, "callbacks", original)
    resumed = zoo.train("lstm", "sentiment", tmp_path / "killed", **run)

    assert resumed.resumed and resumed.metrics == whole.metrics
    for a, b in zip(whole.model.get_weights(), resumed.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    history = [(tmp_path / r / "history.csv").read_text() for r in ("whole", "killed")]
    assert history[0] == history[1]
