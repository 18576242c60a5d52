#!/usr/bin/env python3
"""PyTorch peer of benchmarks/training.bench.ts: prints one JSON line
{"torch": version, "ms": {"mlp": {threads: ms}, "cnn": {...}, "mlp_infer_b1": {...}}}.

mlp: nn.Sequential 784-512-512-10 with ReLU, batch 128; cnn: Conv2d(1,32,3) ReLU MaxPool2d(2)
Conv2d(32,64,3) ReLU MaxPool2d(2) Flatten Linear(1600,128) ReLU Linear(128,10), batch 64 on
1x28x28. One step = forward, F.cross_entropy on int class labels, zero_grad, backward,
Adam(lr=1e-3).step(), the same work as ravdl's train_on_batch. Threads: torch.set_num_threads(t)
and, where torch uses OpenBLAS, openblas_set_num_threads(t). mlp_infer_b1: the MLP on one
sample, model.eval() under torch.no_grad(). Each figure is the median ms per call after warm-up.
Usage: torch_training.py --threads 1,2 [--time-ms 500]
"""
import argparse
import json

from timing import blas_threads_setter, median_ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--time-ms", type=float, default=500)
    args = ap.parse_args()
    try:
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
    except ImportError as e:
        print(json.dumps({"error": f"torch is not importable: {e}"}))
        return
    torch.manual_seed(0)

    mlp = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    cnn = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Linear(128, 10),
    )

    def train_step(model, x_shape):
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        x = torch.randn(*x_shape)
        y = torch.randint(0, 10, (x_shape[0],))

        def step():
            model.train()
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss.item()  # ravdl's train_on_batch returns the loss as a number

        return step

    x1 = torch.randn(1, 784)

    def infer():
        mlp.eval()
        with torch.no_grad():
            mlp(x1)

    work = {"mlp": train_step(mlp, (128, 784)), "cnn": train_step(cnn, (64, 1, 28, 28)), "mlp_infer_b1": infer}
    out = {name: {} for name in work}
    warmup_ms = min(300, args.time_ms)
    set_blas_threads = blas_threads_setter()
    for t in [int(s) for s in args.threads.split(",") if s]:
        torch.set_num_threads(t)
        if set_blas_threads:
            set_blas_threads(t)
        for name, fn in work.items():
            out[name][str(t)] = median_ms(fn, args.time_ms, warmup_ms)
    print(json.dumps({"torch": torch.__version__, "openblas_capped": set_blas_threads is not None, "ms": out}))


if __name__ == "__main__":
    main()
