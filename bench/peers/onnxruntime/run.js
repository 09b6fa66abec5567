#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// ONNX Runtime peer runner: times an ONNX model with onnxruntime-node as hwtune times its own runtime and writes
// hwtune's results JSON (schema hwtune.results/1). See README.md here.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const USAGE = `usage: node run.js --model M.onnx [--input X.npy] [--batch B] [--threads N] [--runs R] [--warmup W]
                   [--seed S] [--dtype f32|qs8] [--out results.json] [--dump-output Y.npy] [--hwtune PATH] [--smoke]
       node run.js --identity [--shape 1x1] [--threads N] [--runs R] [--warmup W] [--out results.json]

  --model M        ONNX file; its first input is fed, its first output is kept
  --input X        float32 C-order .npy for that input (dim 0 = batch); default: uniform [0,1) from --seed,
                   the model's input shape with a symbolic dim 0 set to --batch
  --batch B        batch for a symbolic dim 0 when generating inputs (default 1)
  --threads N      intraOpNumThreads (default 1); interOpNumThreads is 1, execution sequential
  --runs R         timed runs, at least 2000 (default 2000)
  --warmup W       untimed runs first (default 200)
  --seed S         generator seed for generated inputs (default 1)
  --dtype D        dtype recorded in the results (f32, or qs8 for a QDQ model; default f32)
  --out F          write hwtune.results/1 JSON to F
  --dump-output Y  write the first run's output 0 as float32 .npy
  --hwtune PATH    hwtune executable whose 'detect --json --no-measure' fills the context
                   (default: $HWTUNE, else ../../../build/hwtune when it exists)
  --identity       time a one-node Identity model built in memory (float32, --shape dims): the binding's
                   own per-call cost
  --smoke          allow --runs below 2000 (a smoke test, flagged in the results' warnings; not a measurement)
Exit codes: 0 ok, 1 failure, 2 usage error.
`;

function die(code, msg) {
  process.stderr.write(`run.js: ${msg}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  const a = { batch: 1, threads: 1, runs: 2000, warmup: 200, seed: 1, dtype: 'f32', shape: '1x1', identity: false,
              smoke: false };
  const ints = { '--batch': 'batch', '--threads': 'threads', '--runs': 'runs', '--warmup': 'warmup', '--seed': 'seed' };
  const strs = { '--model': 'model', '--input': 'input', '--out': 'out', '--dump-output': 'dump', '--hwtune': 'hwtune',
                 '--dtype': 'dtype', '--shape': 'shape' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--help' || k === '-h') { process.stdout.write(USAGE); process.exit(0); }
    if (k === '--identity') { a.identity = true; continue; }
    if (k === '--smoke') { a.smoke = true; continue; }
    if (!(k in ints) && !(k in strs)) die(2, `unknown option '${k}'\n${USAGE}`);
    if (i + 1 >= argv.length) die(2, `${k} needs a value`);
    const v = argv[++i];
    if (k in ints) {
      if (!/^\d+$/.test(v)) die(2, `${k}: '${v}' is not a non-negative integer`);
      a[ints[k]] = Number(v);
    } else a[strs[k]] = v;
  }
  if (!a.identity && !a.model) die(2, `--model or --identity is required\n${USAGE}`);
  if (a.identity && (a.model || a.input || a.dump)) die(2, '--identity takes no --model, --input or --dump-output');
  if (a.runs < (a.smoke ? 1 : 2000)) die(2, `--runs ${a.runs}: at least 2000 timed runs (1 with --smoke)`);
  if (a.batch < 1 || a.threads < 1 || a.threads > 256) die(2, '--batch must be >= 1, --threads in [1, 256]');
  if (a.dtype !== 'f32' && a.dtype !== 'qs8') die(2, `--dtype '${a.dtype}': f32 or qs8`);
  if (!/^\d+(x\d+)*$/.test(a.shape)) die(2, `--shape '${a.shape}': dims joined by x, e.g. 1x1000`);
  return a;
}

// ---- .npy (format versions 1-3, float32 little-endian, C order) ----
function readNpy(file) {
  const b = fs.readFileSync(file);
  if (b.length < 10 || b.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = b[6];
  let hlen, off;
  if (major === 1) { hlen = b.readUInt16LE(8); off = 10; }
  else if (major === 2 || major === 3) { hlen = b.readUInt32LE(8); off = 12; }
  else throw new Error(`${file}: .npy version ${major} not supported`);
  const h = b.toString('latin1', off, off + hlen);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(h), fo = /'fortran_order'\s*:\s*(True|False)/.exec(h);
  const sh = /'shape'\s*:\s*\(([^)]*)\)/.exec(h);
  if (!descr || !fo || !sh) throw new Error(`${file}: .npy header unreadable: ${h.trim()}`);
  if (descr[1] !== '<f4') throw new Error(`${file}: dtype '${descr[1]}': only float32 ('<f4') is read`);
  if (fo[1] !== 'False') throw new Error(`${file}: Fortran order: only C order is read`);
  const dims = sh[1].split(',').map(s => s.trim()).filter(s => s.length).map(Number);
  if (dims.some(d => !Number.isInteger(d) || d < 0)) throw new Error(`${file}: bad shape (${sh[1]})`);
  const count = dims.reduce((x, y) => x * y, 1), start = off + hlen;
  if (b.length - start !== count * 4)
    throw new Error(`${file}: ${b.length - start} data bytes, shape (${dims.join(', ')}) needs ${count * 4}`);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = b.readFloatLE(start + 4 * i);
  return { dims, data };
}

function writeNpy(file, dims, data) {
  let h = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims.join(', ')}${dims.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + h.length + 1) % 64);
  h += ' '.repeat(pad % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1'); head[6] = 1; head[7] = 0; head.writeUInt16LE(h.length, 8);
  const body = Buffer.alloc(data.length * 4);
  for (let i = 0; i < data.length; i++) body.writeFloatLE(data[i], 4 * i);
  const tmp = `${file}.tmp${process.pid}`;
  fs.writeFileSync(tmp, Buffer.concat([head, Buffer.from(h, 'latin1'), body]));
  fs.renameSync(tmp, file);
}

// ---- generated inputs: mulberry32, 24-bit uniform [0, 1) ----
function uniform(n, seed) {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6D2B79F5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) >>> 8) / 16777216;
  }
  return out;
}

// ---- the Identity model, protobuf bytes written by hand (onnx.proto field numbers) ----
function varint(n) {
  const o = [];
  while (n > 127) { o.push((n & 127) | 128); n = Math.floor(n / 128); }
  o.push(n);
  return o;
}
const pbLen = (field, bytes) => [...varint((field << 3) | 2), ...varint(bytes.length), ...bytes];
const pbInt = (field, n) => [...varint(field << 3), ...varint(n)];
const pbStr = (field, s) => pbLen(field, [...Buffer.from(s, 'utf8')]);

function identityModel(dims) {
  // TensorShapeProto.Dimension.dim_value = 1; TensorShapeProto.dim = 1; TypeProto.Tensor elem_type = 1 (FLOAT),
  // shape = 2; TypeProto.tensor_type = 1; ValueInfoProto name = 1, type = 2.
  const shape = [].concat(...dims.map(d => pbLen(1, pbInt(1, d))));
  const type = pbLen(1, [...pbInt(1, 1), ...pbLen(2, shape)]);
  const vi = name => [...pbStr(1, name), ...pbLen(2, type)];
  // NodeProto input = 1, output = 2, op_type = 4; GraphProto node = 1, name = 2, input = 11, output = 12.
  const node = [...pbStr(1, 'x'), ...pbStr(2, 'y'), ...pbStr(4, 'Identity')];
  const graph = [...pbLen(1, node), ...pbStr(2, 'identity'), ...pbLen(11, vi('x')), ...pbLen(12, vi('y'))];
  // ModelProto ir_version = 1, producer_name = 2, graph = 7, opset_import = 8 (OperatorSetIdProto version = 2).
  return Uint8Array.from([...pbInt(1, 8), ...pbStr(2, 'hwtune-ortpeer'), ...pbLen(7, graph),
                          ...pbLen(8, pbInt(2, 13))]);
}

// ---- statistics, the definitions of common/hwt_stats.h ----
function quantileSorted(s, q) {
  const n = s.length;
  if (q <= 0) return s[0];
  if (q >= 1) return s[n - 1];
  const h = q * (n - 1), i = Math.floor(h);
  return i + 1 >= n ? s[n - 1] : s[i] + (h - i) * (s[i + 1] - s[i]);
}

// Order-statistic 95% CI of the median: largest l with P(Binomial(n, 1/2) <= l - 1) <= 0.025.
function medianCi(s) {
  const n = s.length;
  let logc = 0, cdf = 0, l = 0;
  for (let i = 0; i < n; i++) {
    cdf += Math.exp(logc - n * Math.LN2);
    if (cdf > 0.025) break;
    l = i + 1;
    logc += Math.log(n - i) - Math.log(i + 1);
  }
  if (l < 1) return [s[0], s[n - 1]];
  return [s[l - 1], s[n - l]];
}

function summarize(x) {
  const n = x.length, s = Float64Array.from(x).sort();
  const mean = x.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(x.reduce((a, b) => a + (b - mean) * (b - mean), 0) / (n - 1)) : 0;
  const med = quantileSorted(s, 0.5);
  const dev = Float64Array.from(x, v => Math.abs(v - med)).sort();
  const [lo, hi] = medianCi(s);
  return { median_ns: med, mean_ns: mean, stddev_ns: sd, mad_ns: quantileSorted(dev, 0.5), min_ns: s[0],
           max_ns: s[n - 1], p90_ns: quantileSorted(s, 0.9), p99_ns: quantileSorted(s, 0.99), ci_low_ns: lo,
           ci_high_ns: hi, cv: mean > 0 ? sd / mean : 0 };
}

// ---- context ----
function hwtuneContext(args) {
  let exe = args.hwtune || process.env.HWTUNE;
  if (!exe) {
    const guess = path.resolve(__dirname, '..', '..', '..', 'build', 'hwtune');
    if (fs.existsSync(guess)) exe = guess;
  }
  if (!exe) return { ctx: {}, warning: 'no hwtune executable (--hwtune): context has no machine description' };
  try {
    const doc = JSON.parse(execFileSync(exe, ['detect', '--json', '--no-measure'],
                                        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    const ctx = {};
    for (const [k, v] of Object.entries(doc)) ctx[k === 'schema' ? 'hw_schema' : k] = v;
    return { ctx, warning: null };
  } catch (e) {
    return { ctx: {}, warning: `${exe} detect --json --no-measure failed (${e.message.split('\n')[0]})` };
  }
}

function shellQuote(s) { return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`; }

function loadWarning(before, after) {
  const ncpu = os.cpus().length, l = Math.max(before, after);
  return l > 0.5 ? [`load average ${before.toFixed(2)} before, ${after.toFixed(2)} after, on ${ncpu} CPUs`] : [];
}

// ---- main ----
async function main() {
  const args = parseArgs(process.argv.slice(2));
  let ort;
  try { ort = require('onnxruntime-node'); }
  catch (e) { die(1, `onnxruntime-node is not installed here: run ./install.sh (${e.message.split('\n')[0]})`); }

  const opts = { intraOpNumThreads: args.threads, interOpNumThreads: 1, executionMode: 'sequential',
                 graphOptimizationLevel: 'all' };
  const identityDims = args.shape.split('x').map(Number);
  const t0 = process.hrtime.bigint();
  let session;
  try {
    session = await ort.InferenceSession.create(args.identity ? identityModel(identityDims) : args.model, opts);
  } catch (e) { die(1, `${args.identity ? 'identity model' : args.model}: ${e.message}`); }
  const createMs = Number(process.hrtime.bigint() - t0) / 1e6;

  const inName = session.inputNames[0], outName = session.outputNames[0];
  let dims, data;
  if (args.identity) {
    dims = identityDims;
    data = uniform(dims.reduce((a, b) => a * b, 1), args.seed);
  } else if (args.input) {
    try { ({ dims, data } = readNpy(args.input)); } catch (e) { die(1, e.message); }
  } else {
    const meta = session.inputMetadata && session.inputMetadata[0];
    if (!meta || !meta.shape) die(1, `${args.model}: input '${inName}' has no shape; pass --input`);
    dims = meta.shape.map((d, i) => {
      if (typeof d === 'number' && d > 0) return d;
      if (i === 0) return args.batch;
      die(1, `${args.model}: input '${inName}' dim ${i} is symbolic ('${d}'); pass --input`);
    });
    data = uniform(dims.reduce((a, b) => a * b, 1), args.seed);
  }
  const feeds = { [inName]: new ort.Tensor('float32', data, dims) };
  const batch = dims.length ? dims[0] : 1;

  const startTime = new Date();
  const load0 = os.loadavg()[0];
  let first;
  try { first = (await session.run(feeds))[outName]; } catch (e) { die(1, `run: ${e.message}`); }
  if (args.dump) {
    if (first.type !== 'float32') die(1, `output '${outName}' is ${first.type}, --dump-output writes float32 only`);
    try { writeNpy(args.dump, first.dims, first.data); } catch (e) { die(1, `${args.dump}: ${e.message}`); }
  }
  for (let i = 1; i < args.warmup; i++) await session.run(feeds);
  // Timer overhead: median of back-to-back clock reads.
  const tov = [];
  for (let i = 0; i < 1001; i++) { const a = process.hrtime.bigint(); tov.push(Number(process.hrtime.bigint() - a)); }
  const timerNs = Float64Array.from(tov).sort()[500];
  const samples = new Array(args.runs);
  const w0 = process.hrtime.bigint();
  for (let i = 0; i < args.runs; i++) {
    const a = process.hrtime.bigint();
    await session.run(feeds);
    samples[i] = Number(process.hrtime.bigint() - a);
  }
  const elapsed = Number(process.hrtime.bigint() - w0) / 1e9;
  const load1 = os.loadavg()[0];
  const endTime = new Date();
  const st = summarize(samples);

  const op = args.identity ? 'identity_f32' : `model_${args.dtype}`;
  const shape = args.identity ? `identity:${args.shape}` : path.basename(args.model).replace(/\.onnx$/, '');
  const threads = args.threads, m = batch;
  const warnings = loadWarning(load0, load1);
  if (st.cv > 0.05) warnings.push(`cv ${(100 * st.cv).toFixed(1)}% > 5%`);
  if (args.runs < 2000) warnings.push(`smoke run (--smoke): ${args.runs} timed runs, fewer than 2000`);
  const name = `${op}/onnxruntime/auto/${shape}/m${m}/t${threads}/warm`;
  const ortVersion = require('onnxruntime-node/package.json').version;
  process.stderr.write(`${name}: p50 ${(st.median_ns / 1e3).toFixed(1)} us  p90 ${(st.p90_ns / 1e3).toFixed(1)} us` +
                       `  p99 ${(st.p99_ns / 1e3).toFixed(1)} us  mean ${(st.mean_ns / 1e3).toFixed(1)} us` +
                       `  (${args.runs} runs, onnxruntime-node ${ortVersion}, session ${createMs.toFixed(1)} ms,` +
                       ` load ${load0.toFixed(2)}/${load1.toFixed(2)})\n`);
  if (!args.out) return;

  const { ctx, warning } = hwtuneContext(args);
  const ctxWarnings = [...(warning ? [warning] : []), ...loadWarning(load0, load1)];
  const context = Object.assign(ctx, {
    build: { hwtune_version: null, git_commit: null, compiler: `node ${process.version}`, c_flags: null,
             build_type: 'Release', xnnpack_version: null, onnxruntime_version: ortVersion },
    command_line: ['node', path.basename(__filename), ...process.argv.slice(2)].map(shellQuote).join(' '),
    start_time: startTime.toISOString().replace(/\.\d+Z$/, 'Z'),
    end_time: endTime.toISOString().replace(/\.\d+Z$/, 'Z'),
    timer_overhead_ns: timerNs,
    warnings: ctxWarnings,
    peer: { runtime: 'onnxruntime', onnxruntime_version: ortVersion, intra_op_num_threads: threads,
            inter_op_num_threads: 1, execution_mode: 'sequential', graph_optimization_level: 'all',
            model: args.identity ? null : path.resolve(args.model), input: args.input ? path.resolve(args.input) : null,
            input_dims: dims, input_seed: args.input ? null : args.seed, output: outName, output_dims: first.dims,
            session_create_ms: createMs, warmup_runs: args.warmup, load_average_before: load0,
            load_average_after: load1 },
  });
  const result = Object.assign({ name, op, dtype: args.identity ? 'f32' : args.dtype, impl: 'onnxruntime',
                                 isa: 'auto', shape, m, threads, cache: 'warm', samples: args.runs,
                                 iterations_per_sample: 1, preempted_dropped: 0 }, st,
                               { cold_copies: 1, elapsed_s: elapsed, peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
                                 warnings, samples_ns: samples });
  const doc = { schema: 'hwtune.results/1', partial: false, context, results: [result] };
  const tmp = `${args.out}.tmp${process.pid}`;
  try {
    fs.writeFileSync(tmp, JSON.stringify(doc, null, 2) + '\n');
    fs.renameSync(tmp, args.out);
  } catch (e) { die(1, `${args.out}: ${e.message}`); }
}

main().catch(e => die(1, e.stack || String(e)));
