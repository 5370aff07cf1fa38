# shellcheck shell=bash
# \file bench/env.sh  Sourced by the stand-alone bench scripts (run.sh,
# scaling.sh, exchange_scan.sh, uci_compare.sh): the environment defaults
# they all run riskgrid and the peers with.  Each keeps a value the user
# set.  PYTHON: the Debian Python with numpy, h5py, scikit-learn and torch;
# MPIEXEC: the MPI launcher; Open MPI refuses to start as root unless the
# two OMPI_ALLOW_RUN_AS_ROOT variables are set (the CI and bench machines
# run as root).
PYTHON=${PYTHON:-/usr/bin/python3}
MPIEXEC=${MPIEXEC:-mpiexec}
export OMPI_ALLOW_RUN_AS_ROOT=${OMPI_ALLOW_RUN_AS_ROOT:-1}
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:-1}
