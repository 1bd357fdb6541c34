#!/usr/bin/env bash
# Runs acnn's GPU benchmark on a machine without Node, from the archive scripts/gpu-pack.sh made:
#   tar -xJf acnn-gpu.tar.xz && acnn/scripts/gpu-run.sh OUTDIR
# or, with the archive not yet unpacked:
#   scripts/gpu-run.sh --archive acnn-gpu.tar.xz OUTDIR
# Writes into OUTDIR:
#   doctor.txt / doctor.json   the backends and the WebGPU adapter (or why there is none)
#   bench.txt / bench.json     `npm run bench` on --backend webgpu,wasm (no PyTorch there)
#   quickstart.jsonl           a short quickstart training on WebGPU (train.iterations=ITERS,
#                              default 200), and its run directory under OUTDIR/results
# --doctor-only stops after the doctor (the pack's own check, scripts/gpu-pack.sh --dry-run).
# Needs a Vulkan (Linux) driver for the GPU; XDG_RUNTIME_DIR is set if missing.
set -euo pipefail
doctor_only=0
archive=""
while [ $# -gt 0 ]; do
  case "$1" in
    --doctor-only) doctor_only=1; shift ;;
    --archive) archive="$2"; shift 2 ;;
    *) break ;;
  esac
done
out="$(realpath -m "${1:?usage: gpu-run.sh [--doctor-only] [--archive PACK.tar.xz] OUTDIR}")"
iters="${ITERS:-200}"
mkdir -p "$out"

if [ -n "$archive" ]; then
  tar -C "$out" -xJf "$archive"
  app="$out/acnn"
else
  app="$(cd "$(dirname "$0")/.." && pwd)"
fi
node="$app/node/bin/node"
[ -x "$node" ] || { echo "gpu-run: no bundled Node at $node (is this an unpacked gpu-pack archive?)" >&2; exit 2; }
export PATH="$app/node/bin:$PATH"
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then export XDG_RUNTIME_DIR="$(mktemp -d)"; fi
cd "$app"

echo "gpu-run: $("$node" --version) from $app; results in $out" >&2
"$node" bin/acnn doctor | tee "$out/doctor.txt"
"$node" bin/acnn doctor --json > "$out/doctor.json"
[ "$doctor_only" = 1 ] && exit 0

# The benchmark: WebGPU (full plan on a hardware adapter) and WebAssembly for comparison.
"$node" dist/bench/main.js --backend webgpu,wasm --no-torch --json > "$out/bench.json" 2> "$out/bench.log" || echo "gpu-run: the benchmark failed (see bench.log)" >&2
"$node" -e "import('./dist/bench/format.js').then(({ formatBench }) => process.stdout.write(formatBench(JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8')))))" "$out/bench.json" > "$out/bench.txt" || true

# A short quickstart training on WebGPU: its run directory has meta.json (backend, adapter,
# execution plan), metrics.jsonl (loss, images/s) and eval.json.
"$node" bin/acnn run configs/quickstart.yaml --backend webgpu --set "train.iterations=$iters" --results "$out/results" --cache "$out/cache" --json > "$out/quickstart.jsonl" || echo "gpu-run: the quickstart training failed (see quickstart.jsonl)" >&2
echo "gpu-run: done; results in $out" >&2
