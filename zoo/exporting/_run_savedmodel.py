"""Runs an exported SavedModel the way a deployer would: TensorFlow alone.

Started by `zoo.exporting.verify` as `python -I _run_savedmodel.py DIR IN OUT`:
`-I` keeps the working directory (and so `zoo`) off `sys.path`, proving the
artifact needs nothing from zoo. `IN.npz` holds several cases (`case0/images`,
`case1/images`, ...: other batch sizes and lengths), all run in this one
process; `OUT.npz` gets `caseK/outputs` per case and `declared/NAME`, each
input's shape in the signatures used (-1 for a dynamic axis). A case of raw
`texts` goes to `serve`; token ids go to `serve_token_ids` where a text export
has it, else to `serve`.
"""

import sys

import numpy as np
import tensorflow as tf

try:  # BERT text exports tokenize with TensorFlow Text ops; deployers import it too
    import tensorflow_text  # noqa: F401
except ImportError:
    pass


def main(artifact: str, inputs_path: str, outputs_path: str) -> None:
    loaded = tf.saved_model.load(artifact)  # kept: the signatures need its variables
    results, used = {}, {}
    for case, feeds in _cases(dict(np.load(inputs_path))):
        name = "serve_token_ids" if "texts" not in feeds else "serve"
        serve = loaded.signatures.get(name) or loaded.signatures["serve"]
        specs = serve.structured_input_signature[1]
        used.update(specs)
        if len(specs) == 1 and len(feeds) == 1:  # one input: its name may differ
            feeds = {next(iter(specs)): next(iter(feeds.values()))}
        result = serve(**{key: tf.constant(value) for key, value in feeds.items()})
        results[f"{case}/outputs"] = next(iter(result.values())).numpy()
    for key, spec in used.items():
        results[f"declared/{key}"] = np.array(
            [-1 if d is None else d for d in spec.shape.as_list()], np.int64
        )
    np.savez(outputs_path, **results)
    assert "zoo" not in sys.modules, "the SavedModel runner must not import zoo"


def _cases(loaded: dict) -> list:
    """`[(case, {input name: array})]` in case order, from `caseK/NAME` keys."""
    cases = {}
    for key, value in loaded.items():
        case, name = key.split("/", 1)
        cases.setdefault(case, {})[name] = value
    return sorted(cases.items(), key=lambda item: int(item[0][len("case") :]))


if __name__ == "__main__":
    main(*sys.argv[1:4])
