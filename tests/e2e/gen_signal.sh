#!/usr/bin/env bash
# \file gen_signal.sh  End-to-end: `riskgrid gen` writes 20,000 rows whose
# label an MLP predicts clearly better than logistic regression
# (scripts/check_gen_signal.py: AUC_mlp >= AUC_lr + 0.03 and AUC_mlp > 0.80).
# Environment: RISKGRID = path of the riskgrid binary (set by ctest);
# RG_SRC = source tree (default: two levels above this script).
set -euo pipefail

: "${RISKGRID:?RISKGRID must name the riskgrid binary}"
src="${RG_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/rg_gen_signal.XXXXXX")"
trap 'rm -rf -- "$tmp"' EXIT

"$RISKGRID" gen --rows 20000 --seed 7 --out "$tmp/x.csv"
test -s "$tmp/x.csv"
rows=$(($(wc -l < "$tmp/x.csv") - 1))
if [ "$rows" -ne 20000 ]; then
    echo "gen_signal: expected 20000 data rows, got $rows" >&2
    exit 1
fi
/usr/bin/python3 "$src/scripts/check_gen_signal.py" "$tmp/x.csv"
