#!/usr/bin/python3
"""Peer baseline for riskgrid: scikit-learn MLPClassifier on riskgrid's split.

Usage:
  /usr/bin/python3 bench/peer_sklearn.py CSV --label Y --drop ID \
      --seed 42 --test-fraction 0.2 --epochs 10 --batch 32 --hidden 128 \
      [--threads 1] [--random-state 0] [--alphas 0,1e-4]
      [--riskgrid-h5 OUT.h5] [--self-test]

Reproduces riskgrid's train/test split and standardisation exactly
(src/rng.c, src/dataset.c), then trains two MLPClassifier models with the
riskgrid architecture and optimiser settings: alpha=0 (riskgrid has no L2
penalty) and alpha=1e-4 (sklearn's default).  Prints one "split" line and
one line per model, as space-separated key=value pairs:

  split n_rows=.. n_train=.. n_test=.. n_features=.. positive_rate=..
  model=sklearn-mlp alpha=0 random_state=0 threads=1 n_train=.. n_test=.. auc=.. train_s=.. samples_per_s=..

Split: data row g (0-based, file order, header excluded, blank lines
skipped) is a test row iff
  rng_unit(rng_hash3(seed, 1, g)) < test_fraction
with rng_mix64 = SplitMix64's finaliser of x + 0x9e3779b97f4a7c15,
rng_hash3(k, a, b) = mix(mix(mix(k) ^ a) ^ b), rng_unit(b) = (b >> 11) * 2^-53.
Standardisation: train-row mean and population std per feature; a feature
with std 0 is only centred.

Only numeric CSVs are supported (no categorical/one-hot encoding): that is
all the UCI credit data needs.
"""
import argparse
import os
import sys


def _early_threads(argv):
    """Value of --threads from argv, read before numpy is imported."""
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return "1"


_THREADS = _early_threads(sys.argv[1:])
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
           "BLIS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_v] = _THREADS

import contextlib  # noqa: E402
import csv  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

try:
    from threadpoolctl import threadpool_limits  # noqa: E402
except ImportError:  # pragma: no cover
    threadpool_limits = None

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

# ---------------------------------------------------------------------------
# riskgrid's counter-based RNG (src/rng.c), vectorised over uint64 arrays.

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = (np.uint64(s) for s in (30, 27, 31, 11))
RNG_STREAM_SPLIT = 1


def rng_mix64(x):
    """SplitMix64 output function on x + golden (uint64, wraps mod 2^64)."""
    x = np.asarray(x, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = x + _GOLDEN
        x = (x ^ (x >> _S30)) * _M1
        x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


def rng_hash3(key, a, b):
    key = np.asarray(key, dtype=np.uint64)
    a = np.asarray(a, dtype=np.uint64)
    b = np.asarray(b, dtype=np.uint64)
    return rng_mix64(rng_mix64(rng_mix64(key) ^ a) ^ b)


def rng_unit(bits):
    # (bits >> 11) < 2^53 is exact in float64; * 2^-53 is exact too.
    return (np.asarray(bits, dtype=np.uint64) >> _S11).astype(np.float64) * 2.0 ** -53


def test_mask(n_rows, seed, test_fraction):
    g = np.arange(n_rows, dtype=np.uint64)
    return rng_unit(rng_hash3(np.uint64(seed), np.uint64(RNG_STREAM_SPLIT), g)) < test_fraction


# Reference values printed by a tiny C program linked against src/rng.c:
#   rng_hash3(42, 1, g) and rng_unit of it.
_REFERENCE = [
    (0, 10646091845267208524, 0.57712579535594599),
    (1, 6266766552776962338, 0.33972209554901389),
    (2, 17592914093553962002, 0.95371378402910267),
    (3, 10717792572613970916, 0.58101269957385349),
    (4, 12737624477140844662, 0.69050800652103206),
    (5, 17463878641602073508, 0.94671875816240836),
    (29999, 7024448208148469478, 0.38079610038932388),
    (123456789, 5101498080844990997, 0.27655276510913851),
]
# ...and the same program's count of test rows among g = 0..29999 at
# seed 42, test_fraction 0.2 (riskgrid's UCI run reports n_test 5968 too).
_REFERENCE_NTEST = (30000, 42, 0.2, 5968)


def self_test():
    g = np.array([r[0] for r in _REFERENCE], dtype=np.uint64)
    h = rng_hash3(np.uint64(42), np.uint64(1), g)
    u = rng_unit(h)
    for i, (gi, hi, ui) in enumerate(_REFERENCE):
        if int(h[i]) != hi or float(u[i]) != ui:
            raise AssertionError("rng mismatch at g=%d: got %d %.17g, want %d %.17g"
                                 % (gi, int(h[i]), float(u[i]), hi, ui))
    n, seed, tf, want = _REFERENCE_NTEST
    got = int(test_mask(n, seed, tf).sum())
    if got != want:
        raise AssertionError("n_test mismatch: got %d, want %d" % (got, want))


# ---------------------------------------------------------------------------
# data

def read_csv(path, label, drop):
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rd = csv.reader(fh)
        header = next(rd)
        rows = [r for r in rd if len(r) > 0 and not (len(r) == 1 and r[0].strip() == "")]
    header = [h.strip() for h in header]
    if label not in header:
        sys.exit("peer_sklearn: label column %r not in header %r" % (label, header))
    for d in drop:
        if d not in header:
            sys.exit("peer_sklearn: drop column %r not in header" % d)
    feat_cols = [i for i, h in enumerate(header) if h != label and h not in drop]
    try:
        data = np.array(rows, dtype=np.float64)
    except ValueError as e:
        sys.exit("peer_sklearn: non-numeric field (only numeric CSVs are supported): %s" % e)
    if data.ndim != 2 or data.shape[1] != len(header):
        sys.exit("peer_sklearn: ragged CSV")
    x = data[:, feat_cols]
    y = data[:, header.index(label)].astype(np.int64)
    return x, y, [header[i] for i in feat_cols]


def standardise(x_train, x_test):
    mean = x_train.mean(axis=0)
    std = np.sqrt(((x_train - mean) ** 2).mean(axis=0))  # population std
    sd = np.where(std > 0.0, std, 1.0)
    return (x_train - mean) / sd, (x_test - mean) / sd, mean, std


def compare_h5(path, n_train, n_test, mean, std):
    """Return (ok, message) comparing with a riskgrid output file."""
    import h5py
    with h5py.File(path, "r") as f:
        rt, re_ = int(f["/data"].attrs["n_train"]), int(f["/data"].attrs["n_test"])
        rmean, rstd = f["/data/mean"][...], f["/data/std"][...]
    ok = (rt == n_train and re_ == n_test)
    dm = float(np.max(np.abs(rmean - mean) / np.maximum(np.abs(mean), 1e-300)))
    ds = float(np.max(np.abs(rstd - std) / np.maximum(np.abs(std), 1e-300)))
    msg = ("h5check riskgrid_n_train=%d riskgrid_n_test=%d match=%s "
           "mean_max_rel_diff=%.3g std_max_rel_diff=%.3g" % (rt, re_, "yes" if ok else "NO", dm, ds))
    return ok, msg


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("csv")
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
    x, y, _names = read_csv(a.csv, a.label, drop)
    is_test = test_mask(len(y), a.seed, a.test_fraction)
    xtr, xte, mean, std = standardise(x[~is_test], x[is_test])
    ytr, yte = y[~is_test], y[is_test]
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
            auc = roc_auc_score(yte, clf.predict_proba(xte)[:, 1])
            print("model=sklearn-mlp alpha=%g random_state=%d threads=%d n_train=%d n_test=%d epochs=%d auc=%.4f "
                  "train_s=%.3f samples_per_s=%.0f"
                  % (alpha, a.random_state, a.threads, len(ytr), len(yte), clf.n_iter_, auc, secs,
                     len(ytr) * a.epochs / secs))
            sys.stdout.flush()
    return rc


if __name__ == "__main__":
    sys.exit(main())
