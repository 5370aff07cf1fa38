#!/usr/bin/python3
"""\\file check_gen_signal.py
Check that `riskgrid gen` output carries a clearly non-linear signal.

Usage: check_gen_signal.py DATA.csv

Reads the CSV (header line; column `default` is the 0/1 label, `id` is
dropped; text columns are one-hot encoded, all others are numbers), makes a
fixed stratified 75/25 split (random_state=0), standardises with the train
mean/std, and fits
  - LogisticRegression (lbfgs, max_iter=1000), and
  - MLPClassifier(hidden_layer_sizes=(128,), max_iter=50, random_state=0).
Prints both test AUCs.  Exit status 0 iff
  AUC_mlp >= AUC_lr + 0.03  and  AUC_mlp > 0.80,
1 if the check fails, 2 on a usage or input error.
"""
import csv
import sys
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

MIN_GAP = 0.03
MIN_MLP_AUC = 0.80


def load(path):
    """Return (X, y, feature names) with categoricals one-hot (sorted values)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    if len(rows) < 2:
        raise ValueError(f"{path}: no data rows")
    header, body = rows[0], rows[1:]
    if "default" not in header:
        raise ValueError(f"{path}: no 'default' column")
    cols = list(zip(*body))
    y = np.array([int(v) for v in cols[header.index("default")]], dtype=np.int64)
    blocks, names = [], []
    for j, name in enumerate(header):
        if name in ("id", "default"):
            continue
        vals = cols[j]
        try:
            blocks.append(np.array([float(v) for v in vals], dtype=np.float64)[:, None])
            names.append(name)
        except ValueError:
            cats = sorted(set(vals))
            arr = np.array(vals)
            blocks.append(np.stack([(arr == c).astype(np.float64) for c in cats], axis=1))
            names.extend(f"{name}={c}" for c in cats)
    return np.hstack(blocks), y, names


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        x, y, names = load(argv[1])
    except (OSError, ValueError) as e:
        print(f"check_gen_signal: {e}", file=sys.stderr)
        return 2
    if len(set(y.tolist())) != 2:
        print("check_gen_signal: the label needs both classes", file=sys.stderr)
        return 2
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    mu, sd = xtr.mean(axis=0), xtr.std(axis=0)
    sd[sd == 0] = 1.0
    xtr, xte = (xtr - mu) / sd, (xte - mu) / sd

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    lr = LogisticRegression(max_iter=1000).fit(xtr, ytr)
    auc_lr = roc_auc_score(yte, lr.predict_proba(xte)[:, 1])
    mlp = MLPClassifier(hidden_layer_sizes=(128,), max_iter=50, random_state=0).fit(xtr, ytr)
    auc_mlp = roc_auc_score(yte, mlp.predict_proba(xte)[:, 1])

    ok = auc_mlp >= auc_lr + MIN_GAP and auc_mlp > MIN_MLP_AUC
    print(f"rows={len(y)} features={x.shape[1]} positive_rate={y.mean():.4f}")
    print(f"AUC logistic_regression={auc_lr:.4f}")
    print(f"AUC mlp_128={auc_mlp:.4f}")
    print(f"gap={auc_mlp - auc_lr:+.4f} (need >= {MIN_GAP}, mlp > {MIN_MLP_AUC}): "
          f"{'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
