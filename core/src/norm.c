/*
 * norm.c - LayerNorm and per-head GroupNorm (aviary_blocks.h). Two passes per
 * row/group: the mean, then the biased variance of (x - mean), as torch does.
 */
#include <math.h>
#include "internal.h"
#include "aviary/aviary_blocks.h"

/* Rows are split over threads only when there is enough work: waking the
 * OpenMP team (threads sleep under OMP_WAIT_POLICY=PASSIVE) costs tens of
 * microseconds, more than normalising a few thousand values. */
#define PAR_MIN_ELEMS ((size_t)1 << 16)

static void norm_span(const float *restrict x, size_t n, const float *restrict w, const float *restrict b,
                      float eps, float *restrict y) {
    float sum = 0.0f;
    for (size_t i = 0; i < n; i++) sum += x[i];
    const float mean = sum / (float)n;
    float var = 0.0f;
    for (size_t i = 0; i < n; i++) {
        const float d = x[i] - mean;
        var += d * d;
    }
    const float inv = 1.0f / sqrtf(var / (float)n + eps);
    if (w && b) {
        for (size_t i = 0; i < n; i++) y[i] = (x[i] - mean) * inv * w[i] + b[i];
    } else {
        for (size_t i = 0; i < n; i++) y[i] = (x[i] - mean) * inv * (w ? w[i] : 1.0f) + (b ? b[i] : 0.0f);
    }
}

/* norm_span's pointers are restrict; for in-place use (y == x) route through a
 * path that only reads x[i] before writing y[i] at the same index. */
static void norm_span_inplace(float *x, size_t n, const float *w, const float *b, float eps) {
    float sum = 0.0f;
    for (size_t i = 0; i < n; i++) sum += x[i];
    const float mean = sum / (float)n;
    float var = 0.0f;
    for (size_t i = 0; i < n; i++) {
        const float d = x[i] - mean;
        var += d * d;
    }
    const float inv = 1.0f / sqrtf(var / (float)n + eps);
    for (size_t i = 0; i < n; i++) x[i] = (x[i] - mean) * inv * (w ? w[i] : 1.0f) + (b ? b[i] : 0.0f);
}

void aviary_layer_norm(const float *x, size_t n_rows, size_t dim, const float *w, const float *b, float eps,
                       float *y) {
    if (dim == 0) return;
#pragma omp parallel for schedule(static) if (n_rows * dim >= PAR_MIN_ELEMS)
    for (size_t r = 0; r < n_rows; r++) {
        if (x == y) norm_span_inplace(y + r * dim, dim, w, b, eps);
        else norm_span(x + r * dim, dim, w, b, eps, y + r * dim);
    }
}

void aviary_group_norm(const float *x, size_t n_rows, size_t n_groups, size_t group_size, const float *w,
                       const float *b, float eps, float *y) {
    if (group_size == 0) return;
    const size_t dim = n_groups * group_size;
#pragma omp parallel for schedule(static) if (n_rows * dim >= PAR_MIN_ELEMS)
    for (size_t r = 0; r < n_rows; r++)
        for (size_t g = 0; g < n_groups; g++) {
            const size_t off = r * dim + g * group_size;
            const float *wg = w ? w + g * group_size : NULL, *bg = b ? b + g * group_size : NULL;
            if (x == y) norm_span_inplace(y + off, group_size, wg, bg, eps);
            else norm_span(x + off, group_size, wg, bg, eps, y + off);
        }
}
