"""Trains one model on one device and on N mirrored logical CPUs; prints diffs.

Run as a script (the CPU must be split before TensorFlow starts):
    python mirrored_equivalence.py MODEL REPLICAS STEPS
Prints one JSON line: max |diff| of the per-epoch losses and of all weights.
"""

import json
import sys

import numpy as np

import zoo
from zoo import distribute

name, replicas, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
distribute.split_cpu(replicas)

import tensorflow as tf  # noqa: E402  (after the split)

GLOBAL_BATCH = 8 * replicas
rng = np.random.default_rng(0)
images = rng.uniform(0, 255, (GLOBAL_BATCH * steps, 8, 8, 1)).astype("float32")
labels = rng.integers(0, 10, GLOBAL_BATCH * steps).astype("int32")
overrides = dict(input_shape=(8, 8, 1), num_classes=10, sync_batchnorm=True)
initial = zoo.get_model(name, **overrides).get_weights()
recipe = zoo.get_recipe("digits_resnet").replace(epochs=2, warmup_epochs=0)


def run(strategy):
    with strategy.scope():
        model = zoo.get_model(name, **overrides)
        model.set_weights(initial)
    recipe.compile(model, steps_per_epoch=steps, strategy=strategy,
                   global_batch_size=GLOBAL_BATCH)
    data = tf.data.Dataset.from_tensor_slices((images, labels)).batch(GLOBAL_BATCH)
    history = model.fit(data, epochs=recipe.epochs, verbose=0, shuffle=False)
    return np.array(history.history["loss"]), model.get_weights()


one_loss, one_weights = run(distribute.get_strategy("one_device"))
mirrored = distribute.get_strategy("mirrored")
mir_loss, mir_weights = run(mirrored)
print(json.dumps({
    "replicas": int(mirrored.num_replicas_in_sync),
    "loss_one": one_loss.tolist(),
    "loss_mirrored": mir_loss.tolist(),
    "max_loss_diff": float(np.abs(one_loss - mir_loss).max()),
    "max_weight_diff": float(max(np.abs(a - b).max() for a, b in zip(one_weights, mir_weights))),
    "weights_moved": float(max(np.abs(a - b).max() for a, b in zip(initial, one_weights))),
}))
