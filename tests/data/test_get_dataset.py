"""get_dataset / dataset_info: pipelines fitted to models, offline behaviour, errors."""

import socket

import numpy as np
import pytest

import zoo
from zoo import errors


def test_digits_pipeline_fits_a_registered_model_name():
    train, val = zoo.get_dataset("digits", model="resnet20", batch_size=64)
    assert (len(train), len(val)) == (23, 6)  # 1437 and 360 examples
    images, labels = next(iter(train))
    assert images.shape[1:] == (32, 32, 3) and images.dtype.name == "float32"
    assert labels.dtype.name == "int32"
    assert 0.0 <= float(images.numpy().min()) and float(images.numpy().max()) <= 255.0


def test_digits_pipeline_keeps_native_shape_for_a_matching_model():
    model = zoo.get_model("resnet20", input_shape=(8, 8, 1), num_classes=10)
    train, val = zoo.get_dataset("digits", model=model, batch_size=100, augment=False)
    assert train.element_spec[0].shape.as_list() == [None, 8, 8, 1]
    # Validation order is fixed; training order reshuffles every epoch.
    first = np.concatenate([y for _, y in val.as_numpy_iterator()])
    second = np.concatenate([y for _, y in val.as_numpy_iterator()])
    np.testing.assert_array_equal(first, second)
    epoch1 = np.concatenate([y for _, y in train.as_numpy_iterator()])
    epoch2 = np.concatenate([y for _, y in train.as_numpy_iterator()])
    assert len(epoch1) == 1437 and not np.array_equal(epoch1, epoch2)
    assert sorted(np.bincount(epoch1)) == sorted(np.bincount(epoch2))


def test_augmentation_changes_training_images_only():
    model = zoo.get_model("resnet20", input_shape=(8, 8, 1), num_classes=10)
    plain, _ = zoo.get_dataset("digits", model=model, batch_size=1437, augment=False, seed=1)
    moved, val = zoo.get_dataset("digits", model=model, batch_size=1437, augment="shift", seed=1)
    (x0, y0), (x1, y1) = next(iter(plain)), next(iter(moved))
    np.testing.assert_array_equal(y0, y1)  # same seed: same order
    assert not np.array_equal(x0, x1)
    assert x1.shape == x0.shape


def test_dataset_info_and_listing():
    assert zoo.list_datasets("image") == [
        "cifar10",
        "cifar100",
        "digits",
        "fashion_mnist",
        "imagenet2012",
        "mnist",
    ]
    assert zoo.list_datasets("audio") == ["speech_commands", "spoken_commands"]
    assert set(zoo.list_datasets()) == set().union(
        *(zoo.list_datasets(kind) for kind in ("image", "text", "audio"))
    )
    info = zoo.dataset_info("digits")
    assert info.num_classes == 10 and info.image_shape == (8, 8, 1)
    assert info.source == "embedded" and info.augmentation == "none"
    assert zoo.dataset_info("cifar100").num_classes == 100
    spoken = zoo.dataset_info("spoken_commands")  # the builder's info: nothing is prepared
    assert spoken.modality == "audio" and spoken.source == "embedded"
    assert spoken.class_names[-2:] == ("_silence_", "_unknown_") and spoken.num_classes == 12


@pytest.mark.parametrize(
    "name, native, classes",
    [
        ("cifar10", (32, 32, 3), 10),
        ("cifar100", (32, 32, 3), 100),
        ("mnist", (28, 28, 1), 10),
        ("fashion_mnist", (28, 28, 1), 10),
    ],
)
def test_tfds_sources_with_mock_data(mock_tfds, name, native, classes):
    train, val = zoo.get_dataset(name, batch_size=4)
    images, labels = next(iter(train))
    assert images.shape == (4, *native) and labels.shape == (4,)
    assert (len(train), len(val)) == (2, 2)
    # Fitted to resnet20's 32x32 RGB input: grayscale becomes 3 channels.
    train, _ = zoo.get_dataset(name, model="resnet20", batch_size=4)
    assert next(iter(train))[0].shape == (4, 32, 32, 3)
    assert int(np.max(labels)) < classes


def test_unprepared_tfds_dataset_fails_fast_offline(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("ZOO_OFFLINE is set: the loader must not probe the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    with pytest.raises(errors.DatasetNotAvailableError) as info:
        zoo.get_dataset("cifar10", data_dir=str(tmp_path))
    message = str(info.value)
    assert "'cifar10'" in message and str(tmp_path) in message
    assert "download_and_prepare" in message
    assert not (tmp_path / "cifar10" / "3.0.2" / "dataset_info.json").exists()
    # A configured dataset lives under its builder's folder: copy that one.
    with pytest.raises(errors.DatasetNotAvailableError, match="copy the folder DIR/glue into"):
        zoo.get_dataset("glue/sst2", data_dir=str(tmp_path))


def test_network_probe_failure_counts_as_offline(monkeypatch):
    from zoo.data import tfds_source

    monkeypatch.delenv("ZOO_OFFLINE")

    def unreachable(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", unreachable)
    assert tfds_source.network_available() is False


def test_imagenet_names_the_manual_files(tmp_path):
    with pytest.raises(errors.DatasetNotAvailableError) as info:
        zoo.get_dataset("imagenet2012", data_dir=str(tmp_path))
    message = str(info.value)
    assert "ILSVRC2012_img_train.tar" in message
    assert str(tmp_path / "downloads" / "manual") in message


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(name="cifar1O"), errors.UnknownDatasetError, "Did you mean: 'cifar10'"),
        # A folder name without a slash reads as a name: the message says both.
        (dict(name="photos"), errors.UnknownDatasetError, "folder .* no 'photos' exists in '/"),
        (
            dict(name="no/such/folder"),
            errors.DatasetNotAvailableError,
            "'no/such/folder' does not exist",
        ),
        (dict(name="digits", batch_size=0), errors.InvalidArgumentError, "batch_size=0"),
        (dict(name="digits", augment="mixup"), errors.InvalidArgumentError, "augment='mixup'"),
        (dict(name="digits", model="resnet2"), errors.UnknownModelError, "resnet20"),
    ],
)
def test_bad_arguments_name_the_value(kwargs, error, match):
    name = kwargs.pop("name")
    with pytest.raises(error, match=match):
        zoo.get_dataset(name, **kwargs)


def test_model_with_too_few_outputs_is_rejected():
    model = zoo.get_model("resnet20", input_shape=(8, 8, 1), num_classes=3)
    with pytest.raises(errors.InvalidArgumentError, match="num_classes=10"):
        zoo.get_dataset("digits", model=model)


def test_batch_must_split_over_replicas():
    import tensorflow as tf

    class TwoReplicas:  # stands in for a 2-replica strategy without making devices
        num_replicas_in_sync = 2

    with pytest.raises(errors.ZooError, match="batch"):
        zoo.get_dataset("digits", batch_size=63, strategy=TwoReplicas())
    train, _ = zoo.get_dataset("digits", batch_size=64, strategy=tf.distribute.get_strategy())
    assert len(train) == 23


def stream_batches(stream, seed=0, name="digits", model=None):
    model = model or zoo.get_model("resnet20", input_shape=(8, 8, 1), num_classes=10)
    train, _ = zoo.get_dataset(name, model=model, batch_size=256, seed=seed, stream=stream)
    return len(train), [(x.numpy(), y.numpy()) for x, y in train]


def test_an_epoch_stream_resumed_mid_epoch_sees_the_uninterrupted_batches():
    """What exact resume rests on: epoch e's order and augmentation come from
    (seed, e, batch), not from how often the dataset was iterated before."""
    from zoo.data import EpochStream

    length, whole = stream_batches(EpochStream(0, 3, deterministic=True))
    per_epoch = 6  # ceil(1437 / 256)
    assert length == len(whole) == 3 * per_epoch
    # Start part-way into epoch 1, as a run resumed after 2 of its batches.
    length, part = stream_batches(EpochStream(1, 2, skip=2, deterministic=True))
    _, rest = stream_batches(EpochStream(2, 3, deterministic=True))
    assert length == per_epoch - 2
    resumed = part + rest
    assert len(resumed) == len(whole[per_epoch + 2 :])
    for (x0, y0), (x1, y1) in zip(whole[per_epoch + 2 :], resumed):
        np.testing.assert_array_equal(y0, y1)
        np.testing.assert_array_equal(x0, x1)  # the "shift" augmentation too
    # Every epoch is a reshuffle of all examples, and another seed another order.
    labels = [np.concatenate([y for _, y in whole[i : i + per_epoch]]) for i in (0, per_epoch)]
    assert len(labels[0]) == 1437 and not np.array_equal(*labels)
    assert np.array_equal(np.bincount(labels[0]), np.bincount(labels[1]))
    _, other = stream_batches(EpochStream(0, 1, deterministic=True), seed=1)
    assert not np.array_equal(other[0][1], whole[0][1])


def test_an_epoch_stream_of_text_keeps_its_order_and_needs_a_seed():
    from zoo.data import EpochStream

    model = zoo.get_model("lstm", embedding_dim=8, units=8, vocabulary_size=200)
    _, whole = stream_batches(EpochStream(0, 2), name="sentiment", model=model)
    _, second = stream_batches(EpochStream(1, 2), name="sentiment", model=model)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(whole[len(second) :], second))
    with pytest.raises(errors.InvalidArgumentError, match="seed=None"):
        zoo.get_dataset("sentiment", model=model, stream=EpochStream(0, 1))
    with pytest.raises(errors.InvalidArgumentError, match="first=2, stop=2"):
        EpochStream(2, 2)
