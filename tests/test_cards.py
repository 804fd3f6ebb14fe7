"""`zoo list` and `zoo info` answer from `zoo/cards.json` without importing Keras.

The file is generated from the registry (`make docs`); these tests fail when
it falls behind, and check that a process which registers its own models
still sees them.
"""

import json
import subprocess
import sys

from zoo import cards, factory

# Building every model to count parameters takes minutes (bert_base); these
# cover each family's builder, and every other card field is checked for all.
COUNTED = ("resnet20", "resnet18", "lstm", "transformer_encoder_tiny", "bert_tiny", "kws_res8")


def test_cards_file_matches_the_live_registry():
    stored = cards.load()
    from zoo import registry

    registry.load_families()
    assert sorted(stored) == sorted(factory.list_models()), "run `make docs`"
    for name in factory.list_models():
        spec = registry.get_spec(name)
        card = stored[name]
        assert card["family"] == spec.family and card["task"] == spec.task, name
        assert card["description"] == spec.description, "run `make docs`"
        assert card["input_spec"] == json.loads(json.dumps(spec.input_spec())), name
        assert card["default_kwargs"] == json.loads(
            json.dumps(spec.resolve_kwargs({}), default=list)
        ), name
        assert card["accepted_overrides"] == list(spec.accepted_kwargs()), name
        assert (card["default_dataset"], card["recipe"]) == (spec.default_dataset, spec.recipe)
    live = {name: factory.model_info(name).to_dict() for name in COUNTED}
    for name, card in live.items():
        card.pop("weights")
        assert json.loads(json.dumps(card, default=list)) == stored[name], "run `make docs`"


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_list_and_info_import_no_keras_in_a_fresh_process():
    out = _run(
        "import sys\n"
        "from zoo import cli\n"
        "cli.main(['list', 'resnet2*'])\n"
        "cli.main(['info', 'lstm'])\n"
        "cli.main(['list', '--pretrained', 'yes'])\n"
        "print('keras loaded:', 'keras' in sys.modules or 'tensorflow' in sys.modules)\n"
    )
    lines = out.splitlines()
    assert lines[0] == "resnet20" and "family         lstm" in out
    assert "parameters     3,217,922 trainable" in out
    assert "multiply-adds  167.77 M per example" in out
    # `list --pretrained yes`: shipped weights (resnet20) and published ones (resnet50).
    assert {"resnet20", "resnet50"} <= set(lines) and lines[-1] == "keras loaded: False"


def test_a_process_that_registers_models_lists_them_from_the_registry():
    out = _run(
        "import keras, zoo\n"
        "from zoo.inputs import ImageInput\n"
        "@zoo.register_model('my_net', family='mine', task='image_classification',\n"
        "                    input=ImageInput())\n"
        "def my_net(num_classes=2):\n"
        "    return keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),\n"
        "                             keras.layers.Dense(num_classes)])\n"
        "print(zoo.list_models('my_*'), 'resnet20' in zoo.list_models())\n"
    )
    assert out.strip() == "['my_net'] True"


def test_unknown_names_get_the_registrys_error_from_the_cards():
    import pytest

    import zoo

    with pytest.raises(zoo.UnknownModelError, match="resnet20"):
        cards.card("resnet2O")
