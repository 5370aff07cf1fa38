#!/usr/bin/env bash
# bench/scaling.sh -- how riskgrid's training cost grows with rows, features,
# hidden units, batch size and ranks (one factor at a time, 1 epoch, riskgrid
# only; numbers for docs/performance.md).
#
# usage: bench/scaling.sh [RISKGRID]        (default build-bench/riskgrid)
# Environment: WORK (default build-bench/bench-work), PYTHON, MPIEXEC,
# REPEATS (default 1; the median is shown).
# Base point: 100,000 rows (80% train), F = 28, H = 128, B = 256, 16 virtual
# shards, 1 rank.  Synthetic dense data (normal features, non-linear binary
# label) written with numpy to WORK/scaling/*.h5.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
RISKGRID=${1:-$root/build-bench/riskgrid}
WORK=${WORK:-$root/build-bench/bench-work}
# shellcheck source=bench/env.sh
. "$here/env.sh"
REPEATS=${REPEATS:-1}
[ -x "$RISKGRID" ] || { echo "scaling.sh: no riskgrid at $RISKGRID" >&2; exit 1; }
S=$WORK/scaling
mkdir -p "$S"

mkdata() { # rows features
    local f=$S/n$1_f$2.h5
    [ -s "$f" ] || "$PYTHON" - "$f" "$1" "$2" <<'PY'
import sys, numpy as np, h5py
out, n, f = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(7)
x = rng.standard_normal((n, f), dtype=np.float32)
z = x @ (rng.standard_normal(f).astype(np.float32) / np.sqrt(f)) + np.tanh(x[:, 0] * x[:, 1])
y = (z + 0.5 * rng.standard_normal(n).astype(np.float32) > 0).astype(np.int32)
with h5py.File(out, "w") as h:
    h.create_dataset("features", data=x)
    h.create_dataset("label", data=y)
PY
    echo "$f"
}

printf '%-8s %8s %5s %5s %6s %5s %9s %10s %10s %9s %8s\n' factor rows F H B ranks "train s" "us/row" "us/step" "GFLOP/s" "sps"
run() { # factor rows F H B ranks
    local data job out i ts=() st
    data=$(mkdata "$2" "$3")
    job=$S/job_$1_$2_$3_$4_$5.ini
    printf '[data]\npath = %s\nlabel = label\n[model]\nhidden = %s\n[train]\nepochs = 1\nbatch_size = %s\nvirtual_shards = 16\n[grid]\ndemand = 0.8\ncompetition = 0.2\nservice = 0.9\nmarketing = 0.95\n[output]\ncheckpoint_every = 0\n' \
        "$data" "$4" "$5" >"$job"
    out=$S/out.h5
    for ((i = 0; i < REPEATS; i++)); do
        "$MPIEXEC" -n "$6" "$RISKGRID" run "$job" --out "$out" --force --quiet >"$S/log" 2>&1 ||
            { cat "$S/log" >&2; exit 1; }
        st=$("$PYTHON" "$here/rg_stats.py" "$out")
        ts+=("$(sed -n 's/.*train_s=\([^ ]*\).*/\1/p' <<<"$st")")
    done
    ntr=$(sed -n 's/.*n_train=\([^ ]*\).*/\1/p' <<<"$st")
    printf '%s\n' "${ts[@]}" | sort -g | awk -v fac="$1" -v n="$2" -v f="$3" -v h="$4" -v b="$5" -v p="$6" -v ntr="$ntr" '
        { v[NR] = $1 } END {
            t = v[int((NR + 1) / 2)]; steps = int(ntr / b)
            printf "%-8s %8d %5d %5d %6d %5d %9.3f %10.3f %10.1f %9.2f %8.0f\n", fac, n, f, h, b, p, t,
                   t / ntr * 1e6, t / steps * 1e6, 6 * (f * h + h) * ntr / t / 1e9, ntr / t }'
}
for n in 100000 200000 400000; do run rows "$n" 28 128 256 1; done
for f in 112 448; do run features 100000 "$f" 128 256 1; done
for h in 32 512; do run hidden 100000 28 "$h" 256 1; done
for b in 16 32 64 1024; do run batch 100000 28 128 "$b" 1; done
for b in 256 1024; do for p in 1 2; do run ranks 400000 28 128 "$b" "$p"; done; done
run ranks 100000 448 128 256 2
