"""MirroredStrategy equivalence and batch arithmetic."""

import pytest

import zoo
from zoo import distribute


@pytest.mark.slow
# One model per kind of layer stack: Keras conv + batch norm (resnet20), keras-hub
# text layers (bert_tiny), the in-graph audio front end (kws_res8). lstm and
# transformer_encoder_tiny add nothing distribution-specific (1 min each on 2 cores).
@pytest.mark.parametrize("name", ["resnet20", "bert_tiny", "kws_res8"])
def test_mirrored_over_two_logical_cpus_matches_one_device(name, script_result):
    # A fresh process: the CPU can only be split before TensorFlow starts.
    # resnet20 trains as a distilled student (zoo.distill): each replica's loss
    # is divided by the replica count, and the logged parts must be unscaled.
    # Its student loss is the plain comparison, which kws_res8 (conv + batch
    # norm too) and bert_tiny also run through Keras' own train step.
    extra = ["0", "distill"] if name == "resnet20" else []
    result = script_result("mirrored_equivalence.py", name, 2, 3, *extra)
    assert result["replicas"] == 2
    assert result["weights_moved"] > 1e-3  # training really happened
    assert result["max_loss_diff"] <= 1e-5, result
    assert result["max_weight_diff"] <= 1e-5, result
    if extra:
        assert result["logged"] == ["loss", "student_loss", "distillation_loss"]


class FakeStrategy:
    num_replicas_in_sync = 4


def test_batch_arithmetic():
    assert distribute.per_replica_batch_size(128, FakeStrategy()) == 32
    assert distribute.per_replica_batch_size(128, None) == 128
    assert distribute.global_batch_size(16, FakeStrategy()) == 64
    with pytest.raises(zoo.InvalidArgumentError, match="batch_size=130.*Try 128"):
        distribute.per_replica_batch_size(130, FakeStrategy())
    with pytest.raises(zoo.InvalidArgumentError, match="batch_size=0"):
        distribute.per_replica_batch_size(0, None)


def test_strategy_names():
    assert distribute.get_strategy("default").num_replicas_in_sync == 1
    assert distribute.get_strategy("one_device").num_replicas_in_sync == 1
    # No GPU and an unsplit CPU: auto falls back to the default strategy.
    assert distribute.get_strategy("auto").num_replicas_in_sync == 1
    with pytest.raises(zoo.InvalidArgumentError, match="strategy='mirored'"):
        distribute.get_strategy("mirored")


def test_split_cpu_after_initialization_is_a_clear_error():
    import tensorflow as tf

    tf.constant(1.0)  # initializes the devices
    have = len(tf.config.list_logical_devices("CPU"))
    with pytest.raises(zoo.StrategyError, match="before any TensorFlow op"):
        distribute.split_cpu(have + 3)
