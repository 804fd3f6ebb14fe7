"""zoo.distill: logits views, the distillation loss, saving the student."""

import keras
import numpy as np
import pytest

import zoo
from zoo.distill import Distiller, check_settings, logits_view
from zoo.errors import InvalidArgumentError, ZooError


def _tiny(num_classes=4, dropout=0.0):
    return zoo.get_model(
        "resnet20", num_classes=num_classes, input_shape=[8, 8, 1], dropout=dropout
    )


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _images(n=16, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (n, 8, 8, 1)).astype("float32")


def test_logits_view_shares_the_weights_and_is_the_pre_softmax_output():
    model = _tiny()
    view = logits_view(model)
    x = _images()
    logits = view.predict(x, verbose=0)
    np.testing.assert_allclose(_softmax(logits), model.predict(x, verbose=0), atol=1e-6)
    assert view.output.dtype == "float32"
    assert {id(v) for v in view.weights} <= {id(v) for v in model.weights}


def test_a_model_with_linear_outputs_is_its_own_logits_view():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    assert logits_view(model) is model


def test_a_softmax_output_without_a_logits_layer_is_refused():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))
    with pytest.raises(InvalidArgumentError, match="classifier_activation=None"):
        logits_view(model)


def test_the_loss_is_label_cross_entropy_plus_t_squared_kl_of_the_softened_outputs():
    # Guards Keras' default "kl_divergence", which skips the softmax (zoo.distill).
    teacher, student = _tiny(), _tiny()
    distiller = Distiller(teacher, student, temperature=3.0, student_loss_weight=0.25)
    distiller.compile(
        "adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
    )
    x, y = _images(), np.arange(16) % 4
    loss = float(distiller.compute_loss(x, y, distiller(x, training=False), training=False))

    t = logits_view(teacher).predict(x, verbose=0)
    s = logits_view(student).predict(x, verbose=0)
    ce = -np.log(_softmax(s)[np.arange(16), y]).mean()
    p, q = _softmax(t / 3.0), _softmax(s / 3.0)
    kl = (p * np.log(p / q)).sum(axis=-1).mean()
    assert loss == pytest.approx(0.25 * ce + 0.75 * 9.0 * kl, rel=1e-4)


def test_the_teacher_is_frozen_and_only_the_student_trains():
    teacher, student = _tiny(), _tiny()
    distiller = Distiller(teacher, student)
    assert not teacher.trainable
    trained = {id(v) for v in distiller.trainable_weights}
    assert trained == {id(v) for v in student.trainable_weights}


def test_save_writes_the_student_as_built(tmp_path):
    teacher, student = _tiny(), _tiny()
    distiller = Distiller(teacher, student)
    distiller.save(tmp_path / "student.keras")
    loaded = zoo.load_model(tmp_path / "student.keras")
    assert loaded.name == student.name
    x = _images(4)
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), student.predict(x, verbose=0), atol=1e-6
    )


def test_a_new_distiller_loads_a_trained_ones_weights(tmp_path):
    """What resuming a run does: load the backup before any step."""
    trained = Distiller(_tiny(), _tiny(dropout=0.1))
    trained.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    trained.fit(_images(), np.arange(16) % 4, epochs=1, verbose=0)
    trained.save_weights(tmp_path / "state.weights.h5")
    fresh = Distiller(_tiny(), _tiny(dropout=0.1))
    fresh.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    fresh.optimizer.build(fresh.trainable_variables)
    fresh.load_weights(tmp_path / "state.weights.h5")
    for a, b in zip(fresh.get_weights(), trained.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(fresh.optimizer.iterations) == int(trained.optimizer.iterations) == 1


def test_get_config_round_trips():
    distiller = Distiller(_tiny(), _tiny(), temperature=2.0, student_loss_weight=0.1)
    again = Distiller.from_config(distiller.get_config())
    assert (again.temperature, again.student_loss_weight) == (2.0, 0.1)
    assert again.get_config()["student"] == distiller.get_config()["student"]


@pytest.mark.parametrize(
    "teacher, message",
    [
        (lambda: _tiny(num_classes=5), "same classes"),
        (
            lambda: zoo.get_model("resnet20", num_classes=4, input_shape=[16, 16, 1]),
            "same inputs",
        ),
    ],
)
def test_a_teacher_that_does_not_fit_the_student_is_refused(teacher, message):
    with pytest.raises(InvalidArgumentError, match=message):
        Distiller(teacher(), _tiny())


@pytest.mark.parametrize(
    "temperature, weight, bad",
    [(0, 0.5, "temperature=0"), (-1.0, 0.5, "temperature"), (4.0, 1.5, "student_loss_weight")],
)
def test_bad_settings_are_refused_with_their_value(temperature, weight, bad):
    with pytest.raises(ZooError, match=bad):
        check_settings(temperature, weight)
