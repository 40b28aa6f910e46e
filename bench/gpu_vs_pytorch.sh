#!/usr/bin/env bash
# On the GPU machine: images/s of runner's training step vs PyTorch eager, same
# networks, losses, batches and optimizer, in one go (see benches/device_step.rs
# for the cases and the environment variables). Uses .gpu/device_step from
# bench/build_for_gpu.sh, or cargo where there is one.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUNNER_BENCH_DEVICE="${RUNNER_BENCH_DEVICE:-cuda}"
# bench/build_for_gpu.sh leaves the binaries xz-compressed.
bench/unpack_gpu.sh
if [ -x .gpu/device_step ]; then
  exec .gpu/device_step
elif command -v cargo >/dev/null; then
  CUDARC_CUDA_VERSION="${CUDARC_CUDA_VERSION:-13000}" exec cargo bench --features cuda --bench device_step
else
  echo "no .gpu/device_step and no cargo: run bench/build_for_gpu.sh on a machine with cargo and copy .gpu/ here" >&2
  exit 2
fi
