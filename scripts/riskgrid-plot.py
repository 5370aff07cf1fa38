#!/usr/bin/python3
# \file scripts/riskgrid-plot.py  Draws the PNGs of `riskgrid report --png DIR`.
#
#   /usr/bin/python3 scripts/riskgrid-plot.py --metrics REPORT.json OUT.h5 DIR
#
# REPORT.json is `riskgrid report OUT.h5 --format json` (riskgrid writes it
# to DIR/report.json and runs this script).  The numbers come from riskgrid:
# the metrics (calibration table, elasticities, AUCs) from the JSON, the
# arrays (ROC curve, epochs, the demand grid) from the HDF5 file.  Only the
# multi-class ROC curves and the multi-class calibration (top-label
# confidence) are computed here, from /eval/score and /eval/label, because
# the file and the report hold no curve for them.
#
# Output (each 800 x 600 pixels: 8 x 6 inches at 100 dpi, no tight bbox):
#   roc.png             ROC curve(s) with the diagonal, AUC in the legend
#   training.png        training loss and test AUC (95% band) per epoch
#   demand_heatmap.png  D over demand x competition at the grid's service and
#                       marketing values nearest the reference, reference marked
#   calibration.png     mean predicted vs observed default rate per group
#   tornado.png         elasticities of D at the reference point
# Needs numpy, h5py and matplotlib (Debian: python3-numpy python3-h5py
# python3-matplotlib).  Exit code 0, or 1 with a message on stderr.
import argparse
import json
import os
import sys

import numpy as np

try:
    import h5py
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError as e:  # pragma: no cover - depends on the machine
    sys.exit("riskgrid-plot: %s (install python3-matplotlib python3-h5py)" % e)

FIGSIZE = (8, 6)
DPI = 100
FACTORS = ["demand", "competition", "service", "marketing"]


def save(fig, outdir, name):
    path = os.path.join(outdir, name)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    print("riskgrid-plot: wrote %s" % path, file=sys.stderr)


def roc_points(score, positive):
    """ROC of one score vector (scikit-learn's roc_curve without dropping points)."""
    order = np.argsort(-score, kind="stable")
    s, y = score[order], positive[order]
    distinct = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tp = np.cumsum(y)[distinct]
    fp = (distinct + 1) - tp
    tpr = np.r_[0.0, tp / max(y.sum(), 1)]
    fpr = np.r_[0.0, fp / max(len(y) - y.sum(), 1)]
    return fpr, tpr


def plot_roc(f, m, outdir):
    ev = m["eval"]
    fig, ax = plt.subplots(figsize=FIGSIZE)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance (AUC = 0.5)")
    if ev["n_classes"] == 2:
        fpr, tpr = f["eval/roc/fpr"][:], f["eval/roc/tpr"][:]
        if len(fpr) == 0 and "eval/score" in f:
            fpr, tpr = roc_points(f["eval/score"][:].reshape(len(f["eval/label"]), -1)[:, -1],
                                  f["eval/label"][:] != 0)
        ax.plot(fpr, tpr, color="C0", lw=2,
                label="AUC = %.4f [%.4f, %.4f]" % (ev["auc"], ev["auc_lo"], ev["auc_hi"]))
    else:
        score, label = f["eval/score"][:], f["eval/label"][:]
        for c, row in enumerate(ev.get("classes", [])):
            fpr, tpr = roc_points(score[:, c], label == c)
            ax.plot(fpr, tpr, lw=1.2, label="class %d: AUC %.4f" % (c, row["auc"]))
        ax.set_title("one-vs-rest ROC curves, macro AUC %.4f [%.4f, %.4f]"
                     % (ev["auc"], ev["auc_lo"], ev["auc_hi"]))
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    if ev["n_classes"] == 2:
        ax.set_title("ROC curve on the test set (%d rows)" % ev["n_rows"])
    save(fig, outdir, "roc.png")


def plot_training(m, outdir):
    tr = m["train"]
    ep = [r["epoch"] for r in tr]
    fig, (a1, a2) = plt.subplots(2, 1, figsize=FIGSIZE, sharex=True)
    a1.plot(ep, [r["loss"] for r in tr], marker="o", color="C3")
    a1.set_ylabel("training loss")
    a1.grid(alpha=0.3)
    auc = np.array([r["test_auc"] for r in tr], dtype=float)
    lo = np.array([r["auc_lo"] for r in tr], dtype=float)
    hi = np.array([r["auc_hi"] for r in tr], dtype=float)
    a2.fill_between(ep, lo, hi, color="C0", alpha=0.25, label="95% DeLong interval")
    a2.plot(ep, auc, marker="o", color="C0", label="test AUC")
    a2.set_xlabel("epoch")
    a2.set_ylabel("test AUC")
    a2.grid(alpha=0.3)
    a2.legend(loc="lower right", fontsize="small")
    a1.set_title("training")
    fig.tight_layout()
    save(fig, outdir, "training.png")


def edges(v):
    """cell edges around sorted axis values (one value: +-0.05)"""
    v = np.asarray(v, dtype=float)
    if len(v) == 1:
        return np.array([v[0] - 0.05, v[0] + 0.05])
    mid = (v[1:] + v[:-1]) / 2
    return np.r_[v[0] - (mid[0] - v[0]), mid, v[-1] + (v[-1] - mid[-1])]


def plot_heatmap(f, m, outdir):
    g = f["grid"]
    ref = [m["demand"]["reference"][k] for k in FACTORS]
    axes = [g[k][:] for k in FACTORS]
    i_s = int(np.argmin(np.abs(axes[2] - ref[2])))
    i_m = int(np.argmin(np.abs(axes[3] - ref[3])))
    d = g["D"][:, :, i_s, i_m]                      # [demand, competition]
    od, oc = np.argsort(axes[0], kind="stable"), np.argsort(axes[1], kind="stable")
    d = d[od][:, oc]
    fig, ax = plt.subplots(figsize=FIGSIZE)
    mesh = ax.pcolormesh(edges(axes[0][od]), edges(axes[1][oc]), d.T, cmap="viridis", shading="flat")
    fig.colorbar(mesh, ax=ax, label="D")
    ax.plot([ref[0]], [ref[1]], marker="*", markersize=18, color="red", markeredgecolor="white",
            linestyle="none", label="reference point (there D_ref = %.4f)" % m["demand"]["D_ref"])
    ax.set_xlabel("demand")
    ax.set_ylabel("competition")
    ax.set_title("D = AUC x demand x (1 - competition) x service x marketing\n"
                 "at service %g, marketing %g (grid values nearest the reference)"
                 % (axes[2][i_s], axes[3][i_m]))
    ax.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    save(fig, outdir, "demand_heatmap.png")


def plot_calibration(f, m, outdir):
    ev = m["eval"]
    fig, ax = plt.subplots(figsize=FIGSIZE)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    if "calibration" in ev:
        pred = [r["mean_score"] for r in ev["calibration"]]
        obs = [r["observed"] for r in ev["calibration"]]
        ax.plot(pred, obs, marker="o", color="C0", lw=2,
                label="%d equal-count groups (Brier %.4f, HL p = %s)"
                % (len(pred), ev["brier"], "%.3g" % ev["hosmer_lemeshow_p"]
                   if ev.get("hosmer_lemeshow_p") is not None else "n/a"))
        ax.set_xlabel("mean predicted probability of default")
        ax.set_ylabel("observed default rate")
        ax.set_title("calibration on the test set")
    elif "eval/score" in f:
        score, label = f["eval/score"][:], f["eval/label"][:]
        conf = score.max(axis=1)
        hit = (score.argmax(axis=1) == label).astype(float)
        order = np.argsort(conf, kind="stable")
        groups = np.array_split(order, min(10, len(order)))
        ax.plot([conf[g].mean() for g in groups], [hit[g].mean() for g in groups], marker="o", color="C0",
                lw=2, label="top-label confidence, %d equal-count groups" % len(groups))
        ax.set_xlabel("mean confidence of the predicted class")
        ax.set_ylabel("accuracy")
        ax.set_title("calibration (multi-class, top label) on the test set")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")
    save(fig, outdir, "calibration.png")


def plot_tornado(m, outdir):
    el = m["demand"]["elasticity"]
    rows = sorted(el, key=lambda r: abs(r["elasticity"] or 0.0))
    e = np.array([np.nan if r["elasticity"] is None else r["elasticity"] for r in rows])
    names = ["%s at %g\nelasticity %+.3f" % (r["factor"], r["x"], ei) for r, ei in zip(rows, e)]
    fig, ax = plt.subplots(figsize=FIGSIZE)
    y = np.arange(len(rows))
    # first-order change of D for a 10% change of each factor
    ax.barh(y, 10 * e, color="C2", label="factor +10%")
    ax.barh(y, -10 * e, color="C3", label="factor -10%")
    ax.set_yticks(y)
    ax.set_yticklabels(names)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("change of D in % for a 10% change of the factor (first order: elasticity x 10%)")
    ax.set_title("elasticity of D at the reference point, d ln D / d ln x (D_ref = %.4f)"
                 % m["demand"]["D_ref"])
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    save(fig, outdir, "tornado.png")


def main():
    ap = argparse.ArgumentParser(description="draw the riskgrid report PNGs")
    ap.add_argument("--metrics", required=True, help="JSON of riskgrid report --format json")
    ap.add_argument("h5", help="riskgrid result file")
    ap.add_argument("outdir", help="directory for the PNGs")
    a = ap.parse_args()
    try:
        with open(a.metrics) as fh:
            m = json.load(fh)
        os.makedirs(a.outdir, exist_ok=True)
        with h5py.File(a.h5, "r") as f:
            plot_roc(f, m, a.outdir)
            plot_training(m, a.outdir)
            plot_heatmap(f, m, a.outdir)
            plot_calibration(f, m, a.outdir)
            plot_tornado(m, a.outdir)
    except (OSError, KeyError, ValueError) as e:
        sys.exit("riskgrid-plot: %s: %s" % (type(e).__name__, e))


if __name__ == "__main__":
    main()
