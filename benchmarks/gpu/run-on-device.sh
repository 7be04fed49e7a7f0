#!/usr/bin/env bash
# Runs on the GPU machine (no .NET there): unpacks the self-contained GPU check carried in .gpu/, runs it, runs the
# cuBLAS baseline in the same call, and prints ShardGen's GEMM rate as a fraction of cuBLAS's. See benchmarks/README.md.
set -euo pipefail
out="${OUT:-/tmp}"
mkdir -p /tmp/gpucheck && tar xzf .gpu/gpucheck.tar.gz -C /tmp/gpucheck
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv | tee "$out/gpu.txt"
/tmp/gpucheck/ShardGen.GpuCheck --backend cuda --size 4096 --devices 2 | tee "$out/shardgen.txt"
python3 benchmarks/gpu/torch_matmul.py 2048 4096 | tee "$out/torch.txt"
for n in 2048 4096; do
  s=$(sed -n "s/^RESULT gemm_${n}_gflops=//p" "$out/shardgen.txt"); t=$(sed -n "s/^RESULT torch_${n}_gflops=//p" "$out/torch.txt")
  python3 -c "print(f'RESULT ratio_${n}={$s/$t:.3f} (ShardGen {$s} / cuBLAS {$t} GFLOP/s)')"
done
