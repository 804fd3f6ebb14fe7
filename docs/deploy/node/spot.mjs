// Spot keywords in WAV files with a zoo speech export (model.onnx) in
// Node.js, with no Python: the spectral front end is inside the graph, so the
// only work here is reading the WAV into float samples.
//
// Usage: node spot.mjs EXPORT_DIR clip.wav [more.wav ...]
// Prints one JSON object: {labels, sample_rate, results: [{file, samples,
// probabilities, label}]}. A file at another sample rate than the model's
// (metadata.json) is refused: resample it first (e.g. `sox in.wav -r 16000
// out.wav`).
//
// The WAV reader is written out here (about 60 lines) rather than taken from
// npm on purpose: it must scale samples exactly as zoo's training pipeline
// does (zoo/data/wav.py: PCM divided by 2^(bits-1), 8-bit centred on 128,
// float clipped to [-1, 1], stereo averaged), which tests/export check
// against Keras, and the example keeps onnxruntime-node its only dependency.
import fs from "node:fs";
import path from "node:path";
import ort from "onnxruntime-node";

const [exportDir, ...files] = process.argv.slice(2);
if (!exportDir || files.length === 0) {
  console.error("usage: node spot.mjs EXPORT_DIR clip.wav ...");
  process.exit(2);
}
const metadata = JSON.parse(fs.readFileSync(path.join(exportDir, "metadata.json"), "utf8"));
const rate = metadata.inputs?.[0]?.sample_rate;
if (!rate) {
  console.error(`${exportDir} is not a speech export: its metadata.json has no sample_rate`);
  process.exit(2);
}

const PCM = 1;
const FLOAT = 3;
const EXTENSIBLE = 0xfffe;

// A RIFF/WAVE file as {sampleRate, mono: Float32Array in [-1, 1]}.
function readWav(file) {
  const bytes = fs.readFileSync(file);
  const fail = (why) => {
    throw new Error(`cannot read WAV file ${file}: ${why}`);
  };
  if (bytes.length < 12 || bytes.toString("ascii", 0, 4) !== "RIFF" || bytes.toString("ascii", 8, 12) !== "WAVE") {
    fail("not a RIFF/WAVE file");
  }
  let format = null;
  let data = null;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const id = bytes.toString("ascii", at, at + 4);
    const size = bytes.readUInt32LE(at + 4);
    const body = bytes.subarray(at + 8, Math.min(at + 8 + size, bytes.length));
    if (id === "fmt ") {
      if (body.length < 16) fail("its 'fmt ' chunk is shorter than 16 bytes");
      let tag = body.readUInt16LE(0);
      if (tag === EXTENSIBLE && body.length >= 26) tag = body.readUInt16LE(24);
      format = {
        tag,
        channels: body.readUInt16LE(2),
        sampleRate: body.readUInt32LE(4),
        bits: body.readUInt16LE(14),
      };
    } else if (id === "data") {
      data = body;
    }
    at += 8 + size + (size % 2); // chunks are padded to an even size
  }
  if (!format || !data) fail("no 'fmt ' or 'data' chunk");
  const { tag, channels, sampleRate, bits } = format;
  const width = bits / 8;
  const accepted = tag === PCM ? [8, 16, 24, 32] : tag === FLOAT ? [32, 64] : [];
  if (!accepted.includes(bits) || channels < 1) {
    fail(`format tag ${tag} with ${bits}-bit samples; accepted: PCM 8/16/24/32-bit, float 32/64-bit`);
  }
  const frames = Math.floor(data.length / (width * channels));
  if (frames === 0) fail("no audio frames");
  const sample = (offset) => {
    if (tag === FLOAT) {
      const x = bits === 32 ? data.readFloatLE(offset) : data.readDoubleLE(offset);
      return Number.isNaN(x) ? 0 : Math.min(1, Math.max(-1, x));
    }
    if (bits === 8) return (data.readUInt8(offset) - 128) / 128;
    return data.readIntLE(offset, width) / 2 ** (bits - 1);
  };
  const mono = new Float32Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += sample((f * channels + c) * width);
    mono[f] = sum / channels;
  }
  return { sampleRate, mono };
}

const session = await ort.InferenceSession.create(path.join(exportDir, "model.onnx"));
const labels = metadata.labels ?? [];
const results = [];
for (const file of files) {
  let clip;
  try {
    clip = readWav(file);
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
  if (clip.sampleRate !== rate) {
    console.error(
      `${file} is sampled at ${clip.sampleRate} Hz; the model takes ${rate} Hz. ` +
        `Resample it first (e.g. sox ${file} -r ${rate} out.wav).`,
    );
    process.exit(1);
  }
  // Any length: the graph pads or crops to its clip length.
  const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", clip.mono, [1, clip.mono.length]) };
  const output = (await session.run(feeds))[session.outputNames[0]];
  const probabilities = Array.from(output.data);
  const best = probabilities.indexOf(Math.max(...probabilities));
  results.push({ file, samples: clip.mono.length, probabilities, label: labels[best] ?? best });
}
console.log(JSON.stringify({ labels, sample_rate: rate, results }));
