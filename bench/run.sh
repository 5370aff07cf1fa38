#!/usr/bin/env bash
# bench/run.sh -- riskgrid vs scikit-learn and PyTorch, side by side, on the
# same splits, standardisation, architecture, optimiser, batch and epochs.
#
# usage: bench/run.sh [--quick] [--build-dir DIR] [--work-dir DIR] [--no-build]
#
#   --quick          1 run per measurement (default 3; median reported), no
#                    float64 sklearn variant, no 2-rank GRID row (~5 min)
#   --build-dir DIR  where riskgrid is built in Release mode (default
#                    <repo>/build-bench) and the two C helpers are compiled
#   --work-dir DIR   data, job files, outputs, logs, raw records (default
#                    DIR/bench-work under the build dir; the GRID write and
#                    the dd reference run there)
#   --no-build       use $RISKGRID (default <build-dir>/riskgrid) as it is
#   --report-only    re-print the report from WORK/records.txt of an earlier run
#
# Environment: PYTHON (default /usr/bin/python3: numpy, scikit-learn, h5py,
# threadpoolctl, torch), MPIEXEC (mpiexec), MPIEXEC_FLAGS, REPEATS (runs per
# measurement), CREDIT_CSV (default <repo>/../shared/data/UCI_Credit_Card.csv),
# PEER_CORETYPES (space-separated OPENBLAS_CORETYPE values for the peers;
# default: as the environment is, OPENBLAS_CORETYPE unset, and the kernel
# that fits this CPU (SkylakeX with AVX-512, Haswell with AVX2), keeping
# only those that give different kernels).
#
# Output: the table (stdout), progress (stderr); raw records in
# WORK/records.txt and the report in WORK/report.txt.  Exit status 0 when
# every run succeeded (targets met or not), 1 when a build or a run failed.
# See bench/README.md and docs/performance.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

QUICK=0
REPORT_ONLY=0
BUILD_DIR=$root/build-bench
WORK=
BUILD=1
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --build-dir) BUILD_DIR=$2; shift ;;
        --build-dir=*) BUILD_DIR=${1#*=} ;;
        --work-dir) WORK=$2; shift ;;
        --work-dir=*) WORK=${1#*=} ;;
        --no-build) BUILD=0 ;;
        --report-only) REPORT_ONLY=1 ;;
        -h|--help) sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
mkdir -p "$BUILD_DIR"
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
WORK=${WORK:-$BUILD_DIR/bench-work}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
RISKGRID=${RISKGRID:-$BUILD_DIR/riskgrid}
# shellcheck source=bench/env.sh
. "$here/env.sh"
MPIEXEC_FLAGS=${MPIEXEC_FLAGS:-}
[ "$(nproc)" -ge 2 ] || MPIEXEC_FLAGS="$MPIEXEC_FLAGS --oversubscribe"
CREDIT_CSV=${CREDIT_CSV:-$root/../shared/data/UCI_Credit_Card.csv}
if [ "$QUICK" = 1 ]; then REPEATS=${REPEATS:-1}; else REPEATS=${REPEATS:-3}; fi

if [ "$REPORT_ONLY" = 1 ]; then
    [ -s "$WORK/records.txt" ] || { echo "run.sh: no $WORK/records.txt" >&2; exit 1; }
    [ -s "$WORK/header.txt" ] && cat "$WORK/header.txt"
    echo
    "$PYTHON" "$here/report.py" "$WORK/records.txt"
    echo
    echo "alpha-beta projection (bench/project.py; model and assumptions in docs/performance.md):"
    "$PYTHON" "$here/project.py" "$WORK/records.txt" --kernels "$WORK/kernels.txt"
    exit 0
fi

T_START=$(date +%s)
say() { printf '[%4ds] %s\n' "$(($(date +%s) - T_START))" "$*" >&2; }
die() { echo "run.sh: $*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2" | head -n1; }

REC=$WORK/records.txt
LOGS=$WORK/logs
OUT=$WORK/out
mkdir -p "$LOGS" "$OUT"
: >"$REC"
rec() { echo "$*" >>"$REC"; }

[ -r "$CREDIT_CSV" ] || die "no UCI credit CSV at $CREDIT_CSV (set CREDIT_CSV)"
CREDIT_CSV=$(cd "$(dirname "$CREDIT_CSV")" && pwd)/$(basename "$CREDIT_CSV")
"$PYTHON" -c 'import numpy, sklearn, h5py, threadpoolctl, torch' 2>/dev/null ||
    die "$PYTHON lacks numpy/sklearn/h5py/threadpoolctl/torch (apt-get install python3-sklearn python3-h5py python3-torch)"

# ---------------------------------------------------------------- build
TOOLS=$BUILD_DIR/bench-tools
mkdir -p "$TOOLS"
if [ "$BUILD" = 1 ]; then
    say "building riskgrid (Release) in $BUILD_DIR"
    cmake -S "$root" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >"$LOGS/cmake.log" 2>&1 ||
        { cat "$LOGS/cmake.log" >&2; die "cmake configure failed"; }
    cmake --build "$BUILD_DIR" -j"$(nproc)" --target riskgrid >"$LOGS/build.log" 2>&1 ||
        { tail -n 40 "$LOGS/build.log" >&2; die "build failed"; }
fi
[ -x "$RISKGRID" ] || die "no riskgrid binary at $RISKGRID"
# shellcheck disable=SC2046
cc -O2 -o "$TOOLS/sgemm_peak" "$here/sgemm_peak.c" $(pkg-config --cflags --libs openblas) ||
    die "cannot compile bench/sgemm_peak.c"
# with riskgrid's own reduction (src/allreduce.c) when the core library is there
mpicc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -DRG_CORE -I"$root/include" -o "$TOOLS/allreduce_bench" \
    "$here/allreduce_bench.c" "$BUILD_DIR/libriskgrid_core.a" -lm 2>"$LOGS/allreduce_bench.log" ||
    mpicc -O2 -o "$TOOLS/allreduce_bench" "$here/allreduce_bench.c" || die "cannot compile bench/allreduce_bench.c"
# shellcheck disable=SC2046
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -I"$root/include" -o "$TOOLS/kernel_bench" "$here/kernel_bench.c" \
    "$BUILD_DIR/libriskgrid_core.a" $(pkg-config --libs openblas) -lm 2>"$LOGS/kernel_bench.log" ||
    say "bench/kernel_bench.c not built (no libriskgrid_core.a with shardgrad in $BUILD_DIR; see $LOGS/kernel_bench.log)"

# ---------------------------------------------------------------- BLAS kernels
core_of() { "$@" "$TOOLS/sgemm_peak" 64 64 64 1 | sed -n 's/^corename=\([^ ]*\).*/\1/p'; }
CUR_CORE=$(core_of env)
AUTO_CORE=$(core_of env -u OPENBLAS_CORETYPE)
if grep -qw avx512f /proc/cpuinfo; then FIT=SkylakeX; elif grep -qw avx2 /proc/cpuinfo; then FIT=Haswell; else FIT=; fi
FIT_CORE=${FIT:+$(core_of env OPENBLAS_CORETYPE="$FIT")}
RG_BLAS_LIB=$(ldd "$RISKGRID" | awk '/libopenblas|libblas/ { print $3; exit }')
# peer variants: "label=ENVSETTING" (ENVSETTING "-" = environment as is, "unset", or a core type)
declare -a VARIANTS=()
declare -A SEEN=()
addvar() { # core-name setting
    [ -n "$1" ] || return 0
    [ -n "${SEEN[$1]:-}" ] && return 0
    SEEN[$1]=1
    VARIANTS+=("$1=$2")
}
if [ -n "${PEER_CORETYPES:-}" ]; then
    for c in $PEER_CORETYPES; do addvar "$(core_of env OPENBLAS_CORETYPE="$c")" "$c"; done
else
    addvar "$CUR_CORE" -
    addvar "$AUTO_CORE" unset
    addvar "$FIT_CORE" "$FIT"
fi
penv() { # setting -> env arguments
    case "$1" in
        -) echo env ;;
        unset) echo "env -u OPENBLAS_CORETYPE" ;;
        *) echo "env OPENBLAS_CORETYPE=$1" ;;
    esac
}

# ---------------------------------------------------------------- data and jobs
DATA=$WORK/data
mkdir -p "$DATA"
if [ ! -s "$DATA/mnist60k.h5" ]; then
    say "generating MNIST-shaped data (60000 x 784, 10 classes)"
    "$PYTHON" "$here/make_mnist_like.py" "$DATA/mnist60k.h5.tmp" 60000 1 && mv "$DATA/mnist60k.h5.tmp" "$DATA/mnist60k.h5"
fi
if [ ! -s "$DATA/higgs1m.h5" ]; then
    say "generating HIGGS-shaped data (1000000 x 28, binary)"
    "$PYTHON" "$here/make_higgs_like.py" "$DATA/higgs1m.h5.tmp" 1000000 1 && mv "$DATA/higgs1m.h5.tmp" "$DATA/higgs1m.h5"
fi
[ -s "$DATA/tiny.csv" ] || "$RISKGRID" gen --rows 2000 --seed 1 --out "$DATA/tiny.csv" >/dev/null

JOBS=$WORK/jobs
mkdir -p "$JOBS"
mkjob() { # name data epochs batch [grid-axis]
    local ax=${5:-}
    {
        printf '[data]\npath = %s\nlabel = label\n' "$2"
        printf '[model]\nhidden = 128\n'
        printf '[train]\nepochs = %s\nbatch_size = %s\nvirtual_shards = 16\nseed = 42\n' "$3" "$4"
        if [ -n "$ax" ]; then
            printf '[grid]\ndemand = %s\ncompetition = %s\nservice = %s\nmarketing = %s\n' "$ax" "$ax" "$ax" "$ax"
        else
            printf '[grid]\ndemand = 0.8\ncompetition = 0.2\nservice = 0.9\nmarketing = 0.95\n'
        fi
    } >"$JOBS/$1.ini"
}
mkjob mnist_b32 "$DATA/mnist60k.h5" 2 32
mkjob mnist_b256 "$DATA/mnist60k.h5" 2 256
mkjob higgs_b1024 "$DATA/higgs1m.h5" 1 1024
mkjob grid "$DATA/tiny.csv" 1 32 0:1:101
sed -i 's/^label = label$/label = default/' "$JOBS/grid.ini"
CREDIT_JOB=$root/jobs/uci-credit.ini

# ---------------------------------------------------------------- runners
# rg WL RANKS REP JOB [args]: one riskgrid run (mpiexec), one "train" record
rg() {
    local wl=$1 n=$2 rep=$3 job=$4 t0 t1 rss st
    shift 4
    local base=$LOGS/rg.$wl.$n.$rep out=$OUT/$wl.$n.h5
    rm -f "$base".rss.*
    t0=$(now)
    # shellcheck disable=SC2086,SC2016
    $MPIEXEC $MPIEXEC_FLAGS -n "$n" sh -c '/usr/bin/time -f %M -o "$0.rss.${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-$$}}" "$@"' \
        "$base" "$RISKGRID" run "$job" --out "$out" --force "$@" >"$base.log" 2>&1 ||
        { tail -n 20 "$base.log" >&2; die "riskgrid failed: $wl, $n rank(s) (log $base.log)"; }
    t1=$(now)
    rss=$(cat "$base".rss.* | awk '$1 ~ /^[0-9]+$/ && $1 > m { m = $1 } END { print m + 0 }')
    st=$("$PYTHON" "$here/rg_stats.py" "$out")
    rec "train wl=$wl tool=riskgrid var=- ranks=$n rep=$rep sps=$(kv samples_per_s "$st") auc=$(kv auc "$st")" \
        "train_s=$(kv train_s "$st") wall_s=$(elapsed "$t0" "$t1") rss_kb=$rss n_train=$(kv n_train "$st")" \
        "F=$(kv F "$st") H=$(kv H "$st") C=$(kv C "$st") epochs=$(kv epochs "$st") blas=openblas:$CUR_CORE:t1"
}

# rg_single WL REP JOB [args]: riskgrid as one process without mpiexec (singleton MPI)
rg_single() {
    local wl=$1 rep=$2 job=$3 t0 t1 st base=$LOGS/rg1.$1.$2 out=$OUT/$1.single.h5
    shift 3
    t0=$(now)
    /usr/bin/time -f %M -o "$base.rss" "$RISKGRID" run "$job" --out "$out" --force "$@" >"$base.log" 2>&1 ||
        { tail -n 20 "$base.log" >&2; die "riskgrid (no mpiexec) failed: $wl"; }
    t1=$(now)
    st=$("$PYTHON" "$here/rg_stats.py" "$out")
    rec "train wl=$wl tool=riskgrid-singleton var=- ranks=1 rep=$rep sps=$(kv samples_per_s "$st") auc=$(kv auc "$st")" \
        "train_s=$(kv train_s "$st") wall_s=$(elapsed "$t0" "$t1") rss_kb=$(tail -n1 "$base.rss") n_train=$(kv n_train "$st")" \
        "F=$(kv F "$st") H=$(kv H "$st") C=$(kv C "$st") epochs=$(kv epochs "$st")"
}

# peer WL TOOL VARIANT-LABEL ENVSETTING RANKS REP -- command...: one peer run
peer() {
    local wl=$1 tool=$2 var=$3 es=$4 n=$5 rep=$6 t0 t1 line
    shift 7
    local base=$LOGS/peer.$wl.$tool.${var//[^A-Za-z0-9._-]/_}.$n.$rep
    t0=$(now)
    # shellcheck disable=SC2046
    $(penv "$es") /usr/bin/time -f %M -o "$base.rss" "$@" >"$base.out" 2>"$base.err" ||
        { tail -n 20 "$base.err" >&2; die "peer failed: $wl $tool $var (log $base.err)"; }
    t1=$(now)
    line=$(grep '^model=' "$base.out" | head -n1)
    rec "train wl=$wl tool=$tool var=$var ranks=$n rep=$rep sps=$(kv samples_per_s "$line") auc=$(kv auc "$line")" \
        "train_s=$(kv train_s "$line") wall_s=$(elapsed "$t0" "$t1") rss_kb=$(tail -n1 "$base.rss") n_train=$(kv n_train "$line")" \
        "blas=$(kv blas "$line")"
}

# peers WL RANKS REP EPOCHS BATCH DATA [data args...]: every peer variant once
peers() {
    local wl=$1 n=$2 rep=$3 ep=$4 b=$5 v name es dt
    shift 5
    local common=(--seed 42 --test-fraction 0.2 --epochs "$ep" --batch "$b" --hidden 128 --threads 1)
    for v in "${VARIANTS[@]}"; do
        name=${v%%=*}; es=${v#*=}
        if [ "$n" = 1 ]; then
            for dt in float32 $([ "$QUICK" = 1 ] || echo float64); do
                peer "$wl" sklearn "${dt/float/f}/$name" "$es" 1 "$rep" -- \
                    "$PYTHON" "$here/peer_sklearn.py" "$@" "${common[@]}" --alphas 0 --dtype "$dt"
            done
            peer "$wl" torch "$name" "$es" 1 "$rep" -- "$PYTHON" "$here/peer_torch.py" "$@" "${common[@]}"
        else
            peer "$wl" ddp "$name" "$es" "$n" "$rep" -- "$PYTHON" "$here/peer_torch.py" "$@" "${common[@]}" --ranks "$n"
        fi
    done
}

# ---------------------------------------------------------------- header
{
    echo "riskgrid bench/run.sh$([ "$QUICK" = 1 ] && echo ' --quick'): $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host:      $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"
    echo "riskgrid:  $RISKGRID ($("$RISKGRID" --version 2>&1 | head -n1); commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'), working tree may differ)"
    echo "riskgrid training: $("$RISKGRID" run "$CREDIT_JOB" --out "$WORK/probe.h5" --force --set train.epochs=1 2>&1 | sed -n 's/.*virtual shards; \(.*\)$/\1/p' | head -n1) (1 process; own kernels, no BLAS)"
    rm -f "$WORK/probe.h5"
    echo "riskgrid BLAS (evaluation only): $RG_BLAS_LIB, kernel $CUR_CORE (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-<unset>}; unset gives $AUTO_CORE; ${FIT:-no AVX2}${FIT:+ forced gives $FIT_CORE}), 1 thread"
    echo "peers:     $("$PYTHON" -c 'import sys, sklearn, torch, numpy; print("python %s, numpy %s, scikit-learn %s, torch %s" % (sys.version.split()[0], numpy.__version__, sklearn.__version__, torch.__version__))' 2>/dev/null)"
    echo "peer BLAS variants: ${VARIANTS[*]}  (label=OPENBLAS_CORETYPE setting; '-' = environment as is)"
    echo "runs per measurement: $REPEATS (median); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$WORK/header.txt" >&2
# the training kernels alone, one step of each workload's shape (bench/kernel_bench.c)
rm -f "$WORK/kernels.txt"
if [ -x "$TOOLS/kernel_bench" ]; then
    {
        "$TOOLS/kernel_bench" 23 128 1 2 3000
        "$TOOLS/kernel_bench" 784 128 10 2 300
        "$TOOLS/kernel_bench" 784 128 10 16 50
        "$TOOLS/kernel_bench" 28 128 1 64 300
    } | tee "$WORK/kernels.txt" >&2
fi

# ---------------------------------------------------------------- measurements
peak() { # when
    local l
    l=$("$TOOLS/sgemm_peak" 1024 1024 1024 15)
    rec "peak when=$1 gflops=$(kv gflops_median "$l") min=$(kv gflops_min "$l") max=$(kv gflops_max "$l") core=$(kv corename "$l")"
    say "sgemm 1024^3 1 thread ($1): $(kv gflops_median "$l") GFLOP/s (min $(kv gflops_min "$l"), max $(kv gflops_max "$l")), kernel $(kv corename "$l")"
}
peak start

say "MPI_Allreduce latency/bandwidth, 2 ranks"
# shellcheck disable=SC2086
$MPIEXEC $MPIEXEC_FLAGS -n 2 "$TOOLS/allreduce_bench" >"$LOGS/allreduce.txt" 2>&1 || die "allreduce_bench failed"
grep -E '^(riskgrid_)?allreduce ' "$LOGS/allreduce.txt" >>"$REC"

cd "$root"   # riskgrid resolves the UCI job's data path relative to jobs/
credit_args=("$CREDIT_CSV" --label Y --drop ID)
for rep in $(seq 1 "$REPEATS"); do
    say "CREDIT b32, run $rep/$REPEATS: riskgrid 1, 2 ranks, no mpiexec; sklearn, torch, torch DDP"
    rg credit_b32 1 "$rep" "$CREDIT_JOB" --set data.path="$CREDIT_CSV"
    rg credit_b32 2 "$rep" "$CREDIT_JOB" --set data.path="$CREDIT_CSV"
    rg_single credit_b32 "$rep" "$CREDIT_JOB" --set data.path="$CREDIT_CSV"
    peers credit_b32 1 "$rep" 10 32 "${credit_args[@]}"
    peers credit_b32 2 "$rep" 10 32 "${credit_args[@]}"
done
for rep in $(seq 1 "$REPEATS"); do
    say "MNIST b32, run $rep/$REPEATS"
    rg mnist_b32 1 "$rep" "$JOBS/mnist_b32.ini"
    peers mnist_b32 1 "$rep" 2 32 "$DATA/mnist60k.h5" --label label
done
for rep in $(seq 1 "$REPEATS"); do
    say "MNIST b256, run $rep/$REPEATS"
    rg mnist_b256 1 "$rep" "$JOBS/mnist_b256.ini"
    rg mnist_b256 2 "$rep" "$JOBS/mnist_b256.ini"
    peers mnist_b256 1 "$rep" 2 256 "$DATA/mnist60k.h5" --label label
    peers mnist_b256 2 "$rep" 2 256 "$DATA/mnist60k.h5" --label label
done
for rep in $(seq 1 "$REPEATS"); do
    say "HIGGS b1024, run $rep/$REPEATS"
    rg higgs_b1024 1 "$rep" "$JOBS/higgs_b1024.ini"
    rg higgs_b1024 2 "$rep" "$JOBS/higgs_b1024.ini"
    peers higgs_b1024 1 "$rep" 1 1024 "$DATA/higgs1m.h5" --label label
    peers higgs_b1024 2 "$rep" 1 1024 "$DATA/higgs1m.h5" --label label
done

# GRID: 101^4 grid computed and written (3 float32 arrays), next to dd
GRID_MIB=$(awk 'BEGIN { printf "%.1f", 3 * 101^4 * 4 / 1048576 }')
DD_COUNT=$(awk -v m="$GRID_MIB" 'BEGIN { printf "%d", m + 0.5 }')
grid_ranks="1 2"
[ "$QUICK" = 1 ] && grid_ranks=1
for rep in $(seq 1 "$REPEATS"); do
    for n in $grid_ranks; do
        say "GRID 101^4, run $rep/$REPEATS, $n rank(s)"
        base=$LOGS/grid.$n.$rep
        # shellcheck disable=SC2086
        $MPIEXEC $MPIEXEC_FLAGS -n "$n" "$RISKGRID" run "$JOBS/grid.ini" --out "$OUT/grid.h5" --force >"$base.log" 2>&1 ||
            { tail -n 20 "$base.log" >&2; die "riskgrid GRID run failed"; }
        ws=$(sed -n 's/^wrote .*write \([0-9.]*\)s.*/\1/p' "$base.log")
        fm=$(stat -c %s "$OUT/grid.h5" | awk '{ printf "%.1f", $1 / 1048576 }')
        rm -f "$OUT/grid.h5"
        rec "grid tool=riskgrid ranks=$n rep=$rep seconds=$ws mib=$GRID_MIB file_mib=$fm"
    done
    sync
    ddo=$(dd if=/dev/zero of="$OUT/dd.tmp" bs=1M count="$DD_COUNT" conv=fdatasync 2>&1) || die "dd failed: $ddo"
    rm -f "$OUT/dd.tmp"
    rec "grid tool=dd ranks=1 rep=$rep seconds=$(sed -n 's/.* copied, \([0-9.]*\) s.*/\1/p' <<<"$ddo") mib=$DD_COUNT"
done
peak end

# ---------------------------------------------------------------- report
{
    cat "$WORK/header.txt"
    if [ -s "$WORK/kernels.txt" ]; then cat "$WORK/kernels.txt"; fi
    echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg); total bench time $(($(date +%s) - T_START)) s"
    echo
    "$PYTHON" "$here/report.py" "$REC"
    echo
    echo "alpha-beta projection (bench/project.py; model and assumptions in docs/performance.md):"
    "$PYTHON" "$here/project.py" "$REC" --kernels "$WORK/kernels.txt"
} >"$WORK/report.txt"
say "done; report in $WORK/report.txt, raw records in $REC"
cat "$WORK/report.txt"
