/* test_linear_util.h - what test_linear.c and test_linear_sparse.c share
 * (header-only; needs internal.h for the creation flags). */
#ifndef AVIARY_TEST_LINEAR_UTIL_H
#define AVIARY_TEST_LINEAR_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "aviary/aviary.h"
#include "internal.h"

/* ||a - b|| / ||b|| (||a - b|| when b is all zero) */
static inline double rel_diff(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += (double)b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* A linear over f32 weights w ([out, in], or [in, out] when tr) and bias b
 * (NULL: none) in precision wt with creation flags; c_backend: the portable
 * C backend (AVIARY_MATMUL=c) instead of the default. Prints the error and
 * returns NULL on failure. */
static inline aviary_linear *make_linear(const float *w, const float *b, int in, int out, aviary_weight_type wt,
                                         bool tr, unsigned flags, bool c_backend) {
    aviary_tensor W = {0}, B = {0};
    W.dtype = AVIARY_F32; W.ndim = 2; W.shape[0] = tr ? in : out; W.shape[1] = tr ? out : in; W.data = (void *)w;
    aviary_tensor_set_contiguous(&W);
    B.dtype = AVIARY_F32; B.ndim = 1; B.shape[0] = out; B.data = (void *)b; aviary_tensor_set_contiguous(&B);
    aviary_linear_params p = aviary_linear_default_params();
    p.weights = wt; p.transposed = tr;
    if (c_backend) setenv("AVIARY_MATMUL", "c", 1);
    else unsetenv("AVIARY_MATMUL");
    aviary_linear *lin = NULL;
    if (aviary__linear_create_flags(&W, b ? &B : NULL, &p, flags, &lin)) printf("FAIL create: %s\n", aviary_errmsg());
    unsetenv("AVIARY_MATMUL");
    return lin;
}

#endif
