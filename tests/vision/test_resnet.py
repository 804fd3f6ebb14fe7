"""The ResNet family: published sizes, options, serialization."""

import keras
import numpy as np
import pytest

import zoo
from zoo.vision.resnet import ResNetBackbone

PAPER_PARAMS = {
    "resnet20": 0.27e6,
    "resnet32": 0.46e6,
    "resnet44": 0.66e6,
    "resnet56": 0.85e6,
    "resnet110": 1.7e6,
}


def trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize("name", sorted(PAPER_PARAMS))
def test_cifar_resnets_match_the_paper_within_3_percent(name):
    count = trainable(zoo.get_model(name))
    assert abs(count - PAPER_PARAMS[name]) / PAPER_PARAMS[name] < 0.03, count


def test_resnet50_has_the_published_parameter_count():
    model = zoo.get_model("resnet50")
    assert trainable(model) == 25_557_032
    # v1.5: no convolution bias anywhere before batch norm.
    convs = [layer for layer in model.backbone.layers if isinstance(layer, keras.layers.Conv2D)]
    assert convs and not any(c.use_bias for c in convs)
    strided = [c for c in convs if c.strides == (2, 2) and c.kernel_size == (3, 3)]
    assert len(strided) == 3  # v1.5 strides on the 3x3 conv of stages 2-4


def test_resnet18_matches_torchvision_count():
    assert trainable(zoo.get_model("resnet18")) == 11_689_512


@pytest.mark.parametrize("shape", [(8, 8, 1), (20, 28, 5), (64, 64, 3)])
def test_cifar_resnet_takes_any_size_and_channels(shape):
    model = zoo.get_model("resnet20", input_shape=shape, num_classes=3)
    x = np.random.default_rng(0).uniform(0, 255, (2, *shape)).astype("float32")
    probs = model.predict(x, verbose=0)
    assert probs.shape == (2, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_imagenet_resnet_small_input_and_minimum_size():
    model = zoo.get_model("resnet18", input_shape=(32, 32, 1), num_classes=5)
    assert model.output_shape == (None, 5)
    with pytest.raises(zoo.InvalidArgumentError, match=">= 32"):
        zoo.get_model("resnet18", input_shape=(16, 16, 3))


def test_preactivation_variant_and_dropout():
    v1 = zoo.get_model("resnet20")
    v2 = zoo.get_model("resnet20", preact=True, dropout=0.3)
    assert v2.backbone.preact and not v1.backbone.preact
    assert any(isinstance(layer, keras.layers.Dropout) for layer in v2.layers)
    # v2 ends in BN-ReLU; v1 ends in the last block's ReLU after its add.
    assert v2.backbone.layers[-1].name == "post_relu"
    assert v1.backbone.layers[-1].name.endswith("_out")
    assert abs(trainable(v2) - trainable(v1)) < 200  # same convs, BN moved


def test_logits_option():
    model = zoo.get_model("resnet20", classifier_activation=None, input_shape=(8, 8, 1))
    out = model.predict(np.full((1, 8, 8, 1), 128.0, "float32"), verbose=0)
    assert not np.isclose(out.sum(), 1.0)


def test_preprocessing_is_inside_the_model():
    model = zoo.get_model("resnet20", input_shape=(8, 8, 3))
    names = [layer.name for layer in model.layers]
    assert names[:2] == ["images", "normalize"]
    # A mid-grey image maps to (0.5 - mean) / std per channel before the backbone.
    import keras

    probe = keras.Model(model.inputs, model.get_layer("normalize").output)
    out = probe.predict(np.full((1, 8, 8, 3), 127.5, "float32"), verbose=0)[0, 0, 0]
    np.testing.assert_allclose(out, (0.5 - np.array(model.mean)) / np.array(model.std), rtol=1e-5)


def test_config_round_trip_and_keras_file(tmp_path):
    model = zoo.get_model(
        "resnet20",
        input_shape=(12, 12, 2),
        num_classes=4,
        preact=True,
        dropout=0.1,
        mean=[0.4, 0.6],
        std=[0.2, 0.3],
    )
    config = model.get_config()
    clone = type(model).from_config(config)
    assert clone.get_config() == config
    backbone_config = model.backbone.get_config()
    assert ResNetBackbone.from_config(backbone_config).get_config() == backbone_config

    x = np.random.default_rng(1).uniform(0, 255, (3, 12, 12, 2)).astype("float32")
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe_mode stays on
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    assert loaded.get_config() == config


def test_backbone_argument_errors():
    with pytest.raises(zoo.InvalidArgumentError, match="6n\\+2"):
        ResNetBackbone.cifar(depth=21)
    with pytest.raises(zoo.InvalidArgumentError, match="block='dense'"):
        ResNetBackbone((32, 32, 3), (16,), (1,), block="dense")
    with pytest.raises(zoo.InvalidArgumentError, match="equal length"):
        ResNetBackbone((32, 32, 3), (16, 32), (1,))
    with pytest.raises(zoo.InvalidArgumentError, match="depth=42"):
        ResNetBackbone.imagenet(depth=42)
