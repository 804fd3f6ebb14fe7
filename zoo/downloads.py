"""The zoo cache and downloads of published weight files, offline first.

Files published elsewhere (timm's `model.safetensors` on the Hugging Face
Hub, ...) are fetched once with `keras.utils.get_file` into the zoo cache and
checked against their sha256 on every load:

    $ZOO_HOME (default: $XDG_CACHE_HOME/zoo, else ~/.cache/zoo)
        downloads/<arch.tag>/<file>          the published file, as published
        downloads/<arch.tag>/<file>.sha256   its digest, when the manifest pins none
        converted/<key>.weights.h5           the same weights in zoo's layout

A manifest row whose sha256 is null (no digest was published where zoo could
read it) is trusted on first use: the digest of the first download is
recorded beside the file and every later load must match it.

Offline (`ZOO_OFFLINE=1`, which the test suite sets, or the host unreachable
within a few seconds), a missing file is a `WeightsError` that names the URL,
the cache path and how to place the file there by hand.

Example:

>>> path = zoo.downloads.fetch("resnet50.a1_in1k", url, sha256)
>>> zoo.downloads.cache_dir()
PosixPath('/home/me/.cache/zoo')
"""

from __future__ import annotations

import functools
import hashlib
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

from zoo.errors import WeightsError

_PROBE_TIMEOUT_S = 3.0
# A stalled transfer fails instead of hanging (urllib has no timeout by default).
_DOWNLOAD_TIMEOUT_S = 60.0


def cache_dir() -> Path:
    """The zoo cache: `ZOO_HOME`, else `$XDG_CACHE_HOME/zoo`, else `~/.cache/zoo`."""
    if os.environ.get("ZOO_HOME"):
        return Path(os.environ["ZOO_HOME"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "zoo"


def offline() -> bool:
    """Whether `ZOO_OFFLINE` forbids network access (`1`, `true` or `yes`)."""
    return os.environ.get("ZOO_OFFLINE", "").lower() in ("1", "true", "yes")


def reachable(url: str) -> bool:
    """Whether `url`'s host answers on its port within a few seconds (False offline)."""
    if offline():
        return False
    parsed = urlparse(url)
    port = parsed.port or (80 if parsed.scheme == "http" else 443)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=_PROBE_TIMEOUT_S):
            return True
    except (OSError, TypeError):
        return False


def sha256_of(path) -> str:
    """Hex sha256 of a file, read in chunks; remembered while the file is unchanged.

    Args:
        path: str or Path. The file.
    """
    stat = os.stat(path)
    return _sha256(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    # size and mtime are part of the key: a changed file is hashed again.
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_path(name: str, url: str) -> Path:
    """Where `fetch` keeps the file of weights `name` published at `url`."""
    return cache_dir() / "downloads" / name / Path(urlparse(url).path).name


def converted_path(key: str) -> Path:
    """Where converted weights are cached under `key` (`converted/<key>.weights.h5`)."""
    return cache_dir() / "converted" / f"{key}.weights.h5"


def fetch(name: str, url: str, sha256: str | None) -> Path:
    """The local copy of a published file: from the cache, else downloaded.

    Args:
        name: str. The weights' `arch.tag`; names the cache folder.
        url: str. Where the file is published.
        sha256: str or None. The pinned digest; None records the digest of
            the first download and checks later loads against it.

    Returns:
        The path of the checked file.

    Raises:
        WeightsError: offline and not cached, the download failed, or the
            file's digest differs (the file is then removed, never loaded).
    """
    path = download_path(name, url)
    if not path.is_file():
        if not reachable(url):
            raise WeightsError(_offline_message(name, url, path, sha256))
        _download(name, url, path, sha256)
    _check_digest(name, path, sha256)
    return path


def _download(name, url, path, sha256):
    import keras  # here: `import zoo` stays free of Keras

    path.parent.mkdir(parents=True, exist_ok=True)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(_DOWNLOAD_TIMEOUT_S)
    try:
        keras.utils.get_file(
            fname=path.name,
            origin=url,
            file_hash=sha256,
            hash_algorithm="sha256",
            cache_dir=str(cache_dir()),
            cache_subdir=str(path.parent.relative_to(cache_dir())),
        )
    except Exception as err:  # urllib, socket and Keras raise many types
        path.unlink(missing_ok=True)
        raise WeightsError(
            f"Cannot download weights {name!r} from {url}: {err}. " + _by_hand(url, path, sha256)
        ) from err
    finally:
        socket.setdefaulttimeout(previous)
    if sha256 is None:  # trust on first use: later loads must match this digest
        _recorded(path).write_text(sha256_of(path) + "\n")


def _check_digest(name, path, sha256):
    expected = sha256
    if expected is None and _recorded(path).is_file():
        expected = _recorded(path).read_text().strip()
    if expected is None:  # placed by hand with no pinned digest: record it now
        _recorded(path).write_text(sha256_of(path) + "\n")
        return
    actual = sha256_of(path)
    if actual != expected:
        path.unlink(missing_ok=True)
        raise WeightsError(
            f"Weights file {str(path)!r} for {name!r} fails its checksum: sha256 {actual}, "
            f"expected {expected}. The file was removed; it is fetched again next time."
        )


def _recorded(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _offline_message(name, url, path, sha256) -> str:
    why = "ZOO_OFFLINE is set" if offline() else f"{urlparse(url).hostname} is unreachable"
    return f"Weights {name!r} are not in the zoo cache and {why}. " + _by_hand(url, path, sha256)


def _by_hand(url, path, sha256) -> str:
    digest = f" (sha256 {sha256})" if sha256 else ""
    return (
        f"Download {url}{digest} on a machine with internet and place it at {str(path)!r} "
        f"(e.g. `curl -L -o {path} {url}`), set ZOO_HOME to a cache that holds it, or pass "
        f"the local file or folder as weights=."
    )
