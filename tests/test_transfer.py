"""Loading `resnet20.digits` into models built with other arguments (zoo.transfer)."""

import numpy as np
import pytest

import zoo
from zoo import errors
from zoo.transfer import adapt_input_conv, transfer_weights

RNG = np.random.RandomState(0)
GRAY = RNG.uniform(0, 255, (4, 8, 8, 1)).astype("float32")


@pytest.fixture(scope="module")
def digits_model():
    return zoo.get_model("resnet20", weights="digits")


def test_new_head_loads_the_rest_and_says_what_it_skipped(digits_model):
    with pytest.warns(UserWarning, match=r"skipped \(re-initialised\): logits/kernel, logits/bias"):
        model = zoo.get_model("resnet20", weights="digits", num_classes=2)
    report = model.transfer_report
    assert report.skipped == ("logits/kernel", "logits/bias")
    assert report.adapted == ()
    assert report.changed == {"num_classes": (10, 2)}
    assert model.output_shape == (None, 2)
    # Everything below the head is the trained network: same features.
    features = lambda m: m.get_layer("avg_pool").output  # noqa: E731
    import keras

    ours = keras.Model(model.inputs, features(model)).predict(GRAY, verbose=0)
    theirs = keras.Model(digits_model.inputs, features(digits_model)).predict(GRAY, verbose=0)
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_three_channels_see_a_gray_image_as_the_one_channel_weights_did(digits_model):
    with pytest.warns(UserWarning, match=r"adapted \(.*\): stem_conv/kernel"):
        model = zoo.get_model("resnet20", weights="digits", input_shape=(8, 8, 3))
    assert model.transfer_report.adapted == ("stem_conv/kernel",)
    # The 1-channel normalization is carried over to each channel.
    assert model.mean == [0.5] * 3 and model.std == [0.5] * 3
    rgb = np.repeat(GRAY, 3, axis=-1)
    np.testing.assert_allclose(
        model.predict(rgb, verbose=0), digits_model.predict(GRAY, verbose=0), atol=1e-5
    )


def test_a_larger_image_needs_no_adaptation(digits_model):
    model = zoo.get_model("resnet20", weights="digits", input_shape=(16, 16, 1))
    report = model.transfer_report
    assert report.skipped == report.adapted == ()
    assert len(report.loaded) == len(digits_model.weights)


def test_adapt_input_conv_follows_timm():
    kernel = RNG.normal(size=(3, 3, 3, 4))
    np.testing.assert_allclose(adapt_input_conv(kernel, 1), kernel.sum(axis=2, keepdims=True))
    two = adapt_input_conv(kernel, 2)  # timm: tile, keep the first 2, scale by 3/2
    np.testing.assert_allclose(two, kernel[:, :, :2] * 1.5)
    six = adapt_input_conv(kernel[:, :, :1], 6)
    np.testing.assert_allclose(six.sum(axis=2, keepdims=True), kernel[:, :, :1])


def test_an_architecture_change_is_refused_with_the_variable():
    # preact=True has as many variables of the same shapes, in other places.
    with pytest.raises(errors.WeightsError, match=r"stem_bn/gamma.*stage1_block1_pre_bn/gamma"):
        zoo.get_model("resnet20", weights="digits", preact=True)


def test_another_shape_change_names_the_variable_and_both_shapes():
    import keras

    def mlp(hidden, classes):
        inputs = keras.Input(shape=(3,))
        x = keras.layers.Dense(hidden, name="hidden")(inputs)
        return keras.Model(inputs, keras.layers.Dense(classes, name="logits")(x))

    with pytest.raises(errors.WeightsError, match=r"'hidden/kernel' has shape \(3, 5\).*\(3, 4\)"):
        transfer_weights(mlp(4, 2), mlp(5, 2), name="mlp.test", changed={})
