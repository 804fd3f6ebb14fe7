"""Recipes: registry, learning-rate rules, compile and callbacks."""

import keras
import numpy as np
import pytest

import zoo
from zoo.losses import SparseCategoricalCrossentropyWithSmoothing


def test_lookup_by_recipe_or_model_name():
    assert zoo.get_recipe("resnet20").name == "cifar_resnet"
    assert zoo.get_recipe("resnet50").name == "imagenet_resnet"
    assert set(zoo.list_recipes()) >= {"cifar_resnet", "imagenet_resnet", "digits_resnet"}
    with pytest.raises(zoo.UnknownRecipeError, match="Did you mean: 'cifar_resnet'"):
        zoo.get_recipe("cifar_resnt")


def test_cifar_recipe_follows_the_paper():
    r = zoo.get_recipe("cifar_resnet")
    assert (r.optimizer, r.learning_rate, r.momentum, r.weight_decay, r.batch_size) == (
        "sgd",
        0.1,
        0.9,
        1e-4,
        128,
    )
    assert r.augmentation == "cifar"


def test_learning_rate_scales_with_global_batch():
    r = zoo.get_recipe("cifar_resnet")
    assert r.scaled_learning_rate(128) == pytest.approx(0.1)
    assert r.scaled_learning_rate(512) == pytest.approx(0.4)
    assert r.replace(lr_scaling="sqrt").scaled_learning_rate(512) == pytest.approx(0.2)
    assert r.replace(lr_scaling="none").scaled_learning_rate(512) == pytest.approx(0.1)


def test_warmup_then_cosine_schedule():
    r = zoo.get_recipe("cifar_resnet").replace(epochs=10, warmup_epochs=2)
    schedule = r.learning_rate_schedule(steps_per_epoch=10, global_batch_size=256)
    lr = lambda step: float(schedule(step))  # noqa: E731
    assert lr(0) == pytest.approx(0.0)
    assert lr(10) == pytest.approx(0.1, rel=1e-4)  # halfway through warmup
    assert lr(20) == pytest.approx(0.2, rel=1e-4)  # peak at the scaled rate
    assert lr(60) < lr(40) < lr(20)
    assert lr(100) == pytest.approx(0.0, abs=1e-6)


def test_compile_builds_optimizer_with_decay_exclusions():
    model = zoo.get_model("resnet20", input_shape=(8, 8, 1))
    recipe = zoo.get_recipe("digits_resnet")
    recipe.compile(model, steps_per_epoch=5)
    opt = model.optimizer
    assert isinstance(opt, keras.optimizers.SGD)
    assert opt.weight_decay == pytest.approx(recipe.weight_decay / (1 - recipe.momentum))
    gamma = next(v for v in model.trainable_variables if "gamma" in v.path)
    kernel = next(v for v in model.trainable_variables if "kernel" in v.path)
    assert not opt._use_weight_decay(gamma)
    assert opt._use_weight_decay(kernel)


def test_label_smoothing_loss_matches_keras_one_hot():
    y = np.array([0, 2, 1])
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3]], "float32")
    loss = SparseCategoricalCrossentropyWithSmoothing(label_smoothing=0.1)
    ref = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)(np.eye(3)[y], p)
    assert float(loss(y, p)) == pytest.approx(float(ref), rel=1e-6)
    clone = SparseCategoricalCrossentropyWithSmoothing.from_config(loss.get_config())
    assert clone.label_smoothing == 0.1
    assert zoo.get_recipe("imagenet_resnet").build_loss().label_smoothing == 0.1


def test_callbacks_cover_backup_checkpoint_logs_history_nan(tmp_path):
    names = [type(c).__name__ for c in zoo.get_recipe("resnet20").callbacks(tmp_path / "run")]
    assert names == [
        "AverageMovingStatistics",
        "ModelCheckpoint",
        "CSVLogger",
        "StepBackup",
        "TerminateOnNaN",
        "TensorBoard",
    ]


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"optimizer": "rmsprop"}, "optimizer='rmsprop'"),
        ({"epochs": 0}, "epochs=0"),
        ({"label_smoothing": 1.0}, "label_smoothing=1.0"),
        ({"learning_rate": -0.1}, "learning_rate=-0.1"),
        ({"augmentation": "mixup"}, "augmentation='mixup'"),
        ({"epoch": 3}, "Unknown recipe field"),
        ({"finetune_lr_scale": 0}, "finetune_lr_scale=0"),
        ({"finetune_layer_decay": 1.5}, "finetune_layer_decay=1.5"),
        ({"finetune_warmup_epochs": -1}, "finetune_warmup_epochs=-1"),
        ({"finetune": "yes"}, "finetune='yes'"),
    ],
)
def test_bad_recipe_fields(changes, match):
    with pytest.raises(zoo.InvalidArgumentError, match=match):
        zoo.get_recipe("cifar_resnet").replace(**changes)


def test_linear_schedule_warms_up_then_decays_to_zero():
    recipe = zoo.get_recipe("cifar_resnet").replace(
        schedule="linear", warmup_epochs=1, epochs=10, optimizer="adamw", learning_rate=1e-3
    )
    schedule = recipe.learning_rate_schedule(steps_per_epoch=10, global_batch_size=128)
    rates = [float(schedule(step)) for step in (0, 5, 10, 55, 100, 120)]
    assert rates[0] == 0.0 and rates[2] == pytest.approx(1e-3)
    assert rates[1] == pytest.approx(5e-4) and rates[3] == pytest.approx(5e-4)
    assert rates[4] == 0.0 and rates[5] == 0.0


def test_recipe_augmentations_are_the_pipeline_policies():
    from zoo.data.image import AUGMENTATIONS

    assert set(zoo.recipes.AUGMENTATIONS) == set(AUGMENTATIONS)
