#!/usr/bin/python3
"""Peer baseline for riskgrid: a plain PyTorch training loop (and PyTorch DDP
with gloo) on riskgrid's split, standardisation, architecture and optimiser.

Usage:
  /usr/bin/python3 bench/peer_torch.py DATA --label Y [--drop ID] \\
      [--format auto|csv|hdf5] --seed 42 --test-fraction 0.2 --epochs 10 \\
      --batch 32 --hidden 128 [--threads 1] [--ranks 1] [--random-state 0]

DATA is a numeric CSV or an HDF5 file ("features" [n, F] + the label
dataset), split and standardised exactly as riskgrid does (peer_common.py).
Model: Linear(F, H) -> ReLU -> Linear(H, C) in float32; C = 1 with
BCEWithLogitsLoss for two classes, else C = K with CrossEntropyLoss (softmax).
Adam(lr 1e-3, betas (0.9, 0.999), eps 1e-7), no weight decay.

--ranks 1: a plain loop.  Each epoch the training tensors are permuted once
(X[perm], y[perm]: "pre-shuffled tensors", no DataLoader) and then sliced
into batches of --batch rows (the last batch may be short).
--ranks N > 1: N processes (torch.multiprocessing.spawn) in a gloo process
group, DistributedDataParallel; every rank draws the same permutation, takes
every N-th row of it and trains on batches of --batch / N rows, so one step
still consumes --batch rows globally (riskgrid's batch is global too); the
ranks take n_train // N rows each so they run the same number of steps.

Threads: torch.set_num_threads(--threads), set_num_interop_threads(1), and
OMP/OPENBLAS/MKL_NUM_THREADS before torch loads (peer_common).

Timing: train_s is the wall time of the epoch loops only (per-epoch shuffle,
forward, backward, optimiser step; for DDP between two barriers, measured on
rank 0), not loading or evaluation.  samples_per_s = n_train * epochs /
train_s.  The test AUC (after the last epoch; macro one-vs-rest for K > 2)
is computed in numpy, so scikit-learn is not imported.

Output: one "split" line and one line
  model=torch ranks=.. threads=.. n_train=.. n_test=.. epochs=.. auc=.. train_s=.. samples_per_s=.. blas=..
"""
import argparse
import os
import socket
import sys
import time

import peer_common as pc  # noqa: E402  (sets *_NUM_THREADS before numpy/torch load)
import numpy as np  # noqa: E402
import torch  # noqa: E402


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", metavar="DATA")
    ap.add_argument("--label", default="label")
    ap.add_argument("--drop", action="append", default=[])
    ap.add_argument("--format", choices=("auto", "csv", "hdf5"), default="auto")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--test-fraction", type=float, default=0.2)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ranks", type=int, default=1)
    ap.add_argument("--random-state", type=int, default=0)
    return ap.parse_args(argv)


def prepare(a):
    drop = [d for item in a.drop for d in item.split(",") if d]
    x, y, _ = pc.load(a.data, a.label, drop, a.format, prog="peer_torch")
    xtr, ytr, xte, yte, _, _ = pc.split(x, y, a.seed, a.test_fraction)
    k = int(max(y.max() + 1, 2))
    return xtr.astype(np.float32), ytr, xte.astype(np.float32), yte, k


def build(f, h, k):
    c = 1 if k == 2 else k
    model = torch.nn.Sequential(torch.nn.Linear(f, h), torch.nn.ReLU(), torch.nn.Linear(h, c))
    loss = torch.nn.BCEWithLogitsLoss() if c == 1 else torch.nn.CrossEntropyLoss()
    return model, loss, c


def targets(y, c):
    return torch.from_numpy(y.astype(np.float32)).reshape(-1, 1) if c == 1 else torch.from_numpy(y.astype(np.int64))


def predict(model, xte, c):
    with torch.no_grad():
        z = model(torch.from_numpy(xte))
        p = torch.sigmoid(z).reshape(-1) if c == 1 else torch.softmax(z, dim=1)
    return p.numpy()


def train_loop(model, lossf, opt, x, t, epochs, batch, gen):
    n = x.shape[0]
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        xs, ts = x[perm], t[perm]
        for i in range(0, n, batch):
            opt.zero_grad(set_to_none=True)
            lossf(model(xs[i:i + batch]), ts[i:i + batch]).backward()
            opt.step()


def single(a):
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(a.random_state)
    xtr, ytr, xte, yte, k = prepare(a)
    print("split n_rows=%d n_train=%d n_test=%d n_features=%d n_classes=%d"
          % (len(ytr) + len(yte), len(ytr), len(yte), xtr.shape[1], k))
    sys.stdout.flush()
    model, lossf, c = build(xtr.shape[1], a.hidden, k)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    x, t = torch.from_numpy(xtr), targets(ytr, c)
    gen = torch.Generator().manual_seed(a.random_state)
    t0 = time.perf_counter()
    train_loop(model, lossf, opt, x, t, a.epochs, a.batch, gen)
    secs = time.perf_counter() - t0
    auc = pc.auc(yte, predict(model, xte, c))
    print("model=torch ranks=1 threads=%d n_train=%d n_test=%d epochs=%d auc=%.4f train_s=%.3f "
          "samples_per_s=%.0f blas=%s torch=%s"
          % (a.threads, len(ytr), len(yte), a.epochs, auc, secs, len(ytr) * a.epochs / secs,
             pc.blas_info(), torch.__version__))
    return 0


def ddp_worker(rank, a, port):
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=a.ranks)
    torch.manual_seed(a.random_state)  # same initial weights everywhere (DDP broadcasts rank 0's anyway)
    xtr, ytr, xte, yte, k = prepare(a)
    if rank == 0:
        print("split n_rows=%d n_train=%d n_test=%d n_features=%d n_classes=%d"
              % (len(ytr) + len(yte), len(ytr), len(yte), xtr.shape[1], k))
        sys.stdout.flush()
    model, lossf, c = build(xtr.shape[1], a.hidden, k)
    ddp = DDP(model)
    opt = torch.optim.Adam(ddp.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    x, t = torch.from_numpy(xtr), targets(ytr, c)
    n_local = len(ytr) // a.ranks
    b_local = max(a.batch // a.ranks, 1)
    gen = torch.Generator().manual_seed(a.random_state)  # same permutation on every rank
    dist.barrier()
    t0 = time.perf_counter()
    for _ in range(a.epochs):
        perm = torch.randperm(len(ytr), generator=gen)[rank::a.ranks][:n_local]
        xs, ts = x[perm], t[perm]
        for i in range(0, n_local, b_local):
            opt.zero_grad(set_to_none=True)
            lossf(ddp(xs[i:i + b_local]), ts[i:i + b_local]).backward()
            opt.step()
    dist.barrier()
    secs = time.perf_counter() - t0
    if rank == 0:
        auc = pc.auc(yte, predict(model, xte, c))
        print("model=torch-ddp ranks=%d threads=%d n_train=%d n_test=%d epochs=%d auc=%.4f train_s=%.3f "
              "samples_per_s=%.0f blas=%s torch=%s backend=gloo"
              % (a.ranks, a.threads, len(ytr), len(yte), a.epochs, auc, secs, len(ytr) * a.epochs / secs,
                 pc.blas_info(), torch.__version__))
        sys.stdout.flush()
    dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    a = parse(sys.argv[1:])
    pc.self_test()
    if a.ranks <= 1:
        return single(a)
    import torch.multiprocessing as mp
    mp.spawn(ddp_worker, args=(a, free_port()), nprocs=a.ranks, join=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
