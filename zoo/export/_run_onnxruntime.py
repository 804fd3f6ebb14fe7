"""Runs an exported ONNX file the way a deployer would: onnxruntime and numpy.

Started by `zoo.export.verify` as `python -I _run_onnxruntime.py FILE IN OUT`;
it fails if TensorFlow or zoo got imported, so a passing check proves the file
runs without either. Inputs and outputs are `.npz` files. Given `texts`, it
tokenizes them with the `tokenizer.json` beside the model through Hugging
Face `tokenizers` (the deployer's path) and returns the ids it produced too.
"""

import os
import sys

import numpy as np
import onnxruntime as ort


def main(artifact: str, inputs_path: str, outputs_path: str) -> None:
    session = ort.InferenceSession(artifact, providers=["CPUExecutionProvider"])
    feeds = dict(np.load(inputs_path))
    names = [i.name for i in session.get_inputs()]
    extra = {}
    if "texts" in feeds:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(os.path.join(os.path.dirname(artifact),
                                                     "tokenizer.json"))
        encoded = tokenizer.encode_batch([str(t) for t in feeds.pop("texts")])
        extra["token_ids"] = np.array([e.ids for e in encoded], dtype=np.int32)
        feeds = {names[0]: extra["token_ids"]}
    elif len(names) == 1 and len(feeds) == 1:
        feeds = {names[0]: next(iter(feeds.values()))}
    outputs = session.run(None, feeds)[0]
    np.savez(outputs_path, outputs=outputs, **extra)
    leaked = {"tensorflow", "keras", "zoo"} & set(sys.modules)
    assert not leaked, f"the onnxruntime runner imported {sorted(leaked)}"


if __name__ == "__main__":
    main(*sys.argv[1:4])
