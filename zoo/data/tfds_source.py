"""Offline-aware loading of tensorflow-datasets builders.

A tfds dataset that is not prepared in `data_dir` is downloaded only when the
network answers within seconds; otherwise the user gets a
`DatasetNotAvailableError` naming the dataset, the directory and the fix,
instead of a download that hangs on a machine without internet.
"""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

from zoo import errors
from zoo.data.catalog import DatasetSource

# tfds downloads most datasets from this host (and the rest from their homes).
_PROBE_HOST = ("storage.googleapis.com", 443)
_PROBE_TIMEOUT_S = 3.0
# Builders over data zoo makes or ships, imported only when used.
_EMBEDDED_BUILDERS = {
    "zoo_digits": "zoo.data.digits.ZooDigits",
    "zoo_sentiment": "zoo.data.sentiment.ZooSentiment",
    "zoo_spoken_commands": "zoo.data.spoken_commands.ZooSpokenCommands",
}


def network_available() -> bool:
    """Whether a tfds download can start: False fast when offline.

    `ZOO_OFFLINE=1` (the test suite sets it) forces offline without probing.
    """
    if os.environ.get("ZOO_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    try:
        with socket.create_connection(_PROBE_HOST, timeout=_PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


def get_builder(source: DatasetSource, data_dir=None):
    """Returns the tfds builder of a source, without preparing anything.

    Args:
        source: DatasetSource. From `zoo.data.catalog.SOURCES`.
        data_dir: str or None. tfds data directory (tfds' default if None).
    """
    import tensorflow_datasets as tfds

    if source.embedded:
        import importlib

        module, _, cls = _EMBEDDED_BUILDERS[source.tfds_name].rpartition(".")
        return getattr(importlib.import_module(module), cls)(data_dir=data_dir)
    return tfds.builder(source.tfds_name, data_dir=data_dir)


def load_splits(source: DatasetSource, data_dir=None):
    """Prepares (if needed and possible) and reads a source's two splits.

    Args:
        source: DatasetSource. The dataset to read.
        data_dir: str or None. tfds data directory.

    Returns:
        `(builder, train, val)`: unbatched `(feature, int64 label)` datasets.

    Raises:
        DatasetNotAvailableError: not prepared and cannot be prepared here.
    """
    builder = get_builder(source, data_dir)
    if not builder.is_prepared():
        _prepare(source, builder)
        # A fresh builder reads the info that was just written, possibly by
        # another process (workers of one cluster start together).
        builder = get_builder(source, data_dir)

    # Features are picked by key: not every builder declares supervised keys
    # (glue does not), and text sets keep several text fields.
    def pick(example):
        return example[source.feature_key], example[source.label_key]

    # tfds refuses to shuffle the files of a set stored in a fixed order.
    ordered = builder.info.disable_shuffling
    train = builder.as_dataset(split=source.train_split, shuffle_files=not ordered).map(pick)
    val = builder.as_dataset(split=source.val_split).map(pick)
    return builder, train, val


def _prepare(source: DatasetSource, builder) -> None:
    import tensorflow_datasets as tfds

    root = Path(builder.data_dir_root)
    if source.embedded:
        with _file_lock(root / f".{source.tfds_name}.lock"):
            if not builder.is_prepared():  # another process may have just done it
                builder.download_and_prepare()
        return
    if source.manual_files:
        manual_dir = root / "downloads" / "manual"
        missing = [f for f in source.manual_files if not (manual_dir / f).is_file()]
        if missing:
            raise errors.DatasetNotAvailableError(
                f"Dataset {source.name!r} is not prepared in data_dir {str(root)!r} and "
                f"needs a manual download: put {', '.join(missing)} (from "
                f"https://image-net.org/download-images) in {str(manual_dir)!r}, then run "
                f"again, or pass data_dir= pointing at a prepared copy."
            )
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir))
        )
        return
    if not network_available():
        raise errors.DatasetNotAvailableError(
            f"Dataset {source.name!r} is not prepared in data_dir {str(root)!r} and the "
            f"network is unreachable (or ZOO_OFFLINE is set). On a machine with internet "
            f'run `python -c "import tensorflow_datasets as tfds; '
            f"tfds.builder('{source.tfds_name}', data_dir='DIR').download_and_prepare()\"` "
            f"and copy the folder DIR/{source.tfds_name.split('/')[0]} into {str(root)!r}, "
            f"or pass data_dir= "
            f"pointing at a prepared copy. The 'digits' dataset needs no download."
        )
    builder.download_and_prepare()


@contextlib.contextmanager
def _file_lock(path: Path):
    """Serialises preparation across processes (pytest-xdist workers, users)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: no flock; preparation is short and rare
        yield
        return
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
