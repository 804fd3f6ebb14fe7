"""The shapes an export is verified on: several batch sizes and lengths.

A deployer feeds one example, an odd-sized batch or a short sentence, not
the batch the export was checked on. `zoo.export` therefore runs every
artifact on a few cases built from the same examples, each compared with
Keras on identical inputs:

- `given`: the caller's `N` examples as they are;
- `one`: the first example alone (batch 1);
- `odd`: 7 examples (5 when `N` is 7), taken in turn from the second one on
  and wrapping around, so rows sit at other positions than in `given`;
- `short`: the `N` examples cut along each dynamic non-batch axis (token ids:
  to the longest real length in the batch, or half the length when nothing
  is padding; waveforms: half the clip, which the graph pads back).

Text exports with a tokenizer verify raw `texts` (all `N`, then the first
alone) and the ids cases `odd` and `short` (the SavedModel's
`serve_token_ids`, the ONNX file's inputs).

Example:

>>> [c.name for c in model_cases(model, {"images": images})]
['given', 'one', 'odd', 'short']     # 'short' only with a dynamic length axis
"""

from __future__ import annotations

import dataclasses

import numpy as np

_ODD_BATCH = 7
# Token ids pad with 0 (zoo tokenizers, `metadata.json`'s "padding_id").
_PADDING_ID = 0


@dataclasses.dataclass(frozen=True)
class Case:
    """One verification case: what the runner gets and what Keras predicts on.

    Args:
        name: str. `"given"`, `"one"`, `"odd"`, `"short"`, `"texts"`,
            `"one_text"`.
        feeds: dict of str to numpy array. The runner's inputs (model inputs
            by name, or `texts`).
        keras_inputs: numpy array or dict. The same examples as model inputs
            (token ids for a `texts` case).
        token_ids: numpy array or None. `texts` cases: the in-graph
            tokenizer's ids, which the deployer's `tokenizer.json` must match.
    """

    name: str
    feeds: dict
    keras_inputs: object
    token_ids: np.ndarray | None = None

    @property
    def shapes(self) -> dict:
        """`{input name: [dims]}` of what the artifact was fed."""
        return {key: [int(d) for d in value.shape] for key, value in self.feeds.items()}


def model_cases(model, feeds: dict) -> list:
    """The cases for a model fed its own inputs (images, token ids, waveforms).

    Args:
        model: keras.Model. The exported model (its input shapes say which
            axes may be shortened).
        feeds: dict of str to numpy array. The caller's batch, by input name.

    Example:

    >>> [c.shapes for c in model_cases(model, {"images": images})][:2]
    [{'images': [8, 32, 32, 3]}, {'images': [1, 32, 32, 3]}]
    """
    n = _batch_size(feeds)
    cases = [
        _case(model, "given", feeds),
        _case(model, "one", _rows(feeds, [0])),
        _case(model, "odd", _rows(feeds, _odd_rows(n))),
    ]
    short = _shorter(model, feeds)
    if short is not None:
        cases.append(_case(model, "short", short))
    return cases


def text_cases(model, texts: np.ndarray, token_ids) -> list:
    """The cases for a text export: raw texts, then token ids.

    Args:
        model: keras.Model. A token-id text model.
        texts: numpy str array `(N,)`. The caller's texts.
        token_ids: numpy array or dict of arrays. The in-graph tokenizer's
            output for `texts` (BERT: token, segment and mask ids).

    Example:

    >>> [c.name for c in text_cases(model, texts, tokenizer(texts))]
    ['texts', 'one_text', 'odd', 'short']
    """
    ids = token_ids if isinstance(token_ids, dict) else {model.inputs[0].name: token_ids}
    first = [0]
    cases = [
        Case("texts", {"texts": texts}, token_ids, _main_ids(ids)),
        Case(
            "one_text",
            {"texts": texts[first]},
            _as_model_inputs(model, _rows(ids, first)),
            _main_ids(_rows(ids, first)),
        ),
        _case(model, "odd", _rows(ids, _odd_rows(len(texts)))),
    ]
    short = _shorter(model, ids)
    if short is not None:
        cases.append(_case(model, "short", short))
    return cases


def axis_names(name: str, rank: int, dtype: str) -> dict:
    """Names for the axes of an input: `{"0": "batch", "1": "steps"}`.

    TODO: move into `zoo.inputs.InputSpec` (a per-kind `axis_names`), as for
    `_shorter`; exporting dispatches on dtype and rank here meanwhile.

    Args:
        name: str. The input's name (`texts`, `token_ids`, `images`, ...).
        rank: int. Its number of axes.
        dtype: str. Its dtype (`int32`, `float32`, `string`).
    """
    names = {"0": "batch"}
    if rank == 2 and "int" in dtype:
        names["1"] = "steps"
    elif rank == 2 and "float" in dtype:
        names["1"] = "samples"
    elif rank == 4:
        names.update({"1": "height", "2": "width", "3": "channels"})
    for axis in range(1, rank):
        names.setdefault(str(axis), f"axis{axis}")
    return names


def _case(model, name: str, feeds: dict) -> Case:
    return Case(name, feeds, _as_model_inputs(model, feeds))


def _as_model_inputs(model, feeds: dict):
    return next(iter(feeds.values())) if len(model.inputs) == 1 else feeds


def _main_ids(ids: dict) -> np.ndarray:
    return ids["token_ids"] if "token_ids" in ids else next(iter(ids.values()))


def _batch_size(feeds: dict) -> int:
    return int(next(iter(feeds.values())).shape[0])


def _odd_rows(n: int) -> np.ndarray:
    size = _ODD_BATCH if n != _ODD_BATCH else _ODD_BATCH - 2
    return (1 + np.arange(size)) % n


def _rows(feeds: dict, rows) -> dict:
    return {key: value[np.asarray(rows)] for key, value in feeds.items()}


def _shorter(model, feeds: dict) -> dict | None:
    """The batch cut along the model's dynamic non-batch axes, or None.

    Token ids (int, rank 2) are cut to the longest real length in the batch,
    or to half when nothing is padding; waveforms (float, rank 2) to half.
    Other inputs (images) keep their size: no zoo model has a dynamic image
    size today.

    TODO: move into `zoo.inputs.InputSpec` as a per-kind `shorter(batch)`;
    exporting dispatches on dtype and rank here meanwhile.
    """
    dynamic = {t.name for t in model.inputs if len(t.shape) == 2 and t.shape[1] is None}
    if not dynamic or not dynamic >= set(feeds):
        return None
    arrays = list(feeds.values())
    full = int(arrays[0].shape[1])
    if all(np.issubdtype(a.dtype, np.integer) for a in arrays):
        real = max(_real_length(a) for a in arrays)
        length = real if 0 < real < full else full // 2
    elif all(np.issubdtype(a.dtype, np.floating) for a in arrays):
        length = full // 2
    else:
        return None
    if length < 1:
        return None
    return {key: value[:, :length] for key, value in feeds.items()}


def _real_length(ids: np.ndarray) -> int:
    """The longest row without its trailing padding."""
    real = ids != _PADDING_ID
    if not real.any():
        return 0
    return int(max(np.nonzero(row)[0].max() + 1 for row in real if row.any()))
