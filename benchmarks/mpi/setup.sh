#!/usr/bin/env bash
# Builds the MPI all-reduce benchmark: the plain C baseline (mpicc) and ShardGen's side (dotnet). Needs Open MPI:
#   apt-get install -y openmpi-bin libopenmpi-dev
set -euo pipefail
cd "$(dirname "$0")"
command -v mpicc >/dev/null || { echo "mpicc not found: apt-get install -y openmpi-bin libopenmpi-dev" >&2; exit 1; }
mpicc -O2 -o allreduce allreduce.c
dotnet build AllReduceBench -c Release -warnaserror -v q -nologo
