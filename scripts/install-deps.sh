#!/usr/bin/env bash
# \file scripts/install-deps.sh  Install what riskgrid needs on Debian 12
# (build, run; with --test the test suite's extras; with --bench the
# test extras plus bench/run.sh's peers, PyTorch and threadpoolctl).  Uses
# sudo when not run as root.  Safe to run again.
set -euo pipefail
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
pkgs=(build-essential cmake pkg-config
      libopenmpi-dev openmpi-bin
      libhdf5-openmpi-dev hdf5-tools
      libopenblas-dev libinih-dev libcmocka-dev)
if [ "${1:-}" = "--test" ] || [ "${1:-}" = "--bench" ]; then
  # python3 peers for the generator's signal check
  pkgs+=(python3 python3-numpy python3-sklearn python3-h5py python3-matplotlib clang libclang-rt-14-dev valgrind)
  # the Slurm test's private single-node cluster (tests/e2e/slurm.sh,
  # scripts/slurm-cluster.sh)
  pkgs+=(slurm-wlm munge)
  # netCDF-4 readers of the output (tests/e2e/xarray.sh)
  pkgs+=(python3-xarray python3-netcdf4 python3-h5netcdf netcdf-bin)
fi
if [ "${1:-}" = "--bench" ]; then
  pkgs+=(python3-torch python3-threadpoolctl time)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all ${#pkgs[@]} packages present"
fi
