// Classify texts with a zoo text export (model.onnx + its tokenizer files) in
// Node.js, with no Python: tokenizers.js reads tokenizer.json and Hugging
// Face's tokenizer_config.json, onnxruntime-node runs the graph.
//
// Usage: node classify.mjs EXPORT_DIR "first text" "second text" ...
// Prints one JSON object: {labels, results: [{text, ids, probabilities, label}]}.
//
// Install: npm ci --ignore-scripts (the CPU binary is inside onnxruntime-node;
// its install script only fetches optional GPU binaries).
import fs from "node:fs";
import path from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import ort from "onnxruntime-node";

const [exportDir, ...texts] = process.argv.slice(2);
if (!exportDir || texts.length === 0) {
  console.error('usage: node classify.mjs EXPORT_DIR "text" ...');
  process.exit(2);
}
const readJson = (name) => JSON.parse(fs.readFileSync(path.join(exportDir, name), "utf8"));
const config = readJson("tokenizer_config.json");
const tokenizer = new Tokenizer(readJson("tokenizer.json"), config);
const metadata = readJson("metadata.json");

// tokenizers.js neither pads nor truncates: fit every text to the model's
// length as tokenizer_config.json describes. Truncation drops text tokens
// only, keeping the special tokens the template adds around them ([CLS] and
// [SEP] for BERT), as Hugging Face's truncation does.
const length = config.model_max_length;
const padId = tokenizer.token_to_id(config.pad_token);
const encode = (text) => {
  const full = tokenizer.encode(text, { return_token_type_ids: true });
  const columns = {
    token_ids: full.ids,
    segment_ids: full.token_type_ids ?? full.ids.map(() => 0),
    padding_mask: full.attention_mask,
  };
  const surplus = full.ids.length - length;
  if (surplus > 0) {
    const plain = tokenizer.encode(text, { add_special_tokens: false }).ids;
    const start = full.ids.findIndex((_, k) => plain.every((id, j) => full.ids[k + j] === id));
    const cut = (values) => [
      ...values.slice(0, start + plain.length - surplus),
      ...values.slice(start + plain.length),
    ];
    for (const key of Object.keys(columns)) columns[key] = cut(columns[key]);
  }
  const pad = (values, fill) => [...values, ...Array(length - values.length).fill(fill)];
  return {
    token_ids: pad(columns.token_ids, padId),
    segment_ids: pad(columns.segment_ids, 0),
    padding_mask: pad(columns.padding_mask, 0),
  };
};
const encodings = texts.map(encode);

const session = await ort.InferenceSession.create(path.join(exportDir, "model.onnx"));
const feeds = {};
for (const name of session.inputNames) {
  const rows = encodings.map((e) => e[name]);
  if (rows[0] === undefined) throw new Error(`unexpected model input ${name}`);
  feeds[name] = new ort.Tensor("int32", Int32Array.from(rows.flat()), [texts.length, length]);
}
const output = (await session.run(feeds))[session.outputNames[0]];
const classes = output.dims[1];
const labels = metadata.labels ?? [];
const results = texts.map((text, i) => {
  const probabilities = Array.from(output.data.slice(i * classes, (i + 1) * classes));
  const best = probabilities.indexOf(Math.max(...probabilities));
  return { text, ids: encodings[i].token_ids, probabilities, label: labels[best] ?? best };
});
console.log(JSON.stringify({ labels, results }));
