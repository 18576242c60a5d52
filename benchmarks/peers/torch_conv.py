#!/usr/bin/env python3
"""PyTorch peer of benchmarks/conv.bench.ts: times conv2d forward and forward+backward
(input, weight and bias gradients) on the same shapes, at each thread count, and prints one
JSON document: {"torch": version, "results": [{"workload", "threads", "fwd_ms", "fwdbwd_ms"}]}.
Usage: /usr/bin/python3 benchmarks/peers/torch_conv.py --threads 1,2 [--shape INDEX] [--quick]
"""
import argparse
import json
import sys

from timing import blas_threads_setter, median_ms

# (name, N, Cin, H, W, Cout, k, padding): kept in sync with SHAPES in benchmarks/conv.bench.ts.
SHAPES = [
    ("N=32 3x32x32->64 k3 p1", 32, 3, 32, 32, 64, 3, 1),
    ("N=32 64x16x16->128 k3 p1", 32, 64, 16, 16, 128, 3, 1),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--shape", type=int, default=-1, help="index into SHAPES (default: all)")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    try:
        import torch
        import torch.nn.functional as F
    except ImportError as e:  # the TS side reports the peer as unavailable
        print(json.dumps({"error": f"torch is not importable: {e}"}))
        return 0
    budget = 0.3 if args.quick else 1.0
    torch.manual_seed(0)
    results = []
    set_blas_threads = blas_threads_setter()
    for t in [int(v) for v in args.threads.split(",") if v]:
        torch.set_num_threads(t)
        if set_blas_threads:
            set_blas_threads(t)
        for name, n, cin, h, w, cout, k, p in SHAPES if args.shape < 0 else [SHAPES[args.shape]]:
            x = torch.randn(n, cin, h, w)
            wt = torch.randn(cout, cin, k, k) * 0.1
            b = torch.randn(cout)
            with torch.no_grad():
                gy = torch.randn_like(F.conv2d(x, wt, b, padding=p))

            def fwd():
                with torch.no_grad():
                    F.conv2d(x, wt, b, padding=p)

            xg, wg, bg = (v.clone().requires_grad_(True) for v in (x, wt, b))

            def fwdbwd():
                xg.grad = wg.grad = bg.grad = None
                F.conv2d(xg, wg, bg, padding=p).backward(gy)

            results.append({"workload": name, "threads": t, "fwd_ms": median_ms(fwd, budget * 1000, max_samples=1000),
                            "fwdbwd_ms": median_ms(fwdbwd, budget * 1000, max_samples=1000)})
    print(json.dumps({"torch": torch.__version__, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
