"""SavedModel export through Keras' own `model.export`."""

from __future__ import annotations

from pathlib import Path


def export_savedmodel(model, path) -> Path:
    """Writes a SavedModel with a `serve` signature on the model's raw inputs.

    Args:
        model: keras.Model. The model to export.
        path: str or Path. The SavedModel directory to create.

    Example:

    >>> export_savedmodel(model, "out/savedmodel")
    """
    path = Path(path)
    model.export(str(path), format="tf_saved_model", verbose=False)
    return path


def export_text_savedmodel(model, tokenizer, path) -> Path:
    """Writes a SavedModel whose `serve` signature takes raw strings.

    The tokenizer's lookup table and string ops are traced into the graph, so
    a deployer calls `serve(texts=tf.constant([...]))` with TensorFlow alone
    (word tokenizers use core string ops; WordPiece needs `import
    tensorflow_text` first). A second signature, `serve_token_ids`, takes the
    int32 ids like the ONNX file.

    Args:
        model: keras.Model. A token-id text model.
        tokenizer: WordTokenizer or WordPieceTokenizer. The tokenizer it was
            trained with.
        path: str or Path. The SavedModel directory to create.

    Example:

    >>> export_text_savedmodel(model, tokenizer, "out/savedmodel")
    """
    import keras
    import tensorflow as tf

    path = Path(path)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(tokenizer.layer)
    archive.add_endpoint(
        "serve",
        lambda texts: model(tokenizer(texts), training=False),
        input_signature=[tf.TensorSpec([None], tf.string, name="texts")],
    )
    id_specs = [tf.TensorSpec([None, None], tf.int32, name=t.name) for t in model.inputs]
    archive.add_endpoint(
        "serve_token_ids",
        lambda *ids: model(
            ids[0] if len(ids) == 1 else {t.name: i for t, i in zip(model.inputs, ids)},
            training=False,
        ),
        input_signature=id_specs,
    )
    archive.write_out(str(path), verbose=False)
    return path
