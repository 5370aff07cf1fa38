#!/bin/bash
# \file bench/ab.sh  Samples/s of two riskgrid binaries (A: before, B:
# after a change) on one job, from N rounds of back-to-back runs, for a
# machine whose speed drifts by more than most changes gain.
#
# usage: bench/ab.sh [-n ROUNDS] [-r "RANKS..."] A B JOB.ini [riskgrid run options...]
#
# Each round runs A and B once at every rank count of -r (default "1 2"),
# A first in odd rounds and B first in even ones; samples/s is training
# rows x epochs / train_s, as in bench/run.sh (bench/rg_stats.py).  Per
# rank count: the medians and ranges of A and B, and the median, range
# and distribution-free 95% confidence interval of the per-round ratios
# B / A (above 1: B is faster; bench/pair_stats.py).  Both binaries must
# give the same results; compare the output files separately.
# Environment: MPIEXEC (mpiexec), MPIEXEC_FLAGS, PYTHON (/usr/bin/python3).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rounds=10 ranks="1 2"
while [ $# -gt 0 ]; do
    case "$1" in
    -n) rounds=$2; shift 2 ;;
    -r) ranks=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) break ;;
    esac
done
[ $# -ge 3 ] || { echo "ab.sh: need A, B and JOB.ini (see --help)" >&2; exit 2; }
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "ab.sh: -n wants a positive integer, got '$rounds'" >&2; exit 2; }
for n in $ranks; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "ab.sh: -r wants positive rank counts, got '$ranks'" >&2; exit 2; }
done
bin_a=$1 bin_b=$2 job=$3
shift 3
for b in "$bin_a" "$bin_b"; do [ -x "$b" ] || { echo "ab.sh: no executable at $b" >&2; exit 2; }; done
[ -r "$job" ] || { echo "ab.sh: cannot read job file $job" >&2; exit 2; }
# shellcheck source=bench/pair_runs.sh
. "$here/pair_runs.sh"
for i in $(seq 1 "$rounds"); do
    for n in $ranks; do
        if [ $((i % 2)) -eq 1 ]; then
            a=$(pair_run "ab.sh: A at $n rank(s), round $i" "$bin_a" "$n" "$job" "$@")
            b=$(pair_run "ab.sh: B at $n rank(s), round $i" "$bin_b" "$n" "$job" "$@")
        else
            b=$(pair_run "ab.sh: B at $n rank(s), round $i" "$bin_b" "$n" "$job" "$@")
            a=$(pair_run "ab.sh: A at $n rank(s), round $i" "$bin_a" "$n" "$job" "$@")
        fi
        echo "round $i/$rounds, $n rank(s): A $a  B $b samples/s" >&2
        echo "$a $b" >>"$tmp/pairs.$n"
    done
done
for n in $ranks; do
    printf '%s rank(s): ' "$n"
    "$PYTHON" "$here/pair_stats.py" "$tmp/pairs.$n" A B
done
