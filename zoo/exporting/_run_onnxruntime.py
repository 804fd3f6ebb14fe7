"""Runs an exported ONNX file the way a deployer would: onnxruntime and numpy.

Started by `zoo.exporting.verify` as `python -I _run_onnxruntime.py FILE IN OUT`;
it fails if TensorFlow or zoo got imported, so a passing check proves the file
runs without either. `IN.npz` holds several cases (`case0/images`,
`case1/images`, ...: other batch sizes and lengths), all run in this one
process; `OUT.npz` gets `caseK/outputs` and `caseK/ms` (the call's wall
time, for the int8 accuracy gate's latency) per case and `declared/NAME`, each
input's shape as the file declares it (-1 for a dynamic axis). Given
`caseK/texts`, it tokenizes them with the `tokenizer.json` beside the model
through Hugging Face `tokenizers` (the deployer's path) and returns the ids
it produced too (`caseK/token_ids`).
"""

import os
import sys
import time

import numpy as np
import onnxruntime as ort


def main(artifact: str, inputs_path: str, outputs_path: str) -> None:
    session = ort.InferenceSession(artifact, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    results = {}
    tokenizer = None
    for case, feeds in _cases(dict(np.load(inputs_path))):
        if "texts" in feeds:
            if tokenizer is None:
                from tokenizers import Tokenizer

                folder = os.path.dirname(artifact)
                tokenizer = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
            feeds, ids = _tokenized(tokenizer, feeds.pop("texts"), names)
            results[f"{case}/token_ids"] = ids
        elif len(names) == 1 and len(feeds) == 1:  # one input: its name may differ
            feeds = {names[0]: next(iter(feeds.values()))}
        else:  # ONNX input names may carry a suffix (`token_ids:0`)
            feeds = {name: feeds[_base(name, feeds)] for name in names}
        start = time.perf_counter()
        results[f"{case}/outputs"] = session.run(None, feeds)[0]
        results[f"{case}/ms"] = np.float64((time.perf_counter() - start) * 1000.0)
    for i in session.get_inputs():  # str (dim_param) or None: dynamic
        results[f"declared/{i.name}"] = np.array(
            [d if isinstance(d, int) else -1 for d in i.shape], np.int64
        )
    np.savez(outputs_path, **results)
    leaked = {"tensorflow", "keras", "zoo"} & set(sys.modules)
    assert not leaked, f"the onnxruntime runner imported {sorted(leaked)}"


def _cases(loaded: dict) -> list:
    """`[(case, {input name: array})]` in case order, from `caseK/NAME` keys."""
    cases = {}
    for key, value in loaded.items():
        case, name = key.split("/", 1)
        cases.setdefault(case, {})[name] = value
    return sorted(cases.items(), key=lambda item: int(item[0][len("case") :]))


def _tokenized(tokenizer, texts, names):
    """Model feeds from raw texts, and the token ids the deployer's tokenizer made."""
    encoded = tokenizer.encode_batch([str(t) for t in texts])
    ids = np.array([e.ids for e in encoded], dtype=np.int32)
    if len(names) == 1:
        return {names[0]: ids}, ids
    # BERT: token ids, segment ids and the padding mask, by input name.
    by_name = {
        "token_ids": ids,
        "segment_ids": np.array([e.type_ids for e in encoded], np.int32),
        "padding_mask": np.array([e.attention_mask for e in encoded], np.int32),
    }
    return {name: by_name[_base(name, by_name)] for name in names}, ids


def _base(name: str, known) -> str:
    """The key of `known` that the ONNX input `name` (maybe `token_ids:0`) stands for."""
    for key in known:
        if name == key or name.startswith(f"{key}:"):
            return key
    raise KeyError(f"unexpected model input {name!r}; fed {sorted(known)}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
