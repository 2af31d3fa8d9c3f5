#!/usr/bin/env bash
# A sweep on two `bmp-train worker`s of this machine, through a redis-server started here on a free port:
#   examples/sweeps/two-workers.sh <sweep file> <log dir>
# Needs redis-server (Debian: apt-get install redis-server) and a build (pnpm turbo run build).
set -euo pipefail
file=${1:?usage: two-workers.sh <sweep file> <log dir>}
logdir=${2:?usage: two-workers.sh <sweep file> <log dir>}
root=$(cd "$(dirname "$0")/../.." && pwd)
cli="$root/apps/trainer/dist/cli.js"
mkdir -p "$logdir"
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
redis_dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --dir "$redis_dir" --appendonly yes --save '' >"$redis_dir/redis.log" &
redis_pid=$!
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait "${pids[@]}" 2>/dev/null || true
  kill "$redis_pid" 2>/dev/null || true
}
trap cleanup EXIT
url="redis://127.0.0.1:$port"
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done
# each worker's native kernels get half of the cores
threads=$(( $(nproc) / 2 > 0 ? $(nproc) / 2 : 1 ))
for i in 1 2; do
  BMP_NATIVE_THREADS=$threads node "$cli" worker --queue "$url" --log-dir "$logdir" >"$logdir/worker-$i.log" 2>&1 &
  pids+=($!)
done
node "$cli" sweep "$file" --queue "$url" --log-dir "$logdir"
