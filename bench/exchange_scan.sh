#!/usr/bin/env bash
# \file bench/exchange_scan.sh  What the second rank adds to a step, against
# the model's size: the MNIST-shaped job (B = 256, H = 128, C = 10, 16
# virtual shards) on the first F columns of the data, F = 16, 196, 392 and
# 784, at 1 and 2 ranks, runs alternating.  Prints per F the parameters, the
# median step at 1 rank (T1) and 2 ranks (T2), their ratio and the 2-rank
# overhead T2 - T1/2 (the compute halves exactly at 2 ranks, so this is
# the exchange: docs/performance.md, "How the cost grows").
#
# usage: bench/exchange_scan.sh [RISKGRID] [MNIST.h5]
#   RISKGRID  default build-bench/riskgrid
#   MNIST.h5  a 60,000 x 784 file from bench/make_mnist_like.py (made in
#             WORK when not given)
# Environment: WORK (default build-bench/bench-work), REPEATS (default 3),
# EPOCHS (default 4), PYTHON, MPIEXEC, MPIEXEC_FLAGS.
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
RISKGRID=${1:-$root/build-bench/riskgrid}
WORK=${WORK:-$root/build-bench/bench-work}
# shellcheck source=bench/env.sh
. "$here/env.sh"
REPEATS=${REPEATS:-3}
EPOCHS=${EPOCHS:-4}
export OPENBLAS_NUM_THREADS=1
[ -x "$RISKGRID" ] || { echo "exchange_scan.sh: no riskgrid at $RISKGRID (build it: cmake --build build-bench)" >&2; exit 1; }
S=$WORK/exchange_scan
mkdir -p "$S"
src=${2:-$S/mnist60k.h5}
if [ ! -s "$src" ]; then
    [ $# -lt 2 ] || { echo "exchange_scan.sh: no file $src" >&2; exit 1; }
    "$PYTHON" "$here/make_mnist_like.py" "$src.tmp" 60000 1 && mv "$src.tmp" "$src"
fi

FS="16 196 392 784"
for f in $FS; do
    [ -s "$S/f$f.h5" ] || "$PYTHON" - "$src" "$S/f$f.h5" "$f" <<'PY'
import sys, h5py
src, out, f = sys.argv[1], sys.argv[2], int(sys.argv[3])
with h5py.File(src, "r") as a, h5py.File(out + ".tmp", "w") as b:
    b.create_dataset("features", data=a["features"][:, :f])
    b.create_dataset("label", data=a["label"][...])
import os
os.replace(out + ".tmp", out)
PY
    cat >"$S/f$f.ini" <<EOF
[data]
path = $S/f$f.h5
label = label
[model]
hidden = 128
[train]
epochs = $EPOCHS
batch_size = 256
virtual_shards = 16
seed = 42
[grid]
demand = 0.8
competition = 0.2
service = 0.9
marketing = 0.95
EOF
done

: >"$S/steps.txt"
for rep in $(seq 1 "$REPEATS"); do
    for f in $FS; do
        for n in 1 2; do
            # shellcheck disable=SC2086
            $MPIEXEC ${MPIEXEC_FLAGS:-} -n "$n" "$RISKGRID" run "$S/f$f.ini" --out "$S/out.h5" --force \
                >"$S/log" 2>&1 || { tail -n 20 "$S/log" >&2; echo "exchange_scan.sh: F=$f at $n rank(s) failed" >&2; exit 1; }
            "$PYTHON" - "$S/out.h5" "$f" "$n" >>"$S/steps.txt" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as h:
    steps = int(h["/train/loss"].shape[0]) * (int(h["/data"].attrs["n_train"]) // 256)
    print(sys.argv[2], sys.argv[3], 1e6 * float(h["/timing"].attrs["train_s"]) / steps)
PY
        done
    done
    echo "exchange_scan.sh: pass $rep/$REPEATS done" >&2
done
"$PYTHON" - "$S/steps.txt" <<'PY'
import sys, statistics as st
d = {}
for line in open(sys.argv[1]):
    f, n, t = line.split()
    d.setdefault((int(f), int(n)), []).append(float(t))
print("%5s %8s %10s %10s %7s %12s" % ("F", "params", "T1 us", "T2 us", "T1/T2", "T2-T1/2 us"))
for f in sorted({k[0] for k in d}):
    t1, t2 = st.median(d[(f, 1)]), st.median(d[(f, 2)])
    p = f * 128 + 128 + 128 * 10 + 10
    print("%5d %8d %10.1f %10.1f %7.3f %12.1f   (T2 runs %s)" % (f, p, t1, t2, t1 / t2, t2 - t1 / 2,
          " ".join("%.0f" % x for x in d[(f, 2)])))
PY
