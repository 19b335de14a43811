/*
 * token_mix.c - token shift with carried state, the lerps of RWKV-4..7 and
 * the elementwise activations (aviary_blocks.h).
 */
#include <math.h>
#include "internal.h"
#include "aviary/aviary_blocks.h"

void aviary_token_shift(const float *x, size_t T, size_t C, float *state, float *prev) {
    if (T == 0) return;
    memcpy(prev, state, C * sizeof(float));
    if (T > 1) memcpy(prev + C, x, (T - 1) * C * sizeof(float));
    memcpy(state, x + (T - 1) * C, C * sizeof(float));
}

/* Row loops run on the OpenMP threads for sequences, elementwise loops for
 * long arrays; single tokens stay on the calling thread. */
#define PAR_ROWS(T) ((T) >= 16)
#define PAR_N(n) ((n) >= (1u << 16))

void aviary_mix_lerp(const float *x, const float *prev, size_t T, size_t C, const float *mix, float *y) {
#pragma omp parallel for schedule(static) if (PAR_ROWS(T))
    for (size_t t = 0; t < T; t++)
        for (size_t c = 0; c < C; c++) {
            const size_t i = t * C + c;
            y[i] = x[i] * mix[c] + prev[i] * (1.0f - mix[c]);
        }
}

void aviary_maa_lerp(const float *x, const float *prev, size_t T, size_t C, const float *mix, float *y) {
#pragma omp parallel for schedule(static) if (PAR_ROWS(T))
    for (size_t t = 0; t < T; t++)
        for (size_t c = 0; c < C; c++) {
            const size_t i = t * C + c;
            y[i] = x[i] + (prev[i] - x[i]) * mix[c];
        }
}

void aviary_ddlerp(const float *x, const float *prev, const float *m, size_t T, size_t C, const float *mix,
                   float *y) {
#pragma omp parallel for schedule(static) if (PAR_ROWS(T))
    for (size_t t = 0; t < T; t++)
        for (size_t c = 0; c < C; c++) {
            const size_t i = t * C + c;
            y[i] = x[i] + (prev[i] - x[i]) * (mix[c] + m[i]);
        }
}

void aviary_sigmoid(const float *x, size_t n, float *y) {
#pragma omp parallel for schedule(static) if (PAR_N(n))
    for (size_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
}

void aviary_silu(const float *x, size_t n, float *y) {
#pragma omp parallel for schedule(static) if (PAR_N(n))
    for (size_t i = 0; i < n; i++) y[i] = x[i] / (1.0f + expf(-x[i]));
}

void aviary_relu_square(const float *x, size_t n, float *y) {
#pragma omp parallel for schedule(static) if (PAR_N(n))
    for (size_t i = 0; i < n; i++) {
        const float r = x[i] > 0.0f ? x[i] : 0.0f;
        y[i] = r * r;
    }
}

void aviary_tanh(const float *x, size_t n, float *y) {
#pragma omp parallel for schedule(static) if (PAR_N(n))
    for (size_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
}

void aviary_mul(const float *a, const float *b, size_t n, float *y) {
#pragma omp parallel for schedule(static) if (PAR_N(n))
    for (size_t i = 0; i < n; i++) y[i] = a[i] * b[i];
}

void aviary_add(const float *a, const float *b, size_t n, float *y) {
#pragma omp parallel for schedule(static) if (PAR_N(n))
    for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}
