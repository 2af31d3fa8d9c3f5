#!/usr/bin/env bash
# The GPU check: what the GPU machine has (GPU, Vulkan loader and driver, Dawn's adapter, PyTorch/CUDA),
# the webgpu train benchmark (paper VGG13, batch 128, widths 0.25 and 1) beside PyTorch on CUDA, and a
# short `bmp-train compare --backend webgpu`. Everything goes into <out-dir> (logs, JSON, summary.json).
#
#   bench/gpu-check.sh <out-dir>
#
# Runs from bench/gpu-bundle/ (node bench/gpu-bundle.mjs: Node, the bundled trainer and benchmarks, Dawn)
# when it is there, else from the working tree's node_modules and `node` on PATH (a local rehearsal).
# Needs no network. Total budget 8 minutes: every step runs under `timeout`, and what timed out is recorded.
#
# Environment:
#   BMP_GPU_CHECK_ALLOW_SOFTWARE=1  run the webgpu steps on a software adapter (llvmpipe) too
#   BMP_GPU_CHECK_QUICK=1           tiny sizes (rehearsal on a CPU machine)
#   BMP_GPU_CHECK_BUDGET_S          total seconds (default 470)
#   BMP_GPU_BUNDLE                  the bundle folder (default bench/gpu-bundle)
#   PYTHON                          python with torch (default: python3 on PATH)
set -u
if [ $# -ne 1 ]; then
  echo "usage: bench/gpu-check.sh <out-dir>" >&2
  exit 2
fi
mkdir -p "$1" || exit 2
OUT=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
BUNDLE=${BMP_GPU_BUNDLE:-$HERE/gpu-bundle}
QUICK=${BMP_GPU_CHECK_QUICK:-0}
ALLOW_SOFTWARE=${BMP_GPU_CHECK_ALLOW_SOFTWARE:-0}
BUDGET=${BMP_GPU_CHECK_BUDGET_S:-470}
START=$(date +%s)
STEPS="$OUT/steps.tsv"
NOTES="$OUT/notes.txt"
: >"$STEPS"
: >"$NOTES"
exec > >(tee -a "$OUT/gpu-check.log") 2>&1

say() { echo "[gpu-check $(($(date +%s) - START))s] $*"; }
note() { say "$*"; echo "$*" >>"$NOTES"; }
have() { command -v "$1" >/dev/null 2>&1; }

# step <name> <max seconds> <command...>: runs under timeout (capped by what is left of the budget),
# output in <out-dir>/<name>.log; records name, exit status, seconds, timed out or not.
step() {
  local name=$1 limit=$2
  shift 2
  local left=$((BUDGET - ($(date +%s) - START) - 15))
  if [ "$left" -lt "$limit" ]; then limit=$left; fi
  if [ "$limit" -lt 10 ]; then
    note "SKIPPED $name: the ${BUDGET}s budget is spent"
    printf '%s\t%s\t%s\t%s\n' "$name" skipped 0 budget >>"$STEPS"
    return 0
  fi
  say "step $name (timeout ${limit}s): $*"
  local t0 rc
  t0=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" >"$OUT/$name.log" 2>&1
  rc=$?
  local took=$(($(date +%s) - t0)) timed=no
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    timed=yes
    note "TIMED OUT $name after ${took}s (limit ${limit}s)"
  fi
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$took" "$timed" >>"$STEPS"
  grep -v 'artificially reduced' "$OUT/$name.log" | tail -n 25 | sed "s/^/  $name| /"
  say "step $name: exit $rc in ${took}s"
  return 0
}

# unxz <file.xz> <out>: xz, else python3's lzma.
unxz_to() {
  if have xz; then
    xz -dc "$1" >"$2.tmp" && mv "$2.tmp" "$2"
  elif have python3; then
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2.tmp" &&
      mv "$2.tmp" "$2"
  else
    return 1
  fi
}

say "out: $OUT; quick=$QUICK allow-software=$ALLOW_SOFTWARE budget=${BUDGET}s"
{
  date -u
  uname -a
  [ -r /etc/os-release ] && grep -E '^(PRETTY_NAME|VERSION_ID)=' /etc/os-release
  have ldd && ldd --version 2>&1 | head -1
  nproc 2>/dev/null
} >"$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"

# --- the GPU --------------------------------------------------------------------------------------------
if have nvidia-smi; then
  nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv >>"$OUT/nvidia-smi.txt" 2>&1
  say "GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -3)"
else
  note "no nvidia-smi on PATH: no NVIDIA driver tools here"
fi

# --- Vulkan: the loader (libvulkan.so.1) and NVIDIA's ICD ------------------------------------------------
find_lib() { # prints the path of a (non-empty) shared library in ld.so's cache or the usual folders
  local lib=$1 d p
  local ldconfig
  ldconfig=$(command -v ldconfig || ls /sbin/ldconfig /usr/sbin/ldconfig 2>/dev/null | head -1)
  if [ -n "$ldconfig" ]; then
    p=$("$ldconfig" -p 2>/dev/null | awk -v l="$lib" '$1 == l { print $NF; exit }')
    [ -n "$p" ] && [ -s "$p" ] && { echo "$p"; return 0; }
  fi
  local extra=${LD_LIBRARY_PATH:-}
  for d in ${extra//:/ } /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /lib/x86_64-linux-gnu /usr/local/lib /usr/local/nvidia/lib64; do
    [ -s "$d/$lib" ] && { echo "$d/$lib"; return 0; }
  done
  return 1
}
LOADER=$(find_lib libvulkan.so.1)
if [ -n "$LOADER" ]; then
  say "Vulkan loader: $LOADER"
elif [ -s "$BUNDLE/vulkan/libvulkan.so.1" ]; then
  export LD_LIBRARY_PATH="$BUNDLE/vulkan${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  note "MISSING: libvulkan.so.1 (the Vulkan loader, Debian/Ubuntu package libvulkan1) is not installed here; using the bundle's copy (taken from $(cat "$BUNDLE/vulkan/SOURCE" 2>/dev/null) on the machine that built the bundle)"
else
  note "MISSING: libvulkan.so.1 (the Vulkan loader, Debian/Ubuntu package libvulkan1): Dawn cannot reach any Vulkan driver, so the webgpu steps will fail; install libvulkan1 (or bring bench/gpu-bundle/vulkan/libvulkan.so.1)"
fi
ICD=""
for d in ${VK_DRIVER_FILES:-} ${VK_ICD_FILENAMES:-}; do [ -e "$d" ] && ICD="$ICD $d"; done
for d in /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d; do
  [ -d "$d" ] && ls "$d"/* >/dev/null 2>&1 && ICD="$ICD $(ls "$d"/*)"
done
echo "Vulkan ICD files:${ICD:- none}" >"$OUT/vulkan-icd.txt"
for f in $ICD; do [ -f "$f" ] && { echo "== $f"; cat "$f"; } >>"$OUT/vulkan-icd.txt"; done
if echo "$ICD" | grep -qi nvidia; then
  say "NVIDIA Vulkan ICD: $(echo "$ICD" | tr ' ' '\n' | grep -i nvidia | head -1)"
elif [ -n "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ]; then
  note "MISSING: NVIDIA's Vulkan ICD: VK_ICD_FILENAMES/VK_DRIVER_FILES (${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:+ $VK_DRIVER_FILES}) name no NVIDIA ICD file, and the Vulkan loader then reads only those"
else
  GLX=$(find_lib libGLX_nvidia.so.0)
  if [ -n "$GLX" ]; then
    printf '{ "file_format_version": "1.0.0", "ICD": { "library_path": "%s", "api_version": "1.3.0" } }\n' "$GLX" >"$OUT/nvidia_icd.json"
    export VK_ICD_FILENAMES="$OUT/nvidia_icd.json"
    note "MISSING: NVIDIA's Vulkan ICD file (nvidia_icd.json in /usr/share/vulkan/icd.d or /etc/vulkan/icd.d); the driver's Vulkan library is here ($GLX): wrote $OUT/nvidia_icd.json and set VK_ICD_FILENAMES to it"
  else
    note "MISSING: NVIDIA's Vulkan driver: no nvidia_icd.json in /usr/share/vulkan/icd.d or /etc/vulkan/icd.d, and no libGLX_nvidia.so.0 (in a container: start it with NVIDIA_DRIVER_CAPABILITIES including 'graphics', or 'all'); Dawn will see no NVIDIA adapter"
  fi
fi
if have vulkaninfo; then
  step vulkaninfo 30 vulkaninfo --summary
else
  say "no vulkaninfo on PATH (package vulkan-tools): Dawn's report below stands for it"
fi

# --- Node and the programs: the bundle, else the working tree -------------------------------------------
if [ -f "$BUNDLE/manifest.json" ]; then
  # Unpacked outside the bundle (which stays as built, small enough to travel): Node, and a copy of app/
  # with dawn.node, next to a link to the data.
  RUNTIME=${TMPDIR:-/tmp}/bmp-gpu-check-$(cksum <"$BUNDLE/manifest.json" | cut -d' ' -f1)
  mkdir -p "$RUNTIME"
  NODE="$RUNTIME/node"
  if [ ! -x "$NODE" ]; then
    say "unpacking Node and dawn.node into $RUNTIME"
    unxz_to "$BUNDLE/node/node.xz" "$NODE" && chmod +x "$NODE" || note "could not unpack $BUNDLE/node/node.xz (no xz, no python3?)"
  fi
  APP="$RUNTIME/app"
  DAWN_DIR="$APP/node_modules/webgpu/dist/linux-x64"
  if [ ! -f "$DAWN_DIR/dawn.node" ]; then
    rm -rf "$APP" && cp -r "$BUNDLE/app" "$APP" && ln -sfn "$BUNDLE/data" "$RUNTIME/data"
    unxz_to "$DAWN_DIR/dawn.node.xz" "$DAWN_DIR/dawn.node" && rm -f "$DAWN_DIR/dawn.node.xz" ||
      note "could not unpack dawn.node.xz"
  fi
  BENCH=("$NODE" "$APP/bench.mjs")
  TRAINER=("$NODE" "$APP/bmp-train.mjs")
  ADAPTERS=("$NODE" "$APP/dawn-adapters.mjs" "$APP/node_modules/webgpu/index.js")
  cp "$BUNDLE/manifest.json" "$OUT/bundle-manifest.json"
  say "programs: the bundle $BUNDLE (Node $("$NODE" --version 2>&1))"
else
  NODE=$(command -v node || true)
  if [ -z "$NODE" ]; then
    note "MISSING: no bundle ($BUNDLE/manifest.json: run node bench/gpu-bundle.mjs where Node is) and no node on PATH: nothing of bmp can run"
  fi
  WEBGPU_INDEX=$(ls "$ROOT"/node_modules/.pnpm/webgpu@*/node_modules/webgpu/index.js 2>/dev/null | head -1)
  BENCH=("$NODE" "$ROOT/bench/run.mjs")
  TRAINER=("$NODE" "$ROOT/apps/trainer/dist/cli.js")
  ADAPTERS=("$NODE" "$ROOT/bench/lib/dawn-adapters.mjs" "$WEBGPU_INDEX")
  say "programs: the working tree $ROOT (node $NODE)"
fi

# --- Dawn's adapter ---------------------------------------------------------------------------------------
WEBGPU_OK=no
if [ -n "$NODE" ] && [ -x "$NODE" ]; then
  step dawn-adapters 60 "${ADAPTERS[@]}"
  rc=$(awk -F'\t' '$1 == "dawn-adapters" { print $2 }' "$STEPS")
  sed -n '/^{/,/^}/p' "$OUT/dawn-adapters.log" >"$OUT/dawn-adapters.json"
  case "$rc" in
  0) WEBGPU_OK=yes ;;
  3)
    if [ "$ALLOW_SOFTWARE" = 1 ]; then
      WEBGPU_OK=yes
      note "Dawn found only a software adapter (emulated on the CPU); running anyway (BMP_GPU_CHECK_ALLOW_SOFTWARE=1)"
    else
      note "Dawn found only a software adapter (emulated on the CPU), not the GPU: webgpu steps skipped (BMP_GPU_CHECK_ALLOW_SOFTWARE=1 runs them)"
    fi
    ;;
  *) note "Dawn found no WebGPU adapter (exit $rc; see dawn-adapters.log): webgpu steps skipped" ;;
  esac
fi

# --- PyTorch ------------------------------------------------------------------------------------------------
PYTHON=${PYTHON:-$(command -v python3 || echo python3)}
TORCH_FLAGS=(--python "$PYTHON")
if "$PYTHON" -c 'import torch' >/dev/null 2>&1; then
  step torch 90 "$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda build", torch.version.cuda, "available", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")'
else
  note "PyTorch absent: '$PYTHON -c \"import torch\"' fails; the benchmark runs without the reference"
  TORCH_FLAGS=(--no-torch)
fi

# --- the webgpu train benchmark, then a short compare ----------------------------------------------------
if [ "$WEBGPU_OK" = yes ]; then
  if [ "$QUICK" = 1 ]; then
    SIZES=(--batch 16 --steps 2 --warmup 1 --rounds 1)
    W1=0.0625 W2=""
    COMPARE=(--model vgg11 --width 0.0625 --dataset synthetic --synthetic-count 64 --image-shape 16x16x3 --batch-size 32 --eval-batch-size 32)
  else
    SIZES=(--batch 128 --steps 10 --warmup 3 --rounds 2)
    W1=0.25 W2=1
    COMPARE=(--model vgg11 --width 0.25 --dataset fashion-mnist-subset --max-train-samples 512 --max-test-samples 256 --batch-size 64)
  fi
  step bench-w$W1 200 "${BENCH[@]}" train --backend webgpu --depth 13 --widths "$W1" "${SIZES[@]}" "${TORCH_FLAGS[@]}" --out "$OUT/train-webgpu-w$W1.json"
  if [ -n "$W2" ]; then
    step bench-w$W2 200 "${BENCH[@]}" train --backend webgpu --depth 13 --widths "$W2" "${SIZES[@]}" "${TORCH_FLAGS[@]}" --out "$OUT/train-webgpu-w$W2.json"
  fi
  step compare 120 "${TRAINER[@]}" compare --backend webgpu "${COMPARE[@]}" --epochs 1 --jobs 1 --log-every-steps 1 --log-dir "$OUT/runs" --run-name compare-webgpu
else
  note "SKIPPED the webgpu benchmark and compare: no usable WebGPU adapter"
  # PyTorch on CUDA alone still says what the GPU does with this network.
  if [ "${TORCH_FLAGS[0]}" = --python ] && "$PYTHON" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' >/dev/null 2>&1; then
    REF="$ROOT/bench/torch_train_reference.py"
    [ -n "${APP:-}" ] && [ -f "$APP/torch_train_reference.py" ] && REF="$APP/torch_train_reference.py"
    for w in 0.25 1; do
      step torch-cuda-w$w 90 "$PYTHON" "$REF" --device cuda --depth 13 --width $w --batch 128 --steps 10 --warmup 3
    done
  fi
fi

# --- summary ------------------------------------------------------------------------------------------------
say "steps (name, exit, seconds, timed out):"
column -t "$STEPS" 2>/dev/null || cat "$STEPS"
if [ -s "$NOTES" ]; then
  say "notes:"
  sed 's/^/  /' "$NOTES"
fi
if [ -n "$NODE" ] && [ -x "$NODE" ]; then
  "$NODE" -e '
    const fs = require("fs"), [out, total] = process.argv.slice(1);
    const steps = fs.readFileSync(`${out}/steps.tsv`, "utf8").trim().split("\n").filter(Boolean).map((l) => {
      const [name, exit, seconds, timedOut] = l.split("\t");
      return { name, exit: exit === "skipped" ? null : Number(exit), seconds: Number(seconds), timedOut: timedOut === "yes", skipped: exit === "skipped" };
    });
    const read = (f) => { try { return JSON.parse(fs.readFileSync(`${out}/${f}`, "utf8")); } catch { return null; } };
    const bench = fs.readdirSync(out).filter((f) => /^train-webgpu-.*\.json$/.test(f)).flatMap((f) => (read(f)?.configs ?? []).map((c) => ({
      file: f, width: c.width, batch: c.batch, device: c.device?.label, bmpMedianMs: c.bmp.medianMs, bmpImagesPerSecond: c.bmp.imagesPerSecond,
      torchDevice: c.torchDevice, torchMedianMs: c.torch?.step_ms_median ?? null, torchImagesPerSecond: c.torch?.images_per_s ?? null,
      torchNote: c.torch?.skipped ? c.torch.note : undefined, ratioBmpOverTorch: c.ratioBmpOverTorch })));
    const notes = fs.readFileSync(`${out}/notes.txt`, "utf8").trim().split("\n").filter(Boolean);
    fs.writeFileSync(`${out}/summary.json`, JSON.stringify({ date: new Date().toISOString(), totalSeconds: Number(total), steps, notes, adapters: read("dawn-adapters.json"), bench }, null, 2) + "\n");
    for (const b of bench) console.log(`  width ${b.width} batch ${b.batch}: bmp webgpu ${b.bmpMedianMs} ms/step (${b.bmpImagesPerSecond} img/s); PyTorch ${b.torchDevice ?? "-"} ${b.torchMedianMs ?? "-"} ms/step; ${b.torchNote ?? ""}`);
  ' "$OUT" "$(($(date +%s) - START))" && say "wrote $OUT/summary.json"
fi
say "done in $(($(date +%s) - START))s (budget ${BUDGET}s)"
