"""Gradient accumulation over 2 mirrored replicas against one big batch on one device.

Run as a script (the CPU must be split before TensorFlow starts):
    python accumulation_over_replicas.py OPTIMIZER
OPTIMIZER is `sgd` (plain, constant rate) or `adamw` (AdamW: moments and
weight decay, which the fix applies inside its cond).
The accumulating model trains with `accumulate=2` at a global batch of 16
(8 per replica); the reference with one batch of 32 on one device. Prints
one JSON line: replicas, optimizer updates of each, max |diff| of all
weights, and how far the reference moved.
"""

import json
import sys

import numpy as np

from zoo import distribute

distribute.split_cpu(2)
mirrored = distribute.get_strategy("mirrored")

import keras  # noqa: E402  (after the split)

from zoo.recipes import Recipe  # noqa: E402

SETTINGS = {
    "sgd": dict(optimizer="sgd", learning_rate=0.1, momentum=0.0, weight_decay=0.0),
    "adamw": dict(optimizer="adamw", learning_rate=0.01, weight_decay=0.05),
}[sys.argv[1]]


def dense_model():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, activation="tanh"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )


rng = np.random.default_rng(0)
x = rng.normal(size=(64, 6)).astype("float32")
y = rng.integers(0, 3, 64).astype("int32")
common = dict(reference_batch=32, lr_scaling="none", schedule="constant", epochs=2, **SETTINGS)


def trained(recipe, batch_size, strategy=None):
    if strategy is None:
        model = dense_model()
    else:
        with strategy.scope():
            model = dense_model()
    recipe.compile(
        model, steps_per_epoch=len(x) // batch_size, global_batch_size=batch_size, strategy=strategy
    )
    model.fit(x, y, batch_size=batch_size, epochs=2, shuffle=False, verbose=0)
    return model


big = trained(Recipe("big", **common), 32)
micro = trained(Recipe("micro", accumulate=2, **common), 16, mirrored)
start = dense_model().get_weights()
print(
    json.dumps(
        {
            "replicas": mirrored.num_replicas_in_sync,
            "updates": [int(big.optimizer.iterations), int(micro.optimizer.iterations)],
            "max_weight_diff": max(
                float(np.abs(a - b).max()) for a, b in zip(big.get_weights(), micro.get_weights())
            ),
            "moved": max(float(np.abs(a - b).max()) for a, b in zip(big.get_weights(), start)),
        }
    )
)
