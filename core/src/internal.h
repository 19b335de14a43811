/*
 * internal.h - helpers shared by libaviary's own modules. Not installed;
 * plugins never include it. Names are aviary__* (internal) per the style
 * guide; file-local helpers in .c files are static instead.
 */
#ifndef AVIARY_INTERNAL_H
#define AVIARY_INTERNAL_H

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "aviary/aviary.h"

/* Internal symbols are hidden from the shared library's ABI but visible to
 * the other object files of libaviary (the static library and tests link them). */
#define AVIARY_INTERNAL __attribute__((visibility("hidden")))

/* Overflow-checked size arithmetic: return false on overflow. */
static inline bool aviary__mul_size(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool aviary__add_size(size_t a, size_t b, size_t *out) {
    return !__builtin_add_overflow(a, b, out);
}

/* exp(x) without a libm call, so loops using it vectorise: 2^(x log2 e) as
 * an integer power of two built in the exponent bits times 2^f, |f| <= 0.5,
 * by its degree-7 Taylor polynomial (truncation < 1e-8, a few ulp overall).
 * x is clamped to [-87.3, 88.3]: results that would underflow give ~1e-38
 * instead of 0 and overflow ~2e38 instead of inf (harmless in sigmoid,
 * silu and decay = exp(-exp(.)), where it is used). */
static inline float aviary__expf(float x) {
    x = x < -87.3f ? -87.3f : x > 88.3f ? 88.3f : x;
    const float t = x * 1.44269504088896341f;
    const float r = (t + 12582912.0f) - 12582912.0f; /* round to nearest integer (|t| < 2^22) */
    const float f = t - r;
    float p = 1.52527338e-5f;
    p = p * f + 1.54035304e-4f;
    p = p * f + 1.33335581e-3f;
    p = p * f + 9.61812911e-3f;
    p = p * f + 5.55041087e-2f;
    p = p * f + 2.40226507e-1f;
    p = p * f + 6.93147181e-1f;
    p = p * f + 1.0f;
    const uint32_t bits = (uint32_t)((int32_t)r + 127) << 23;
    float sc;
    memcpy(&sc, &bits, sizeof sc);
    return p * sc;
}

/* In-place data-dependent decay over w [T, A] with per-channel base b
 * (token_mix.c): version 6: w = exp(-exp(b + w)); 7: w = exp(-e^-0.5 *
 * sigmoid(b + w)). */
AVIARY_INTERNAL void aviary__decay_rows(size_t T, size_t A, const float *b, float *w, int version);

/* 64-byte aligned allocation (zeroed); free with aviary__free_aligned. NULL on
 * failure or overflow. */
AVIARY_INTERNAL void *aviary__alloc_aligned(size_t bytes);
AVIARY_INTERNAL void aviary__free_aligned(void *p);

/* Row source for aviary__linear_create_rows: write rows [n0, n0 + cnt) of the
 * [out, in] weight matrix as f32 to dst ([cnt, in], contiguous). */
typedef aviary_status (*aviary__linear_rows_fn)(void *ctx, int64_t n0, int64_t cnt, float *dst);

/* aviary_linear_create from a row generator instead of a tensor: the rows
 * are fetched PACK_ROWS at a time and converted straight into the packed
 * weights, so no full f32 copy of the matrix ever exists (random-weight
 * models, large heads). wt must not be AUTO; bias ([out] f32) may be NULL
 * and is copied. */
AVIARY_INTERNAL aviary_status aviary__linear_create_rows(int64_t out, int64_t in, aviary_weight_type wt,
                                                         unsigned flags, aviary__linear_rows_fn fn, void *ctx,
                                                         const float *bias, const char *name, aviary_linear **lin);
/* Creation flags (0 for none). SPARSE_X: the input is mostly exact zeros
 * (RWKV's channel-mix value, fed relu(k)^2): on the oneDNN backend the
 * weights are stored input-major so a one-token forward reads only the rows
 * of nonzero inputs (linear.c, "sparse-input GEMV"); same results up to
 * summation order. Ignored by the C backend. */
#define AVIARY__LINEAR_SPARSE_X 1u
/* aviary_linear_create with creation flags. */
AVIARY_INTERNAL aviary_status aviary__linear_create_flags(const aviary_tensor *weight, const aviary_tensor *bias,
                                                          const aviary_linear_params *params, unsigned flags,
                                                          aviary_linear **out);
/* n (<= 8) independent linears, y_i = x_i W_i^T, each with m rows: for one
 * token (m <= 4) on the oneDNN backend all blocks of all of them run in one
 * OpenMP region (one fork/join instead of n); otherwise one after another. */
AVIARY_INTERNAL aviary_status aviary__linear_forward_multi(int n, const aviary_linear *const *lins,
                                                           const float *const *xs, int64_t m, float *const *ys);
/* Tests: cap the instruction set of the oneDNN backend's own GEMV and
 * x-conversion kernels: BEST (what the CPU supports), AVX2 (as on a CPU
 * without AVX-512) or PORTABLE (plain C). The environment variable
 * AVIARY_KERNELS=avx2|portable sets the same at first use. Not thread-safe
 * against running forwards. */
enum { AVIARY__KERNELS_BEST = 0, AVIARY__KERNELS_AVX2 = 1, AVIARY__KERNELS_PORTABLE = 2 };
AVIARY_INTERNAL void aviary__linear_kernels(int level);
/* "onednn", "onednn-kmajor" (a sparse-input linear) or "c": the backend and
 * layout a linear runs on (tests, bench). */
AVIARY_INTERNAL const char *aviary__linear_backend_name(const aviary_linear *lin);

#endif /* AVIARY_INTERNAL_H */
