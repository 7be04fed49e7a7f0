#!/usr/bin/env bash
# Installs what the benchmarks compare against or draw with; none of it is a dependency of the library.
#   - libopenblas-dev: the cblas_sgemm baseline of the `gemm` suite (loaded by P/Invoke at run time).
#   - gnuplot-nox: draws benchmarks/comm-study.png (the `comm-study` suite; without it only comm-study.dat is written).
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq libopenblas-dev gnuplot-nox
# OPENBLAS_CORETYPE is not unset here (a script cannot change its caller's environment): the harness unsets it
# in-process before loading OpenBLAS (ShardGen.Benchmarks/OpenBlas.cs).
ls -l /usr/lib/x86_64-linux-gnu/libopenblas.so* 2>/dev/null || true
