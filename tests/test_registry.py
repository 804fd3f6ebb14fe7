"""The registry: listing, lookup, overrides and model cards."""

import pytest

import zoo

CIFAR = ["resnet20", "resnet32", "resnet44", "resnet56", "resnet110"]
IMAGENET = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]


def test_list_models_sorted_naturally_and_filtered():
    names = zoo.list_models()
    assert set(CIFAR + IMAGENET) <= set(names)
    assert zoo.list_models("resnet*", task="image_classification") == sorted(
        CIFAR + IMAGENET, key=lambda n: int(n[6:])
    )
    assert zoo.list_models("resnet*", exclude="resnet1*") == [
        "resnet20",
        "resnet32",
        "resnet34",
        "resnet44",
        "resnet50",
        "resnet56",
    ]
    assert zoo.list_models(["resnet2?", "resnet3?"]) == ["resnet20", "resnet32", "resnet34"]
    assert zoo.list_models("nothing*") == []


def test_list_models_pretrained_filter_partitions_the_registry():
    with_weights = zoo.list_models(pretrained=True)
    without = zoo.list_models(pretrained=False)
    assert sorted(with_weights + without) == sorted(zoo.list_models())
    assert not set(with_weights) & set(without)


def test_unknown_model_suggests_close_matches():
    with pytest.raises(zoo.UnknownModelError, match="Did you mean: 'resnet20'"):
        zoo.get_model("resnt20")
    with pytest.raises(zoo.ZooError, match="Unknown model 42"):
        zoo.get_model(42)


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"num_classes": 0}, "num_classes=0"),
        ({"num_classes": 2.5}, "num_classes=2.5"),
        ({"input_shape": (7,)}, r"input_shape=\(7,\)"),
        ({"input_shape": (2, 2, 3)}, r"input_shape=\(2, 2, 3\)"),
        ({"input_shape": (32, 32, 0)}, r"input_shape=\(32, 32, 0\)"),
        ({"num_clases": 10}, "Did you mean 'num_classes'"),
        ({"depth": 32}, "fixes depth=20"),
        ({"dropout": 1.5}, "dropout=1.5"),
        ({"classifier_activation": "tanh"}, "classifier_activation='tanh'"),
        ({"mean": [0.5, 0.5]}, "one number per input channel"),
        ({"mean": [0.5, "x", 0.5]}, r"Received: mean=\[0.5, 'x', 0.5\]"),
        ({"mean": 5}, "Received: mean=5"),
        ({"preact": "yes"}, "preact must be True or False. Received: preact='yes'"),
        ({"sync_batchnorm": 1}, "sync_batchnorm=1"),
    ],
)
def test_bad_overrides_name_keyword_value_and_accepted(overrides, match):
    with pytest.raises(zoo.InvalidArgumentError, match=match):
        zoo.get_model("resnet20", **overrides)


def test_model_info_card():
    card = zoo.model_info("resnet20")
    assert card.family == "resnet"
    assert card.task == "image_classification"
    assert card.input_spec == {
        "modality": "image",
        "shape": [32, 32, 3],
        "dtype": "float32",
        "value_range": [0.0, 255.0],
    }
    assert card.num_params == 269_722
    assert card.default_dataset == "cifar10"
    assert card.recipe == "cifar_resnet"
    assert "num_classes" in card.accepted_overrides and "depth" not in card.accepted_overrides
    assert card.default_kwargs["depth"] == 20
    text = str(card)
    assert "269,722 trainable" in text and "cifar_resnet" in text
    assert card.to_dict()["name"] == "resnet20"


class TableInput(zoo.inputs.InputSpec):
    """A kind of input zoo does not ship: registering a model of it needs only this."""

    kind = "table"


def test_register_model_decorator_and_duplicates():
    import keras

    @zoo.register_model(
        "test_tiny_mlp",
        family="mlp",
        task="tabular",
        input=TableInput(),
        default_kwargs={"units": 4},
    )
    def tiny(units=4):
        inputs = keras.Input((3,))
        return keras.Model(inputs, keras.layers.Dense(units)(inputs))

    try:
        assert zoo.get_model("test_tiny_mlp", units=2).output_shape == (None, 2)
        assert "test_tiny_mlp" in zoo.list_models(task="tabular")
        with pytest.raises(zoo.InvalidArgumentError, match="already registered"):
            zoo.register_model("test_tiny_mlp", family="mlp", task="tabular", input=TableInput())(
                tiny
            )
        with pytest.raises(zoo.InvalidArgumentError, match="not arguments"):
            zoo.register_model(
                "test_other",
                family="mlp",
                task="tabular",
                input=TableInput(),
                default_kwargs={"nope": 1},
            )(tiny)
        with pytest.raises(zoo.InvalidArgumentError, match="input must be a zoo.inputs"):
            zoo.register_model("test_other", family="mlp", task="tabular", input="tabular")(tiny)
    finally:
        zoo.registry._REGISTRY.pop("test_tiny_mlp", None)


def test_unknown_task_is_an_error():
    with pytest.raises(zoo.UnknownNameError, match="task 'image_clasification'"):
        zoo.list_models(task="image_clasification")


def test_documented_module_paths_work_after_a_plain_import():
    # A fresh interpreter: this test session has imported every module already.
    code = (
        "import sys, zoo\n"
        "assert 'tensorflow' not in sys.modules  # `import zoo` stays light\n"
        "assert callable(zoo.data.get_tokenizer) and callable(zoo.training.export_run)\n"
        "assert callable(zoo.data.tokenizers.load_tokenizer)\n"
        "assert callable(zoo.distribute.get_strategy) and callable(zoo.export)\n"
        "try:\n"
        "    zoo.no_such_thing\n"
        "except AttributeError as err:\n"
        "    assert 'no_such_thing' in str(err)\n"
        "else:\n"
        "    raise SystemExit('no AttributeError')\n"
    )
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]


def test_list_models_rejects_a_pattern_that_is_not_text():
    with pytest.raises(zoo.InvalidArgumentError, match="Received: pattern=123"):
        zoo.list_models(123)


@pytest.mark.parametrize("name", ["resnet20", "lstm", "bert_tiny"])
def test_a_built_model_has_the_input_spec_of_its_name(name):
    # Data and export read the spec from a built model (no name at hand).
    spec = zoo.registry.get_spec(name)
    model = zoo.get_model(name, **spec.tiny_kwargs)
    assert zoo.inputs.for_model(model) == spec.input_for(spec.tiny_kwargs)
