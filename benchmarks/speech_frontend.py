"""Measures the speech front end: its distance to tf.signal, to onnxruntime, and its speed.

Usage:

    python benchmarks/speech_frontend.py [--batch 32] [--repeats 20]

Prints, on tones-in-noise clips plus digital silence and a hard-clipped clip:
the STFT power's max |diff| to `tf.signal.stft` (relative to its largest
value), the log-mel and MFCC max |diff| to the tf.signal reference, the
features' max |diff| between Keras and the exported ONNX file in
onnxruntime, and median ms per batch in a `tf.function` and in
onnxruntime. Times are for a shared machine: compare them within one run.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import onnxruntime
import tensorflow as tf

from zoo.inputs import AudioInput
from zoo.speech.frontend import FrontendConfig, frontend_layers
from zoo.speech.spectral import Spectrogram


def frontend_model(**settings):
    waveforms = keras.Input(shape=(None,), name="waveforms")
    x = waveforms
    for layer in frontend_layers(FrontendConfig(**settings)):
        x = layer(x)
    return keras.Model(waveforms, x)


def median_ms(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)

    x = AudioInput().random_batch(args.batch, seed=1)
    x[0] = 0.0
    x[1] = np.clip(20 * x[1], -1, 1)
    power = tf.abs(tf.signal.stft(x, 480, 160, 512)).numpy() ** 2
    ours = Spectrogram(480, 160, 512)(x).numpy()
    relative = np.abs(ours - power).max() / power.max()
    print(f"STFT power vs tf.signal: max |diff| / max = {relative:.2e}")
    mel = tf.signal.linear_to_mel_weight_matrix(40, 257, 16000, 20.0, 4000.0).numpy()
    log_mel = np.log(power @ mel + 1e-6)
    got = frontend_model(normalization="none").predict(x, verbose=0)
    print(
        f"log-mel vs tf.signal: max |diff| = {np.abs(got - log_mel).max():.2e} "
        f"(values span {np.ptp(log_mel):.1f})"
    )
    mfcc = tf.signal.mfccs_from_log_mel_spectrograms(log_mel).numpy()
    got = frontend_model(normalization="none", features="mfcc").predict(x, verbose=0)
    print(
        f"MFCC vs tf.signal: max |diff| = {np.abs(got - mfcc).max():.2e} "
        f"(values span {np.ptp(mfcc):.1f})"
    )

    with tempfile.TemporaryDirectory() as tmp:
        for features in ("log_mel", "mfcc"):
            model = frontend_model(features=features)
            model(x[:1])  # Keras exports only a model that has been called
            call = tf.function(lambda batch, m=model: m(batch, training=False))
            path = str(Path(tmp) / f"{features}.onnx")
            model.export(path, format="onnx", verbose=False)
            session = onnxruntime.InferenceSession(path)
            feed = {"waveforms": x}
            diff = np.abs(session.run(None, feed)[0] - model.predict(x, verbose=0)).max()
            keras_ms = median_ms(lambda c=call: c(x), args.repeats)
            ort_ms = median_ms(lambda s=session, f=feed: s.run(None, f), args.repeats)
            print(
                f"{features} + utterance normalization: ONNX vs Keras max |diff| = {diff:.2e}; "
                f"ms per batch of {args.batch}: tf.function {keras_ms:.1f}, "
                f"onnxruntime {ort_ms:.1f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
