#!/usr/bin/env python3
"""Reference SGEMM rates of numpy and PyTorch on this machine (square float32 matmul, median GFLOP/s).

Prints one JSON object: numpy_gflops, torch_gflops (null when the library is not importable), n, threads.
"""
import argparse
import json
import os
import statistics
import time

ap = argparse.ArgumentParser(description=__doc__)
ap.add_argument("--n", type=int, default=1024)
ap.add_argument("--threads", type=int, default=os.cpu_count())
ap.add_argument("--warmup", type=int, default=2)
ap.add_argument("--iters", type=int, default=10)
args = ap.parse_args()
# BLAS libraries read their thread count when they load.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)


def rate(matmul):
    for _ in range(args.warmup):
        matmul()
    times = []
    for _ in range(args.iters):
        t0 = time.perf_counter_ns()
        matmul()
        times.append((time.perf_counter_ns() - t0) / 1e9)
    return 2 * args.n ** 3 / statistics.median(times) / 1e9


out = {"n": args.n, "threads": args.threads, "numpy_gflops": None, "torch_gflops": None}
try:
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((args.n, args.n), dtype=np.float32)
    b = rng.standard_normal((args.n, args.n), dtype=np.float32)
    c = np.empty_like(a)
    out["numpy_gflops"] = rate(lambda: np.matmul(a, b, out=c))
except ImportError:
    pass
try:
    import torch

    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    ta, tb = torch.randn(args.n, args.n, generator=g), torch.randn(args.n, args.n, generator=g)
    tc = torch.empty(args.n, args.n)
    with torch.inference_mode():
        out["torch_gflops"] = rate(lambda: torch.mm(ta, tb, out=tc))
except ImportError:
    pass
print(json.dumps(out))
