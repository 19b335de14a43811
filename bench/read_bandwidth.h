/* read_bandwidth.h - the DRAM read bandwidth one-token generation can use:
 * the ceiling for GEMV (every weight is read once per token). Shared by
 * bench/bench_membw.c and `aviary bench --bandwidth measure` (header-only so
 * neither links the other; not part of the library).
 *
 * The buffer is read in 2 MB tasks over OpenMP threads. With streams == 1
 * each thread reads its task front to back; with streams == 4 it reads the
 * task as four interleaved quarters, each prefetched 1 KB ahead -- the way
 * linear.c's one-token kernels read a weight block, and on this project's VM
 * ~15% faster (one sequential stream per core leaves bandwidth unused). */
#ifndef AVIARY_BENCH_READ_BANDWIDTH_H
#define AVIARY_BENCH_READ_BANDWIDTH_H

#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#define RB_TASK ((size_t)1 << 18) /* uint64 per task: 2 MB */

static inline double rb_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f"))) static inline uint64_t rb_sum_avx512(const uint64_t *p, size_t n, int streams) {
    __m512i a[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
    if (streams == 1) {
        for (size_t i = 0; i + 32 <= n; i += 32)
            for (int j = 0; j < 4; j++) a[j] = _mm512_add_epi64(a[j], _mm512_load_si512(p + i + 8 * j));
    } else {
        const size_t q = n / 4; /* four quarters, 32 uint64 (256 bytes) at a time from each */
        for (size_t i = 0; i + 32 <= q; i += 32)
            for (int s = 0; s < 4; s++) {
                const uint64_t *ps = p + (size_t)s * q + i;
                for (int j = 0; j < 4; j++) _mm_prefetch((const char *)(ps + 128 + 8 * j), _MM_HINT_T0);
                for (int j = 0; j < 4; j++) a[j] = _mm512_add_epi64(a[j], _mm512_load_si512(ps + 8 * j));
            }
    }
    return (uint64_t)_mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(a[0], a[1]), _mm512_add_epi64(a[2], a[3])));
}
#endif

/* Sum of one task with the widest loads available (a plain loop does not
 * reach DRAM bandwidth on one core). */
static inline uint64_t rb_sum(const uint64_t *p, size_t n, int streams) {
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx512f")) return rb_sum_avx512(p, n, streams);
#endif
    (void)streams;
    uint64_t a[8] = {0};
    for (size_t i = 0; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) a[j] += p[i + j];
    return a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}

/* Best of `reps` passes over buf[n] (64-byte aligned, n a multiple of
 * RB_TASK, every page touched) on `threads` threads; GB/s (1 GB = 1e9 bytes).
 * *sink receives the sums so the reads cannot be optimised away. */
static inline double rb_measure(const uint64_t *buf, size_t n, int threads, int streams, int reps, uint64_t *sink) {
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        uint64_t total = 0;
        const double t0 = rb_now();
#pragma omp parallel for schedule(static) num_threads(threads) reduction(+ : total)
        for (size_t b = 0; b < n / RB_TASK; b++) total += rb_sum(buf + b * RB_TASK, RB_TASK, streams);
        const double dt = rb_now() - t0;
        *sink += total;
        if (dt < best) best = dt;
    }
    return (double)(n * sizeof *buf) / best / 1e9;
}

#endif
