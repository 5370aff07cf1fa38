# shellcheck shell=bash
# \file bench/pair_runs.sh  Sourced by bench/pairs.sh and bench/ab.sh: the
# environment their runs share and one timed riskgrid run.
# Environment: MPIEXEC (mpiexec), MPIEXEC_FLAGS, PYTHON (/usr/bin/python3).
pair_runs_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MPIEXEC=${MPIEXEC:-mpiexec}
PYTHON=${PYTHON:-/usr/bin/python3}
export OPENBLAS_NUM_THREADS=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# pair_run WHAT RISKGRID RANKS JOB [riskgrid run options...]
# Runs the job at RANKS ranks and prints its samples/s (training rows x
# epochs / train_s, bench/rg_stats.py, as in bench/run.sh).  On failure:
# the run's log and "WHAT failed" on stderr, exit status 1 (called inside
# $(...), the caller's `set -e` then stops it).
pair_run() {
    local what=$1 rg=$2 n=$3 job=$4
    shift 4
    # shellcheck disable=SC2086
    $MPIEXEC ${MPIEXEC_FLAGS:-} -n "$n" "$rg" run "$job" --out "$tmp/out.h5" --force "$@" \
        >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; echo "$what failed" >&2; exit 1; }
    "$PYTHON" "$pair_runs_dir/rg_stats.py" "$tmp/out.h5" | tr ' ' '\n' | sed -n 's/^samples_per_s=//p'
}
