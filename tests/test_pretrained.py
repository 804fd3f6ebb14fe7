"""Shipped weights: lookup by tag, checksum, shape conflicts, publishing."""

import pytest

import zoo
from zoo import errors, pretrained


@pytest.mark.parametrize("name", [w.name for w in pretrained.all_weights() if w.url is None])
def test_every_shipped_weight_set_measures_its_recorded_accuracy(name):
    entry = pretrained.find(name)
    assert entry.source == "zoo" and entry.license and entry.command.startswith("zoo train")
    assert entry.size == (pretrained.pretrained_dir() / entry.file).stat().st_size
    measured = zoo.runs.evaluate_weights(name)
    # Evaluation is deterministic; the tolerance covers float32 summation order.
    assert measured["accuracy"] == pytest.approx(entry.metrics["accuracy"], abs=0.002), measured
    assert measured["examples"] == entry.metrics["examples"]


def test_shipped_weights_are_listed_on_their_cards():
    entry = pretrained.resolve("resnet20", "digits")
    assert entry.name == "resnet20.digits" and entry.metrics["accuracy"] >= 0.95
    assert {"resnet20", "resnet50"} <= set(zoo.list_models(pretrained=True))
    card = str(zoo.model_info("resnet20"))
    assert "resnet20.digits: accuracy 0.9806 on digits validation" in card
    assert "command: zoo train resnet20 --dataset digits" in card


def test_tampered_weights_fail_their_checksum(pretrained_copy):
    path = pretrained_copy / "resnet20.digits.weights.h5"
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(errors.WeightsError, match="fails its checksum"):
        zoo.get_model("resnet20", weights="digits")


@pytest.mark.parametrize(
    "weights, overrides, match",
    [
        ("imagenet", {}, "Available tags: 'digits'"),
        ("digits", {"preact": True}, "stem_bn/gamma"),
        ("missing/file.weights.h5", {}, "not found"),
    ],
)
def test_bad_weight_requests_name_the_value(weights, overrides, match):
    with pytest.raises(errors.WeightsError, match=match):
        zoo.get_model("resnet20", weights=weights, **overrides)


@pytest.mark.slow
def test_publish_run_adds_a_loadable_entry(tmp_path):
    run_dir = tmp_path / "run"
    zoo.train("resnet20", "digits", run_dir, epochs=1, verbose=0)
    entry = zoo.runs.publish_run(run_dir, "quick", directory=tmp_path / "weights")
    assert entry.name == "resnet20.quick" and entry.kwargs["input_shape"] == [8, 8, 1]
    assert (tmp_path / "weights" / "manifest.json").is_file()
    with pytest.raises(errors.WeightsError, match="tag='bad tag'"):
        zoo.runs.publish_run(run_dir, "bad tag", directory=tmp_path / "weights")


def test_text_weights_ship_the_tokenizer_they_were_trained_with():
    tokenizer = zoo.pretrained_tokenizer("lstm", "sentiment")
    model = zoo.get_model("lstm", weights="sentiment")
    texts = ["the plot was not dull , it was clever", "the plot was not clever , it was dull"]
    probs = model.predict(tokenizer(texts), verbose=0)
    assert list(probs.argmax(-1)) == [1, 0]  # positive, negative: word order read
    with pytest.raises(errors.WeightsError, match="does not read text"):
        zoo.pretrained_tokenizer("resnet20", "digits")


def test_a_model_from_text_weights_tokenizes_new_data_with_their_vocabulary(tmp_path):
    # model.fit users: get_dataset(model=...) must read the new data with the ids the
    # weights' embedding rows were trained on, not adapt a vocabulary of its own.
    table = tmp_path / "reviews.csv"
    table.write_text(
        "text,label\n"
        + "".join(f"an {w} film {i},{w}\n" for i in range(10) for w in ("okay", "clever", "dull"))
    )
    with pytest.warns(UserWarning, match="num_classes: 2 -> 3"):
        model = zoo.get_model("lstm", weights="sentiment", num_classes=3)
    shipped = zoo.pretrained_tokenizer("lstm", "sentiment")
    assert zoo.data.get_tokenizer(str(table), model=model).vocabulary == shipped.vocabulary
    # The pipeline's ids are the shipped tokenizer's: "clever"/"dull" keep their ids.
    train, _ = zoo.get_dataset(str(table), model=model, batch_size=24)
    ids, labels = next(iter(train))
    words = [zoo.dataset_info(str(table)).class_names[i] for i in labels.numpy()]
    expected = shipped([f"an {w} film" for w in words]).numpy()
    assert (ids.numpy()[:, :2] == expected[:, :2]).all()  # "an" [UNK], then the word
    assert zoo.get_model("lstm", weights="sentiment").zoo_vocabulary[2:] == shipped.vocabulary[2:]
    assert not hasattr(zoo.get_model("lstm"), "zoo_vocabulary")


def test_tampered_tokenizer_fails_its_checksum(pretrained_copy):
    entry = pretrained.resolve("lstm", "sentiment")
    vocabulary = pretrained_copy / entry.tokenizer["dir"] / "vocabulary.txt"
    vocabulary.write_text(vocabulary.read_text().replace("clever", "dull", 1))
    with pytest.raises(errors.WeightsError, match="vocabulary.txt .* fails its checksum"):
        zoo.pretrained_tokenizer("lstm", "sentiment")


def test_weights_cli_lists_and_verifies(capsys, pretrained_copy):
    from zoo import cli

    assert cli.main(["weights", "list"]) == 0
    listing = capsys.readouterr().out
    assert "resnet20.digits" in listing and "lstm.sentiment" in listing
    assert cli.main(["weights", "verify"]) == 0
    verified = capsys.readouterr().out
    assert "resnet20.digits: sha256 ok" in verified and "lstm.sentiment: sha256 ok" in verified
    assert "resnet50.a1_in1k: not downloaded (https://huggingface.co/timm/" in verified
    # Offline (the suite is), fetching a published file fails at once, naming the fix.
    assert cli.main(["weights", "fetch", "resnet50.a1_in1k"]) == 2
    assert "curl" in capsys.readouterr().err

    path = pretrained_copy / "resnet20.digits.weights.h5"
    path.write_bytes(path.read_bytes()[:-10])
    assert cli.main(["weights", "verify"]) == 2
    assert "fails its checksum" in capsys.readouterr().err


def test_every_file_the_manifest_names_is_installed_with_the_package():
    # A regular install copies pretrained/ by setup.cfg's [options.data_files].
    import configparser
    import fnmatch

    config = configparser.ConfigParser()
    config.read(pretrained.pretrained_dir().parent / "setup.cfg")
    installed = {
        target.removeprefix("share/zoo/"): [p.strip() for p in sources.split(",") if p.strip()]
        for target, sources in config["options.data_files"].items()
    }
    wanted = ["pretrained/manifest.json"]
    for entry in pretrained.all_weights():
        wanted += [f"pretrained/{entry.file}"] if entry.url is None else []
        wanted += [f"pretrained/{entry.labels_file}"] if entry.labels_file else []
        if entry.tokenizer:
            wanted += [
                f"pretrained/{entry.tokenizer['dir']}/{f}" for f in entry.tokenizer["sha256"]
            ]
    for path in wanted:
        folder = path.rsplit("/", 1)[0]
        assert any(fnmatch.fnmatch(path, g) for g in installed.get(folder, [])), path
