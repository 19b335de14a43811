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
                                                         aviary__linear_rows_fn fn, void *ctx, const float *bias,
                                                         const char *name, aviary_linear **lin);
/* n (<= 8) independent linears, y_i = x_i W_i^T, each with m rows: for one
 * token (m <= 4) on the oneDNN backend all blocks of all of them run in one
 * OpenMP region (one fork/join instead of n); otherwise one after another. */
AVIARY_INTERNAL aviary_status aviary__linear_forward_multi(int n, const aviary_linear *const *lins,
                                                           const float *const *xs, int64_t m, float *const *ys);
/* "onednn" or "c": the backend a linear runs on (tests, bench). */
AVIARY_INTERNAL const char *aviary__linear_backend_name(const aviary_linear *lin);

#endif /* AVIARY_INTERNAL_H */
