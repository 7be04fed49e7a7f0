#!/usr/bin/env bash
# Runs the all-reduce benchmarks on 2 and 4 ranks, alternating plain C, ShardGen's MpiCommunicator and ShardGen's mesh
# collective engine ROUNDS times, and prints per size the best bus bandwidth of each and their ratios to C. Usage: ./setup.sh && ./run.sh [ROUNDS]   (MPI_FLAGS overrides mpirun flags)
# 2 ranks: one per core (--bind-to core). 4 ranks on fewer cores: unbound, and MPI yields the core while it waits.
set -euo pipefail
cd "$(dirname "$0")"
rounds=${1:-5}
common="--allow-run-as-root --oversubscribe --mca btl self,vader"
cores=$(nproc)
out=$(mktemp -d)
echo "load before: $(cat /proc/loadavg)"
for np in 2 4; do
  if [ "$np" -le "$cores" ]; then flags=${MPI_FLAGS:-$common --bind-to core}; else flags=${MPI_FLAGS:-$common --bind-to none --mca mpi_yield_when_idle 1}; fi
  echo "mpirun $flags -np $np ..." 
  for r in $(seq "$rounds"); do
    mpirun $flags -np "$np" ./allreduce 3 | grep -v '^#' >> "$out/c$np"
    mpirun $flags -np "$np" dotnet AllReduceBench/bin/Release/net10.0/AllReduceBench.dll 3 communicator | grep -v '^#' >> "$out/m$np"
    mpirun $flags -np "$np" dotnet AllReduceBench/bin/Release/net10.0/AllReduceBench.dll 3 | grep -v '^#' >> "$out/s$np"
  done
  echo
  echo "ranks=$np: best of $rounds rounds × 3 repeats (busbw = bytes/time × 2(P−1)/P)"
  printf "%10s %9s %9s | %9s %9s %6s | %9s %9s %6s\n" bytes "C us" "C GB/s" "comm us" "comm GB/s" ratio "mesh us" "mesh GB/s" ratio
  awk '
    FILENAME ~ /\/c[0-9]+$/ { if (!($1 in c) || $4 > c[$1]) { c[$1] = $4; cu[$1] = $3 } next }
    FILENAME ~ /\/m[0-9]+$/ { if (!($1 in m) || $4 > m[$1]) { m[$1] = $4; mu[$1] = $3 } next }
    { if (!($1 in s) || $4 > s[$1]) { s[$1] = $4; su[$1] = $3 } }
    END { for (b = 4096; b <= 67108864; b *= 4)
            printf "%10d %9.2f %9.3f | %9.2f %9.3f %6.3f | %9.2f %9.3f %6.3f\n", b, cu[b], c[b], mu[b], m[b], m[b] / c[b], su[b], s[b], s[b] / c[b] }
  ' "$out/c$np" "$out/m$np" "$out/s$np"
done
echo
echo "load after: $(cat /proc/loadavg)"
rm -rf "$out"
