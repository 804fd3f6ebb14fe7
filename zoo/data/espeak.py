"""Speech synthesis with espeak-ng, from the `espeakng-loader` wheel.

The wheel bundles `libespeak-ng` and its voice data, so speech can be made
after a plain `pip install` with no system package and no network. It ships
no Python binding, and the maintained bindings either need a system
espeak-ng (py-espeak-ng runs the `espeak-ng` program) or only phonemize
(phonemizer): so this module calls the C library through ctypes, with the
small, stable `speak_lib.h` API in its synchronous mode.

Reproducibility is the point of the design. espeak-ng keeps the state of its
wave generator (the pitch-flutter position, the glottal phase, the echo
buffer) in C statics that no API call resets: the same call gives other
samples after something else was spoken. A `Synthesizer` is therefore a
fresh load of a private copy of the library (fresh statics; no other user of
libespeak-ng in the process can share or disturb it), unloaded on exit. Its
output depends only on the calls made on it, in order; `synthesize` is one
call on its own `Synthesizer` (about 20 ms, mostly the voice list that a
fresh library reads once).

espeak-ng has one synthesizer per loaded library, so a lock lets one
`Synthesizer` run at a time in a process: threads take turns. Processes are
independent.
"""

from __future__ import annotations

import atexit
import ctypes
import functools
import os
import shutil
import tempfile
import threading

import numpy as np

from zoo import errors

# From speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000  # return an error code instead of calling exit()
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE, _PITCH, _RANGE = 1, 3, 4  # espeak_PARAMETER
# int callback(short *wav, int numsamples, espeak_EVENT *events)
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)

_lock = threading.Lock()
_owner: list = [None]  # the thread inside a Synthesizer block


def _reset_lock_after_fork():
    # A fork taken while another thread synthesizes copies a held lock into
    # the child, where no thread would ever release it.
    global _lock
    _lock = threading.Lock()
    _owner[0] = None


os.register_at_fork(after_in_child=_reset_lock_after_fork)


def _loader():
    try:
        import espeakng_loader
    except ImportError as exc:
        raise errors.SynthesisError(
            "Speech synthesis needs the `espeakng-loader` package (libespeak-ng and its "
            "voices in a wheel). Install it with `pip install espeakng-loader`."
        ) from exc
    return espeakng_loader


@functools.cache
def _private_library_path() -> str:
    """A copy of libespeak-ng that only this module loads, removed at exit."""
    source = _loader().get_library_path()
    folder = tempfile.mkdtemp(prefix="zoo-espeak-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return shutil.copy(source, os.path.join(folder, os.path.basename(source)))


@functools.cache
def variants() -> tuple[str, ...]:
    """The names of espeak-ng's voice variants (`"m1"`, `"f3"`, `"klatt4"`, ...).

    Example:

    >>> "f3" in variants()
    True
    """
    data_path = _loader().get_data_path()
    return tuple(sorted(os.listdir(os.path.join(data_path, "voices", "!v"))))


class Synthesizer:
    """A fresh espeak-ng synthesizer, as a context manager; call it to speak.

    Within one `with` block the output depends only on the calls made, in
    order: the same calls give the same samples in every process. Blocks run
    one at a time per process (other threads wait); do not nest them.

    Example:

    >>> with Synthesizer() as speak:
    ...     yes, rate = speak("yes", "en-gb+f2", rate=150, pitch=60)
    ...     no, _ = speak("no", "en-us+m3")
    >>> yes.dtype, rate
    (dtype('float32'), 22050)
    """

    def __enter__(self) -> Synthesizer:
        if _owner[0] == threading.get_ident():
            raise errors.SynthesisError(
                "A Synthesizer block was opened inside another one in the same thread; "
                "speak everything through the outer one."
            )
        _lock.acquire()
        _owner[0] = threading.get_ident()
        try:
            self._load()
        except BaseException:
            _owner[0] = None
            _lock.release()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            self._lib.espeak_Terminate()
            # Unloading is what resets the C statics for the next Synthesizer.
            import _ctypes

            unload = getattr(_ctypes, "dlclose", None) or _ctypes.FreeLibrary
            unload(self._lib._handle)
        finally:
            self._lib = None
            _owner[0] = None
            _lock.release()

    def _load(self) -> None:
        path = _private_library_path()
        try:
            lib = ctypes.CDLL(path)
        except OSError as exc:
            raise errors.SynthesisError(
                f"libespeak-ng from `espeakng-loader` does not load ({exc}); reinstall it."
            ) from exc
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,  # text
            ctypes.c_size_t,  # size in bytes
            ctypes.c_uint,  # position
            ctypes.c_int,  # position type
            ctypes.c_uint,  # end position
            ctypes.c_uint,  # flags
            ctypes.c_void_p,  # unique identifier (out)
            ctypes.c_void_p,  # user data
        ]
        data_path = _loader().get_data_path()
        sample_rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode(), _INITIALIZE_DONT_EXIT
        )
        if sample_rate <= 0:
            import _ctypes

            (getattr(_ctypes, "dlclose", None) or _ctypes.FreeLibrary)(lib._handle)
            raise errors.SynthesisError(
                f"libespeak-ng failed to initialise with its data at {data_path!r} "
                f"(returned {sample_rate}); reinstall `espeakng-loader`."
            )
        self._chunks = []

        def collect(wav, num_samples, events):
            del events
            if num_samples > 0:
                self._chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
            return 0  # 0: go on synthesizing

        self._callback = _SYNTH_CALLBACK(collect)  # kept referenced: C holds the pointer
        lib.espeak_SetSynthCallback(self._callback)
        self._lib, self.sample_rate = lib, sample_rate

    def __call__(
        self,
        text: str,
        voice: str = "en-us",
        *,
        rate: int = 175,
        pitch: int = 50,
        pitch_range: int = 50,
        seed: int = 0,
    ) -> tuple[np.ndarray, int]:
        """Speaks `text`; returns `(waveform, sample_rate)`. See `synthesize`."""
        if getattr(self, "_lib", None) is None:
            raise errors.SynthesisError("Use a Synthesizer inside `with Synthesizer() as speak:`.")
        for name, value, low, high in (
            ("rate", rate, 80, 450),
            ("pitch", pitch, 0, 100),
            ("pitch_range", pitch_range, 0, 100),
        ):
            if not low <= value <= high:
                raise errors.InvalidArgumentError(
                    f"{name} must be in [{low}, {high}]. Received: {name}={value!r}"
                )
        lib = self._lib
        # espeak-ng falls back to the plain voice for an unknown variant, silently.
        variant = voice.partition("+")[2]
        if (variant and variant not in variants()) or lib.espeak_SetVoiceByName(
            voice.encode()
        ) != 0:
            raise errors.InvalidArgumentError(
                f"espeak-ng has no voice {voice!r}. Pass a language name such as 'en-us' or "
                f"'en-gb-scotland', optionally with a variant of `variants()`: 'en-us+f3'."
            )
        for parameter, value in ((_RATE, rate), (_PITCH, pitch), (_RANGE, pitch_range)):
            lib.espeak_SetParameter(parameter, int(value), 0)
        # Breathiness and Klatt noise come from espeak-ng's own generator.
        lib.espeak_ng_SetRandSeed(int(seed))
        self._chunks.clear()
        data = text.encode() + b"\0"
        status = lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if status != 0:
            raise errors.SynthesisError(f"espeak-ng failed to speak {text!r} (error {status}).")
        samples = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        self._chunks.clear()
        return samples.astype(np.float32) / 32768.0, self.sample_rate


def synthesize(
    text: str,
    voice: str = "en-us",
    *,
    rate: int = 175,
    pitch: int = 50,
    pitch_range: int = 50,
    seed: int = 0,
) -> tuple[np.ndarray, int]:
    """Speaks `text` with an espeak-ng voice; returns `(waveform, sample_rate)`.

    The same arguments give the same samples on every call and in every
    process (a fresh `Synthesizer` speaks it). To speak many texts fast, use
    one `Synthesizer` for all of them.

    Args:
        text: str. What to say (UTF-8, plain text).
        voice: str. An espeak-ng voice name, optionally with a variant after a
            `+`: `"en-us"`, `"en-gb-scotland+f3"`, `"en-029+klatt4"`.
        rate: int. Speaking rate in words per minute, 80..450.
        pitch: int. Base pitch, 0..100 (50 is the voice's normal pitch).
        pitch_range: int. Pitch range (intonation), 0..100.
        seed: int. Seed of espeak-ng's random generator (breath, Klatt noise).

    Returns:
        A float32 waveform in [-1, 1] (mono) and its sample rate (22050 Hz).

    Raises:
        InvalidArgumentError: an unknown voice or a parameter out of range.
        SynthesisError: `espeakng-loader` is missing or its library fails.

    Example:

    >>> wave, rate = synthesize("yes", "en-gb+f2", rate=150, pitch=60)
    >>> wave.dtype, rate
    (dtype('float32'), 22050)
    """
    with Synthesizer() as speak:
        return speak(text, voice, rate=rate, pitch=pitch, pitch_range=pitch_range, seed=seed)
