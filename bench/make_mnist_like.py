#!/usr/bin/env python3
"""\\file bench/make_mnist_like.py  Synthetic MNIST-shaped data (N x 784 float32
features in [0, 1], 10 classes with a learnable signal) as riskgrid's HDF5
input: datasets "features" [N, 784] and "label" [N].

usage: /usr/bin/python3 bench/make_mnist_like.py OUT.h5 [N] [SEED]"""
import sys
import numpy as np
import h5py

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 60000
rng = np.random.default_rng(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
centres = rng.random((10, 784), dtype=np.float32)
label = rng.integers(0, 10, n).astype(np.int32)
x = np.clip(centres[label] * 0.6 + rng.random((n, 784), dtype=np.float32) * 0.4, 0, 1).astype(np.float32)
with h5py.File(out, "w") as f:
    f.create_dataset("features", data=x)
    f.create_dataset("label", data=label)
