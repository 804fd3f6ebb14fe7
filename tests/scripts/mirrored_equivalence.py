"""Trains one model on one device and on N mirrored replicas; prints diffs.

Run as a script (the CPU must be split before TensorFlow starts):
    python mirrored_equivalence.py MODEL REPLICAS STEPS [SEED] [distill]
With `distill`, the model trains as a student taught by a second one of its
kind (`zoo.distill.Distiller`) instead, and every logged part of its loss is
compared: the student's part is the plain comparison, so it is not run again.
With `TF_CONFIG` set, every worker of that cluster runs it and the replicas
are the cluster's workers (MultiWorkerMirroredStrategy, REPLICAS = workers).
Prints one JSON line: max |diff| of the per-epoch losses and of all weights.
"""

import json
import sys

import numpy as np

import zoo
from zoo import distribute

name, replicas, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 0
distill = len(sys.argv) > 5 and sys.argv[5] == "distill"
if distribute.cluster_size():
    mirrored = distribute.get_strategy("multi_worker")  # first, before any op
else:
    distribute.split_cpu(replicas)
    mirrored = distribute.get_strategy("mirrored")

import keras  # noqa: E402  (after the split)
import tensorflow as tf  # noqa: E402

# A fixed start: a rare seed puts a ReLU input or a pooling tie so close to
# its kink that the two reduction orders take different branches.
keras.utils.set_random_seed(seed)

GLOBAL_BATCH = 8 * replicas
spec = zoo.registry.get_spec(name)
overrides = dict(spec.tiny_kwargs)
accepted = spec.accepted_kwargs()
if "sync_batchnorm" in accepted:
    overrides["sync_batchnorm"] = True  # per-replica BN statistics would differ by design
if "dropout" in accepted:
    overrides["dropout"] = 0.0  # dropout masks are drawn per replica
if "augment" in accepted:
    overrides["augment"] = False  # so are in-model augmentations (speech)
rng = np.random.default_rng(seed)
count = GLOBAL_BATCH * steps
inputs = spec.input_for(overrides).random_batch(count, seed=seed)
labels = rng.integers(0, overrides["num_classes"], count).astype("int32")
initial = zoo.get_model(name, **overrides).get_weights()
teacher_weights = zoo.get_model(name, **overrides).get_weights() if distill else None
recipe = zoo.get_recipe(name)
# BERT's fine-tuning rate (3e-5) barely moves random weights in 6 steps.
rate = max(recipe.learning_rate, 1e-3)
recipe = recipe.replace(epochs=2, warmup_epochs=0, learning_rate=rate)


def run(strategy, distill=False):
    with strategy.scope():
        model = trained = zoo.get_model(name, **overrides)
        model.set_weights(initial)
        if distill:
            teacher = zoo.get_model(name, **overrides)
            teacher.set_weights(teacher_weights)
            model = zoo.distill.Distiller(teacher, trained, temperature=2.0)
    fitting = recipe.replace(from_logits=True) if distill else recipe
    fitting.compile(model, steps_per_epoch=steps, strategy=strategy, global_batch_size=GLOBAL_BATCH)
    data = tf.data.Dataset.from_tensor_slices((inputs, labels)).batch(GLOBAL_BATCH)
    history = model.fit(data, epochs=recipe.epochs, verbose=0, shuffle=False)
    logged = ("loss", "student_loss", "distillation_loss") if distill else ("loss",)
    return logged, np.array([history.history[k] for k in logged]), trained.get_weights()


def compare(distill=False):
    """One device against the mirrored replicas: the figures the test checks."""
    logged, one_loss, one_weights = run(distribute.get_strategy("one_device"), distill)
    _, mir_loss, mir_weights = run(mirrored, distill)
    return {
        "logged": list(logged),
        "loss_one": one_loss.tolist(),
        "loss_mirrored": mir_loss.tolist(),
        "max_loss_diff": float(np.abs(one_loss - mir_loss).max()),
        "max_weight_diff": float(
            max(np.abs(a - b).max() for a, b in zip(one_weights, mir_weights))
        ),
        "weights_moved": float(max(np.abs(a - b).max() for a, b in zip(initial, one_weights))),
    }


result = {
    "replicas": int(mirrored.num_replicas_in_sync),
    "worker": distribute.worker_name(mirrored),
    **compare(distill),
}
print(json.dumps(result))
