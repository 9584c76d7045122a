#!/usr/bin/env node
// Runs an ONNX model with onnxruntime-node (the reference for calib8's real-model tests and
// benchmark).
//
//   node tests/models/ort_run.js MODEL [--input [NAME=]FILE.npy ...] [--output-dir DIR]
//                                [--threads N] [--bench N] [--warmup W] [--no-optim] [--profile PREFIX]
//   node tests/models/ort_run.js --batch LIST.json   (many models in one process; see runBatch)
//
// Inputs are .npy files (little-endian, C order: float32/float64/int64/int32/int8/uint8/bool).
// NAME= may be left out for a single-input model. Each output is written to
// DIR/<output name>.npy, with every character other than [A-Za-z0-9._-] replaced by '_'
// (the same rule as `calib8 run`). --threads sets intra_op_num_threads (inter-op is 1, sequential
// execution); graph optimisations are ORT's default (all) unless --no-optim.
// --bench N: W warm-up runs (default 1, as `calib8 run --bench`), then N timed runs of
// session.run(); prints one line containing `median_ms=<x> min_ms=<y>`.
// --profile PREFIX: ORT's own profiler writes PREFIX_<date>.json (per-node timings).
'use strict';

const fs = require('fs');
const path = require('path');

function die(msg) {
  process.stderr.write(`ort_run.js: ${msg}\n`);
  process.exit(1);
}

function loadOrt() {
  try {
    return require('onnxruntime-node');
  } catch (e) {
    // Resolve from the repository root too, so the script works from any working directory.
    try {
      const root = path.resolve(__dirname, '..', '..');
      return require(require.resolve('onnxruntime-node', { paths: [root] }));
    } catch (e2) {
      die(`cannot load onnxruntime-node (run 'npm install --ignore-scripts' at the repo root): ${e2.message}`);
    }
  }
}

// ---- .npy ---------------------------------------------------------------------------------

// numpy descr -> [ORT tensor type, TypedArray constructor]
const NPY_TYPES = {
  '<f4': ['float32', Float32Array],
  '<f8': ['float64', Float64Array],
  '<i8': ['int64', BigInt64Array],
  '<i4': ['int32', Int32Array],
  '<i2': ['int16', Int16Array],
  '<u2': ['uint16', Uint16Array],
  '|i1': ['int8', Int8Array],
  '|u1': ['uint8', Uint8Array],
  '|b1': ['bool', Uint8Array],
};
const ORT_TO_DESCR = {};
for (const [descr, [t]] of Object.entries(NPY_TYPES)) ORT_TO_DESCR[t] = descr;

function readNpy(file) {
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    die(`cannot read '${file}': ${e.message}`);
  }
  const magic = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
  if (buf.length < 10 || !buf.subarray(0, 6).equals(magic)) die(`'${file}' is not a .npy file`);
  const major = buf[6];
  let headerLen, offset;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    offset = 10;
  } else if (major === 2 || major === 3) {
    headerLen = buf.readUInt32LE(8);
    offset = 12;
  } else {
    die(`'${file}': unsupported .npy version ${major}`);
  }
  const header = buf.subarray(offset, offset + headerLen).toString('latin1');
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) die(`'${file}': malformed .npy header: ${header}`);
  if (fortran[1] === 'True') die(`'${file}': Fortran-order arrays are not supported`);
  let d = descr[1];
  if (d === '=f4' || d === 'f4') d = '<f4';
  if (!(d in NPY_TYPES)) die(`'${file}': unsupported dtype '${descr[1]}'`);
  const [type, Ctor] = NPY_TYPES[d];
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const n = dims.reduce((a, b) => a * b, 1);
  const start = offset + headerLen;
  const nbytes = n * Ctor.BYTES_PER_ELEMENT;
  if (buf.length - start < nbytes) die(`'${file}': truncated (${buf.length - start} of ${nbytes} data bytes)`);
  // Copy into a fresh, aligned buffer.
  const ab = new ArrayBuffer(nbytes);
  new Uint8Array(ab).set(buf.subarray(start, start + nbytes));
  let data = new Ctor(ab);
  if (type === 'bool') data = Uint8Array.from(data, (v) => (v ? 1 : 0));
  return { type, dims, data };
}

function writeNpy(file, tensor) {
  const descr = ORT_TO_DESCR[tensor.type];
  if (!descr) die(`cannot write output of type '${tensor.type}' as .npy`);
  const dims = tensor.dims.map(Number);
  const shapeStr = dims.length === 0 ? '()' : dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  // Pad so that magic(6)+version(2)+len(2)+header is a multiple of 64, ending with '\n'.
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(pre);
  pre.writeUInt16LE(header.length, 8);
  const data = tensor.data;
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
}

function sanitise(name) {
  let s = name.replace(/[^A-Za-z0-9._-]/g, '_');
  if (s === '' || s === '.' || s === '..') s = '_' + s;
  return s;
}

// ---- main ---------------------------------------------------------------------------------

function parseArgs(argv) {
  const o = { model: null, inputs: [], outputDir: null, threads: 1, bench: 0, warmup: 1, optim: true, profile: null };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) die(`${a} needs a value`);
      return argv[++i];
    };
    const intVal = () => {
      const v = val();
      if (!/^\d+$/.test(v)) die(`${a} expects a non-negative integer, got '${v}'`);
      return Number(v);
    };
    if (a === '--input' || a === '-i') o.inputs.push(val());
    else if (a === '--output-dir' || a === '-o') o.outputDir = val();
    else if (a === '--threads') o.threads = intVal();
    else if (a === '--bench') o.bench = intVal();
    else if (a === '--warmup') o.warmup = intVal();
    else if (a === '--no-optim') o.optim = false;
    else if (a === '--profile') o.profile = val();
    else if (a === '--help' || a === '-h') {
      const lines = fs.readFileSync(__filename, 'utf8').split('\n').slice(1);
      process.stdout.write(lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).join('\n') + '\n');
      process.exit(0);
    } else if (a.startsWith('-')) die(`unknown option '${a}'`);
    else if (o.model === null) o.model = a;
    else die(`unexpected argument '${a}'`);
  }
  if (o.model === null) die('usage: ort_run.js MODEL [--input [NAME=]FILE.npy ...] [--output-dir DIR] [--threads N] [--bench N]');
  return o;
}

function median(sorted) {
  const n = sorted.length;
  return n % 2 ? sorted[(n - 1) / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
}

// --batch LIST.json: runs many models in this one process. LIST is an array of
// {"model": PATH, "inputs": [[NAME, FILE.npy], ...]}; for each, one JSON line
// {"model", "ok", "error", "outputs": {NAME: {"type", "dims", "finite"}}} is printed ("finite":
// every value of a float output is finite; true for other types). A model that fails to load or
// run does not stop the others. Exit 0 when the list itself could be read.
async function runBatch(listFile) {
  const ort = loadOrt();
  const list = JSON.parse(fs.readFileSync(listFile, 'utf8'));
  const opts = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' };
  for (const item of list) {
    let error = null;
    const outputs = {};
    try {
      const session = await ort.InferenceSession.create(item.model, opts);
      const feeds = {};
      for (const [name, file] of item.inputs) {
        const t = readNpy(file);
        feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
      }
      const out = await session.run(feeds);
      for (const name of session.outputNames) {
        const t = out[name];
        const float = t.type === 'float32' || t.type === 'float64';
        outputs[name] = { type: t.type, dims: Array.from(t.dims), finite: !float || t.data.every(Number.isFinite) };
      }
      if (typeof session.release === 'function') await session.release();
    } catch (e) {
      error = String(e && e.message ? e.message : e);
    }
    process.stdout.write(JSON.stringify({ model: item.model, ok: error === null, error, outputs }) + '\n');
  }
}

async function main() {
  if (process.argv[2] === '--batch') return runBatch(process.argv[3]);
  const o = parseArgs(process.argv.slice(2));
  const ort = loadOrt();
  const opts = {
    intraOpNumThreads: o.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: o.optim ? 'all' : 'disabled',
  };
  if (o.profile) {
    opts.enableProfiling = true;
    opts.profileFilePrefix = o.profile;
  }
  let session;
  try {
    session = await ort.InferenceSession.create(o.model, opts);
  } catch (e) {
    die(`cannot load model '${o.model}': ${e.message}`);
  }
  const feeds = {};
  for (const spec of o.inputs) {
    let name = null;
    let file = spec;
    const eq = spec.indexOf('=');
    if (eq >= 0 && !fs.existsSync(spec)) {
      name = spec.slice(0, eq);
      file = spec.slice(eq + 1);
    }
    if (name === null) {
      if (session.inputNames.length !== 1) die(`--input '${spec}': the model has ${session.inputNames.length} inputs; write NAME=FILE`);
      name = session.inputNames[0];
    }
    if (!session.inputNames.includes(name)) die(`--input '${spec}': the model has no input '${name}' (inputs: ${session.inputNames.join(', ')})`);
    const t = readNpy(file);
    feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
  }
  for (const n of session.inputNames) if (!(n in feeds)) die(`missing input '${n}'`);

  let out = await session.run(feeds);
  if (o.bench > 0) {
    for (let i = 1; i < o.warmup; ++i) await session.run(feeds);
    const ms = [];
    for (let i = 0; i < o.bench; ++i) {
      const t0 = process.hrtime.bigint();
      out = await session.run(feeds);
      const t1 = process.hrtime.bigint();
      ms.push(Number(t1 - t0) / 1e6);
    }
    ms.sort((a, b) => a - b);
    process.stdout.write(`bench: runs=${o.bench} threads=${o.threads} median_ms=${median(ms).toFixed(3)} min_ms=${ms[0].toFixed(3)}\n`);
  }
  for (const name of session.outputNames) {
    const t = out[name];
    const head = t.type === 'float32' ? ` [${Array.from(t.data.subarray(0, 6)).map((v) => v.toPrecision(6)).join(', ')}${t.data.length > 6 ? ', ...' : ''}]` : '';
    process.stdout.write(`${name}: ${t.type}[${t.dims.join(',')}]${head}\n`);
    if (o.outputDir) {
      fs.mkdirSync(o.outputDir, { recursive: true });
      writeNpy(path.join(o.outputDir, sanitise(name) + '.npy'), t);
    }
  }
  if (typeof session.release === 'function') await session.release();
}

main().catch((e) => die(e && e.stack ? e.stack : String(e)));
