"""Runs an exported SavedModel the way a deployer would: TensorFlow alone.

Started by `zoo.exporting.verify` as `python -I _run_savedmodel.py DIR IN OUT`:
`-I` keeps the working directory (and so `zoo`) off `sys.path`, proving the
artifact needs nothing from zoo. Inputs and outputs are `.npz` files holding
one array per model input (by name) and `outputs`.
"""

import sys

import numpy as np
import tensorflow as tf

try:  # BERT text exports tokenize with TensorFlow Text ops; deployers import it too
    import tensorflow_text  # noqa: F401
except ImportError:
    pass


def main(artifact: str, inputs_path: str, outputs_path: str) -> None:
    serve = tf.saved_model.load(artifact).signatures["serve"]
    feeds = dict(np.load(inputs_path))
    specs = serve.structured_input_signature[1]
    if len(specs) == 1 and len(feeds) == 1:  # one input: its name may differ
        feeds = {next(iter(specs)): next(iter(feeds.values()))}
    result = serve(**{name: tf.constant(value) for name, value in feeds.items()})
    outputs = next(iter(result.values())).numpy()
    np.savez(outputs_path, outputs=outputs)
    assert "zoo" not in sys.modules, "the SavedModel runner must not import zoo"


if __name__ == "__main__":
    main(*sys.argv[1:4])
