# \file tests/e2e/common.sh  Helpers sourced by the end-to-end tests
# (not a test itself: ctest registers only files that do not start with
# "common").  Expects RISKGRID, MPIEXEC, RG_H5CMP in the environment.
set -euo pipefail
: "${RISKGRID:?path to the riskgrid binary}" "${MPIEXEC:=mpiexec}" "${RG_H5CMP:?path to rg_h5cmp}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
# shared memory only: the tests run on one machine
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
WORK=$(mktemp -d "${TMPDIR:-/tmp}/riskgrid-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# mpirun NP ARGS...: riskgrid under mpiexec with NP ranks
mpirun_rg() {
  local np=$1; shift
  "$MPIEXEC" -n "$np" --oversubscribe "$RISKGRID" "$@"
}

# write_job FILE DATA [extra ini lines...]: a small, fast job
write_job() {
  local f=$1 data=$2; shift 2
  {
    printf '[data]\npath = %s\nlabel = default\ndrop = id\n' "$data"
    printf '[model]\nhidden = 32\n'
    printf '[train]\nepochs = 3\nbatch_size = 32\nvirtual_shards = 16\nseed = 7\n'
    printf '[grid]\ndemand = 0:1:5\ncompetition = 0:1:5\nservice = 0.5, 0.9\nmarketing = 0.95\n'
    for l in "$@"; do printf '%s\n' "$l"; done
  } > "$f"
}
