/* Plain MPI all-reduce benchmark: the baseline ShardGen's MPI communicator is measured against.
 * For each size (4 KiB .. 64 MiB of float32) every rank runs `iters` in-place MPI_Allreduce(MPI_SUM) calls between two
 * barriers; the time is the slowest rank's. Prints: bytes, iterations, microseconds per call, bus bandwidth in GB/s
 * (algorithm bandwidth × 2(P−1)/P, the bytes each rank sends in a ring all-reduce, as nccl-tests reports it).
 * Usage: mpirun -np P ./allreduce [repeats]   (the AllReduceBench C# program prints the same columns) */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int iterations_for(long bytes) {
    long it = (256L << 20) / bytes; /* about 256 MiB reduced per size */
    if (it < 8) it = 8;
    if (it > 2000) it = 2000;
    return (int)it;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int repeats = argc > 1 ? atoi(argv[1]) : 3;
    const long max_bytes = 64L << 20;
    float *data = aligned_alloc(64, max_bytes);
    for (long i = 0; i < max_bytes / 4; i++) data[i] = (float)((i + rank) % 7) * 1e-3f;
    if (rank == 0) printf("# plain C MPI_Allreduce, %d ranks\n# bytes iterations us_per_call busbw_GBps\n", size);
    for (long bytes = 4096; bytes <= max_bytes; bytes *= 4) {
        int count = (int)(bytes / 4), iters = iterations_for(bytes);
        double best = 1e30;
        for (int r = 0; r < repeats; r++) {
            for (int w = 0; w < 2; w++) MPI_Allreduce(MPI_IN_PLACE, data, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            for (int i = 0; i < iters; i++) MPI_Allreduce(MPI_IN_PLACE, data, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            double t = (MPI_Wtime() - t0) / iters, slowest;
            MPI_Allreduce(&t, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
            if (slowest < best) best = slowest;
        }
        double busbw = (double)bytes / best * 2.0 * (size - 1) / size / 1e9;
        if (rank == 0) printf("%ld %d %.2f %.3f\n", bytes, iters, best * 1e6, busbw);
    }
    free(data);
    MPI_Finalize();
    return 0;
}
