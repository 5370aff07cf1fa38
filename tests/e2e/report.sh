#!/usr/bin/env bash
# \file tests/e2e/report.sh  `riskgrid report` and `riskgrid compare`:
#  - text, JSON (parsed by Python's json) and Markdown reports of a binary
#    run; every number of the JSON checked against an independent numpy /
#    scikit-learn / scipy computation on the stored /eval and /grid arrays
#    (Gini, KS and its threshold, Brier, calibration groups, Hosmer-Lemeshow,
#    lift/gains, elasticities against the closed form, top-k grid points);
#  - --png: five PNGs of 800 x 600 pixels (IHDR) that are not blank;
#  - compare: a re-run is "bitwise identical"; a different model on the same
#    test rows gives the paired DeLong z and p of an O(n^2) numpy DeLong;
#  - multi-class: scikit-learn digits (jobs/digits.ini) -> the macro AUC
#    equals roc_auc_score(multi_class='ovr', average='macro') to 1e-12, the
#    report has the per-class table, --png works;
#  - escaping: UTF-8 characters pass whole, a C1 byte is escaped;
#  - errors: missing file, not HDF5, not a result, bad options, no script.
source "$(dirname "$0")/common.sh"
PY=/usr/bin/python3
: "${RG_SRC:?path to the source tree}"
export RISKGRID_SCRIPTS="$RG_SRC/scripts"

"$RISKGRID" gen --rows 3000 --seed 5 --out "$WORK/d.csv" 2>/dev/null
write_job "$WORK/job.ini" "$WORK/d.csv" "reference = 0.7, 0.3, 0.9, 0.95"
"$RISKGRID" run "$WORK/job.ini" --quiet --out "$WORK/a.h5"
mpirun_rg 2 run "$WORK/job.ini" --quiet --out "$WORK/a2.h5"
# same split (same seed), another model
"$RISKGRID" run "$WORK/job.ini" --quiet --out "$WORK/b.h5" --set model.hidden=4 --set train.epochs=1

# ---------------------------------------------------------------- text
"$RISKGRID" report "$WORK/a.h5" > "$WORK/r.txt" || fail "report exited $?"
for s in "Data" "fingerprint" "Training, per epoch" "data.test_path = (none)" "ROC AUC" "Gini (2 AUC - 1)" "Kolmogorov-Smirnov" \
         "Brier score" "Hosmer-Lemeshow" "Calibration:" "Lift and gains:" "D at the reference" "argmax" \
         "Elasticity of D" "Top 10 grid points" "train.seed = 7" "model.hidden = 32"; do
  grep -qF -- "$s" "$WORK/r.txt" || fail "text report lacks '$s'"
done
auc=$("$RG_H5CMP" --get "$WORK/a.h5" /eval/auc)
want=$(printf '%.4f' "$auc")
grep -E "^  ROC AUC +$want \[" "$WORK/r.txt" >/dev/null || fail "text report AUC is not $want: $(grep 'ROC AUC' "$WORK/r.txt")"
[ "$(grep -cE '^ +[0-9]+ +[0-9]+ +([0-9]+ +)?[01]\.[0-9]{4} ' "$WORK/r.txt")" -ge 20 ] || fail "calibration/lift tables have too few rows"

# ---------------------------------------------------------------- JSON
"$RISKGRID" report "$WORK/a.h5" --format json --top 7 --bins 8 > "$WORK/r.json" || fail "json report failed"
"$PY" - "$WORK/a.h5" "$WORK/r.json" <<'PY' || fail "JSON report disagrees with the independent computation"
import json, sys
import h5py, numpy as np
from scipy.stats import chi2
from sklearn.metrics import brier_score_loss, roc_curve
f = h5py.File(sys.argv[1], "r")
m = json.loads(open(sys.argv[2]).read())          # must be valid JSON
s, y = f["eval/score"][:], f["eval/label"][:]
n = len(s)
ev = m["eval"]
def close(a, b, tol, what):
    assert abs(a - b) <= tol, "%s: %r vs %r" % (what, a, b)
assert ev["auc"] == f["eval/auc"][()] and ev["n_rows"] == n
close(ev["gini"], 2 * f["eval/auc"][()] - 1, 1e-15, "gini")
fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
close(ev["ks"], np.max(np.abs(tpr - fpr)), 1e-12, "KS")
# its threshold: the first (highest) score where |tp n0 - fp n1| is largest,
# in integers so that ties of the statistic are exact
u = np.unique(s)[::-1]
tp = np.array([(y[s >= t] != 0).sum() for t in u], dtype=np.int64)
fp = np.array([(y[s >= t] == 0).sum() for t in u], dtype=np.int64)
n1 = int((y != 0).sum()); n0 = n - n1
assert ev["ks_threshold"] == u[int(np.argmax(np.abs(tp * n0 - fp * n1)))], ev["ks_threshold"]
close(ev["brier"], brier_score_loss(y, s), 1e-12, "Brier")
# calibration: 8 equal-count groups of the rows sorted by (score, position)
asc = np.lexsort((np.arange(n), s))
cal = ev["calibration"]
assert len(cal) == 8
hl = 0.0
for b in range(8):
    g = asc[b * n // 8:(b + 1) * n // 8]
    close(cal[b]["mean_score"], s[g].mean(), 1e-12, "calibration mean %d" % b)
    close(cal[b]["observed"], y[g].mean(), 1e-15, "calibration observed %d" % b)
    assert cal[b]["n"] == len(g) and cal[b]["positives"] == y[g].sum()
    e = s[g].sum()
    hl += (y[g].sum() - e) ** 2 / (e * (1 - e / len(g)))
close(ev["hosmer_lemeshow"], hl, 1e-9 * hl, "Hosmer-Lemeshow")
assert ev["hosmer_lemeshow_df"] == 6
close(ev["hosmer_lemeshow_p"], chi2.sf(hl, 6), 1e-12, "Hosmer-Lemeshow p")
# lift/gains: descending score, ties by position
desc = np.lexsort((np.arange(n), -s))
base, cum = y.mean(), 0
for b, row in enumerate(ev["lift"]):
    g = desc[b * n // 8:(b + 1) * n // 8]
    cum += y[g].sum()
    close(row["lift"], y[g].mean() / base, 1e-12, "lift %d" % b)
    close(row["gains"], cum / y.sum(), 1e-15, "gains %d" % b)
    close(row["cum_lift"], (cum / y.sum()) / ((b * n // 8 + len(g)) / n), 1e-12, "cum lift %d" % b)
assert abs(ev["lift"][-1]["gains"] - 1) < 1e-15
# demand: attributes, elasticities (closed form), top-k of the stored D
g = f["grid"]
d = m["demand"]
ref = g.attrs["reference"]
assert [d["reference"][k] for k in ("demand", "competition", "service", "marketing")] == list(ref)
assert d["D_ref"] == g.attrs["D_ref"] and d["D_ref_lo"] == g.attrs["D_ref_lo"] and d["D_ref_hi"] == g.attrs["D_ref_hi"]
assert d["argmax"]["index"] == list(g.attrs["argmax_index"])
want = {"demand": 1.0, "competition": -ref[1] / (1 - ref[1]), "service": 1.0, "marketing": 1.0}
for row in d["elasticity"]:
    close(row["elasticity"], want[row["factor"]], 1e-7, "elasticity " + row["factor"])
D = g["D"][:].ravel()
order = np.lexsort((np.arange(D.size), -D.astype(np.float64)))[:7]
assert [r["flat_index"] for r in d["top"]] == list(order), ([r["flat_index"] for r in d["top"]], order)
assert [r["D"] for r in d["top"]] == [float(v) for v in D[order]]
# epochs and settings
t = f["train"]
assert [r["loss"] for r in m["train"]] == list(t["loss"][:])
assert [r["test_auc"] for r in m["train"]] == list(t["test_auc"][:])
assert m["model"]["settings"]["train.seed"] == "7" and m["model"]["hidden"] == 32
assert m["data"]["fingerprint"] == f["data"].attrs["fingerprint"].decode()
PY

# top-k over a grid of 1.36 M points: read in hyperslabs (28 + 9 demand
# values of 41 x 29 x 31 points each), compared with a full numpy sort
"$RISKGRID" run "$WORK/job.ini" --quiet --out "$WORK/big.h5" --set train.epochs=1 \
  --set grid.demand=0:1:37 --set grid.competition=0:1:41 --set grid.service=0:1:29 --set grid.marketing=0.2:0.9:31
"$RISKGRID" report "$WORK/big.h5" --format json --top 25 > "$WORK/big.json" || fail "report of the big grid failed"
"$PY" - "$WORK/big.h5" "$WORK/big.json" <<'PY' || fail "top-k of the big grid"
import json, sys, h5py, numpy as np
D = h5py.File(sys.argv[1], "r")["grid/D"][:].ravel()
top = json.loads(open(sys.argv[2]).read())["demand"]["top"]
order = np.lexsort((np.arange(D.size), -D.astype(np.float64)))[:25]
assert D.size == 37 * 41 * 29 * 31
assert [r["flat_index"] for r in top] == list(order), ([r["flat_index"] for r in top][:5], order[:5])
PY

# ---------------------------------------------------------------- escaping
# the stored command line, with a 0x9b byte and 3-byte characters at every
# alignment of the report's 60-byte escaping chunks: the characters come
# out whole, the C1 byte as \x9b
euro=$(printf '\xe2\x82\xac%.0s' $(seq 30))
for pad in "" x xx; do
  o="$WORK/$pad$euro$(printf '\x9b').h5"
  "$RISKGRID" run "$WORK/job.ini" --quiet --out "$o" --set train.epochs=1
  "$RISKGRID" report "$o" > "$WORK/r_esc.txt" || fail "report of '$pad' exited $?"
  grep -aF "  command " "$WORK/r_esc.txt" | grep -aqF -- "$pad$euro\x9b.h5" \
    || fail "report mangles the command line: $(grep -a '  command ' "$WORK/r_esc.txt" | cut -c1-300)"
  rm -f "$o"
done

# ---------------------------------------------------------------- markdown
"$RISKGRID" report "$WORK/a.h5" --format markdown > "$WORK/r.md" || fail "markdown report failed"
grep -q '^## Test set$' "$WORK/r.md" || fail "markdown: no '## Test set'"
grep -q '^| group | rows | score min |' "$WORK/r.md" || fail "markdown: no calibration table header"
[ "$(grep -c '^| ---' "$WORK/r.md")" -ge 6 ] || fail "markdown: too few tables"

# ---------------------------------------------------------------- PNGs
check_pngs() {
  "$PY" - "$1" <<'PY'
import struct, sys, zlib, os
import numpy as np
import matplotlib.image as mi
d = sys.argv[1]
for name in ("roc", "training", "demand_heatmap", "calibration", "tornado"):
    p = os.path.join(d, name + ".png")
    raw = open(p, "rb").read()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n" and raw[12:16] == b"IHDR", p + ": not a PNG"
    w, h = struct.unpack(">II", raw[16:24])
    assert (w, h) == (800, 600), "%s: %dx%d, expected 800x600" % (p, w, h)
    a = (mi.imread(p)[:, :, :3] * 255).astype(np.int16)
    colours = len(np.unique(a.reshape(-1, 3), axis=0))
    chroma = ((a.max(axis=2) - a.min(axis=2)) > 40).mean()   # share of coloured (non-grey) pixels
    assert colours > 64 and chroma > 0.001, "%s looks blank: %d colours, %.4f coloured" % (p, colours, chroma)
PY
}
"$RISKGRID" report "$WORK/a.h5" --png "$WORK/png" > /dev/null 2> "$WORK/png.err" || fail "--png failed: $(cat "$WORK/png.err")"
check_pngs "$WORK/png" || fail "PNGs of the binary run"
"$PY" -c "import json,sys; json.load(open(sys.argv[1]))" "$WORK/png/report.json" || fail "png/report.json is not JSON"

# ---------------------------------------------------------------- compare
"$RISKGRID" compare "$WORK/a.h5" "$WORK/a2.h5" > "$WORK/c1.txt" || fail "compare exited $?"
grep -q "bitwise identical (/model and /eval)" "$WORK/c1.txt" || fail "1- and 2-rank runs not reported bitwise identical"
grep -q "no setting differs" "$WORK/c1.txt" || fail "compare of equal jobs lists a difference"
"$RISKGRID" compare "$WORK/a.h5" "$WORK/b.h5" > "$WORK/c2.txt" || fail "compare a b exited $?"
grep -q "not bitwise identical" "$WORK/c2.txt" || fail "different models reported identical"
grep -E "^ +model.hidden +32 +4$" "$WORK/c2.txt" >/dev/null || fail "compare: model.hidden 32 -> 4 not listed: $(cat "$WORK/c2.txt")"
grep -E "^ +train.epochs +3 +1$" "$WORK/c2.txt" >/dev/null || fail "compare: train.epochs not listed"
"$RISKGRID" compare "$WORK/a.h5" "$WORK/b.h5" --format json > "$WORK/c2.json" || fail "compare json failed"
"$PY" - "$WORK/a.h5" "$WORK/b.h5" "$WORK/c2.json" <<'PY' || fail "paired DeLong disagrees with the O(n^2) numpy DeLong"
import json, sys, math
import h5py, numpy as np
fa, fb = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
c = json.loads(open(sys.argv[3]).read())
y = fa["eval/label"][:] != 0
assert (fb["eval/row"][:] == fa["eval/row"][:]).all()
def comps(s):
    P, N = s[y], s[~y]
    psi = (P[:, None] > N[None, :]) + 0.5 * (P[:, None] == N[None, :])
    return psi.mean(axis=1), psi.mean(axis=0)
a10, a01 = comps(fa["eval/score"][:])
b10, b01 = comps(fb["eval/score"][:])
S10, S01 = np.cov(np.vstack([a10, b10])), np.cov(np.vstack([a01, b01]))
S = S10 / len(a10) + S01 / len(a01)
diff = a10.mean() - b10.mean()
var = S[0, 0] + S[1, 1] - 2 * S[0, 1]
z = diff / math.sqrt(var)
p = math.erfc(abs(z) / math.sqrt(2))
pr = c["paired"]
assert pr["applicable"] is True and pr["rows"] == len(y)
assert abs(pr["auc_a"] - a10.mean()) < 1e-12 and abs(pr["auc_b"] - b10.mean()) < 1e-12
assert abs(pr["cov"] - S[0, 1]) <= 1e-10 * abs(S[0, 1]), (pr["cov"], S[0, 1])
assert abs(pr["z"] - z) <= 1e-9 * abs(z), (pr["z"], z)
assert abs(pr["p"] - p) <= 1e-9 * p + 1e-300, (pr["p"], p)
assert c["bitwise"]["identical"] is False
keys = {r["key"]: (r["a"], r["b"]) for r in c["settings"]}
assert keys == {"model.hidden": ("32", "4"), "train.epochs": ("3", "1")}, keys
PY

# ---------------------------------------------------------------- multi-class
"$PY" "$RG_SRC/scripts/digits_to_csv.py" "$WORK/digits.csv" 2>/dev/null
"$RISKGRID" run "$RG_SRC/jobs/digits.ini" --quiet --set data.path="$WORK/digits.csv" --set train.epochs=8 --out "$WORK/dig.h5"
"$PY" - "$WORK/dig.h5" <<'PY' || fail "digits: macro AUC differs from scikit-learn's"
import sys, h5py, numpy as np
from sklearn.metrics import roc_auc_score
f = h5py.File(sys.argv[1], "r")
s, y = f["eval/score"][:], f["eval/label"][:]
assert s.shape == (len(y), 10), s.shape
a = roc_auc_score(y, s, multi_class="ovr", average="macro")
assert abs(a - f["eval/auc"][()]) <= 1e-12, (a, f["eval/auc"][()])
for k in range(10):
    ak = roc_auc_score(y == k, s[:, k])
    assert abs(ak - f["eval/class_auc"][k]) <= 1e-12, (k, ak, f["eval/class_auc"][k])
PY
"$RISKGRID" report "$WORK/dig.h5" > "$WORK/d.txt" || fail "multi-class report failed"
grep -q "Per class, one-vs-rest" "$WORK/d.txt" || fail "multi-class report lacks the per-class table"
grep -q "ROC AUC (macro OvR)" "$WORK/d.txt" || fail "multi-class report lacks the macro AUC"
"$RISKGRID" report "$WORK/dig.h5" --format json --png "$WORK/dpng" 2>/dev/null > "$WORK/d.json" || fail "multi-class --png failed"
"$PY" - "$WORK/dig.h5" "$WORK/d.json" <<'PY' || fail "multi-class JSON"
import json, sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
m = json.loads(open(sys.argv[2]).read())
cl = m["eval"]["classes"]
assert len(cl) == 10 and "calibration" not in m["eval"]
y, s = f["eval/label"][:], f["eval/score"][:]
for k, row in enumerate(cl):
    assert row["n"] == (y == k).sum() and row["auc"] == f["eval/class_auc"][k]
assert abs(m["eval"]["accuracy"] - (s.argmax(axis=1) == y).mean()) < 1e-15
onehot = np.eye(10)[y]
assert abs(m["eval"]["brier"] - ((s - onehot) ** 2).sum(axis=1).mean()) < 1e-12
PY
check_pngs "$WORK/dpng" || fail "PNGs of the multi-class run"

# ---------------------------------------------------------------- errors
expect() {  # expect CODE TEXT cmd...
  local code=$1 text=$2; shift 2
  set +e
  "$@" > "$WORK/out.txt" 2> "$WORK/err.txt"; local rc=$?
  set -e
  [ "$rc" = "$code" ] || fail "$*: exit $rc, expected $code ($(cat "$WORK/err.txt"))"
  grep -qF -- "$text" "$WORK/err.txt" || fail "$*: message lacks '$text': $(cat "$WORK/err.txt")"
}
expect 1 "cannot read '$WORK/none.h5'" "$RISKGRID" report "$WORK/none.h5"
expect 1 "is not an HDF5 file" "$RISKGRID" report "$WORK/d.csv"
"$RISKGRID" gen --rows 50 --out "$WORK/g.h5" 2>/dev/null
expect 1 "not a riskgrid result" "$RISKGRID" report "$WORK/g.h5"
expect 2 "--format: expected text, json or markdown" "$RISKGRID" report "$WORK/a.h5" --format xml
expect 2 "unknown option '--bogus'" "$RISKGRID" report "$WORK/a.h5" --bogus
expect 2 "a result file is required" "$RISKGRID" report
expect 2 "two result files are required" "$RISKGRID" compare "$WORK/a.h5"
expect 1 "not a riskgrid result" "$RISKGRID" compare "$WORK/a.h5" "$WORK/g.h5"
RISKGRID_SCRIPTS="$WORK" expect 1 "no readable riskgrid-plot.py" "$RISKGRID" report "$WORK/a.h5" --png "$WORK/p2"
echo "report: text/json/markdown checked, PNGs 800x600, compare bitwise + paired DeLong, digits macro AUC = sklearn"
