"""Runs an exported ONNX file the way a deployer would: onnxruntime and numpy.

Started by `zoo.exporting.verify` as `python -I _run_onnxruntime.py FILE IN OUT`;
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

        tokenizer = Tokenizer.from_file(os.path.join(os.path.dirname(artifact), "tokenizer.json"))
        encoded = tokenizer.encode_batch([str(t) for t in feeds.pop("texts")])
        extra["token_ids"] = np.array([e.ids for e in encoded], dtype=np.int32)
        if len(names) == 1:
            feeds = {names[0]: extra["token_ids"]}
        else:  # BERT: token ids, segment ids and the padding mask, by input name
            by_name = {
                "token_ids": extra["token_ids"],
                "segment_ids": np.array([e.type_ids for e in encoded], np.int32),
                "padding_mask": np.array([e.attention_mask for e in encoded], np.int32),
            }
            feeds = {name: by_name[_base(name)] for name in names}
    elif len(names) == 1 and len(feeds) == 1:
        feeds = {names[0]: next(iter(feeds.values()))}
    outputs = session.run(None, feeds)[0]
    np.savez(outputs_path, outputs=outputs, **extra)
    leaked = {"tensorflow", "keras", "zoo"} & set(sys.modules)
    assert not leaked, f"the onnxruntime runner imported {sorted(leaked)}"


def _base(name: str) -> str:
    """ONNX input names may carry a suffix (`token_ids:0`); match on the stem."""
    for key in ("token_ids", "segment_ids", "padding_mask"):
        if name.startswith(key):
            return key
    raise KeyError(f"unexpected model input {name!r}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
