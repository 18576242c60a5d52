#!/usr/bin/env python3
"""PyTorch peer of benchmarks/dispatch.bench.ts: prints one JSON line
{"torch": version, "us": {"add16": us_per_op, "mlp_b1": us_per_step}}.

add16: torch.add on two 16-element float32 tensors (eager, no autograd), per call.
mlp_b1: x(1,64) @ W1(64,32) + b1 -> relu -> @ W2(32,10) + b2, mean squared error, backward,
gradients reset: the same ops ravdl's benchmark dispatches. One thread, like ravdl's row.
Usage: torch_dispatch.py [--time-ms 500]
"""
import argparse
import json

from timing import median_ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-ms", type=float, default=500)
    args = ap.parse_args()
    try:
        import torch
    except ImportError as e:
        print(json.dumps({"error": f"torch is not importable: {e}"}))
        return
    torch.set_num_threads(1)
    torch.manual_seed(0)

    a, b = torch.randn(16), torch.randn(16)
    add = torch.add

    def add_loop():
        for _ in range(1000):
            add(a, b)

    x, y = torch.randn(1, 64), torch.randn(1, 10)
    w1 = (torch.randn(64, 32) * 0.1).requires_grad_()
    b1 = torch.zeros(32).requires_grad_()
    w2 = (torch.randn(32, 10) * 0.1).requires_grad_()
    b2 = torch.zeros(10).requires_grad_()
    params = [w1, b1, w2, b2]

    def mlp_step():
        h = torch.relu(torch.add(torch.matmul(x, w1), b1))
        out = torch.add(torch.matmul(h, w2), b2)
        loss = torch.mean(torch.square(torch.sub(out, y)))
        loss.backward()
        for p in params:
            p.grad = None

    us = {
        "add16": median_ms(add_loop, args.time_ms),  # 1000 calls: ms per loop = µs per call
        "mlp_b1": median_ms(mlp_step, args.time_ms) * 1000,
    }
    print(json.dumps({"torch": torch.__version__, "us": us}))


if __name__ == "__main__":
    main()
