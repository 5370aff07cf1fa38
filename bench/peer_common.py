"""Shared code of riskgrid's Python peers (bench/peer_sklearn.py,
bench/peer_torch.py): riskgrid's train/test split and standardisation, data
loading (numeric CSV or HDF5), thread pinning and a tie-aware ROC AUC.

Import this module BEFORE numpy: on import it sets OMP/OPENBLAS/MKL/...
_NUM_THREADS to the value of --threads on the command line (default 1), so
that the BLAS the peer loads starts with that many threads.

Split (riskgrid src/rng.c, src/dataset.c): data row g (0-based, file order,
header excluded, blank lines skipped) is a test row iff
  rng_unit(rng_hash3(seed, 1, g)) < test_fraction
with rng_mix64 = SplitMix64's finaliser of x + 0x9e3779b97f4a7c15,
rng_hash3(k, a, b) = mix(mix(mix(k) ^ a) ^ b), rng_unit(b) = (b >> 11) * 2^-53.
The same rule holds for CSV and HDF5 input (g is the row of the feature
matrix).  Standardisation: train-row mean and population std per feature (in
float64); a feature with std 0 is only centred.
"""
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


THREADS = _early_threads(sys.argv[1:])
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
           "BLIS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_v] = THREADS

import csv  # noqa: E402

import numpy as np  # noqa: E402

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

def read_csv(path, label, drop, prog="peer"):
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rd = csv.reader(fh)
        header = next(rd)
        rows = [r for r in rd if len(r) > 0 and not (len(r) == 1 and r[0].strip() == "")]
    header = [h.strip() for h in header]
    if label not in header:
        sys.exit("%s: label column %r not in header %r" % (prog, label, header))
    for d in drop:
        if d not in header:
            sys.exit("%s: drop column %r not in header" % (prog, d))
    feat_cols = [i for i, h in enumerate(header) if h != label and h not in drop]
    try:
        data = np.array(rows, dtype=np.float64)
    except ValueError as e:
        sys.exit("%s: non-numeric field (only numeric CSVs are supported): %s" % (prog, e))
    if data.ndim != 2 or data.shape[1] != len(header):
        sys.exit("%s: ragged CSV" % prog)
    x = data[:, feat_cols]
    y = data[:, header.index(label)].astype(np.int64)
    return x, y, [header[i] for i in feat_cols]


def read_hdf5(path, features="features", label="label"):
    import h5py
    with h5py.File(path, "r") as f:
        x = f[features][...].astype(np.float64)
        y = f[label][...].astype(np.int64).reshape(-1)
    return x, y, ["f%d" % i for i in range(x.shape[1])]


def load(path, label="label", drop=(), fmt="auto", hdf5_features="features", prog="peer"):
    """(x float64 [n, F], y int64 [n], names) from a numeric CSV or an HDF5
    file (datasets hdf5_features [n, F] and label [n], as riskgrid reads)."""
    if fmt == "auto":
        fmt = "hdf5" if path.lower().endswith((".h5", ".hdf5")) else "csv"
    if fmt == "hdf5":
        return read_hdf5(path, hdf5_features, label)
    return read_csv(path, label, list(drop), prog)


def standardise(x_train, x_test):
    mean = x_train.mean(axis=0)
    std = np.sqrt(((x_train - mean) ** 2).mean(axis=0))  # population std
    sd = np.where(std > 0.0, std, 1.0)
    return (x_train - mean) / sd, (x_test - mean) / sd, mean, std


def split(x, y, seed, test_fraction):
    """riskgrid's split + standardisation: (xtr, ytr, xte, yte, mean, std)."""
    is_test = test_mask(len(y), seed, test_fraction)
    xtr, xte, mean, std = standardise(x[~is_test], x[is_test])
    return xtr, y[~is_test], xte, y[is_test], mean, std


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


# ---------------------------------------------------------------------------
# AUC without scikit-learn (the torch peer should not pay for importing it)

def _avg_ranks(s):
    """1-based ranks of s with ties given their average rank."""
    order = np.argsort(s, kind="mergesort")
    ss = s[order]
    n = len(s)
    # start index of each run of equal values
    starts = np.flatnonzero(np.r_[True, ss[1:] != ss[:-1]])
    ends = np.r_[starts[1:], n]
    avg = (starts + ends + 1) / 2.0  # mean of ranks starts+1 .. ends
    r = np.empty(n, dtype=np.float64)
    r[order] = np.repeat(avg, ends - starts)
    return r


def auc_binary(y, score):
    """ROC AUC (Mann-Whitney, ties count half), y in {0,1}."""
    y = np.asarray(y).astype(bool)
    npos, nneg = int(y.sum()), int((~y).sum())
    r = _avg_ranks(np.asarray(score, dtype=np.float64))
    return (r[y].sum() - npos * (npos + 1) / 2.0) / (npos * nneg)


def auc(y, proba):
    """Binary AUC (proba [n] or [n, 2]) or macro one-vs-rest AUC ([n, K]),
    the same definitions as riskgrid's /eval/auc and sklearn's
    roc_auc_score(..., multi_class='ovr', average='macro')."""
    proba = np.asarray(proba)
    if proba.ndim == 1:
        return auc_binary(y, proba)
    if proba.shape[1] == 2:
        return auc_binary(y, proba[:, 1])
    return float(np.mean([auc_binary(np.asarray(y) == k, proba[:, k]) for k in range(proba.shape[1])]))


def blas_info():
    """'openblas 0.3.21 SkylakeX threads=1 (+openmp threads=1)' from threadpoolctl."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover
        return "unknown(no-threadpoolctl)"
    parts = []
    for d in threadpool_info():
        if d.get("user_api") == "blas":
            parts.append("%s-%s:%s:t%d" % (d.get("internal_api"), d.get("version"),
                                           d.get("architecture", "?"), d.get("num_threads", -1)))
        elif d.get("user_api") == "openmp":
            parts.append("omp:t%d" % d.get("num_threads", -1))
    return ",".join(parts) or "none"
