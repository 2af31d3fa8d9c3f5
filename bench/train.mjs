// Benchmark: one training step (forward + backward + MomentumSGD step) of the paper VGG13 of
// @bmp/models, against PyTorch on the same machine with the same number of threads.
//
//   pnpm bench train [--backends auto,cpu] [--widths 0.25,1] [--steps 10] [--no-torch] ...
//   pnpm bench train --backend webgpu --batch 128           # WebGPU (Dawn in Node) beside PyTorch on CUDA
//
// Method
// - Network: paperVgg({ depth: 13, widthMultiplier: w, numClasses: 10, inputShape: [32, 32, 3] }) from
//   @bmp/models, in training mode (BN on batch statistics, running statistics updated; one op with a
//   hand-written gradient, one kernel each way where the backend has @bmp/backends' BN kernels).
//   Batch 64 of random N(0, 1) input with fixed random labels; loss: mean softmax cross-entropy.
// - Step: tf.variableGrads of the loss + MomentumSGD (lr 0.1, momentum 0.9, weight decay 0.005) from
//   @bmp/optimizer, then dataSync() (webgpu: await data()) of the smallest updated variable so that the
//   clock stops only when the work is done. Median over `--steps` timed steps after `--warmup` steps; all times in the JSON.
// - Backend: 'auto' is what @bmp/backends' initBackend() picks (tfjs-node-gpu, tfjs-node, wasm, cpu:
//   the first that loads), with the @bmp/backends training kernels; 'cpu' is the pure-JS backend
//   (with the Conv2D-based filter gradient), for contrast; 'webgpu' is tfjs-backend-webgpu (in Node on
//   Dawn, the `webgpu` package; a software adapter such as llvmpipe is accepted by name, and recorded).
// - PyTorch: bench/torch_train_reference.py (same network, same batch, SGD momentum 0.9, weight decay
//   0.005) run with /usr/bin/python3 and --threads equal to the threads bmp used (wasm: its XNNPACK
//   threads, --threads, default 1; cpu: 1).
//   Skipped with a note when torch cannot be imported (apt-get install -y python3-torch).
//   Beside a GPU backend (webgpu), PyTorch runs on CUDA when torch.cuda.is_available() (--torch-device).
//   bmp and PyTorch runs alternate per configuration, so slow drifts of machine load hit both.
// - Profile: tf.profile of one more step per configuration: kernel time by kernel name.

import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '@bmp/backends';
import { paperVgg } from '@bmp/models';
import { MomentumSGD } from '@bmp/optimizer';
import { machineInfo, writeResults } from './lib/results.mjs';
import { formatTable, round, summarize } from './lib/stats.mjs';
import { tf } from './lib/tf.mjs';
import { readModeOf, timedStep } from './lib/timed-step.mjs';

export const description =
  'Training step (forward + backward + MomentumSGD) of paper VGG13 (@bmp/models), batch 64, 32x32x3, ' +
  'on the fastest backend and on cpu (or on webgpu), against PyTorch with the same number of threads ' +
  '(beside webgpu: PyTorch on CUDA when torch sees a GPU).';

const KNOWN_BACKENDS = ['auto', 'webgpu', 'wasm', 'cpu'];
/** Backends that compute on a GPU (read asynchronously; PyTorch runs on CUDA beside them). */
const GPU_BACKENDS = ['webgpu', 'webgl', 'node-gpu'];

export const options = {
  backends: {
    type: 'string',
    default: 'auto,cpu',
    help: "comma-separated: auto (initBackend's pick), webgpu, wasm, cpu",
  },
  backend: { type: 'string', help: 'the same as --backends (takes precedence): auto, webgpu, wasm, cpu' },
  widths: { type: 'string', default: '0.25,1', help: 'comma-separated VGG width multipliers' },
  depth: { type: 'string', default: '13', help: 'VGG depth (11, 13, 16, 19)' },
  batch: { type: 'string', default: '64', help: 'batch size' },
  steps: { type: 'string', help: 'timed steps (default 10; cpu and software WebGPU adapters 2)' },
  warmup: { type: 'string', help: 'untimed steps first (default 2; cpu and software WebGPU adapters 1)' },
  threads: {
    type: 'string',
    help: "wasm XNNPACK threads (default 1; 2-4 start tfjs' threaded build, see @bmp/backends)",
  },
  'native-threads': {
    type: 'string',
    help: 'threads of the @bmp/backends-native convolutions (default: every core)',
  },
  'no-native': { type: 'boolean', help: "wasm's own convolution kernels instead of @bmp/backends-native" },
  rounds: {
    type: 'string',
    help: 'bmp/PyTorch pairs per configuration, alternating; the ratio reported is the median of the pairs (default 3; cpu and software WebGPU 1)',
  },
  'cpu-widths': { type: 'string', default: '0.25', help: 'widths run on the cpu backend (slow)' },
  'no-torch': { type: 'boolean', help: 'skip the PyTorch reference' },
  python: { type: 'string', default: '/usr/bin/python3', help: 'python with torch' },
  'torch-device': {
    type: 'string',
    default: 'auto',
    help: 'PyTorch device: auto (cuda beside a GPU backend when torch sees CUDA, else cpu), cpu, cuda',
  },
  'torch-no-tf32': { type: 'boolean', help: 'PyTorch on cuda: no TF32 in convolutions and matmuls' },
  'no-profile': { type: 'boolean', help: 'skip the per-kernel profile' },
  out: { type: 'string', help: 'JSON output path (default bench/results/train-<ISO time>.json)' },
};

const HERE = dirname(fileURLToPath(import.meta.url));
const TORCH_SCRIPT = resolve(HERE, 'torch_train_reference.py');
const OPTIMIZER_OPTIONS = { learningRate: 0.1, momentum: 0.9, weightDecay: 0.005 };
const INPUT = [32, 32, 3];
const CLASSES = 10;

function usageError(message) {
  return Object.assign(new Error(message), { usage: true });
}

function positiveInt(name, value, fallback) {
  if (value == null) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw usageError(`--${name} must be an integer >= 1, got '${value}'`);
  return n;
}

function list(name, value, parse = (s) => s) {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw usageError(`--${name} is empty`);
  return items.map(parse);
}

function widthOf(s) {
  const w = Number(s);
  if (!(w > 0)) throw usageError(`widths must be > 0, got '${s}'`);
  return w;
}

/**
 * Threads the current tfjs backend computes with: wasm, the larger of XNNPACK's thread count and the
 * native convolutions' threads (the two never run at the same time); cpu: 1.
 */
function backendThreads(init) {
  if (init.backend === 'wasm') {
    const b = tf.findBackend('wasm');
    const n = b?.wasm?.tfjs?.getThreadsCount?.();
    return Math.max(Number.isInteger(n) && n > 0 ? n : 1, init.native?.threads ?? 1);
  }
  return 1;
}

async function kernelBreakdown(fn) {
  const info = await tf.profile(fn);
  const byKernel = {};
  let untimed = 0;
  for (const k of info.kernels) {
    byKernel[k.name] ??= { ms: 0, calls: 0 };
    const e = byKernel[k.name];
    // A GPU backend without a timer (webgpu without timestamp queries) gives { error } instead of a time.
    if (typeof k.kernelTimeMs === 'number') e.ms += k.kernelTimeMs;
    else untimed += 1;
    e.calls += 1;
  }
  const sorted = Object.entries(byKernel).sort((a, b) => b[1].ms - a[1].ms);
  return {
    totalKernelMs: round(sorted.reduce((t, [, e]) => t + e.ms, 0)),
    kernels: Object.fromEntries(sorted.map(([n, e]) => [n, { ms: round(e.ms), calls: e.calls }])),
    ...(untimed > 0 ? { kernelsWithoutTime: untimed } : {}),
  };
}

async function benchBmp({ depth, width, batch, steps, warmup, profile, read }) {
  const model = paperVgg({ depth, widthMultiplier: width, numClasses: CLASSES, inputShape: INPUT, seed: 1 });
  // On webgpu the step is applyGradientsAsync: the same check of the gradients, downloaded asynchronously.
  const opt = new MomentumSGD({ ...OPTIMIZER_OPTIONS, blocks: model.blocks });
  const x = tf.randomNormal([batch, ...INPUT], 0, 1, 'float32', 3);
  const labels = tf.tidy(() =>
    tf.cast(tf.oneHot(tf.randomUniform([batch], 0, CLASSES, 'int32', 4), CLASSES), 'float32'),
  );
  const variables = [...model.trainableVariables];
  const probe = variables.reduce((a, b) => (b.size < a.size ? b : a));
  const loss = () => {
    const logits = model.apply(x, { training: true });
    const logProbs = tf.sub(logits, tf.logSumExp(logits, 1, true));
    return tf.neg(tf.mean(tf.sum(tf.mul(labels, logProbs), 1)));
  };
  const losses = [];
  const step = timedStep({ loss: loss, variables: variables, optimizer: opt, probe, losses, read });
  for (let i = 0; i < warmup; i++) await step();
  const before = tf.memory().numTensors;
  const times = [];
  for (let i = 0; i < steps; i++) times.push(await step());
  const leaked = tf.memory().numTensors - before;
  const breakdown = profile ? await kernelBreakdown(() => step()) : undefined;
  opt.dispose();
  model.dispose();
  tf.dispose([x, labels]);
  const summary = summarize(times);
  return {
    parameters: model.parameterCount,
    ...summary,
    imagesPerSecond: round(batch / (summary.medianMs / 1000), 1),
    losses: losses.map((l) => round(l, 4)),
    tensorsLeakedOverTimedSteps: leaked,
    ...(breakdown ? { profile: breakdown } : {}),
  };
}

function runTorch(python, { depth, width, batch, steps, warmup, threads, device, noTf32 }) {
  const args = [TORCH_SCRIPT, '--depth', depth, '--width', width, '--batch', batch, '--steps', steps];
  args.push('--warmup', warmup, '--threads', threads, '--device', device);
  if (noTf32) args.push('--no-tf32');
  const r = spawnSync(python, args.map(String), { encoding: 'utf8', timeout: 600_000 });
  if (r.error != null || r.status !== 0) {
    const last = (r.stdout || '').trim().split('\n').pop() ?? '';
    const why =
      r.error?.message ??
      (last.startsWith('{"error"') ? JSON.parse(last).error : null) ??
      (r.stderr || '').trim().split('\n').slice(-1)[0];
    return {
      skipped: true,
      note: `PyTorch reference not run (${python}: ${why}); apt-get install -y python3-torch`,
    };
  }
  const line = r.stdout.trim().split('\n').pop();
  return JSON.parse(line);
}

// torch's version and what it says about CUDA, as one JSON line.
const TORCH_PROBE = `import json, torch
c = torch.cuda.is_available()
print(json.dumps({"version": torch.__version__, "cudaBuild": torch.version.cuda, "cudaAvailable": c,
  "cudaDevice": torch.cuda.get_device_name(0) if c else None, "cudaDeviceCount": torch.cuda.device_count()}))`;

function torchAvailable(python) {
  const r = spawnSync(python, ['-c', TORCH_PROBE], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) {
    const why = r.error?.message ?? ((r.stderr || '').trim().split('\n').pop() || `exit ${r.status}`);
    return { ok: false, why: `${python} cannot import torch (${why})` };
  }
  return { ok: true, ...JSON.parse(r.stdout.trim().split('\n').pop()) };
}

/** Where PyTorch runs beside `backend`, and why (a sentence for the JSON and the printout). */
function torchDeviceFor(requested, backend, torch) {
  const gpuBackend = GPU_BACKENDS.includes(backend);
  const cudaNote = torch.cudaAvailable
    ? `torch sees CUDA (${torch.cudaDevice})`
    : `torch ${torch.version} sees no CUDA device (CUDA build: ${torch.cudaBuild ?? 'none'})`;
  if (requested === 'cpu') return { device: 'cpu', note: 'PyTorch on cpu (--torch-device cpu)' };
  if (requested === 'cuda') {
    return torch.cudaAvailable
      ? { device: 'cuda', note: `PyTorch on cuda: ${cudaNote}` }
      : { device: null, note: `PyTorch not run: --torch-device cuda, but ${cudaNote}` };
  }
  if (!gpuBackend) return { device: 'cpu', note: `PyTorch on cpu beside the ${backend} backend` };
  return torch.cudaAvailable
    ? { device: 'cuda', note: `PyTorch on cuda beside ${backend}: ${cudaNote}` }
    : { device: 'cpu', note: `PyTorch on cpu beside ${backend}, with every core: ${cudaNote}` };
}

const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

export async function run(values) {
  const backends = list(values.backend != null ? 'backend' : 'backends', values.backend ?? values.backends);
  for (const b of backends) {
    if (!KNOWN_BACKENDS.includes(b))
      throw usageError(`unknown backend '${b}' (${KNOWN_BACKENDS.join(', ')})`);
  }
  const torchDeviceRequest = values['torch-device'];
  if (!['auto', 'cpu', 'cuda'].includes(torchDeviceRequest)) {
    throw usageError(`--torch-device must be auto, cpu or cuda, got '${torchDeviceRequest}'`);
  }
  const widths = list('widths', values.widths, widthOf);
  const cpuWidths = list('cpu-widths', values['cpu-widths'], widthOf);
  const depth = positiveInt('depth', values.depth, 13);
  const batch = positiveInt('batch', values.batch, 64);
  const profile = !values['no-profile'];
  const machine = machineInfo();
  console.log(
    `train benchmark: ${machine.cpuModel}, ${machine.cores} cores, load ${machine.loadAverage1m5m15m.join(' ')}, ` +
      `node ${machine.node}; paper VGG${depth}, batch ${batch}, ${INPUT.join('x')}`,
  );
  let torch = { ok: false, why: '--no-torch' };
  if (!values['no-torch']) {
    torch = torchAvailable(values.python);
    if (!torch.ok) {
      torch.why += '; apt-get install -y python3-torch';
      console.log(`note: PyTorch reference skipped: ${torch.why}`);
    } else {
      console.log(
        `PyTorch ${torch.version}: ${torch.cudaAvailable ? `CUDA ${torch.cudaBuild}, ${torch.cudaDevice}` : `no CUDA device (CUDA build: ${torch.cudaBuild ?? 'none'})`}`,
      );
    }
  }
  const rows = [];
  const configs = [];
  for (const requested of backends) {
    const threadsOption = values.threads == null ? {} : { threads: positiveInt('threads', values.threads) };
    const nativeOption = values['no-native']
      ? { native: false }
      : values['native-threads'] == null
        ? {}
        : { nativeThreads: positiveInt('native-threads', values['native-threads']) };
    const wasmOptions =
      requested === 'auto' || requested === 'wasm' ? { ...threadsOption, ...nativeOption } : {};
    const init = await initBackend({ prefer: requested, ...wasmOptions });
    if (init.threadsNote) console.log(`note: ${init.threadsNote}`);
    if (init.nativeNote && init.backend === 'wasm') console.log(`note: ${init.nativeNote}`);
    const backend = tf.getBackend();
    const read = readModeOf(init.backend);
    const softwareGpu = init.device?.kind === 'software-gpu';
    console.log(`\n[${init.backend}] ${init.device?.label ?? init.reason}`);
    if (softwareGpu) console.log('note: a software WebGPU adapter emulates the GPU on the CPU: slow');
    const torchPlace = torch.ok ? torchDeviceFor(torchDeviceRequest, init.backend, torch) : null;
    if (torchPlace) console.log(`note: ${torchPlace.note}`);
    if (backend === 'cpu') {
      const cpu = tf.findBackend('cpu');
      if (cpu != null && 'firstUse' in cpu) cpu.firstUse = false;
    }
    const ws = init.backend === 'cpu' ? widths.filter((w) => cpuWidths.includes(w)) : widths;
    for (const width of ws) {
      const slow = init.backend === 'cpu' || softwareGpu;
      const steps = positiveInt('steps', values.steps, slow ? 2 : 10);
      const warmup = positiveInt('warmup', values.warmup, slow ? 1 : 2);
      const threads = backendThreads(init);
      const onGpu = GPU_BACKENDS.includes(init.backend);
      // PyTorch's threads: bmp's on the CPU backends; beside a GPU backend on cpu, every core.
      const torchThreads =
        torchPlace?.device === 'cpu' && GPU_BACKENDS.includes(init.backend)
          ? machine.availableParallelism
          : threads;
      console.log(
        `\n[${init.backend}] width ${width}, batch ${batch}: ${warmup} warm-up + ${steps} timed steps (${onGpu ? (softwareGpu ? 'software GPU' : 'GPU') : `${threads} thread${threads === 1 ? '' : 's'}`}) ...`,
      );
      // Rounds of (bmp, PyTorch), alternating, so that the machine's load drifts hit both; each round
      // gives a ratio, and the reported one is their median. The profile comes from the first round.
      const rounds = positiveInt('rounds', values.rounds, slow ? 1 : 3);
      const pairs = [];
      for (let r = 0; r < rounds; r++) {
        const bmpRound = await benchBmp({
          depth,
          width,
          batch,
          steps,
          warmup,
          profile: profile && r === 0,
          read,
        });
        console.log(
          `  round ${r + 1}/${rounds}: bmp ${fmt(bmpRound.medianMs)} ms/step, ${fmt(bmpRound.imagesPerSecond)} img/s`,
        );
        let refRound = null;
        if (torch.ok && torchPlace.device == null) {
          refRound = { skipped: true, note: torchPlace.note };
        } else if (torch.ok) {
          refRound = runTorch(values.python, {
            depth,
            width,
            batch,
            steps: Math.max(steps, 10),
            warmup: torchPlace.device === 'cuda' ? 3 : 2,
            threads: torchPlace.device === 'cuda' ? 1 : torchThreads,
            device: torchPlace.device,
            noTf32: values['torch-no-tf32'],
          });
          if (!refRound.skipped)
            console.log(
              `  round ${r + 1}/${rounds}: PyTorch ${fmt(refRound.step_ms_median)} ms/step, ${fmt(refRound.images_per_s)} img/s`,
            );
        }
        const ratioRound =
          refRound && !refRound.skipped ? round(bmpRound.imagesPerSecond / refRound.images_per_s, 3) : null;
        pairs.push({ bmp: bmpRound, ref: refRound, ratio: ratioRound });
      }
      // The round whose ratio is the median (lower median for an even count) stands for the configuration.
      const ranked = pairs.filter((p) => p.ratio != null).sort((a, b) => a.ratio - b.ratio);
      const chosen = ranked.length > 0 ? ranked[Math.floor((ranked.length - 1) / 2)] : pairs[0];
      const bmp = { ...chosen.bmp, profile: pairs[0].bmp.profile };
      if (bmp.profile == null) delete bmp.profile;
      const ref = chosen.ref;
      const ratio = chosen.ratio;
      configs.push({
        backend: init.backend,
        backendReason: init.reason,
        device: init.device ?? null,
        adapter: init.adapter ?? null,
        read,
        checkFinite: true,
        ...(init.threadsNote ? { threadsNote: init.threadsNote } : {}),
        native: init.native ?? null,
        ...(init.nativeNote ? { nativeNote: init.nativeNote } : {}),
        trainingKernels: init.trainingKernels,
        width,
        depth,
        batch,
        steps,
        warmup,
        bmpThreads: onGpu ? null : threads,
        torchThreads: ref && !ref.skipped ? ref.threads : null,
        torchDevice: ref && !ref.skipped ? ref.device : null,
        torchDeviceNote: torchPlace?.note ?? torch.why,
        bmp,
        torch: ref ?? { skipped: true, note: torch.why },
        ratioBmpOverTorch: ratio,
        rounds: pairs.map((p) => ({
          bmpMedianMs: p.bmp.medianMs,
          bmpImagesPerSecond: p.bmp.imagesPerSecond,
          torchMedianMs: p.ref && !p.ref.skipped ? p.ref.step_ms_median : null,
          torchImagesPerSecond: p.ref && !p.ref.skipped ? p.ref.images_per_s : null,
          ratio: p.ratio,
        })),
      });
      rows.push({
        backend: init.backend,
        width: String(width),
        bmpMs: fmt(bmp.medianMs),
        bmpIps: fmt(bmp.imagesPerSecond),
        torchIps: ref && !ref.skipped ? `${fmt(ref.images_per_s)} (${ref.device})` : 'skipped',
        ratio: ratio == null ? 'n/a' : ratio.toFixed(3),
        threads: `${onGpu ? 'gpu' : threads} / ${ref && !ref.skipped ? (ref.device === 'cuda' ? 'gpu' : ref.threads) : '-'}`,
      });
      if (bmp.profile) {
        const top = Object.entries(bmp.profile.kernels)
          .slice(0, 10)
          .map(([n, e]) => `${n} ${e.ms.toFixed(1)}`);
        console.log(`  profile: ${bmp.profile.totalKernelMs.toFixed(1)} ms in kernels: ${top.join(', ')}`);
      }
    }
  }
  console.log(
    `\n${formatTable(
      [
        { key: 'backend', label: 'backend', align: 'left' },
        { key: 'width', label: 'width' },
        { key: 'bmpMs', label: 'bmp ms/step' },
        { key: 'bmpIps', label: 'bmp img/s' },
        { key: 'torchIps', label: 'PyTorch img/s' },
        { key: 'ratio', label: 'bmp/PyTorch' },
        { key: 'threads', label: 'threads bmp / PyTorch' },
      ],
      rows,
    )}`,
  );
  const result = {
    benchmark: 'train',
    machine: { ...machine, loadAverageAfter1m5m15m: machineInfo().loadAverage1m5m15m },
    torch: torch.ok
      ? {
          python: values.python,
          version: torch.version,
          cudaBuild: torch.cudaBuild,
          cudaAvailable: torch.cudaAvailable,
          cudaDevice: torch.cudaDevice,
          cudaDeviceCount: torch.cudaDeviceCount,
        }
      : { skipped: true, note: torch.why },
    optimizer: { name: 'MomentumSGD', ...OPTIMIZER_OPTIONS },
    configs,
  };
  const [file] = writeResults('train', result, values.out);
  console.log(`\nwrote ${file}`);
  const leaks = configs.filter((c) => c.bmp.tensorsLeakedOverTimedSteps !== 0);
  if (leaks.length > 0) {
    console.error(
      `tensors leaked during timed steps: ${leaks.map((c) => `${c.backend} w${c.width}`).join(', ')}`,
    );
    process.exitCode = 1;
  }
}
