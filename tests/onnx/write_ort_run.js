#!/usr/bin/env node
// Runs many ONNX models in one onnxruntime-node process and writes every output's raw bytes, for
// tests/onnx/write_ort_test.py (tests/models/ort_run.js --batch reports only types and shapes).
//
//   node tests/onnx/write_ort_run.js LIST.json
//
// LIST is an array of {"model": PATH, "out": DIR, "inputs": [[NAME, TYPE, DIMS, FILE.bin], ...]}
// with TYPE an ORT tensor type ("float32", "int64", "bool", ...) and FILE.bin the raw
// little-endian C-order bytes. For each item one JSON line
// {"model", "ok", "error", "outputs": {NAME: {"type", "dims", "file"}}} is printed; output k's
// bytes are in DIR/k.bin. A model that fails to load or run does not stop the others.
'use strict';

const fs = require('fs');
const path = require('path');

const ARRAYS = {
  float32: Float32Array, float64: Float64Array, float16: Uint16Array, int64: BigInt64Array,
  uint64: BigUint64Array, int32: Int32Array, uint32: Uint32Array, int16: Int16Array,
  uint16: Uint16Array, int8: Int8Array, uint8: Uint8Array, bool: Uint8Array,
};

function loadOrt() {
  const root = path.resolve(__dirname, '..', '..');
  return require(require.resolve('onnxruntime-node', { paths: [root] }));
}

function readInput(ort, type, dims, file) {
  const buf = fs.readFileSync(file);
  const Ctor = ARRAYS[type];
  if (!Ctor) throw new Error(`unsupported input type '${type}'`);
  const ab = new ArrayBuffer(buf.length);  // a fresh, aligned copy
  new Uint8Array(ab).set(buf);
  return new ort.Tensor(type, new Ctor(ab), dims);
}

async function main() {
  const ort = loadOrt();
  const list = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const opts = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' };
  for (const item of list) {
    let error = null;
    const outputs = {};
    try {
      const session = await ort.InferenceSession.create(item.model, opts);
      const feeds = {};
      for (const [name, type, dims, file] of item.inputs) feeds[name] = readInput(ort, type, dims, file);
      const out = await session.run(feeds);
      fs.mkdirSync(item.out, { recursive: true });
      session.outputNames.forEach((name, k) => {
        const t = out[name];
        const file = path.join(item.out, `${k}.bin`);
        const d = t.data;
        if (typeof d === 'object' && d.buffer) fs.writeFileSync(file, Buffer.from(d.buffer, d.byteOffset, d.byteLength));
        outputs[name] = { type: t.type, dims: Array.from(t.dims).map(Number), file };
      });
      if (typeof session.release === 'function') await session.release();
    } catch (e) {
      error = String(e && e.message ? e.message : e);
    }
    process.stdout.write(JSON.stringify({ model: item.model, ok: error === null, error, outputs }) + '\n');
  }
}

main().catch((e) => {
  process.stderr.write(`write_ort_run.js: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
