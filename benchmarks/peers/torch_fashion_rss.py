"""PyTorch peer of benchmarks/fashion-rss.ts: the same CNN (conv32-pool-conv64-pool-dense128-10,
dropout 0.3), Adam lr 1e-3, batch 64, shuffled epochs, on the first --limit Fashion-MNIST training
images read from Debian's dataset-fashion-mnist, then the test set predicted in batches of 256.
Prints one JSON line: peak RSS (ru_maxrss), RSS after each epoch, accuracy."""
import argparse
import gzip
import json
import os
import resource
import sys
import time

from timing import blas_threads_setter

DIR = "/usr/share/datasets/fashion-mnist"


def read_idx(name):
    import numpy as np

    for path in (os.path.join(DIR, name), os.path.join(DIR, name + ".gz")):
        if os.path.exists(path):
            data = (gzip.open if path.endswith(".gz") else open)(path, "rb").read()
            nd = data[3]
            dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(nd)]
            return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)
    raise FileNotFoundError(f"{name} not found in {DIR} (apt-get install dataset-fashion-mnist)")


def rss_mb():
    with open("/proc/self/statm") as f:
        return round(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--limit", type=int, default=20000)
    p.add_argument("--threads", type=int, default=0)
    a = p.parse_args()
    try:
        import numpy as np
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
    except ImportError as e:
        print(json.dumps({"error": f"{e} (apt-get install python3-torch)"}))
        return
    if a.threads > 0:
        torch.set_num_threads(a.threads)
        cap = blas_threads_setter()
        if cap:
            cap(a.threads)
    torch.manual_seed(42)
    X = torch.from_numpy(read_idx("train-images-idx3-ubyte")[: a.limit].astype(np.float32) / 255).reshape(-1, 1, 28, 28)
    y = torch.from_numpy(read_idx("train-labels-idx1-ubyte")[: a.limit].astype(np.int64))
    Xt = torch.from_numpy(read_idx("t10k-images-idx3-ubyte").astype(np.float32) / 255).reshape(-1, 1, 28, 28)
    yt = torch.from_numpy(read_idx("t10k-labels-idx1-ubyte").astype(np.int64))
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10),
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    epoch_rss = []
    t0 = time.perf_counter()
    for _ in range(a.epochs):
        model.train()
        order = torch.randperm(len(X))
        for b in range(0, len(X), 64):
            idx = order[b: b + 64]
            opt.zero_grad()
            F.cross_entropy(model(X[idx]), y[idx]).backward()
            opt.step()
        epoch_rss.append(rss_mb())
    train_seconds = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(Xt[b: b + 256]).argmax(1) for b in range(0, len(Xt), 256)])
    acc = (pred == yt).float().mean().item()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peakMB": round(peak, 1), "epochRssMB": epoch_rss, "accuracy": acc, "trainSeconds": train_seconds, "torch": torch.__version__}))


if __name__ == "__main__":
    sys.exit(main())
