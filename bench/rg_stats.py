#!/usr/bin/python3
"""\\file bench/rg_stats.py  key=value summary of one riskgrid output file,
for bench/run.sh:

  n_train n_test epochs F H C ranks train_s samples_per_s auc epoch_sps

samples_per_s = n_train * epochs / train_s (the /timing attribute train_s:
the epoch loops only); epoch_sps is the median of /timing/samples_per_s
(riskgrid's own per-epoch figure, which counts steps x batch rows).

usage: /usr/bin/python3 bench/rg_stats.py OUT.h5"""
import sys

import h5py
import numpy as np

with h5py.File(sys.argv[1], "r") as f:
    n_train = int(f["/data"].attrs["n_train"])
    n_test = int(f["/data"].attrs["n_test"])
    epochs = int(f["/train/loss"].shape[0])
    fh = f["/model/W1"].shape
    hc = f["/model/W2"].shape
    train_s = float(f["/timing"].attrs["train_s"])
    sps = f["/timing/samples_per_s"][...]
    print("n_train=%d n_test=%d epochs=%d F=%d H=%d C=%d ranks=%d train_s=%.4f samples_per_s=%.1f auc=%.4f epoch_sps=%.1f"
          % (n_train, n_test, epochs, fh[0], fh[1], hc[1], int(f.attrs["world_size"]), train_s,
             n_train * epochs / train_s, float(f["/eval/auc"][()]), float(np.median(sps))))
