"""The speech front end: equal to tf.signal, exportable, and its training-only augmentation."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.inputs import AudioInput
from zoo.speech.augment import RandomBackgroundNoise, RandomTimeShift, SpecAugment
from zoo.speech.frontend import FrontendConfig, frontend_layers
from zoo.speech.spectral import PadOrCrop, Spectrogram


def clips(batch=6, samples=16000, seed=0):
    """Tones and noise, plus digital silence and a hard-clipped loud clip."""
    x = AudioInput(16000, samples / 16000).random_batch(batch, seed=seed)
    x[0] = 0.0
    x[1] = np.clip(20 * x[1], -1, 1)
    return x


def frontend_model(**settings):
    waveforms = keras.Input(shape=(None,), name="waveforms")
    x = waveforms
    for layer in frontend_layers(FrontendConfig(**settings)):
        x = layer(x)
    return keras.Model(waveforms, x)


def reference_log_mel(x, num_mel_bins=40):
    """The textbook tf.signal front end: 30 ms Hann windows, 10 ms hop, 512-point FFT."""
    power = tf.abs(tf.signal.stft(x, 480, 160, 512)) ** 2
    mel = tf.signal.linear_to_mel_weight_matrix(num_mel_bins, 257, 16000, 20.0, 4000.0)
    return tf.math.log(tf.tensordot(power, mel, 1) + 1e-6).numpy()


def test_config_gives_the_feature_shape():
    assert FrontendConfig().feature_shape == (98, 40)  # 1 s, 30 ms windows every 10 ms
    assert FrontendConfig(features="mfcc", num_mfcc=13).feature_shape == (98, 13)
    assert FrontendConfig(clip_seconds=0.5, num_mel_bins=64).feature_shape == (48, 64)
    assert FrontendConfig(sample_rate=8000).frame_length == 240
    assert FrontendConfig().fft_size == 512
    assert frontend_model(clip_seconds=0.5).output_shape == (None, 48, 40)


@pytest.mark.parametrize(
    "settings, match",
    [
        ({"upper_hz": 9000.0}, "sample_rate / 2"),
        ({"features": "mfcc", "num_mfcc": 41}, "num_mfcc"),
        ({"clip_seconds": 0.01}, "shorter than one window"),
        ({"features": "spectrogram"}, "features"),
        ({"min_snr_db": 20.0, "max_snr_db": 10.0}, "min_snr_db"),
        ({"fft_length": 256}, "fft_length"),
        ({"time_masks": 1, "time_mask_frames": 200}, "time_mask_frames"),
        ({"num_mel_bin": 40}, "Unknown front-end setting"),
    ],
)
def test_bad_settings_are_zoo_errors_naming_the_value(settings, match):
    with pytest.raises(zoo.InvalidArgumentError, match=match):
        FrontendConfig.from_dict(settings)


def test_from_dict_applies_overrides_over_a_base():
    config = FrontendConfig.from_dict({"num_mfcc": 13}, base={"features": "mfcc"})
    assert (config.features, config.num_mfcc) == ("mfcc", 13)
    assert FrontendConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize("power", [2.0, 1.0])
def test_spectrogram_equals_tf_signal_stft(power):
    x = clips()
    expected = np.abs(tf.signal.stft(x, 480, 160, 512).numpy()) ** power
    actual = Spectrogram(480, 160, 512, power=power)(x).numpy()
    assert actual.shape == expected.shape == (6, 98, 257)
    # Relative to the largest value (measured 1e-6): float32 rounding of a 480-term sum.
    assert np.abs(actual - expected).max() / expected.max() < 1e-5


def test_log_mel_and_mfcc_equal_the_tf_signal_reference():
    x = clips()
    reference = reference_log_mel(x)
    log_mel = frontend_model(normalization="none").predict(x, verbose=0)
    # Measured 1e-4 on a range of about 25 (the silence rows are exact).
    np.testing.assert_allclose(log_mel, reference, atol=5e-4)
    np.testing.assert_array_equal(log_mel[0], np.log(np.float32(1e-6)))
    mfcc = frontend_model(normalization="none", features="mfcc", num_mfcc=13).predict(x, verbose=0)
    expected = tf.signal.mfccs_from_log_mel_spectrograms(reference)[..., :13].numpy()
    np.testing.assert_allclose(mfcc, expected, atol=5e-4)


def test_spectrogram_keeps_only_the_bins_the_mel_bands_read():
    # 4 kHz is bin 128 of 257 at 16 kHz, the zero edge of the top band: bins 0..127 are kept.
    model = frontend_model()
    assert model.get_layer("spectrogram").output.shape == (None, 98, 128)
    full = frontend_model(upper_hz=8000.0)  # the Nyquist bin is then the zero edge
    assert full.get_layer("spectrogram").output.shape == (None, 98, 256)


def test_utterance_normalization_removes_the_recording_gain():
    x = clips()[2:]
    model = frontend_model()
    loud, quiet = model.predict(x, verbose=0), model.predict(0.25 * x, verbose=0)
    np.testing.assert_allclose(loud.mean(axis=(1, 2)), 0.0, atol=1e-4)
    rms = np.sqrt((loud**2).mean(axis=(1, 2)))
    assert ((rms > 0.7) & (rms < 1.0)).all(), rms  # unit RMS, less where the floor acts
    # A gain is an offset of log energies; only the log offset's floor differs.
    np.testing.assert_allclose(loud, quiet, atol=5e-3)
    silence = model.predict(np.zeros((1, 16000), "float32"), verbose=0)
    np.testing.assert_array_equal(silence, 0.0)


def test_pad_or_crop_takes_any_length():
    layer = PadOrCrop(4)
    np.testing.assert_array_equal(layer(np.ones((1, 2), "float32")), [[1, 1, 0, 0]])
    np.testing.assert_array_equal(layer(np.arange(6, dtype="float32")[None]), [[0, 1, 2, 3]])
    model = frontend_model()
    x = clips()
    padded = np.pad(x[:, :12000], [[0, 0], [0, 4000]])
    np.testing.assert_allclose(
        model.predict(x[:, :12000], verbose=0), model.predict(padded, verbose=0), atol=1e-6
    )
    np.testing.assert_allclose(
        model.predict(np.pad(x, [[0, 0], [0, 800]]) + 0.0, verbose=0),
        model.predict(x, verbose=0),
        atol=1e-6,
    )


def test_onnx_front_end_has_one_input_and_matches_keras(tmp_path):
    import onnxruntime

    model = frontend_model(features="mfcc", time_shift_ms=100.0, noise_probability=1.0)
    x = clips()
    model(x[:1])
    path = str(tmp_path / "frontend.onnx")
    model.export(path, format="onnx", verbose=False)
    session = onnxruntime.InferenceSession(path)
    assert [i.name for i in session.get_inputs()] == ["waveforms"]  # constants, not inputs
    for batch in (x, x[:, :9000]):  # any length, padded inside the graph
        got = session.run(None, {"waveforms": batch})[0]
        # Measured 2e-5 on features spanning about 7.
        assert np.abs(got - model.predict(batch, verbose=0)).max() < 1e-4


@pytest.mark.parametrize(
    "layer",
    [
        RandomTimeShift(1600, seed=1),
        RandomBackgroundNoise(1.0, 5.0, 20.0, seed=1),
        SpecAugment(2, 10, 2, 5, seed=1),
    ],
    ids=["shift", "noise", "specaugment"],
)
def test_augmentation_is_identity_at_inference_and_seeded_in_training(layer):
    x = clips() if not isinstance(layer, SpecAugment) else frontend_model()(clips()).numpy()
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer(x, training=False), x)
    changed = layer(x, training=True).numpy()
    assert changed.shape == x.shape and not np.allclose(changed, x)
    twin = type(layer).from_config(layer.get_config())  # same seed, fresh generator
    np.testing.assert_array_equal(twin(x, training=True), changed)


def test_time_shift_moves_each_clip_with_zero_fill():
    x = np.tile(np.arange(1, 101, dtype="float32"), (8, 1))
    shifted = RandomTimeShift(10, seed=3)(x, training=True).numpy()
    for row in shifted:
        nonzero = np.flatnonzero(row)
        shift = int(nonzero[0]) if row[0] == 0 else -(int(row[0]) - 1)
        np.testing.assert_array_equal(row, np.roll(np.pad(x[0], 10), shift)[10:-10])
        assert abs(shift) <= 10


def test_background_noise_lands_in_the_snr_range():
    t = np.arange(16000) / 16000
    clean = np.tile(0.1 * np.sin(2 * np.pi * 440 * t, dtype="float32"), (16, 1)).astype("float32")
    noisy = RandomBackgroundNoise(1.0, 10.0, 20.0, seed=0)(clean, training=True).numpy()
    noise = noisy - clean
    snr = 10 * np.log10((clean**2).mean(1) / (noise**2).mean(1))
    assert (snr > 10 - 0.1).all() and (snr < 20 + 0.1).all(), snr
    silence = RandomBackgroundNoise(1.0, 10.0, 10.0, seed=0)(
        np.zeros((2, 1000), "float32"), training=True
    )
    assert np.sqrt(np.mean(np.square(silence))) > 1e-3  # silence gets noise too


def test_spec_augment_masks_bands_of_bounded_width():
    features = np.ones((16, 98, 40), "float32")
    masked = SpecAugment(1, 10, 1, 5, seed=0)(features, training=True).numpy()
    for clip in masked:
        zero_frames = np.flatnonzero((clip == 0).all(axis=1))
        zero_bins = np.flatnonzero((clip == 0).all(axis=0))
        for zeros, widest in ((zero_frames, 10), (zero_bins, 5)):
            assert len(zeros) <= widest
            if len(zeros):  # one contiguous band
                assert zeros[-1] - zeros[0] + 1 == len(zeros)
    assert (masked == 0).any()
