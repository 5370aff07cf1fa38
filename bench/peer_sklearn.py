#!/usr/bin/python3
"""Peer baseline for riskgrid: scikit-learn MLPClassifier on riskgrid's split.

Usage:
  /usr/bin/python3 bench/peer_sklearn.py DATA --label Y --drop ID \
      --seed 42 --test-fraction 0.2 --epochs 10 --batch 32 --hidden 128 \
      [--threads 1] [--random-state 0] [--alphas 0,1e-4] [--dtype float64]
      [--format auto|csv|hdf5] [--riskgrid-h5 OUT.h5] [--self-test]

DATA is a numeric CSV or an HDF5 file with datasets "features" [n, F] and
the label (--label, e.g. "label") [n], as riskgrid reads them.

Reproduces riskgrid's train/test split and standardisation exactly
(src/rng.c, src/dataset.c), then trains two MLPClassifier models with the
riskgrid architecture and optimiser settings: alpha=0 (riskgrid has no L2
penalty) and alpha=1e-4 (sklearn's default).  Prints one "split" line and
one line per model, as space-separated key=value pairs:

  split n_rows=.. n_train=.. n_test=.. n_features=.. positive_rate=..
  model=sklearn-mlp alpha=0 random_state=0 threads=1 n_train=.. n_test=.. auc=.. train_s=.. samples_per_s=.. dtype=.. blas=..

With more than two classes the AUC is the macro one-vs-rest AUC (riskgrid's
/eval/auc for softmax models).  --dtype float32 trains in float32 (sklearn
keeps float32 input in float32; about 2x faster than float64).

Split: data row g (0-based, file order, header excluded, blank lines
skipped) is a test row iff
  rng_unit(rng_hash3(seed, 1, g)) < test_fraction
with rng_mix64 = SplitMix64's finaliser of x + 0x9e3779b97f4a7c15,
rng_hash3(k, a, b) = mix(mix(mix(k) ^ a) ^ b), rng_unit(b) = (b >> 11) * 2^-53.
Standardisation: train-row mean and population std per feature; a feature
with std 0 is only centred.

Only numeric CSVs are supported (no categorical/one-hot encoding): that is
all the UCI credit data needs.  The split code is in peer_common.py.
"""
import argparse
import contextlib
import sys
import time
import warnings

import peer_common as pc  # noqa: E402  (sets the *_NUM_THREADS variables before numpy loads)
import numpy as np  # noqa: E402

try:
    from threadpoolctl import threadpool_limits  # noqa: E402
except ImportError:  # pragma: no cover
    threadpool_limits = None

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

# the split, standardisation and RNG self-test live in peer_common.py
# (shared with peer_torch.py); these names are kept for importers
test_mask, standardise, self_test, compare_h5 = pc.test_mask, pc.standardise, pc.self_test, pc.compare_h5


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("csv", metavar="DATA")
    ap.add_argument("--format", choices=("auto", "csv", "hdf5"), default="auto",
                    help="input format (auto: .h5/.hdf5 is HDF5)")
    ap.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                    help="training precision (default float64, sklearn's usual)")
    ap.add_argument("--label", default="Y")
    ap.add_argument("--drop", action="append", default=[],
                    help="column to drop (repeatable, or comma-separated)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--test-fraction", type=float, default=0.2)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--random-state", type=int, default=0,
                    help="MLPClassifier random_state (weight init and shuffling; default 0)")
    ap.add_argument("--alphas", default="0,1e-4",
                    help="L2 penalties to train, comma-separated (default 0,1e-4)")
    ap.add_argument("--riskgrid-h5", help="riskgrid output to check n_train/n_test (and mean/std) against")
    ap.add_argument("--self-test", action="store_true", help="only run the RNG unit check")
    a = ap.parse_args()

    self_test()  # always: cheap, and a wrong split makes the comparison meaningless
    if a.self_test:
        print("self-test ok")
        return 0

    drop = [d for item in a.drop for d in item.split(",") if d]
    x, y, _names = pc.load(a.csv, a.label, drop, a.format, prog="peer_sklearn")
    xtr, ytr, xte, yte, mean, std = pc.split(x, y, a.seed, a.test_fraction)
    if a.dtype == "float32":
        xtr, xte = xtr.astype(np.float32), xte.astype(np.float32)
    print("split n_rows=%d n_train=%d n_test=%d n_features=%d positive_rate=%.4f"
          % (len(y), len(ytr), len(yte), x.shape[1], float(y.mean())))
    rc = 0
    if a.riskgrid_h5:
        ok, msg = compare_h5(a.riskgrid_h5, len(ytr), len(yte), mean, std)
        print(msg)
        if not ok:
            rc = 3
    sys.stdout.flush()

    limiter = threadpool_limits(limits=a.threads) if threadpool_limits else contextlib.nullcontext()
    with limiter:
        for alpha in (float(s) for s in a.alphas.split(",")):
            clf = MLPClassifier(hidden_layer_sizes=(a.hidden,), activation="relu", solver="adam",
                                batch_size=a.batch, learning_rate_init=1e-3, max_iter=a.epochs,
                                shuffle=True, random_state=a.random_state, tol=0.0,
                                n_iter_no_change=a.epochs + 1, epsilon=1e-7, alpha=alpha)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                t0 = time.perf_counter()
                clf.fit(xtr, ytr)
                secs = time.perf_counter() - t0
            proba = clf.predict_proba(xte)
            if proba.shape[1] == 2:
                auc = roc_auc_score(yte, proba[:, 1])
            else:
                auc = roc_auc_score(yte, proba, multi_class="ovr", average="macro")
            print("model=sklearn-mlp alpha=%g random_state=%d threads=%d n_train=%d n_test=%d epochs=%d auc=%.4f "
                  "train_s=%.3f samples_per_s=%.0f dtype=%s blas=%s"
                  % (alpha, a.random_state, a.threads, len(ytr), len(yte), clf.n_iter_, auc, secs,
                     len(ytr) * a.epochs / secs, a.dtype, pc.blas_info()))
            sys.stdout.flush()
    return rc


if __name__ == "__main__":
    sys.exit(main())
