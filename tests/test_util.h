/* test_util.h - what the C tests share (header-only: each test is one program).
 *
 * CHECK(cond): on failure prints the file, line, condition and aviary's last
 * error message to stderr and counts it in `failures`; main() returns
 * non-zero when failures > 0. The random helpers are a fixed LCG so every
 * run sees the same data: define TEST_RNG_SEED before including this header
 * to pick another sequence. */
#ifndef AVIARY_TEST_UTIL_H
#define AVIARY_TEST_UTIL_H

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include "aviary/aviary.h"

static int failures = 0;
#define CHECK(cond)                                                                                        \
    do {                                                                                                   \
        if (!(cond)) {                                                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__, #cond,       \
                    aviary_errmsg());                                                                      \
            failures++;                                                                                    \
        }                                                                                                  \
    } while (0)

#ifndef TEST_RNG_SEED
#define TEST_RNG_SEED 1
#endif
static unsigned test_rng __attribute__((unused)) = TEST_RNG_SEED;

/* Uniform in [lo, hi). */
static inline float frand(float lo, float hi) {
    test_rng = test_rng * 1664525u + 1013904223u;
    return lo + (hi - lo) * (float)(test_rng >> 8) / (float)(1u << 24);
}
/* x[0..n) uniform in [lo, hi). */
static inline void fill(float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) x[i] = frand(lo, hi);
}
/* |a - b| <= tol * (1 + |b|) elementwise; prints the first miss. */
static inline bool close_to(const float *a, const double *b, size_t n, double tol) {
    for (size_t i = 0; i < n; i++)
        if (!(fabs(a[i] - b[i]) <= tol * (1.0 + fabs(b[i])))) {
            fprintf(stderr, "  element %zu: got %.8g want %.8g\n", i, a[i], b[i]);
            return false;
        }
    return true;
}

#endif
