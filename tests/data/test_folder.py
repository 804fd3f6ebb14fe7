"""Folders of class subfolders as datasets."""

import json
import shutil

import numpy as np
import pytest

import zoo
from zoo import errors


def test_folder_dataset_split_and_fitted(image_folder):
    info = zoo.dataset_info(str(image_folder))
    assert info.class_names == ("cat", "dog", "owl") and info.source == "folder"
    model = zoo.get_model("resnet20", input_shape=(8, 8, 1), num_classes=3)
    train, val = zoo.get_dataset(str(image_folder), model=model, batch_size=4)
    train_n = sum(int(x.shape[0]) for x, _ in train)
    val_n = sum(int(x.shape[0]) for x, _ in val)
    assert (train_n, val_n) == (24, 6)
    images, labels = next(iter(train))
    assert images.shape[1:] == (8, 8, 1) and set(labels.numpy()) <= {0, 1, 2}


def test_zoo_train_on_a_folder_announces_its_files_once(
    image_folder, toy_family, capsys, monkeypatch
):
    monkeypatch.chdir(image_folder.parent)
    # toy_cnn takes 8x8x1 by default and the folder holds colour PNGs: said once, with the fix.
    with pytest.warns(UserWarning, match=r"hold 3 channels \(colour\).*input_shape=\[8,8,3\]"):
        result = zoo.train(
            "toy_cnn", image_folder.name, "run", epochs=1, batch_size=8, seed=0, data_dir="tfds"
        )
    assert result.metrics["examples"] == 6 and result.model.output_shape == (None, 3)
    out = capsys.readouterr().out
    # Keras' loader line for the training pipeline; the final evaluation's is not repeated.
    assert out.count("Found 30 files belonging to 3 classes.") == 1, out
    # The run names the folder by its absolute path: it evaluates from anywhere.
    config = zoo.runs.RunDir(result.run_dir).read_config()
    assert config["dataset"] == str(image_folder)
    assert config["data_dir"] == str(image_folder.parent / "tfds")
    (image_folder.parent / "elsewhere").mkdir()
    monkeypatch.chdir(image_folder.parent / "elsewhere")
    assert zoo.evaluate(image_folder.parent / "run")["examples"] == 6
    # Weights published from it keep the path, so they are re-measured from anywhere too.
    weights = image_folder.parent / "weights"
    entry = zoo.runs.publish_run(image_folder.parent / "run", "photos", directory=weights)
    assert entry.dataset == str(image_folder)
    monkeypatch.setenv("ZOO_PRETRAINED_DIR", str(weights))
    assert zoo.runs.evaluate_weights("toy_cnn.photos")["examples"] == 6
    # A run of an earlier version recorded the folder as typed; the same call still resumes it.
    monkeypatch.chdir(image_folder.parent)
    config["dataset"] = image_folder.name
    (image_folder.parent / "run" / "config.json").write_text(json.dumps(config))
    again = zoo.train("toy_cnn", image_folder.name, "run", epochs=1, batch_size=8, seed=0)
    assert again.already_complete


def test_runs_record_paths_that_work_anywhere_and_share_only_names(tmp_path, monkeypatch):
    from zoo import data

    monkeypatch.chdir(tmp_path)
    (tmp_path / "photos").mkdir()
    (tmp_path / "reviews.csv").write_text("text,label\nfine,pos\n")
    assert data.recorded_name("photos") == str(tmp_path / "photos")
    assert data.recorded_name("reviews.csv") == str(tmp_path / "reviews.csv")
    assert data.recorded_name("digits") == "digits"
    assert data.recorded_dir("tfds") == str(tmp_path / "tfds")
    assert data.recorded_dir("gs://bucket/tfds") == "gs://bucket/tfds"  # remote: as given
    assert data.recorded_dir(None) is None
    # Export metadata carries no machine's home directory.
    assert data.shared_name(str(tmp_path / "photos")) == "photos"
    assert data.shared_name("digits") == "digits"


def test_a_run_evaluates_on_a_folder_of_some_of_its_classes(image_folder, toy_family, tmp_path):
    run = zoo.train(
        "toy_cnn",
        str(image_folder),
        tmp_path / "run",
        epochs=1,
        batch_size=8,
        seed=0,
        overrides={"input_shape": (8, 8, 3)},
    )
    # Two of the run's three classes: the folder numbers them 0 and 1, the model 1 and 2.
    # 3 dogs and 1 owl to validate on, so labels read unmapped cannot score the same.
    subset = tmp_path / "subset"
    for name, held_out in (("dog", 3), ("owl", 1)):
        shutil.copytree(image_folder / name, subset / "train" / name)
        (subset / "val" / name).mkdir(parents=True)
        for path in sorted((image_folder / name).iterdir())[:held_out]:
            shutil.copy(path, subset / "val" / name / path.name)
    _, val = zoo.get_dataset(str(subset), model=run.model, batch_size=64, augment=False)
    images, labels = (t.numpy() for t in next(iter(val)))
    probabilities = run.model.predict(images, verbose=0)
    expected = -np.log(probabilities[np.arange(len(labels)), labels + 1]).mean()
    metrics = zoo.evaluate(run.run_dir, dataset=str(subset))
    assert metrics["examples"] == len(labels) == 4
    assert metrics["loss"] == pytest.approx(expected, rel=1e-4)
    assert metrics["accuracy"] == np.mean(probabilities.argmax(-1) == labels + 1)
    # The int8 gate of an export verified on the subset reads the labels as evaluate does.
    with pytest.warns(UserWarning, match="gate ran on 4 validation examples: too few"):
        report = zoo.training.export_run(
            run.run_dir, tmp_path / "out", formats=("onnx",), quantize="int8", dataset=str(subset)
        )
    assert report["onnx_int8"].reference_accuracy == pytest.approx(metrics["accuracy"])
    assert report["onnx_int8"].accuracy_examples == 4
    # A class the run never saw is refused, not scored as another one.
    shutil.copytree(image_folder / "cat", tmp_path / "other" / "cat")
    shutil.copytree(image_folder / "owl", tmp_path / "other" / "emu")
    with pytest.raises(errors.InvalidArgumentError, match=r"classes \['emu'\] that run"):
        zoo.evaluate(run.run_dir, dataset=str(tmp_path / "other"))
    # The run's own folder moved away: said so, with the way to point at it.
    image_folder.rename(tmp_path / "moved")
    with pytest.raises(errors.DatasetNotAvailableError, match=r"trained on .*--dataset PATH"):
        zoo.evaluate(run.run_dir)


def test_colour_is_warned_about_only_when_a_one_channel_model_drops_it(
    toy_family, tmp_path, make_image_folder
):
    import warnings

    from zoo.runs import trainer

    gray_model = zoo.get_model("toy_cnn", input_shape=(8, 8, 1), num_classes=2)
    info = zoo.data.DatasetInfo("photos", "tfds", ("a", "b"), None, "none", channels=3)
    with pytest.warns(
        UserWarning, match=r"from weights 'digits'.*\(8, 8, 3\)\}\); the weights' first"
    ):
        trainer._warn_colour_dropped(info, gray_model, "digits", "photos")
    make_image_folder(tmp_path / "gray", classes=("a", "b"), per_class=1, channels=1)
    folder = zoo.dataset_info(str(tmp_path / "gray"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rgb_model = zoo.get_model("toy_cnn", input_shape=(8, 8, 3), num_classes=2)
        trainer._warn_colour_dropped(info, rgb_model, None, "photos")
        # A folder of grayscale files (read only for a 1-channel model): nothing lost.
        trainer._warn_colour_dropped(folder, gray_model, None, str(tmp_path / "gray"))


def test_a_folder_says_what_channels_its_images_hold(tmp_path, make_image_folder):
    # What lets a run warn when a 1-channel model would drop the colour.
    from zoo.data.folder import image_channels

    make_image_folder(tmp_path / "gray", per_class=2, channels=1)
    make_image_folder(tmp_path / "rgba", per_class=2, channels=4)
    assert image_channels(tmp_path / "gray") == 1
    (tmp_path / "rgba" / "cat" / "0.png").write_bytes(b"\x89PNG")  # the loader names it later
    assert image_channels(tmp_path / "rgba") == 4
    assert image_channels(tmp_path / "rgba", limit=1) is None  # only the broken one read
    assert zoo.dataset_info("digits").channels == 1


def test_folder_with_train_and_val_subfolders(tmp_path, make_image_folder):
    make_image_folder(tmp_path / "ds" / "train", per_class=4)
    make_image_folder(tmp_path / "ds" / "val", per_class=2)
    train, val = zoo.get_dataset(str(tmp_path / "ds"), batch_size=32, model="resnet20")
    assert sum(int(x.shape[0]) for x, _ in train) == 12
    assert sum(int(x.shape[0]) for x, _ in val) == 6
    assert zoo.dataset_info(str(tmp_path / "ds")).class_names == ("cat", "dog", "owl")


def test_folder_with_one_class_is_rejected(tmp_path, make_image_folder):
    make_image_folder(tmp_path / "one", classes=("cat",), per_class=2)
    with pytest.raises(errors.InvalidArgumentError, match="at least 2 class subfolders"):
        zoo.get_dataset(str(tmp_path / "one"))


def test_wav_folder_with_one_class_is_told_about_wav_files(tmp_path, write_wav):
    write_wav(tmp_path / "one" / "yes" / "0.wav", np.zeros(1600, "float32"))
    with pytest.raises(errors.InvalidArgumentError, match=r"ROOT/<class>/\*\.wav \(audio files\)"):
        zoo.get_dataset(str(tmp_path / "one"))


def test_folder_without_images_is_rejected(tmp_path):
    for name in ("a", "b"):
        (tmp_path / "empty" / name).mkdir(parents=True)
    with pytest.raises(errors.InvalidArgumentError, match="Cannot read folder dataset"):
        zoo.get_dataset(str(tmp_path / "empty"))


@pytest.mark.parametrize(
    ("suffix", "kind"), [(".txt", "text"), (".png", "image"), (".wav", "audio")]
)
def test_a_folder_is_the_kind_its_files_name(tmp_path, write_wav, suffix, kind):
    # The input specs claim file endings (InputSpec.folder_suffixes).
    for label in ("no", "yes"):
        if suffix == ".wav":  # audio folders read every header for their sample rate
            write_wav(tmp_path / label / "a.wav", np.zeros(8))
        else:
            (tmp_path / label).mkdir()
            (tmp_path / label / f"a{suffix}").write_bytes(b"x")
    assert zoo.dataset_info(str(tmp_path)).modality == kind


def test_a_kind_without_a_pipeline_is_a_clear_error(tmp_path, write_wav, monkeypatch):
    from zoo.inputs import AudioInput

    monkeypatch.setattr(AudioInput, "pipeline", "zoo.data.no_such_module")
    for label in ("no", "yes"):
        write_wav(tmp_path / label / "clip.wav", np.zeros(8))
    with pytest.raises(errors.DatasetNotAvailableError, match="no audio pipeline"):
        zoo.get_dataset(str(tmp_path), batch_size=2)
