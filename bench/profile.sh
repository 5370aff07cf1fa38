#!/usr/bin/env bash
# bench/profile.sh -- flat perf profile (top functions by self time) of one
# riskgrid rank on the MNIST-shaped b32 job and the UCI CREDIT b32 job.
#
# usage: bench/profile.sh [RISKGRID] [TOP]      (default build-bench/riskgrid, 10)
# Environment: WORK (default build-bench/bench-work: MNIST data made by
# bench/run.sh, or generated here), PYTHON, CREDIT_CSV, EPOCHS_MNIST (2, as in bench/run.sh).
# Runs riskgrid as one process without mpiexec under `perf record -F 1999`
# (user and kernel samples), then prints `perf report --no-children
# --sort symbol` for each job: the share of samples per function, with the
# shared object.  Needs perf and kernel.perf_event_paranoid <= 2 (or root).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
RISKGRID=${1:-$root/build-bench/riskgrid}
TOP=${2:-10}
WORK=${WORK:-$root/build-bench/bench-work}
PYTHON=${PYTHON:-/usr/bin/python3}
CREDIT_CSV=${CREDIT_CSV:-$root/../shared/data/UCI_Credit_Card.csv}
EPOCHS_MNIST=${EPOCHS_MNIST:-2}
command -v perf >/dev/null || { echo "profile.sh: perf not installed (apt-get install linux-perf)" >&2; exit 1; }
[ -x "$RISKGRID" ] || { echo "profile.sh: no riskgrid at $RISKGRID" >&2; exit 1; }
mkdir -p "$WORK/data" "$WORK/profile"
P=$WORK/profile
[ -s "$WORK/data/mnist60k.h5" ] || "$PYTHON" "$here/make_mnist_like.py" "$WORK/data/mnist60k.h5" 60000 1
printf '[data]\npath = %s\nlabel = label\n[model]\nhidden = 128\n[train]\nepochs = %s\nbatch_size = 32\nvirtual_shards = 16\nseed = 42\n[grid]\ndemand = 0.8\ncompetition = 0.2\nservice = 0.9\nmarketing = 0.95\n' \
    "$WORK/data/mnist60k.h5" "$EPOCHS_MNIST" >"$P/mnist_b32.ini"

prof() { # name job [args]
    local name=$1 job=$2
    shift 2
    perf record -F 1999 -o "$P/$name.perf.data" -- "$RISKGRID" run "$job" --out "$P/$name.h5" --force "$@" >"$P/$name.log" 2>"$P/$name.perf.err"
    echo "== $name: $(grep '^training:' "$P/$name.log" | sed 's/^training: //')"
    grep '^wrote' "$P/$name.log" | sed 's/^/   /'
    perf report -i "$P/$name.perf.data" --no-children --sort symbol,dso --stdio 2>/dev/null |
        grep -v '^#' | grep -v '^$' | head -n "$TOP" || true   # head closes the pipe early
    echo
}
prof mnist_b32 "$P/mnist_b32.ini"
prof credit_b32 "$root/jobs/uci-credit.ini" --set data.path="$CREDIT_CSV"
