#!/usr/bin/env node
// scripts/ort_accuracy.js — top-1 accuracy of an image classifier in onnxruntime-node on an IDX
// data set (MNIST / Fashion-MNIST), the way scripts/demo.sh checks calib8's exported Q/DQ model.
//
//   node scripts/ort_accuracy.js MODEL.onnx IMAGES-idx3-ubyte[.gz] LABELS-idx1-ubyte[.gz]
//                                [--max-samples N] [--batch B] [--threads T]
//
// Pixels become float32 in [0, 1] as calib8's idx: source does by default (scale=1, mean 0,
// std 1), shape [B, 1, H, W]. Prints one line: `accuracy=<percent> correct=<n> samples=<n>`.
// Exit 1 with a message on bad input.
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

function die(msg) {
  process.stderr.write(`ort_accuracy.js: ${msg}\n`);
  process.exit(1);
}

function loadOrt() {
  const root = path.resolve(__dirname, '..');
  try {
    return require(require.resolve('onnxruntime-node', { paths: [root, __dirname] }));
  } catch (e) {
    die(`cannot load onnxruntime-node (run 'npm install --ignore-scripts' at the repo root): ${e.message}`);
  }
}

// IDX: big-endian header (0, 0, type 0x08 = uint8, dim count), dims as uint32; uint8 data only.
function readIdx(file, wantDims) {
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    die(`${file}: ${e.message}`);
  }
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = zlib.gunzipSync(buf);
    } catch (e) {
      die(`${file}: gzip data is corrupt: ${e.message}`);
    }
  }
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0 || buf[2] !== 0x08 || buf[3] !== wantDims)
    die(`${file}: expected an IDX file of uint8 with ${wantDims} dims (magic 0x000008${wantDims.toString(16).padStart(2, '0')})`);
  const dims = [];
  for (let i = 0; i < wantDims; ++i) dims.push(buf.readUInt32BE(4 + 4 * i));
  const start = 4 + 4 * wantDims;
  const n = dims.reduce((a, b) => a * b, 1);
  if (buf.length < start + n) die(`${file}: truncated: dims [${dims}] need ${start + n} bytes, have ${buf.length}`);
  return { dims, data: buf.subarray(start, start + n) };
}

async function main() {
  const args = process.argv.slice(2);
  const pos = [];
  const o = { max: 0, batch: 100, threads: 1 };
  for (let i = 0; i < args.length; ++i) {
    const a = args[i];
    const num = () => {
      const v = Number(args[++i]);
      if (!Number.isInteger(v) || v < 0) die(`${a} expects a non-negative integer, got '${args[i]}'`);
      return v;
    };
    if (a === '--max-samples') o.max = num();
    else if (a === '--batch') o.batch = Math.max(1, num());
    else if (a === '--threads') o.threads = Math.max(1, num());
    else if (a.startsWith('--')) die(`unknown option ${a}`);
    else pos.push(a);
  }
  if (pos.length !== 3) die('usage: ort_accuracy.js MODEL.onnx IMAGES LABELS [--max-samples N] [--batch B] [--threads T]');
  const [model, imagesFile, labelsFile] = pos;
  const images = readIdx(imagesFile, 3);
  const labels = readIdx(labelsFile, 1);
  let n = images.dims[0];
  if (labels.dims[0] < n) die(`${labelsFile}: ${labels.dims[0]} labels for ${n} images`);
  if (o.max > 0) n = Math.min(n, o.max);
  const [h, w] = [images.dims[1], images.dims[2]];
  const ort = loadOrt();
  let session;
  try {
    session = await ort.InferenceSession.create(model, {
      intraOpNumThreads: o.threads, interOpNumThreads: 1, executionMode: 'sequential',
    });
  } catch (e) {
    die(`${model}: onnxruntime cannot load it: ${e.message}`);
  }
  const input = session.inputNames[0];
  const output = session.outputNames[0];
  let correct = 0;
  for (let first = 0; first < n; first += o.batch) {
    const count = Math.min(o.batch, n - first);
    const x = new Float32Array(count * h * w);
    const src = images.data.subarray(first * h * w, (first + count) * h * w);
    for (let i = 0; i < x.length; ++i) x[i] = src[i] / 255;
    let out;
    try {
      out = await session.run({ [input]: new ort.Tensor('float32', x, [count, 1, h, w]) });
    } catch (e) {
      die(`${model}: run failed on samples ${first}-${first + count - 1}: ${e.message}`);
    }
    const y = out[output];
    const classes = y.dims[y.dims.length - 1];
    for (let b = 0; b < count; ++b) {
      let best = 0;
      for (let c = 1; c < classes; ++c) if (y.data[b * classes + c] > y.data[b * classes + best]) best = c;
      if (best === labels.data[first + b]) ++correct;
    }
  }
  console.log(`accuracy=${(100 * correct / n).toFixed(2)}% correct=${correct} samples=${n}`);
}

main().catch((e) => die(e.stack || String(e)));
