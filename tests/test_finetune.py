"""Fine-tuning: the frozen warm-up, the two-phase rate, layer-wise decay (zoo.finetune)."""

import keras
import numpy as np
import pytest

import zoo
from zoo import errors
from zoo.finetune import LayerScaledSGD, layer_scales
from zoo.schedules import TwoPhase


def _changed(model, before):
    return {v.path for v, b in zip(model.weights, before) if not np.allclose(v.numpy(), b)}


def test_warmup_trains_the_head_alone_then_the_network_with_batchnorm_kept():
    model = zoo.get_model("resnet20", num_classes=2, input_shape=(8, 8, 1))
    recipe = zoo.get_recipe("digits_resnet").replace(
        finetune=True, epochs=3, finetune_warmup_epochs=1, warmup_epochs=0
    )
    recipe.compile(model, steps_per_epoch=2)
    x = np.random.RandomState(0).uniform(0, 255, (32, 8, 8, 1)).astype("float32")
    y = np.arange(32) % 2
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.before = [v.numpy().copy() for v in self.model.weights]

        def on_epoch_end(self, epoch, logs=None):
            seen.append(_changed(self.model, self.before))

    model.fit(
        x, y, batch_size=16, epochs=3, verbose=0, callbacks=[*recipe.finetune_callbacks(), Spy()]
    )
    warmup, later = seen[0], seen[1]
    assert warmup == {"logits/kernel", "logits/bias"}  # BN statistics untouched too
    assert "stem_conv/kernel" in later and "logits/kernel" in later
    assert not any("_bn/" in path for path in later)  # batch norm stayed in inference mode
    # Training ends with the layers trainable as they started.
    assert len(model.trainable_weights) == len(zoo.get_model("resnet20").trainable_weights)


def test_the_rate_is_the_recipes_for_the_head_then_scaled_down():
    recipe = zoo.get_recipe("digits_resnet").replace(
        finetune=True,
        epochs=4,
        finetune_warmup_epochs=2,
        finetune_lr_scale=0.1,
        warmup_epochs=0,
        schedule="constant",
    )
    schedule = recipe.learning_rate_schedule(steps_per_epoch=10, global_batch_size=64)
    assert float(schedule(0)) == pytest.approx(0.05)
    assert float(schedule(19)) == pytest.approx(0.05)
    assert float(schedule(20)) == pytest.approx(0.005)
    clone = TwoPhase.from_config(schedule.get_config())
    assert float(clone(25)) == pytest.approx(0.005)
    # One epoch in all: no warm-up, the whole network at the lower rate.
    assert recipe.replace(epochs=1).finetune_warmup() == 0


def test_layerwise_decay_scales_bert_layers_by_depth():
    model = zoo.get_model("bert_tiny", num_classes=3, vocabulary_size=60, sequence_length=12)
    scales = layer_scales(model, 0.5)
    assert scales["token_embedding/embeddings"] == 0.125  # below 2 layers: 0.5 ** 3
    assert scales["transformer_layer_0/self_attention_layer/query/kernel"] == 0.25
    assert scales["transformer_layer_1/self_attention_layer/query/kernel"] == 0.5
    assert scales["pooled_dense/kernel"] == 1.0
    assert layer_scales(model, 1.0) == {}
    with pytest.raises(errors.InvalidArgumentError, match="numbered layers"):
        layer_scales(zoo.get_model("resnet20"), 0.5)


def test_a_layer_scaled_optimizer_scales_each_step():
    a = keras.Variable(np.ones(2, "float32"), name="a")
    b = keras.Variable(np.ones(2, "float32"), name="b")
    opt = LayerScaledSGD(0.1, lr_scales={b.path: 0.5})
    opt.apply([np.ones(2, "float32")] * 2, [a, b])
    np.testing.assert_allclose(a.numpy(), 0.9)
    np.testing.assert_allclose(b.numpy(), 0.95)
    assert LayerScaledSGD.from_config(opt.get_config()).lr_scales == {b.path: 0.5}


def test_a_model_without_a_backbone_cannot_be_fine_tuned():
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs), name="plain")
    recipe = zoo.get_recipe("digits_resnet").replace(finetune=True)
    with pytest.raises(errors.InvalidArgumentError, match="'plain' has no `backbone`"):
        recipe.compile(model, steps_per_epoch=1)


@pytest.mark.slow
def test_fine_tuning_digits_weights_beats_scratch_on_tinted_rgb_digits():
    """The learning check of transfer: a shifted domain, 30 labels, same budget.

    The task: digits of the test split (never seen by `resnet20.digits`,
    which was trained on the train split) as 3-channel images, each tinted
    by a random colour (per-channel gains in [0.2, 1]). Three labelled
    examples per class train; the other 330 evaluate. Both models get the
    digits recipe, 10 epochs at batch 16; the fine-tuned one starts from the
    1-channel weights (first conv adapted to 3 channels, new head) and runs
    the recipe's fine-tuning phases. Measured on seed 0 (2-core CPU) with the
    shipped weights: fine-tuned 0.906, scratch 0.224 (with the earlier,
    unseeded weights, seeds 0/1/2: 0.936/0.927/0.933 vs 0.224/0.318/0.315).
    """
    gray = zoo.get_model("resnet20", input_shape=(8, 8, 1))  # the pipeline fits its input
    _, val = zoo.get_dataset("digits", model=gray, batch_size=512, augment=False)
    images, labels = (t.numpy() for t in next(iter(val)))
    gains = np.random.RandomState(5).uniform(0.2, 1.0, (len(images), 1, 1, 3))
    images = (images[..., :1] * gains).astype("float32")  # (360, 8, 8, 3)
    rng = np.random.RandomState(0)
    train = np.concatenate(
        [rng.choice(np.flatnonzero(labels == c), 3, replace=False) for c in range(10)]
    )
    held_out = np.setdiff1d(np.arange(len(labels)), train)

    accuracy = {}
    for start in ("weights", "scratch"):
        keras.utils.set_random_seed(0)
        recipe = zoo.get_recipe("digits_resnet").replace(
            epochs=10, batch_size=16, finetune=start == "weights"
        )
        if start == "weights":
            with pytest.warns(UserWarning, match=r"adapted \(input channels, position table\)"):
                model = zoo.get_model("resnet20", weights="digits", input_shape=(8, 8, 3))
        else:  # the same input normalization as the adapted model
            model = zoo.get_model("resnet20", input_shape=(8, 8, 3), mean=[0.5] * 3, std=[0.5] * 3)
        recipe.compile(model, steps_per_epoch=2)
        model.fit(
            images[train],
            labels[train],
            batch_size=16,
            epochs=recipe.epochs,
            verbose=0,
            callbacks=recipe.finetune_callbacks(),
        )
        scores = model.evaluate(images[held_out], labels[held_out], verbose=0, return_dict=True)
        accuracy[start] = round(float(scores["accuracy"]), 3)
    message = f"held-out accuracy (330 tinted RGB digits): {accuracy}"
    print(message)  # the figure for the changelog, with `pytest -s`
    assert accuracy["weights"] >= 0.85, message
    assert accuracy["weights"] - accuracy["scratch"] >= 0.3, message


def test_text_weights_that_miss_much_of_the_data_are_warned_about(tmp_path):
    # zoo.train records the share for every vocabulary made elsewhere
    # (tests/nlp/test_learning.py: 0.0 for bert_tiny.sentiment on sentiment);
    # here the share and the warning for a table the shipped lstm.sentiment
    # vocabulary (67 words) mostly does not know.
    import warnings

    from zoo.runs import trainer

    words = {"pos": "superb", "neg": "bad", "meh": "okay average"}
    rows = ["review,stars"] + [
        f"an evening of {words[label]} cinema number {i},{label}"
        for i in range(30)
        for label in words
    ]
    table = tmp_path / "reviews.csv"
    table.write_text("\n".join(rows) + "\n")
    tokenizer = zoo.pretrained_tokenizer("lstm", "sentiment")
    share = zoo.data.unknown_token_share(
        str(table), tokenizer, text_column="review", label_column="stars"
    )
    assert share > trainer.UNKNOWN_TOKENS_WARNING
    with pytest.warns(
        UserWarning, match=r"% of the tokens .* weights 'lstm\.sentiment' \(67 entries\)"
    ):
        trainer._warn_unknown_tokens(share, "weights 'lstm.sentiment'", table, tokenizer)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # at or under the threshold: silent
        trainer._warn_unknown_tokens(trainer.UNKNOWN_TOKENS_WARNING, "x", table, tokenizer)
