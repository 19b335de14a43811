/* bench_membw.c - measured DRAM read bandwidth, the ceiling for one-token
 * generation (every weight is read once per token).
 * Usage: bench_membw [MEGABYTES=1536] [REPS=5]
 * Reads a buffer much larger than the last-level cache (this machine's L3
 * is 480 MB, shared with other VMs, so the default is 1.5 GB) with 64-byte
 * vector loads, on 1 and on all OpenMP threads, each thread reading either
 * one sequential stream or four interleaved prefetched ones (the way the
 * GEMV kernels read weights; read_bandwidth.h), and prints the best of REPS
 * passes in GB/s (1 GB = 1e9 bytes). `aviary bench --bandwidth measure`
 * uses the four-stream figure. */
#include <stdio.h>
#include <stdlib.h>
#include "read_bandwidth.h"

int main(int argc, char **argv) {
    size_t mb = argc > 1 ? (size_t)atol(argv[1]) : 1536;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    if (mb < 64 || reps < 1) {
        fprintf(stderr, "usage: bench_membw [MEGABYTES>=64] [REPS>=1]\n");
        return 1;
    }
    size_t n = ((mb << 20) / 8) / RB_TASK * RB_TASK;
    uint64_t *buf = aligned_alloc(64, n * 8);
    if (!buf) {
        fprintf(stderr, "bench_membw: cannot allocate %zu MB\n", mb);
        return 1;
    }
    for (size_t i = 0; i < n; i++) buf[i] = i; /* touch every page */
    uint64_t sink = 0;
    int maxt = omp_get_max_threads();
    printf("buffer %zu MB, best of %d passes\n", mb, reps);
    for (int t = 1; t <= maxt; t = t < maxt && t * 2 > maxt ? maxt : t * 2) {
        const double one = rb_measure(buf, n, t, 1, reps, &sink), four = rb_measure(buf, n, t, 4, reps, &sink);
        printf("read bandwidth, %d thread(s): %.1f GB/s (one stream per thread), %.1f GB/s (four streams)\n", t, one,
               four);
        if (t == maxt) break;
    }
    free(buf);
    return sink == 42; /* keep the sums alive */
}
