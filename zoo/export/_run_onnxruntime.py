"""Runs an exported ONNX file the way a deployer would: onnxruntime and numpy.

Started by `zoo.export.verify` as `python -I _run_onnxruntime.py FILE IN OUT`;
it fails if TensorFlow or zoo got imported, so a passing check proves the file
runs without either. Inputs and outputs are `.npz` files.
"""

import sys

import numpy as np
import onnxruntime as ort


def main(artifact: str, inputs_path: str, outputs_path: str) -> None:
    session = ort.InferenceSession(artifact, providers=["CPUExecutionProvider"])
    feeds = dict(np.load(inputs_path))
    names = [i.name for i in session.get_inputs()]
    if len(names) == 1 and len(feeds) == 1:
        feeds = {names[0]: next(iter(feeds.values()))}
    outputs = session.run(None, feeds)[0]
    np.savez(outputs_path, outputs=outputs)
    leaked = {"tensorflow", "keras", "zoo"} & set(sys.modules)
    assert not leaked, f"the onnxruntime runner imported {sorted(leaked)}"


if __name__ == "__main__":
    main(*sys.argv[1:4])
