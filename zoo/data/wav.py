"""WAV files as float32 mono waveforms: validated headers, mixdown, resampling.

Written by hand on purpose: `keras.utils.audio_dataset_from_directory` and
`tf.audio.decode_wav` read 16-bit PCM only, neither resamples nor mixes
stereo down, and a bad file stops them mid-epoch with a TensorFlow error that
does not name it. Here every file's header is parsed up front (a few hundred
bytes each), so an empty, truncated or corrupt file is an `AudioFileError`
naming it before training starts; the samples are then read with numpy and
resampled with `scipy.signal.resample_poly`.

Example:

>>> header = read_header("clips/yes/0.wav")
>>> header.sample_rate, header.channels, header.frames
(8000, 2, 8000)
>>> load_clip("clips/yes/0.wav", 16000).shape   # mono, resampled
(16000,)
"""

from __future__ import annotations

import collections
import dataclasses
import math
import struct
from pathlib import Path

import numpy as np

from zoo import errors

ACCEPTED = (
    "RIFF/WAVE files holding at least one frame of 16-bit PCM (also 8, 24 or 32-bit) or "
    "32/64-bit float samples, mono or stereo"
)
_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE
_BITS = {_PCM: (8, 16, 24, 32), _FLOAT: (32, 64)}


@dataclasses.dataclass(frozen=True)
class WavHeader:
    """What a WAV file holds, read from its header.

    Args:
        path: str. The file.
        sample_rate: int. Frames per second.
        channels: int. 1 (mono) or 2 (stereo).
        bits: int. Bits per sample.
        is_float: bool. IEEE float samples (else integer PCM).
        frames: int. Sample frames in the data chunk.
        data_offset: int. Byte offset of the first sample.
    """

    path: str
    sample_rate: int
    channels: int
    bits: int
    is_float: bool
    frames: int
    data_offset: int

    @property
    def frame_bytes(self) -> int:
        return self.channels * self.bits // 8


def read_header(path) -> WavHeader:
    """Parses and checks a WAV file's header without reading its samples.

    Args:
        path: str or Path. The file.

    Raises:
        AudioFileError: the file is empty, not RIFF/WAVE, truncated, has no
            frames, or holds a sample format outside `ACCEPTED`.

    Example:

    >>> read_header("clip.wav").sample_rate
    16000
    """
    path = str(path)
    try:
        size = Path(path).stat().st_size
        with open(path, "rb") as handle:
            return _parse(path, handle, size)
    except OSError as err:
        raise _error(path, f"it cannot be opened ({err.strerror or err})") from err


def read_headers(paths) -> list[WavHeader]:
    """`read_header` of every file, so a bad one is found before any is decoded.

    Args:
        paths: iterable of str or Path.
    """
    return [read_header(p) for p in paths]


def common_rate(headers) -> int | None:
    """The sample rate most files have (the higher one on a tie); None for no files.

    Args:
        headers: list of WavHeader.
    """
    counts = collections.Counter(h.sample_rate for h in headers)
    return max(counts, key=lambda rate: (counts[rate], rate)) if counts else None


def read_samples(header: WavHeader) -> np.ndarray:
    """The samples of a checked file as float32 `(frames, channels)` in [-1, 1].

    Args:
        header: WavHeader. From `read_header`.
    """
    with open(header.path, "rb") as handle:
        handle.seek(header.data_offset)
        raw = handle.read(header.frames * header.frame_bytes)
    if len(raw) < header.frames * header.frame_bytes:  # changed since its header was read
        raise _error(header.path, "it is shorter than its header says (truncated)")
    if header.is_float:
        samples = np.frombuffer(raw, f"<f{header.bits // 8}").astype("float32")
        # Float WAVs may exceed full scale; a non-finite sample would poison training.
        samples = np.clip(np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
    elif header.bits == 8:  # 8-bit PCM is unsigned, centred on 128
        samples = (np.frombuffer(raw, "u1").astype("float32") - 128.0) / 128.0
    elif header.bits == 24:  # no numpy dtype: shift each 3-byte sample into an int32
        wide = np.zeros((len(raw) // 3, 4), "u1")
        wide[:, 1:] = np.frombuffer(raw, "u1").reshape(-1, 3)
        samples = wide.view("<i4")[:, 0].astype("float32") / 2.0**31
    else:
        samples = np.frombuffer(raw, f"<i{header.bits // 8}").astype("float32")
        samples /= 2.0 ** (header.bits - 1)
    return samples.reshape(header.frames, header.channels)


def resample(samples: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    """Resamples a mono waveform with a polyphase filter (`scipy.signal.resample_poly`).

    Args:
        samples: float array `(frames,)`.
        rate: int. Its sample rate.
        target_rate: int. The rate wanted.

    Returns:
        float32 `(ceil(frames * target_rate / rate),)`.
    """
    samples = np.asarray(samples, "float32")
    if int(rate) == int(target_rate):
        return samples
    from scipy import signal

    gcd = math.gcd(int(rate), int(target_rate))
    # float64 in: scipy's float32 path ran 1.6x slower for 44.1 -> 16 kHz.
    out = signal.resample_poly(samples.astype("float64"), int(target_rate) // gcd, int(rate) // gcd)
    return out.astype("float32")


def load_clip(path, sample_rate: int) -> np.ndarray:
    """A WAV file as a float32 mono waveform at `sample_rate`, in [-1, 1].

    Stereo is mixed down (the mean of both channels); another sample rate is
    resampled.

    Args:
        path: str, bytes or Path. The file (bytes when called from tf.data).
        sample_rate: int. The rate wanted.

    Raises:
        AudioFileError: see `read_header`.
    """
    header = read_header(path.decode() if isinstance(path, bytes) else path)
    mono = read_samples(header).mean(axis=1)
    # The filter's ringing can overshoot full scale by a little.
    return np.clip(resample(mono, header.sample_rate, sample_rate), -1.0, 1.0)


def _parse(path: str, handle, size: int) -> WavHeader:
    head = handle.read(12)
    if not head:
        raise _error(path, "the file is empty (0 bytes)")
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise _error(path, f"it is not a RIFF/WAVE file (it starts with {head[:12]!r})")
    fmt = None
    while True:
        chunk = handle.read(8)
        if len(chunk) < 8:
            missing = "data" if fmt else "fmt"
            raise _error(path, f"the header ends before a {missing!r} chunk (truncated or corrupt)")
        name, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if name == b"fmt ":
            fmt = _parse_fmt(path, handle.read(length))
        elif name == b"data":
            if fmt is None:
                raise _error(path, "its 'data' chunk comes before the 'fmt ' chunk (corrupt)")
            offset = handle.tell()
            channels, rate, bits, is_float = fmt
            available = size - offset
            if length > available:
                raise _error(
                    path,
                    f"its data chunk declares {length} bytes but only {available} follow "
                    f"(truncated)",
                )
            frames = length // (channels * bits // 8)
            if frames == 0:
                raise _error(path, "it holds 0 audio frames")
            return WavHeader(path, rate, channels, bits, is_float, frames, offset)
        else:  # LIST, fact, cue ...: not needed
            handle.seek(length, 1)
        if length % 2:  # chunks are padded to an even size
            handle.seek(1, 1)


def _parse_fmt(path: str, body: bytes):
    if len(body) < 16:
        raise _error(path, "its 'fmt ' chunk is shorter than 16 bytes (corrupt)")
    tag, channels, rate, _, block, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == _EXTENSIBLE and len(body) >= 26:
        tag = struct.unpack("<H", body[24:26])[0]  # the sub-format GUID starts with the tag
    if tag not in _BITS:
        raise _error(path, f"its sample format tag is {tag} (compressed or unknown)")
    if bits not in _BITS[tag]:
        kind = "float" if tag == _FLOAT else "PCM"
        raise _error(path, f"it holds {bits}-bit {kind} samples")
    if channels not in (1, 2):
        raise _error(path, f"it has {channels} channels")
    if rate == 0 or block != channels * bits // 8:
        raise _error(
            path,
            f"its 'fmt ' chunk is inconsistent (sample rate {rate}, {channels} channels of "
            f"{bits} bits in blocks of {block} bytes)",
        )
    return channels, rate, bits, tag == _FLOAT


def _error(path: str, reason: str) -> errors.AudioFileError:
    return errors.AudioFileError(
        f"Cannot read WAV file {path!r}: {reason}. Accepted: {ACCEPTED}. Received: {path!r}"
    )
