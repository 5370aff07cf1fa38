#!/usr/bin/env bash
# bench/uci_compare.sh -- riskgrid vs scikit-learn MLPClassifier on the UCI
# credit-card data, same train/test split, same standardisation.
#
# Builds nothing.  Usage (from anywhere):
#   RISKGRID=/tmp/build-bench/riskgrid bench/uci_compare.sh
# Environment:
#   RISKGRID   riskgrid binary (default: <repo>/build/riskgrid)
#   PYTHON     Python with numpy, scikit-learn, h5py (default: /usr/bin/python3)
#   MPIEXEC    MPI launcher (default: mpiexec); MPIEXEC_FLAGS extra flags
#   UCI_JOB    job file (default: <repo>/jobs/uci-credit.ini)
#   EX_JOB     example job (default: <repo>/jobs/credit-default.ini)
#   REPEATS    runs per example-job timing (default 3; the median is shown)
#   THREADS    threads for the sklearn peer (default 1)
#   PEER_ALPHAS sklearn L2 penalties, one peer process each (default "0 1e-4")
# Exit status: 0 ok; 1 the Python split's n_train/n_test differ from
# riskgrid's (or a run failed).  See bench/README.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
RISKGRID=${RISKGRID:-$root/build/riskgrid}
# shellcheck source=bench/env.sh
. "$here/env.sh"
MPIEXEC_FLAGS=${MPIEXEC_FLAGS:-}
UCI_JOB=${UCI_JOB:-$root/jobs/uci-credit.ini}
EX_JOB=${EX_JOB:-$root/jobs/credit-default.ini}
REPEATS=${REPEATS:-3}
THREADS=${THREADS:-1}

[ -x "$RISKGRID" ] || { echo "uci_compare: no riskgrid binary at $RISKGRID (build it, or set RISKGRID)" >&2; exit 1; }
case "$RISKGRID" in /*) ;; *) RISKGRID=$(cd "$(dirname "$RISKGRID")" && pwd)/$(basename "$RISKGRID") ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/uci_compare.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# run_rg NRANKS JOB OUT LOG -> prints wall seconds of the whole mpiexec run
run_rg() {
    local n=$1 job=$2 out=$3 log=$4 t0 t1
    t0=$(now)
    # shellcheck disable=SC2086
    if ! "$MPIEXEC" $MPIEXEC_FLAGS -n "$n" "$RISKGRID" run "$job" --out "$out" --force >"$log" 2>&1; then
        echo "uci_compare: riskgrid failed ($n ranks, $job); log:" >&2
        cat "$log" >&2
        exit 1
    fi
    t1=$(now)
    elapsed "$t0" "$t1"
}

# h5 fields: n_train n_test auc train_s world_size source seed test_fraction epochs batch hidden label drop
h5info() {
    "$PYTHON" - "$1" <<'EOF'
import configparser, sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    d = f["/data"].attrs
    dec = lambda v: v.decode() if isinstance(v, bytes) else str(v)
    cp = configparser.ConfigParser(inline_comment_prefixes=(";",), comment_prefixes=(";", "#"),
                                   strict=False, interpolation=None)
    cp.read_string(dec(f.attrs["config"]))
    g = lambda s, k, dflt: cp.get(s, k, fallback=dflt)
    print(int(d["n_train"]), int(d["n_test"]), "%.4f" % float(f["/eval/auc"][()]),
          "%.2f" % float(f["/timing"].attrs["train_s"]), int(f.attrs["world_size"]), dec(d["source"]),
          g("train", "seed", "42"), g("data", "test_fraction", "0.2"), g("train", "epochs", "10"),
          g("train", "batch_size", "32"), g("model", "hidden", "128"), g("data", "label", "label"),
          g("data", "drop", "") or "-")
EOF
}

cd "$root"   # riskgrid records the data source relative to the working directory

echo "riskgrid: $RISKGRID ($("$RISKGRID" --version 2>&1 | head -n1))"
echo "job:      $UCI_JOB"
echo "host:     $(nproc) CPUs, $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
echo "date:     $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo

declare -A RG_NTR RG_NTE RG_AUC RG_TRAIN RG_WALL
for n in 1 2; do
    out=$tmp/uci-$n.h5
    RG_WALL[$n]=$(run_rg "$n" "$UCI_JOB" "$out" "$tmp/uci-$n.log")
    read -r ntr nte auc trs ws src seed tf ep bs hid label drop < <(h5info "$out")
    [ "$ws" = "$n" ] || { echo "uci_compare: expected world_size $n in $out, found $ws" >&2; exit 1; }
    RG_NTR[$n]=$ntr; RG_NTE[$n]=$nte; RG_AUC[$n]=$auc; RG_TRAIN[$n]=$trs
done

# the peer reads the very file riskgrid read (source is relative to $root)
case "$src" in /*) csv=$src ;; *) csv=$root/$src ;; esac
[ "$drop" = "-" ] && drop_args=() || drop_args=(--drop "$drop")
PEER_ALPHAS=${PEER_ALPHAS:-0 1e-4}
peer_base=("$PYTHON" "$here/peer_sklearn.py" "$csv" --label "$label" "${drop_args[@]}"
           --seed "$seed" --test-fraction "$tf" --epochs "$ep" --batch "$bs" --hidden "$hid"
           --threads "$THREADS" --riskgrid-h5 "$tmp/uci-1.h5")
echo "peer: ${peer_base[*]} --alphas A   (A in: $PEER_ALPHAS; one process per A)"
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }
peer_rows=()
peer_bad=0
for alpha in $PEER_ALPHAS; do
    t0=$(now)
    set +e
    "${peer_base[@]}" --alphas "$alpha" >"$tmp/peer.out" 2>"$tmp/peer.err"
    peer_rc=$?
    set -e
    t1=$(now)
    sed 's/^/  /' "$tmp/peer.out"
    if [ "$peer_rc" -ne 0 ] && [ "$peer_rc" -ne 3 ]; then
        echo "uci_compare: peer_sklearn.py failed (status $peer_rc):" >&2
        cat "$tmp/peer.err" >&2
        exit 1
    fi
    [ "$peer_rc" -eq 3 ] && peer_bad=1
    split_line=$(grep '^split ' "$tmp/peer.out")
    py_ntr=$(kv n_train "$split_line"); py_nte=$(kv n_test "$split_line")
    peer_rows+=("$(grep '^model=' "$tmp/peer.out") wall_s=$(elapsed "$t0" "$t1")")
done
echo

row() { printf '%-26s %-13s %8s %7s %9s %8s %10s\n' "$@"; }
row tool ranks/threads n_train n_test "test AUC" "train s" "run wall s"
row -------------------------- ------------- -------- ------- --------- -------- ----------
for n in 1 2; do
    row "riskgrid" "$n rank$([ "$n" = 1 ] || echo s)" "${RG_NTR[$n]}" "${RG_NTE[$n]}" \
        "${RG_AUC[$n]}" "${RG_TRAIN[$n]}" "${RG_WALL[$n]}"
done
for line in "${peer_rows[@]}"; do
    th=$(kv threads "$line")
    row "sklearn MLP alpha=$(kv alpha "$line")" "$th thread$([ "$th" = 1 ] || echo s)" \
        "$(kv n_train "$line")" "$(kv n_test "$line")" "$(kv auc "$line")" \
        "$(printf %.2f "$(kv train_s "$line")")" "$(kv wall_s "$line")"
done
echo

status=0
for n in 1 2; do
    if [ "${RG_NTR[$n]}" != "$py_ntr" ] || [ "${RG_NTE[$n]}" != "$py_nte" ]; then
        echo "MISMATCH: riskgrid ($n rank(s)) n_train/n_test ${RG_NTR[$n]}/${RG_NTE[$n]} != Python split $py_ntr/$py_nte" >&2
        status=1
    fi
done
[ "$peer_bad" -eq 1 ] && { echo "MISMATCH: peer_sklearn.py --riskgrid-h5 check failed" >&2; status=1; }
if [ "${RG_AUC[1]}" != "${RG_AUC[2]}" ]; then
    echo "NOTE: riskgrid's AUC differs between 1 and 2 ranks (${RG_AUC[1]} vs ${RG_AUC[2]}); it claims P-independent results" >&2
fi
[ "$status" -eq 0 ] && echo "split check: riskgrid and Python agree (n_train $py_ntr, n_test $py_nte)"
echo

# shipped example job: median wall of $REPEATS whole runs at 1 and 2 ranks
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "example job $(basename "$EX_JOB") (whole-run wall s, median of $REPEATS):"
for n in 1 2; do
    walls=()
    for ((i = 0; i < REPEATS; i++)); do
        walls+=("$(run_rg "$n" "$EX_JOB" "$tmp/ex-$n.h5" "$tmp/ex-$n.log")")
    done
    read -r ntr nte auc trs _ < <(h5info "$tmp/ex-$n.h5")
    printf '  %d rank%-2s median %6s s   runs: %s   (n_train %s, n_test %s, AUC %s, train %s s)\n' \
        "$n" "$([ "$n" = 1 ] || echo s)" "$(printf '%s\n' "${walls[@]}" | median)" "${walls[*]}" "$ntr" "$nte" "$auc" "$trs"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"
