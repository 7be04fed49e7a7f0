"""cuBLAS float32 baseline for the GPU check: torch.matmul at n³ with TF32 off (plain FP32 FMA, no tensor cores).

Timed like ShardGen.GpuCheck: 3 warm-up products, then the median of 7 batches of 10, with CUDA events.
Prints RESULT lines in the same key=value form.
"""
import sys

import torch

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.set_float32_matmul_precision("highest")

sizes = [int(s) for s in sys.argv[1:]] or [2048, 4096]
print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}, TF32 off")
for n in sizes:
    a = torch.rand(n, n, device="cuda") * 2 - 1
    b = torch.rand(n, n, device="cuda") * 2 - 1
    for _ in range(3):
        c = a @ b
    torch.cuda.synchronize()
    rates = []
    for _ in range(7):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(10):
            c = a @ b
        end.record()
        end.synchronize()
        rates.append(2.0 * n**3 * 10 / (start.elapsed_time(end) / 1e3) / 1e9)
    rates.sort()
    print(f"RESULT torch_{n}_gflops={rates[3]:.1f}")
