#!/bin/bash
# \file bench/pairs.sh  The 2-rank / 1-rank ratio of one riskgrid job from
# N back-to-back pairs of runs, for a machine whose speed drifts (the full
# bench/run.sh takes 3 runs per cell, minutes apart).
#
# usage: bench/pairs.sh [-n PAIRS] RISKGRID JOB.ini [riskgrid run options...]
#
# Each pair is `mpiexec -n 1 RISKGRID run JOB ...` then `mpiexec -n 2 ...`;
# samples/s is training rows x epochs / train_s, as in bench/run.sh
# (bench/rg_stats.py).  Prints the medians and ranges of both, the ratio of
# the medians, and the median, range and distribution-free 95% confidence
# interval (order statistics; N >= 6) of the N per-pair ratios.
# Environment: MPIEXEC (mpiexec), MPIEXEC_FLAGS, PYTHON (/usr/bin/python3).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pairs=15
if [ "${1:-}" = -n ]; then pairs=$2; shift 2; fi
case "${1:-}" in -h|--help|"") sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
[ $# -ge 2 ] || { echo "pairs.sh: need RISKGRID and JOB.ini (see --help)" >&2; exit 2; }
[[ "$pairs" =~ ^[1-9][0-9]*$ ]] || { echo "pairs.sh: -n wants a positive integer, got '$pairs'" >&2; exit 2; }
rg=$1 job=$2
shift 2
# shellcheck source=bench/pair_runs.sh
. "$here/pair_runs.sh"
for i in $(seq 1 "$pairs"); do
    line=""
    for n in 1 2; do
        line="$line $(pair_run "pairs.sh: run $i at $n rank(s)" "$rg" "$n" "$job" "$@")"
    done
    echo "pair $i/$pairs: 1 rank, 2 ranks samples/s:$line" >&2
    echo "$line" >>"$tmp/pairs"
done
"$PYTHON" "$here/pair_stats.py" "$tmp/pairs" "1 rank" "2 ranks"
