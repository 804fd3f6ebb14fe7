"""Property-based checks: any `get_model` override or `get_dataset` argument works or is a ZooError.

hypothesis draws names from the registry, override keys from each spec's
accepted keywords plus unknown ones, and values of random types and ranges.
A raw TensorFlow, Keras or Python error is a failure. Models are built from
the spec's `tiny_kwargs` with one drawn override on top, and only for the
small CIFAR-size and text/audio families, so each example costs milliseconds
to a second; `get_dataset` examples use the embedded digits and sentiment
sets and stop at building the pipelines (nothing is iterated but one batch).
"""

from __future__ import annotations

import keras
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zoo
from zoo import errors, registry

# One name per family (each family validates its arguments in one place), and
# the CIFAR-size ResNet rather than the ImageNet ones, which build in seconds
# even when tiny.
NAMES = [
    "resnet20",
    "lstm",
    "transformer_encoder_tiny",
    "bert_tiny",
    "kws_res8",
    "kws_lstm",
    "kwt_1",
]

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 70),
    st.sampled_from([2**40, -(2**40)]),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.text(max_size=6),
    st.lists(st.integers(-2, 40), max_size=4),
    st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(0, 4)),
    st.dictionaries(st.sampled_from(["num_mel_bins", "hop_ms", "bins"]), st.integers(-1, 40)),
)
SETTINGS = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure repeats
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@st.composite
def model_overrides(draw):
    name = draw(st.sampled_from(NAMES))
    spec = registry.get_spec(name)
    key = draw(st.sampled_from([*spec.accepted_kwargs(), "dropot", "depth", "weights_path"]))
    return name, key, draw(VALUES)


@SETTINGS
@given(model_overrides())
def test_get_model_override_works_or_raises_a_zoo_error(drawn):
    name, key, value = drawn
    spec = registry.get_spec(name)
    if key == "pretrained":  # keras-hub presets: a path or a handle; offline here
        value = value if not isinstance(value, str) else f"/nonexistent/{value}"
    overrides = {**spec.tiny_kwargs, key: value}
    try:
        model = zoo.get_model(name, **overrides)
    except errors.ZooError as err:
        assert str(err), "a ZooError needs a message"
        return
    finally:
        keras.backend.clear_session()
    assert isinstance(model, keras.Model)


DATASET_ARGS = st.fixed_dictionaries(
    {},
    optional={
        "batch_size": st.one_of(st.integers(-2, 600), st.floats(width=16), st.text(max_size=3)),
        "model": st.one_of(
            st.sampled_from(["resnet20", "lstm", "kws_res8", "resnt20"]), st.integers(), st.none()
        ),
        "augment": st.one_of(
            st.booleans(), st.none(), st.sampled_from(["cifar", "shift", "flip", ""]), st.integers()
        ),
        "seed": st.one_of(
            st.none(), st.integers(-5, 2**64), st.floats(width=16), st.text(max_size=2)
        ),
        "data_dir": st.one_of(st.none(), st.integers(), st.just("")),
    },
)


@SETTINGS
@given(name=st.sampled_from(["digits", "sentiment", "digit", "", "cifar10/"]), kwargs=DATASET_ARGS)
def test_get_dataset_arguments_work_or_raise_a_zoo_error(name, kwargs):
    try:
        train, val = zoo.get_dataset(name, **kwargs)
        next(iter(train))  # one batch: the pipeline really runs
    except errors.ZooError as err:
        assert str(err)
        return
    assert len(val) >= 1


@pytest.mark.parametrize(
    "name, overrides, error",
    [  # What hypothesis found, each a raw error before its fix.
        ("digits", {"batch_size": 1, "data_dir": 1}, errors.InvalidArgumentError),  # TypeError
        ("digits", {"batch_size": 1, "data_dir": 0}, errors.InvalidArgumentError),  # TypeError
        # "" was the current directory, read as a text folder: Keras' ValueError.
        ("", {}, errors.UnknownDatasetError),
    ],
)
def test_found_examples_stay_fixed(name, overrides, error):
    with pytest.raises(error) as info:
        zoo.get_dataset(name, **overrides)
    assert type(info.value) is error
