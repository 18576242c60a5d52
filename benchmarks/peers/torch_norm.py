#!/usr/bin/env python3
"""PyTorch peer of benchmarks/norm.bench.ts: prints one JSON line {"torch": version, "ms": {workload: {threads: ms}}}.

Calls the ATen kernels directly (no autograd graph), the same work ravdl's kernels do:
batchnorm2d = native_batch_norm + native_batch_norm_backward (training, affine, running stats);
maxpool2d (k2, s2, on (32,64,32,32)) = max_pool2d_with_indices + max_pool2d_with_indices_backward;
cross-entropy = _log_softmax + nll_loss_forward + nll_loss_backward + _log_softmax_backward_data.
Usage: torch_norm.py --threads 1,2 [--time-ms 500]
"""
import argparse
import json
import sys

from timing import median_ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--time-ms", type=float, default=500)
    args = ap.parse_args()
    try:
        import torch
    except ImportError as e:
        print(json.dumps({"error": f"torch is not importable: {e}"}))
        return
    aten = torch.ops.aten
    torch.manual_seed(0)

    x = torch.randn(32, 64, 16, 16)
    w, b = torch.rand(64) + 0.5, torch.randn(64)
    rm, rv = torch.zeros(64), torch.ones(64)
    gy = torch.randn_like(x)

    def bn():
        y, sm, si = aten.native_batch_norm(x, w, b, rm, rv, True, 0.1, 1e-5)
        aten.native_batch_norm_backward(gy, x, w, rm, rv, sm, si, True, 1e-5, [True, True, True])

    xp = torch.randn(32, 64, 32, 32)
    gp = torch.randn(32, 64, 16, 16)

    def maxpool():
        y, idx = aten.max_pool2d_with_indices(xp, [2, 2], [2, 2])
        aten.max_pool2d_with_indices_backward(gp, xp, [2, 2], [2, 2], [0, 0], [1, 1], False, idx)

    def ce_for(n, c):
        z = torch.randn(n, c)
        t = torch.randint(0, c, (n,))
        one = torch.ones(())

        def run():
            lp = aten._log_softmax(z, 1, False)
            loss, total = aten.nll_loss_forward(lp, t, None, 1, -100)
            glp = aten.nll_loss_backward(one, lp, t, None, 1, -100, total)
            aten._log_softmax_backward_data(glp, lp, 1, torch.float32)

        return run

    work = {"batchnorm2d": bn, "maxpool2d": maxpool, "ce_128x10": ce_for(128, 10), "ce_512x1000": ce_for(512, 1000)}
    out = {name: {} for name in work}
    with torch.no_grad():
        for t in [int(s) for s in args.threads.split(",") if s]:
            torch.set_num_threads(t)
            for name, fn in work.items():
                out[name][str(t)] = median_ms(fn, args.time_ms)
    print(json.dumps({"torch": torch.__version__, "ms": out}))


if __name__ == "__main__":
    sys.exit(main())
