"""espeak-ng through ctypes: real speech, reproducible, clear errors."""

import threading

import numpy as np
import pytest

from zoo import errors
from zoo.data import espeak


def test_speaks_a_word_as_float_samples_at_22050_hz():
    wave, rate = espeak.synthesize("yes", "en-gb-scotland+f3", rate=150, pitch=60)
    assert rate == 22050 and wave.dtype == np.float32 and wave.ndim == 1
    assert 0.2 * rate < len(wave) < 1.5 * rate  # one short word
    assert 0.05 < np.abs(wave).max() <= 1.0
    # A slower rate speaks the same word longer.
    slow, _ = espeak.synthesize("yes", "en-gb-scotland+f3", rate=90, pitch=60)
    assert len(slow) > 1.3 * len(wave)


def test_the_same_arguments_give_the_same_samples_whatever_was_spoken_before():
    # espeak-ng's wave generator keeps state across calls in C statics;
    # `synthesize` speaks with a freshly loaded library every time.
    first, _ = espeak.synthesize("stop", "en-029+m2", seed=3)
    espeak.synthesize("sheila", "en+f5", rate=90)
    np.testing.assert_array_equal(espeak.synthesize("stop", "en-029+m2", seed=3)[0], first)


def test_synthesizer_blocks_repeat_exactly_even_from_threads():
    # klatt4 also draws noise from espeak-ng's random generator, which `seed` resets.
    calls = [("happy", "en-us+klatt4"), ("stop", "en-029+m2"), ("sheila", "en+f5")]

    def speak_all():
        with espeak.Synthesizer() as speak:
            return [speak(text, voice, seed=3)[0] for text, voice in calls]

    expected = speak_all()
    results = [None] * 3

    def run(i):
        results[i] = speak_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        for got, want in zip(result, expected, strict=True):
            np.testing.assert_array_equal(got, want)


def test_a_nested_synthesizer_is_refused_instead_of_deadlocking():
    with espeak.Synthesizer(), pytest.raises(errors.SynthesisError, match="inside another"):
        with espeak.Synthesizer():
            pass
    espeak.synthesize("go")  # the outer block released the synthesizer


@pytest.mark.parametrize(
    ("voice", "kwargs", "match"),
    [
        ("en-gb", {}, "no voice 'en-gb'"),
        ("en-us+nonexistent", {}, "no voice 'en-us\\+nonexistent'"),
        ("en-us", {"rate": 20}, "rate=20"),
        ("en-us", {"pitch": 101}, "pitch=101"),
    ],
)
def test_bad_voices_and_parameters_are_named(voice, kwargs, match):
    with pytest.raises(errors.InvalidArgumentError, match=match):
        espeak.synthesize("go", voice, **kwargs)
