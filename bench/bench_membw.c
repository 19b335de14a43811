/* bench_membw.c - measured DRAM read bandwidth, the ceiling for one-token
 * generation (every weight is read once per token).
 * Usage: bench_membw [MEGABYTES=1536] [REPS=5]
 * Reads a buffer much larger than the last-level cache (this machine's L3
 * is 480 MB, so the default is 1.5 GB) with 64-byte vector loads, on 1 and
 * on all OpenMP threads, and prints the best of REPS passes in GB/s
 * (1 GB = 1e9 bytes). Pass the result to `aviary bench --bandwidth`. */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f"))) static uint64_t sum_avx512(const uint64_t *p, size_t n) {
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 32 <= n; i += 32) {
        a0 = _mm512_add_epi64(a0, _mm512_load_si512(p + i));
        a1 = _mm512_add_epi64(a1, _mm512_load_si512(p + i + 8));
        a2 = _mm512_add_epi64(a2, _mm512_load_si512(p + i + 16));
        a3 = _mm512_add_epi64(a3, _mm512_load_si512(p + i + 24));
    }
    return (uint64_t)_mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3)));
}
#endif

static uint64_t sum_plain(const uint64_t *p, size_t n) {
    uint64_t a[8] = {0};
    for (size_t i = 0; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) a[j] += p[i + j];
    return a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}

static uint64_t sum_block(const uint64_t *p, size_t n) {
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx512f")) return sum_avx512(p, n);
#endif
    return sum_plain(p, n);
}

/* One pass over the buffer on `threads` threads; seconds. */
static double pass(const uint64_t *buf, size_t n, int threads, uint64_t *sink) {
    const size_t blk = 1 << 16; /* 512 KB per task */
    uint64_t total = 0;
    double t0 = now();
#pragma omp parallel for schedule(static) num_threads(threads) reduction(+ : total)
    for (size_t b = 0; b < n / blk; b++) total += sum_block(buf + b * blk, blk);
    double dt = now() - t0;
    *sink += total;
    return dt;
}

int main(int argc, char **argv) {
    size_t mb = argc > 1 ? (size_t)atol(argv[1]) : 1536;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    if (mb < 64 || reps < 1) {
        fprintf(stderr, "usage: bench_membw [MEGABYTES>=64] [REPS>=1]\n");
        return 1;
    }
    size_t bytes = mb << 20, n = bytes / 8;
    uint64_t *buf = aligned_alloc(64, bytes);
    if (!buf) {
        fprintf(stderr, "bench_membw: cannot allocate %zu MB\n", mb);
        return 1;
    }
    for (size_t i = 0; i < n; i++) buf[i] = i; /* touch every page */
    uint64_t sink = 0;
    int maxt = omp_get_max_threads();
    printf("buffer %zu MB, best of %d passes\n", mb, reps);
    for (int t = 1; t <= maxt; t = t < maxt && t * 2 > maxt ? maxt : t * 2) {
        double best = 1e30;
        for (int r = 0; r < reps; r++) {
            double dt = pass(buf, n, t, &sink);
            if (dt < best) best = dt;
        }
        printf("read bandwidth, %d thread(s): %.1f GB/s\n", t, (double)bytes / best / 1e9);
        if (t == maxt) break;
    }
    free(buf);
    return sink == 42; /* keep the sums alive */
}
