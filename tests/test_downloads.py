"""The zoo cache: where it is, digests pinned or recorded at first use, offline failures."""

import hashlib
import socket
from pathlib import Path

import pytest

from zoo import downloads, errors

URL = "https://huggingface.co/timm/resnet101.a1_in1k/resolve/main/model.safetensors"


@pytest.fixture
def zoo_home(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_cache_dir_follows_zoo_home_then_xdg_then_home(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "z"))
    assert downloads.cache_dir() == tmp_path / "z"
    monkeypatch.delenv("ZOO_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert downloads.cache_dir() == tmp_path / "xdg" / "zoo"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert downloads.cache_dir() == Path.home() / ".cache" / "zoo"


def _place(name, data: bytes) -> Path:
    path = downloads.download_path(name, URL)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_an_unpinned_file_is_trusted_on_first_use_then_checked(zoo_home):
    path = _place("resnet101.a1_in1k", b"first")
    assert path == zoo_home / "downloads/resnet101.a1_in1k/model.safetensors"
    assert downloads.fetch("resnet101.a1_in1k", URL, None) == path
    recorded = path.with_name("model.safetensors.sha256").read_text().strip()
    assert recorded == hashlib.sha256(b"first").hexdigest()

    path.write_bytes(b"changed")
    with pytest.raises(errors.WeightsError, match="fails its checksum"):
        downloads.fetch("resnet101.a1_in1k", URL, None)
    assert not path.exists()  # refused and removed, never loaded


def test_a_pinned_digest_refuses_a_different_file(zoo_home):
    path = _place("resnet101.a1_in1k", b"tampered")
    with pytest.raises(errors.WeightsError, match="expected 00"):
        downloads.fetch("resnet101.a1_in1k", URL, "00" * 32)
    assert not path.exists()
    _place("resnet101.a1_in1k", b"good")
    good = hashlib.sha256(b"good").hexdigest()
    assert downloads.fetch("resnet101.a1_in1k", URL, good).read_bytes() == b"good"


def test_offline_means_no_socket_is_opened(zoo_home, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("a network call was attempted")

    monkeypatch.setattr(socket, "create_connection", no_network)
    assert downloads.offline() and not downloads.reachable(URL)
    with pytest.raises(errors.WeightsError, match="ZOO_OFFLINE is set") as info:
        downloads.fetch("resnet101.a1_in1k", URL, None)
    assert URL in str(info.value) and str(zoo_home / "downloads") in str(info.value)
