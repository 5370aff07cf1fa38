#!/usr/bin/env bash
# \file bench/checkpoint.sh  Checkpoint size and write time for the UCI
# credit job (23-128-1) and a 784-128-10 model, and the time from SIGUSR1
# (sent to mpirun) to the exit of every rank with code 75.
#   RISKGRID=build/riskgrid bench/checkpoint.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RISKGRID=${RISKGRID:-build/riskgrid}
PY=${PYTHON:-/usr/bin/python3}
export OMPI_ALLOW_RUN_AS_ROOT=${OMPI_ALLOW_RUN_AS_ROOT:-1} OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:-1}
export OMPI_MCA_rmaps_base_oversubscribe=1
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

"$PY" bench/make_mnist_like.py "$T/mnist.h5" 20000
printf '[data]\npath = %s\nlabel = label\n[train]\nepochs = 2\n[grid]\ndemand=0.8\ncompetition=0.2\nservice=0.9\nmarketing=0.95\n' "$T/mnist.h5" > "$T/mnist.ini"

printf '%-22s %-12s %14s %14s\n' model params "ckpt bytes" "write s"
for job in jobs/uci-credit.ini "$T/mnist.ini"; do
  name=$(basename "$job" .ini)
  # stop after the first epoch's checkpoint: keep the file by stopping early
  steps=$("$RISKGRID" run "$job" --quiet --force --out "$T/$name.out.h5" --set train.epochs=1 --set output.checkpoint_every=0 >/dev/null 2>&1; \
          h5dump -a /data/n_train "$T/$name.out.h5" | grep -Eo '\(0\): [0-9]+' | grep -Eo '[0-9]+$')
  steps=$((steps / 32))
  log=$(RISKGRID_TEST_STOP_AT_STEP=$((steps + 5)) "$RISKGRID" run "$job" --force --out "$T/$name.out.h5" 2>&1 || true)
  wt=$(echo "$log" | grep -Eo 'checkpoint .* written in [0-9.]+s' | grep -Eo '[0-9.]+s$' | tr -d s)
  size=$(stat -c %s "$T/$name.out.h5.ckpt")
  np=$(h5dump -H -d /params "$T/$name.out.h5.ckpt" | grep -Eo 'DATASPACE  SIMPLE \{ \( [0-9]+' | grep -Eo '[0-9]+$')
  printf '%-22s %-12s %14s %14s\n' "$name" "$np" "$size" "$wt"
done

# signal -> exit: SIGUSR1 to mpirun while the UCI job trains on 2 ranks
sed 's/^epochs = 10/epochs = 200/' jobs/uci-credit.ini > "$T/long.ini"
sed -i "s|^path = ../../shared|path = $PWD/../shared|" "$T/long.ini"
for i in 1 2 3; do
  mpirun -np 2 "$RISKGRID" run "$T/long.ini" --force --out "$T/long.h5" > "$T/long.log" 2>&1 &
  pid=$!
  until grep -Eq '^epoch +2/' "$T/long.log"; do sleep 0.05; done
  t0=$(date +%s.%N); kill -USR1 "$pid"; set +e; wait "$pid"; rc=$?; set -e; t1=$(date +%s.%N)
  echo "signal to exit (2 ranks, UCI job): $(echo "$t1 - $t0" | bc) s, exit $rc"
  rm -f "$T/long.h5.ckpt"
done
