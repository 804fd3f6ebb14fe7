"""`spoken_commands`: spoken keywords synthesized with espeak-ng, no download.

The labels are tfds `speech_commands`' twelve, in its order: the ten command
words, `_silence_` and `_unknown_`; the features are the same too (`audio`:
16 kHz mono int16, 1 s; `label`), plus `speaker_id`, so one pipeline serves both.

How a clip is made, all from a fixed seed (`generate_block`):

1. A voice: one of 8 English accents of espeak-ng (US, British, RP, Scottish,
   Caribbean, New York, Lancastrian, West Midlands) with one of its voice
   variants (m1..m8, f1..f5, klatt1..6 and 65 named ones), spoken at a
   random rate (110..260 words per minute), base pitch and pitch range, with
   a random final punctuation mark that changes the intonation (`yes?`).
   `speaker_id` is `"<accent>+<variant>"`, the accent alone for its own
   voice, `""` for silence.
2. The word: a command word, or for `_unknown_` one of the other 25 words of
   speech_commands v2 (bed, bird, ..., zero, backward, ..., visual).
3. espeak-ng speaks it at 22,050 Hz (`zoo.data.espeak`); leading and trailing
   silence is trimmed; scipy's polyphase filter resamples it to 16 kHz.
4. It is placed at a random offset inside the 1 s clip, at a random peak
   level (-24..-1 dBFS), and mixed with background noise at a random SNR
   (3..30 dB): white, pink or brown noise, or mains hum (50/60 Hz and its
   harmonics over a faint hiss), generated here. `_silence_` clips hold
   noise alone, at -70..-25 dBFS RMS.

The split is by voice variant: `test` holds `TEST_VARIANTS` in every accent,
`train` all the others, so validation voices are never heard in training.
Variants that share their formant table (iven..iven4, Gene/Gene2, ...) are
on the same side. Classes are balanced: each of the twelve labels has the
same count. Each clip draws from its own random stream (seed, split, index)
and each block of 50 clips is spoken by a fresh espeak-ng, so the data does
not depend on generation order or on what the process did before: two
prepares give identical arrays with the same `espeakng-loader`, numpy and
scipy (and platform: floating-point filters may round differently elsewhere).
"""

from __future__ import annotations

import functools

import numpy as np
import tensorflow_datasets as tfds

WORDS = ("down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes")
SILENCE = "_silence_"
UNKNOWN = "_unknown_"
LABELS = (*WORDS, SILENCE, UNKNOWN)  # tfds speech_commands' order
UNKNOWN_WORDS = (
    "bed", "bird", "cat", "dog", "eight", "five", "four", "happy", "house", "marvin",
    "nine", "one", "seven", "sheila", "six", "three", "tree", "two", "wow", "zero",
    "backward", "forward", "follow", "learn", "visual",
)  # fmt: skip
SAMPLE_RATE = 16000
CLIP_SAMPLES = SAMPLE_RATE  # 1 s
ACCENTS = (
    "en-us",
    "en",
    "en-gb-x-rp",
    "en-gb-scotland",
    "en-029",
    "en-us-nyc",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
)
# espeak-ng's variants, in families that share a formant table; "" is the
# accent's own voice (the klatt variants are it through another synthesizer).
# Left out: the robotic, whispered and echo effects (robosoft*, UniRobot,
# anikaRobot, RicishayMax*, Demonic, whisper*), "fast" (not a voice), and
# Reed and caleb, whose Klatt breath noise comes from the C library's rand()
# and so differs from run to run.
TRAIN_VARIANTS = (
    "", "klatt", "klatt2", "klatt3", "klatt4", "klatt5", "klatt6",
    "m1", "m2", "m3", "m6", "m7", "m8", "Nguyen", "f1", "f2", "f4", "aunty",
    "Alex", "Alicia", "Andrea", "Andy", "AnxiousAndy", "Lee", "Denis",
    "Diogo", "Henrique", "Hugo", "miguel", "michel", "Gene", "Gene2",
    "Mario", "Michael", "gustave", "Mike", "mike2", "adam", "anika",
    "announcer", "belinda", "linda", "benjamin", "ed", "edward", "edward2",
    "grandpa", "ian", "iven", "iven2", "iven3", "iven4", "kaukovalta",
    "marcelo", "max", "paul", "norbert", "pablo", "pedro", "quincy", "robert",
    "rob", "sandro", "victor", "Tweaky",
)  # fmt: skip
TEST_VARIANTS = (
    "m4", "m5", "f3", "f5", "Annie", "Jacky", "Marco", "Storm", "antonio",
    "boris", "croak", "david", "grandma", "john", "shelby", "steph", "steph2",
    "steph3", "travis", "zac",
)  # fmt: skip
SPLITS = {"train": TRAIN_VARIANTS, "test": TEST_VARIANTS}
# Clips per label and split: 400 x 12 = 4,800 train, 100 x 12 = 1,200 test.
PER_LABEL = {"train": 400, "test": 100}
SEED = 20260108
BLOCK_SIZE = 50  # clips spoken by one fresh synthesizer (see generate_block)

_RATE_WPM = (110, 260)
_PITCH = (20, 80)
_PITCH_RANGE = (20, 90)
_ENDINGS = ("", "", ".", "!", "?", ",")
_PEAK_DBFS = (-24.0, -1.0)
_SNR_DB = (3.0, 30.0)
_SILENCE_RMS_DBFS = (-70.0, -25.0)
_NOISES = ("white", "pink", "brown", "hum")
_TRIM_THRESHOLD = 0.02  # of the peak: espeak pads words with near-silence


@functools.cache
def speakers(split: str) -> tuple[str, ...]:
    """The `speaker_id`s of a split: every accent with each of its variants.

    Args:
        split: str. `"train"` or `"test"`.

    Example:

    >>> speakers("test")[:2]
    ('en-us+m4', 'en-us+m5')
    """
    return tuple(
        f"{accent}+{variant}" if variant else accent
        for accent in ACCENTS
        for variant in SPLITS[split]
    )


def split_labels(split: str) -> np.ndarray:
    """The label index of every clip of a split, balanced and shuffled.

    Example:

    >>> np.bincount(split_labels("test")).tolist()
    [100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100]
    """
    count = PER_LABEL[split] * len(LABELS)
    rng = np.random.default_rng([SEED, list(SPLITS).index(split)])
    return rng.permutation(np.arange(count) % len(LABELS))


def generate_block(split: str, block: int) -> list[dict]:
    """Clips `block * BLOCK_SIZE ...` of `split`: `{"audio", "label", "speaker_id"}` each.

    A block is the unit of regeneration: its words are spoken by one fresh
    espeak-ng `Synthesizer`, whose samples depend on what it said before
    (see `zoo.data.espeak`), and every other draw of a clip comes from its
    own random stream `(SEED, split, index)`. So a block comes out the same
    alone, in any order, in any process.

    Args:
        split: str. `"train"` or `"test"`.
        block: int. `0 <= block < num_blocks(split)`.

    Example:

    >>> clips = generate_block("test", 0)
    >>> len(clips), clips[0]["audio"].shape, clips[0]["audio"].dtype
    (50, (16000,), dtype('int16'))
    """
    from zoo.data import espeak

    labels = split_labels(split)
    indices = range(block * BLOCK_SIZE, min((block + 1) * BLOCK_SIZE, len(labels)))
    with espeak.Synthesizer() as speak:
        return [_make_clip(split, index, int(labels[index]), speak) for index in indices]


def num_blocks(split: str) -> int:
    """How many `generate_block` blocks `split` has."""
    return -(-len(split_labels(split)) // BLOCK_SIZE)


def _make_clip(split, index, label, speak):
    rng = np.random.default_rng([SEED, list(SPLITS).index(split), index])
    # Every draw happens for every clip, so no choice shifts the stream of the next.
    voices = speakers(split)
    speaker = voices[rng.integers(len(voices))]
    unknown_word = UNKNOWN_WORDS[rng.integers(len(UNKNOWN_WORDS))]
    ending = _ENDINGS[rng.integers(len(_ENDINGS))]
    rate = int(rng.integers(_RATE_WPM[0], _RATE_WPM[1] + 1))
    pitch = int(rng.integers(_PITCH[0], _PITCH[1] + 1))
    pitch_range = int(rng.integers(_PITCH_RANGE[0], _PITCH_RANGE[1] + 1))
    peak_db = rng.uniform(*_PEAK_DBFS)
    snr_db = rng.uniform(*_SNR_DB)
    silence_db = rng.uniform(*_SILENCE_RMS_DBFS)
    offset_fraction = rng.random()
    noise = _noise(rng, _NOISES[rng.integers(len(_NOISES))], CLIP_SAMPLES)

    name = LABELS[label]
    if name == SILENCE:
        clip = noise * 10 ** (silence_db / 20)
        speaker = ""
    else:
        word = unknown_word if name == UNKNOWN else name
        wave, rate_hz = speak(
            word + ending, speaker, rate=rate, pitch=pitch, pitch_range=pitch_range, seed=index
        )
        speech = _to_clip_rate(wave, rate_hz)
        speech *= 10 ** (peak_db / 20) / np.abs(speech).max()
        start = int(offset_fraction * (CLIP_SAMPLES - len(speech)))
        clip = np.zeros(CLIP_SAMPLES)
        clip[start : start + len(speech)] = speech
        speech_rms = np.sqrt(np.mean(speech**2))
        clip += noise * speech_rms * 10 ** (-snr_db / 20)
    audio = np.clip(np.round(clip * 32767), -32768, 32767).astype(np.int16)
    return {"audio": audio, "label": label, "speaker_id": speaker}


def _to_clip_rate(wave, rate_hz):
    """A spoken word trimmed of espeak's padding, at 16 kHz, at most 1 s, float64."""
    from scipy.signal import resample_poly

    loud = np.flatnonzero(np.abs(wave) > _TRIM_THRESHOLD * np.abs(wave).max())
    wave = wave[loud[0] : loud[-1] + 1].astype(np.float64)
    wave = resample_poly(wave, SAMPLE_RATE, rate_hz, window=_resampling_filter(rate_hz))
    if len(wave) > CLIP_SAMPLES:  # a slow long word: keep its middle second
        cut = (len(wave) - CLIP_SAMPLES) // 2
        wave = wave[cut : cut + CLIP_SAMPLES]
    return wave


@functools.cache
def _resampling_filter(rate_hz):
    """resample_poly's own default filter, designed once instead of per clip."""
    from scipy.signal import firwin

    up_down = max(SAMPLE_RATE, rate_hz) // np.gcd(SAMPLE_RATE, rate_hz)
    return firwin(20 * up_down + 1, 1.0 / up_down, window=("kaiser", 5.0))


def _noise(rng, kind, n):
    """`n` samples of unit-RMS background noise of a kind (see `_NOISES`)."""
    white = rng.standard_normal(n)
    mains = 50.0 if rng.random() < 0.5 else 60.0
    harmonics = rng.uniform(0.0, 1.0, 8) ** 2
    phases = rng.uniform(0.0, 2 * np.pi, 8)
    if kind == "white":
        noise = white
    elif kind in ("pink", "brown"):
        # Shape white noise's spectrum: power 1/f (pink) or 1/f^2 (brown).
        spectrum = np.fft.rfft(white)
        freqs = np.maximum(np.arange(len(spectrum)), 1.0)
        spectrum /= np.sqrt(freqs) if kind == "pink" else freqs
        noise = np.fft.irfft(spectrum, n)
    else:  # hum: a mains fundamental and harmonics over a faint hiss
        t = np.arange(n) / SAMPLE_RATE
        k = np.arange(1, 9)[:, None]
        noise = (harmonics[:, None] * np.sin(2 * np.pi * mains * k * t + phases[:, None])).sum(0)
        noise /= np.sqrt(np.mean(noise**2)) + 1e-12
        noise += 0.05 * white
    return noise / np.sqrt(np.mean(noise**2))


class CompressedAudio(tfds.features.Audio):
    """tfds `Audio` that stores its samples zlib-compressed.

    tfds 4.9's `Audio.encode_example` returns a numpy waveform as is, skipping
    the `encoding=` of its `Tensor` base: each int16 sample then lands in a
    tf.Example int64 list, 10 bytes for a negative one (about 94 KB per 1 s
    clip instead of 32 KB raw). Decoded examples are the same as `Audio`'s.
    """

    def encode_example(self, audio_or_path_or_fobj):
        if isinstance(audio_or_path_or_fobj, np.ndarray):
            return tfds.features.Tensor.encode_example(self, audio_or_path_or_fobj)
        return super().encode_example(audio_or_path_or_fobj)


class ZooSpokenCommands(tfds.core.GeneratorBasedBuilder):
    """tfds builder for `spoken_commands` (4,800 train, 1,200 test clips).

    Example:

    >>> builder = ZooSpokenCommands(data_dir="/tmp/tfds")
    >>> builder.download_and_prepare()  # synthesizes: no download
    >>> train = builder.as_dataset(split="train", as_supervised=True)
    """

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {
        "1.0.0": "espeak-ng 1.52 (espeakng-loader 0.2.4), 8 accents x 85 variants, "
        "split by variant, 400/100 clips per label, seed 20260108.",
    }

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            description="Spoken command words synthesized with espeak-ng over many voices, "
            "rates and pitches, mixed with generated background noise; test voices are "
            "never heard in training.",
            features=tfds.features.FeaturesDict(
                {
                    "audio": CompressedAudio(
                        dtype=np.int16, sample_rate=SAMPLE_RATE, encoding="zlib"
                    ),
                    "label": tfds.features.ClassLabel(names=list(LABELS)),
                    "speaker_id": tfds.features.Text(),
                }
            ),
            supervised_keys=("audio", "label"),
            # Stored in generation order, itself random (labels and voices are
            # drawn per clip), so that example i of a split is clip i.
            disable_shuffling=True,
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # synthesized here: nothing to download
        return {split: self._generate_examples(split) for split in SPLITS}

    def _generate_examples(self, split):
        for block in range(num_blocks(split)):
            for offset, clip in enumerate(generate_block(split, block)):
                yield block * BLOCK_SIZE + offset, clip
