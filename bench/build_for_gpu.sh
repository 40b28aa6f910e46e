#!/usr/bin/env bash
# Builds the CUDA binaries for the GPU machine, which has no Rust toolchain and
# no network: runner itself and the device_step benchmark, into .gpu/*.xz (git
# ignores it; carry it to the GPU machine with the working tree). Needs no CUDA
# toolkit here: the binaries load libcuda and NVRTC when they start.
set -euo pipefail
cd "$(dirname "$0")/.."
# The GPU machine's driver is CUDA 13.0 (see docs/gpu.md#building).
export CUDARC_CUDA_VERSION="${CUDARC_CUDA_VERSION:-13000}"
cargo build --release --features cuda
bench=$(cargo bench --features cuda --bench device_step --no-run 2>&1 |
  sed -n 's/.*Executable .*(\(.*device_step-[^)]*\)).*/\1/p' | tail -1)
[ -x "$bench" ] || { echo "could not find the device_step benchmark binary" >&2; exit 1; }
# Stripped and xz-compressed (about 9 MB each instead of 60), so that both fit in
# what travels to the GPU machine; the scripts there unpack them.
rm -rf .gpu && mkdir -p .gpu
for pair in "target/release/runner:runner" "$bench:device_step"; do
  strip -o ".gpu/${pair##*:}" "${pair%%:*}"
  xz -T0 -6 ".gpu/${pair##*:}"
done
# MNIST for the full-scale cell (a symbolic link would not travel): use it there
# with `-o dataset.root=.gpu/mnist`.
if [ -d data/mnist ]; then
  mkdir -p .gpu/mnist
  cp -L data/mnist/*-ubyte* .gpu/mnist/
fi
ls -l .gpu
