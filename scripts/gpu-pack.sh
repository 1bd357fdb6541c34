#!/usr/bin/env bash
# Packs what a Linux x64 GPU machine without Node needs to benchmark acnn on WebGPU:
#   - the Node binary running here (process.execPath; acnn needs Node 20),
#   - the built package (dist/, bin/, configs/, schemas/, bench/) with its production
#     node_modules (npm ci --omit=dev, no install scripts),
#   - tfjs-backend-webgpu and Dawn for Node (the `webgpu` package, linux-x64 binary only),
#   - scripts/gpu-run.sh, which runs the benchmark and a short training there.
# Source maps, type declarations, browser bundles and other platforms' binaries are left out so
# that the archive stays under 64 MiB (xz).
#
# usage: scripts/gpu-pack.sh [OUT.tar.xz]         (default: acnn-gpu.tar.xz)
#        scripts/gpu-pack.sh --dry-run [OUT.tar.xz]
#   --dry-run also unpacks the archive into a temporary folder and runs
#   `scripts/gpu-run.sh --doctor-only` from the unpacked copy with its bundled Node, the check
#   that the pack is complete (README, "Benchmark on a GPU machine").
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dry=0
if [ "${1:-}" = "--dry-run" ]; then dry=1; shift; fi
out="$(realpath -m "${1:-acnn-gpu.tar.xz}")"
limit=$((64 * 1024 * 1024))

node_bin="$(node -p 'process.execPath')"
node_version="$(node -p 'process.version')"
case "$node_version" in v20.*) ;; *) echo "gpu-pack: the Node here is $node_version; acnn's pack ships Node 20" >&2; exit 2 ;; esac
[ "$(node -p 'process.platform + "-" + process.arch')" = linux-x64 ] || { echo "gpu-pack: packs for linux-x64 only (this is $(node -p 'process.platform + "-" + process.arch'))" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
stage="$work/acnn"
mkdir -p "$stage/node/bin" "$stage/scripts"

echo "gpu-pack: building" >&2
(cd "$root" && npm run --silent build)
cp -a "$root/dist" "$root/bin" "$root/configs" "$root/schemas" "$root/bench" "$root/package.json" "$root/package-lock.json" "$stage/"
cp -a "$root/scripts/gpu-run.sh" "$stage/scripts/"
cp "$node_bin" "$stage/node/bin/node"

echo "gpu-pack: production node_modules" >&2
# No install scripts: the package's own `prepare` would need the dev tools, and the optional
# tfjs-node packages download libtensorflow (not wanted: the pack is for WebGPU and wasm).
(cd "$stage" && npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error)
(cd "$stage" && npm install --no-save --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error \
  "$(cd "$root" && node -p "require('./package.json').scripts['install:webgpu'].match(/@tensorflow\/tfjs-backend-webgpu@\S+/)[0]")" \
  "$(cd "$root" && node -p "require('./package.json').scripts['install:webgpu'].match(/ webgpu@\S+/)[0].trim()")")

echo "gpu-pack: pruning" >&2
nm="$stage/node_modules"
find "$nm" -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.md' -o -name '*.markdown' -o -name '*.tsbuildinfo' -o -name '*.html' \) -delete
find "$nm" -type d \( -name test -o -name tests -o -name __tests__ -o -name docs -o -name example -o -name examples \) -prune -exec rm -rf {} +
# The tfjs packages: Node loads each package's `main` bundle (and the wasm binaries next to it);
# the per-file ESM tree and the browser bundles in dist/ are for bundlers.
for pkg in "$nm"/@tensorflow/*/; do
  main="$(node -p "require('$pkg/package.json').main || ''")"
  [ -n "$main" ] && [ -d "$pkg/dist" ] || continue
  find "$pkg/dist" -mindepth 1 \( -type f ! -name "$(basename "$main")" ! -name '*.wasm' -o -type d \) -prune -exec rm -rf {} +
  rm -rf "$pkg/src" "$pkg/wasm-out"
done
# npm ci installs the optional tfjs-node packages even with --omit=optional; without their
# install script they lack libtensorflow, and the pack does not need them.
rm -rf "$nm/@tensorflow/tfjs-node" "$nm/@tensorflow/tfjs-node-gpu"
# Dawn: this platform's binary only.
find "$nm/webgpu/dist" -mindepth 1 -maxdepth 1 -type d ! -name linux-x64 -exec rm -rf {} +
rm -rf "$nm/webgpu/build" "$nm/@webgpu"

echo "gpu-pack: compressing" >&2
mkdir -p "$(dirname "$out")"
tar -C "$work" -cf - acnn | xz -T0 -9 > "$out.tmp"
mv "$out.tmp" "$out"
size=$(stat -c %s "$out")
echo "gpu-pack: wrote $out ($((size / 1024 / 1024)) MiB; $(du -sh "$stage" | cut -f1) unpacked)"
if [ "$size" -ge "$limit" ]; then echo "gpu-pack: the archive is over 64 MiB" >&2; exit 1; fi

if [ "$dry" = 1 ]; then
  check="$work/check"
  mkdir -p "$check"
  tar -C "$check" -xJf "$out"
  # A bare PATH: the unpacked copy must run with its own Node, not this machine's.
  env -i HOME="$check" PATH=/usr/bin:/bin bash "$check/acnn/scripts/gpu-run.sh" --doctor-only "$check/results"
  echo "gpu-pack: dry run passed (unpacked into a temporary folder, doctor ran with the bundled Node)"
fi
