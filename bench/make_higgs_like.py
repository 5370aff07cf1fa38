#!/usr/bin/env python3
"""\\file bench/make_higgs_like.py  Synthetic HIGGS-shaped data (N x 28 float32
features, binary label with a non-linear signal, about 53% positive like
HIGGS) as riskgrid's HDF5 input: datasets "features" [N, 28] and "label" [N].

usage: /usr/bin/python3 bench/make_higgs_like.py OUT.h5 [N] [SEED]"""
import sys
import numpy as np
import h5py

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000000
rng = np.random.default_rng(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
f = 28
x = rng.standard_normal((n, f), dtype=np.float32)
x[:, 21:] = np.abs(x[:, 21:]) + 0.5 * np.abs(x[:, :7])  # 7 positive "high-level" features
w = rng.standard_normal(f).astype(np.float32) / np.sqrt(f)
z = x @ w + 0.8 * np.tanh(x[:, 0] * x[:, 1]) - 0.5 * (x[:, 2] ** 2 - 1) + 0.6 * np.sin(2 * x[:, 3])
z += 0.9 * rng.standard_normal(n).astype(np.float32)
label = (z > np.quantile(z, 0.47)).astype(np.int32)
with h5py.File(out, "w") as h:
    h.create_dataset("features", data=x.astype(np.float32))
    h.create_dataset("label", data=label)
