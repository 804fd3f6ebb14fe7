"""ImageNet ResNet weights from timm checkpoints, offline: layout, parity, cache, errors.

The checkpoints are written in timm's own layout from timm's `ResNet`
(timm/models/resnet.py): its state dict names (`conv1`, `bn1`,
`layer{s}.{b}.conv{i}` / `bn{i}`, `layer{s}.0.downsample.0/1`, `fc`), PyTorch
shapes (convolutions `(out, in, kh, kw)`, `fc.weight` `(classes, features)`),
float32 parameters and buffers, and the int64 scalar `num_batches_tracked` of
every batch norm, which timm's Hub files hold too; values are random. A
resnet50 written here is 102,469,840 bytes, the size of the published
`resnet50.a1_in1k` file, and resnet18's tensor payload (46,796,608 bytes)
equals the published `resnet18.a1_in1k` one.
"""

import json
import shutil
import time

import numpy as np
import pytest
from safetensors.numpy import save_file

import zoo
from zoo import downloads, errors, pretrained
from zoo.vision import timm_weights

# depth -> (block, blocks per stage, expansion)
TIMM_RESNETS = {
    18: ("basic", (2, 2, 2, 2), 1),
    34: ("basic", (3, 4, 6, 3), 1),
    50: ("bottleneck", (3, 4, 6, 3), 4),
}
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def timm_state_dict(depth, num_classes=1000, seed=0):
    """`{name: array}` as `timm.create_model(f"resnet{depth}").state_dict()` holds."""
    rng = np.random.default_rng(seed)
    block, counts, expansion = TIMM_RESNETS[depth]
    tensors = {}

    def conv(name, out, inp, k):
        std = (2.0 / (inp * k * k)) ** 0.5
        tensors[f"{name}.weight"] = rng.normal(0, std, (out, inp, k, k)).astype("float32")

    def bn(name, c):
        tensors[f"{name}.weight"] = rng.uniform(0.5, 1.0, c).astype("float32")
        tensors[f"{name}.bias"] = rng.normal(0, 0.1, c).astype("float32")
        tensors[f"{name}.running_mean"] = rng.normal(0, 0.1, c).astype("float32")
        tensors[f"{name}.running_var"] = rng.uniform(0.5, 1.5, c).astype("float32")
        tensors[f"{name}.num_batches_tracked"] = np.array(1000, dtype="int64")

    conv("conv1", 64, 3, 7)
    bn("bn1", 64)
    inplanes = 64
    for stage, (planes, blocks) in enumerate(zip((64, 128, 256, 512), counts), start=1):
        for index in range(blocks):
            prefix = f"layer{stage}.{index}"
            stride = 2 if stage > 1 and index == 0 else 1
            if block == "basic":
                shapes = [(planes, inplanes, 3), (planes, planes, 3)]
            else:
                shapes = [(planes, inplanes, 1), (planes, planes, 3), (planes * 4, planes, 1)]
            for i, (out, inp, k) in enumerate(shapes, start=1):
                conv(f"{prefix}.conv{i}", out, inp, k)
                bn(f"{prefix}.bn{i}", out)
            if stride != 1 or inplanes != planes * expansion:
                conv(f"{prefix}.downsample.0", planes * expansion, inplanes, 1)
                bn(f"{prefix}.downsample.1", planes * expansion)
            inplanes = planes * expansion
    tensors["fc.weight"] = rng.normal(0, 0.05, (num_classes, inplanes)).astype("float32")
    tensors["fc.bias"] = rng.normal(0, 0.05, num_classes).astype("float32")
    return tensors


def timm_config(depth, num_classes=1000, image_size=224):
    """timm's `config.json` for `resnet{depth}.a1_in1k`, at `image_size`."""
    return {
        "architecture": f"resnet{depth}",
        "num_classes": num_classes,
        "num_features": 512 * TIMM_RESNETS[depth][2],
        "global_pool": "avg",
        "pretrained_cfg": {
            "tag": "a1_in1k",
            "custom_load": False,
            "input_size": [3, image_size, image_size],
            "test_input_size": [3, 288, 288],
            "fixed_input_size": False,
            "interpolation": "bicubic",
            "crop_pct": 0.95,
            "test_crop_pct": 1.0,
            "crop_mode": "center",
            "mean": MEAN,
            "std": STD,
            "num_classes": num_classes,
            "pool_size": [7, 7],
            "first_conv": "conv1",
            "classifier": "fc",
            "origin_url": "https://github.com/huggingface/pytorch-image-models",
            "paper_ids": "arXiv:2110.00476",
        },
    }


def write_timm_folder(directory, depth, num_classes=1000, image_size=224, seed=0):
    """Writes `model.safetensors` + `config.json` as on the Hub; returns the tensors."""
    directory.mkdir(parents=True, exist_ok=True)
    tensors = timm_state_dict(depth, num_classes, seed)
    save_file(tensors, str(directory / "model.safetensors"))
    (directory / "config.json").write_text(
        json.dumps(timm_config(depth, num_classes, image_size), indent=2)
    )
    return tensors


SIZE = 64  # timm's config says 224; a small image keeps the tests fast


@pytest.fixture(autouse=True)
def zoo_home(tmp_path, monkeypatch):
    """A private, empty zoo cache for each test."""
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "zoo_home"))
    return tmp_path / "zoo_home"


def _variables_by_value(model):
    return {np.asarray(v).tobytes(): v.path for v in model.weights}


def test_every_timm_tensor_lands_in_its_variable(tmp_path):
    tensors = write_timm_folder(tmp_path / "resnet18", 18, image_size=SIZE)
    model = zoo.get_model("resnet18", weights=str(tmp_path / "resnet18"))

    # Random values: a tensor equal to a variable is that variable's source.
    by_value = _variables_by_value(model)
    landed = {}
    for key, value in tensors.items():
        if key.endswith("num_batches_tracked"):
            continue
        if value.ndim == 4:
            value = value.transpose(2, 3, 1, 0)  # OIHW -> HWIO
        elif key == "fc.weight":
            value = value.T
        assert value.tobytes() in by_value, f"{key} landed nowhere"
        landed[key] = by_value[value.tobytes()]
    assert len(set(landed.values())) == len(landed) == len(model.weights)
    assert landed["conv1.weight"].endswith("stem_conv/kernel")
    assert landed["bn1.running_var"].endswith("stem_bn/moving_variance")
    assert landed["layer2.0.downsample.0.weight"].endswith("stage2_block1_shortcut_conv/kernel")
    assert landed["layer3.1.bn2.bias"].endswith("stage3_block2_2_bn/beta")
    assert landed["fc.bias"].endswith("logits/bias")
    # timm's preprocessing is the model's: input size and in-graph mean/std.
    assert model.input_shape == (None, SIZE, SIZE, 3)
    assert model.get_config()["mean"] == MEAN and model.get_config()["std"] == STD


@pytest.mark.parametrize("depth", [18, 50])
def test_forward_pass_equals_keras_hub_timm_converter(tmp_path, depth):
    import keras_hub

    folder = tmp_path / f"resnet{depth}"
    write_timm_folder(folder, depth, image_size=SIZE)
    ours = zoo.get_model(f"resnet{depth}", weights=str(folder), classifier_activation=None)
    # keras-hub's own timm converter (keras_hub/src/utils/timm/convert_resnet.py)
    # and its preprocessor from the same config.json: raw [0, 255] pixels in.
    theirs = keras_hub.models.ImageClassifier.from_preset(str(folder))
    images = np.random.default_rng(1).uniform(0, 255, (4, SIZE, SIZE, 3)).astype("float32")
    a, b = ours.predict(images, verbose=0), theirs.predict(images, verbose=0)
    # Measured: max |diff| 0.0 for resnet18 and resnet50 (logits up to ~15 and ~55).
    np.testing.assert_allclose(a, b, atol=1e-4 * np.abs(b).max())
    assert a.argmax(-1).tolist() == b.argmax(-1).tolist()


def test_converted_weights_are_cached(tmp_path, zoo_home, monkeypatch):
    write_timm_folder(tmp_path / "ck", 18, num_classes=5, image_size=SIZE)
    first = zoo.get_model("resnet18", weights=str(tmp_path / "ck"))
    assert len(list((zoo_home / "converted").glob("resnet18-timm1-*.weights.h5"))) == 1

    def no_conversion(*args, **kwargs):
        raise AssertionError("converted again")

    monkeypatch.setattr(timm_weights, "copy_timm_tensors", no_conversion)
    second = zoo.get_model("resnet18", weights=str(tmp_path / "ck" / "model.safetensors"))
    for x, y in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(x, y)


def test_manifest_tag_loads_a_cached_download(tmp_path, pretrained_copy):
    entry = pretrained.resolve("resnet18", "a1_in1k")
    assert entry.source == "timm" and entry.license == "Apache-2.0"
    assert (
        entry.url == "https://huggingface.co/timm/resnet18.a1_in1k/resolve/main/model.safetensors"
    )
    names = entry.class_names()
    assert len(names) == 1000 and names[:2] == ["tench", "goldfish"]

    # A file placed by hand where the error message says, with its digest pinned.
    tensors = write_timm_folder(tmp_path / "ck", 18)
    target = downloads.download_path(entry.name, entry.url)
    target.parent.mkdir(parents=True)
    shutil.copy(tmp_path / "ck" / "model.safetensors", target)
    manifest = json.loads((pretrained_copy / "manifest.json").read_text())
    for row in manifest["weights"]:
        if row["name"] == entry.name:
            row["sha256"] = downloads.sha256_of(target)
    (pretrained_copy / "manifest.json").write_text(json.dumps(manifest))
    pretrained._load_manifest.cache_clear()

    model = zoo.get_model("resnet18", weights="resnet18.a1_in1k", input_shape=(SIZE, SIZE, 3))
    np.testing.assert_array_equal(model.get_layer("logits").bias.numpy(), tensors["fc.bias"])
    assert model.get_config()["mean"] == MEAN and model.output_shape == (None, 1000)


def test_offline_missing_download_is_a_fast_weights_error():
    start = time.perf_counter()
    with pytest.raises(errors.WeightsError) as info:
        zoo.get_model("resnet50", weights="a1_in1k")
    message = str(info.value)
    assert time.perf_counter() - start < 5
    assert "https://huggingface.co/timm/resnet50.a1_in1k/resolve/main/model.safetensors" in message
    assert str(downloads.download_path("resnet50.a1_in1k", "x/model.safetensors")) in message
    assert "ZOO_OFFLINE" in message and "curl -L -o" in message


def test_a_wrong_checkpoint_names_what_does_not_fit(tmp_path):
    write_timm_folder(tmp_path / "r18", 18, image_size=SIZE)
    with pytest.raises(errors.WeightsError, match="is a 'resnet18', not a 'resnet34'"):
        zoo.get_model("resnet34", weights=str(tmp_path / "r18"))


def test_imagenet_weights_start_a_model_with_another_head(tmp_path):
    tensors = write_timm_folder(tmp_path / "r18", 18, image_size=SIZE)
    with pytest.warns(UserWarning, match="logits"):
        model = zoo.get_model("resnet18", weights=str(tmp_path / "r18"), num_classes=7)
    assert model.output_shape == (None, 7)
    report = model.transfer_report
    assert any("logits" in name for name in report.skipped), report
    kernel = tensors["layer4.1.conv2.weight"].transpose(2, 3, 1, 0)  # OIHW -> HWIO
    np.testing.assert_array_equal(
        model.backbone.get_layer("stage4_block2_2_conv").kernel.numpy(), kernel
    )


def test_a_bad_checkpoint_names_what_does_not_fit(tmp_path):

    # A checkpoint without config.json, one tensor cut short and one extra.
    tensors = write_timm_folder(tmp_path / "bad", 18, num_classes=4)
    tensors["layer1.0.bn1.bias"] = tensors["layer1.0.bn1.bias"][:10]
    tensors["head.extra"] = np.zeros(3, "float32")
    save_file(tensors, str(tmp_path / "bad.safetensors"))
    with pytest.raises(errors.WeightsError) as info:
        zoo.get_model("resnet18", weights=str(tmp_path / "bad.safetensors"))
    assert "unexpected head.extra" in str(info.value)
    assert "layer1.0.bn1.bias (10,)" in str(info.value)


def test_config_json_gives_the_builder_arguments(tmp_path):
    write_timm_folder(tmp_path / "ck", 18, num_classes=3)
    path = tmp_path / "ck" / "model.safetensors"
    config = timm_config(18, num_classes=3, image_size=SIZE)
    assert timm_weights.builder_kwargs(config, path) == {
        "num_classes": 3,
        "input_shape": [SIZE, SIZE, 3],
        "mean": MEAN,
        "std": STD,
    }
    # No config.json: the head's size is read from the checkpoint.
    assert timm_weights.builder_kwargs({}, path) == {"num_classes": 3}
