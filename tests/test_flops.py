"""Multiply-adds counted from the graph (`zoo.flops`) against published and hand figures."""

import keras
import pytest

import zoo
from zoo import flops


def test_resnet50_matches_the_published_figure():
    # He et al. 2016 (Table 1): 3.8 G for v1; v1.5 strides the 3x3 instead of
    # the 1x1, which torchvision / timm report as 4.1 G multiply-adds at 224x224.
    macs = flops.count_macs(zoo.get_model("resnet50"))
    assert macs == pytest.approx(4.1e9, rel=0.01)


def test_resnet20_matches_the_cifar_paper():
    # He et al. 2016, Section 4.2: ResNet-20 on 32x32 is about 41 M (their "FLOPs").
    assert flops.count_macs(zoo.get_model("resnet20")) == pytest.approx(41e6, rel=0.02)


def test_lstm_loop_counts_every_time_step():
    steps, features, units = 7, 3, 5
    inputs = keras.Input((steps, features))
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.LSTM(units)(inputs)))
    # Four gates, each a product of [x_t, h_{t-1}] with its kernel, per step.
    expected = steps * 4 * (features + units) * units + units * 2
    assert _count(model, (1, steps, features)) == expected


def test_attention_counts_projections_and_scores():
    length, dim, heads = 6, 8, 2
    inputs = keras.Input((length, dim))
    attention = keras.layers.MultiHeadAttention(heads, dim // heads)
    model = keras.Model(inputs, attention(inputs, inputs))
    projections = 4 * length * dim * dim  # query, key, value, output
    scores = 2 * heads * length * length * (dim // heads)  # q.k and weights.v
    assert _count(model, (1, length, dim)) == projections + scores


def test_model_card_shows_multiply_adds():
    card = zoo.model_info("resnet20")
    assert card.macs == pytest.approx(41e6, rel=0.02)
    assert "multiply-adds" in str(card) and " M per example" in str(card)


def _count(model, shape):
    import tensorflow as tf

    graph = (
        tf.function(lambda x: model(x, training=False))
        .get_concrete_function(tf.TensorSpec(shape, tf.float32))
        .graph
    )
    return flops._graph_macs(graph)
