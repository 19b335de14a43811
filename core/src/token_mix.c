/*
 * token_mix.c - token shift with carried state, the lerps of RWKV-4..7 and
 * the elementwise activations, and RWKV-7's steps around its WKV
 * (aviary_blocks.h).
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
 * long arrays; single tokens stay on the calling thread.
 *
 * The arithmetic lives in small span kernels compiled for AVX-512, AVX2 and
 * baseline x86-64 (picked at load time) at -O3 (core/CMakeLists.txt): the
 * arrays may alias (in-place calls), and GCC vectorises loops needing a
 * runtime alias check only at -O3, so at -O2 these ran one float at a time. */
#define PAR_ROWS(T, C) ((T) >= 16 && (T) * (C) >= (1u << 16))
#define PAR_N(n) ((n) >= (1u << 16))

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define TM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TM_CLONES
#endif

TM_CLONES static void mix_lerp_row(const float *x, const float *prev, size_t C, const float *mix, float *y) {
    for (size_t c = 0; c < C; c++) y[c] = x[c] * mix[c] + prev[c] * (1.0f - mix[c]);
}

TM_CLONES static void maa_lerp_row(const float *x, const float *prev, size_t C, const float *mix, float *y) {
    for (size_t c = 0; c < C; c++) y[c] = x[c] + (prev[c] - x[c]) * mix[c];
}

TM_CLONES static void ddlerp_row(const float *x, const float *prev, const float *m, size_t C, const float *mix,
                                 float *y) {
    for (size_t c = 0; c < C; c++) y[c] = x[c] + (prev[c] - x[c]) * (mix[c] + m[c]);
}

void aviary_mix_lerp(const float *x, const float *prev, size_t T, size_t C, const float *mix, float *y) {
#pragma omp parallel for schedule(static) if (PAR_ROWS(T, C))
    for (size_t t = 0; t < T; t++) mix_lerp_row(x + t * C, prev + t * C, C, mix, y + t * C);
}

void aviary_maa_lerp(const float *x, const float *prev, size_t T, size_t C, const float *mix, float *y) {
#pragma omp parallel for schedule(static) if (PAR_ROWS(T, C))
    for (size_t t = 0; t < T; t++) maa_lerp_row(x + t * C, prev + t * C, C, mix, y + t * C);
}

void aviary_ddlerp(const float *x, const float *prev, const float *m, size_t T, size_t C, const float *mix,
                   float *y) {
#pragma omp parallel for schedule(static) if (PAR_ROWS(T, C))
    for (size_t t = 0; t < T; t++) ddlerp_row(x + t * C, prev + t * C, m + t * C, C, mix, y + t * C);
}

/* Elementwise maps over n floats: the span kernel on chunks of SPAN. */
#define SPAN ((size_t)4096)
#define ELEMENTWISE(name, kernel, ...)                                                       \
    do {                                                                                     \
        const size_t nch_ = (n + SPAN - 1) / SPAN;                                           \
        _Pragma("omp parallel for schedule(static) if (PAR_N(n))")                           \
        for (size_t ch_ = 0; ch_ < nch_; ch_++) {                                            \
            const size_t o_ = ch_ * SPAN, len_ = n - o_ < SPAN ? n - o_ : SPAN;              \
            kernel(__VA_ARGS__);                                                             \
        }                                                                                    \
    } while (0)

TM_CLONES static void sigmoid_span(const float *x, size_t n, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + aviary__expf(-x[i]));
}
TM_CLONES static void silu_span(const float *x, size_t n, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] / (1.0f + aviary__expf(-x[i]));
}
TM_CLONES static void relu_square_span(const float *x, size_t n, float *y) {
    for (size_t i = 0; i < n; i++) {
        const float r = x[i] > 0.0f ? x[i] : 0.0f;
        y[i] = r * r;
    }
}
static void tanh_span(const float *x, size_t n, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
}
TM_CLONES static void mul_span(const float *a, const float *b, size_t n, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = a[i] * b[i];
}
TM_CLONES static void add_span(const float *a, const float *b, size_t n, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}

void aviary_sigmoid(const float *x, size_t n, float *y) { ELEMENTWISE(sigmoid, sigmoid_span, x + o_, len_, y + o_); }
void aviary_silu(const float *x, size_t n, float *y) { ELEMENTWISE(silu, silu_span, x + o_, len_, y + o_); }
void aviary_relu_square(const float *x, size_t n, float *y) {
    ELEMENTWISE(relu_square, relu_square_span, x + o_, len_, y + o_);
}
void aviary_tanh(const float *x, size_t n, float *y) { ELEMENTWISE(tanh, tanh_span, x + o_, len_, y + o_); }
void aviary_mul(const float *a, const float *b, size_t n, float *y) {
    ELEMENTWISE(mul, mul_span, a + o_, b + o_, len_, y + o_);
}
void aviary_add(const float *a, const float *b, size_t n, float *y) {
    ELEMENTWISE(add, add_span, a + o_, b + o_, len_, y + o_);
}

/* Data-dependent decays, in place over w [T, A] with the per-channel base b:
 * RWKV-6 w = exp(-exp(b + w)); RWKV-7 w = exp(-e^-0.5 sigmoid(b + w)). */
TM_CLONES static void decay6_row(const float *b, size_t n, float *w) {
    for (size_t i = 0; i < n; i++) w[i] = aviary__expf(-aviary__expf(b[i] + w[i]));
}
TM_CLONES static void decay7_row(const float *b, size_t n, float *w) {
    for (size_t i = 0; i < n; i++) w[i] = aviary__expf(-0.606531f / (1.0f + aviary__expf(-(b[i] + w[i]))));
}

void aviary__decay_rows(size_t T, size_t A, const float *b, float *w, int version) {
#pragma omp parallel for schedule(static) if (PAR_ROWS(T, A))
    for (size_t t = 0; t < T; t++) {
        if (version == 6) decay6_row(b, A, w + t * A);
        else decay7_row(b, A, w + t * A);
    }
}

/* --------------------------------------------- RWKV-7 time-mix steps -- */

TM_CLONES static void sigmoid_bias_row(const float *b, size_t n, float *x) {
    for (size_t i = 0; i < n; i++) x[i] = 1.0f / (1.0f + aviary__expf(-(b[i] + x[i])));
}

void aviary_sigmoid_bias(const float *b, size_t T, size_t C, float *x) {
#pragma omp parallel for schedule(static) if (PAR_ROWS(T, C))
    for (size_t t = 0; t < T; t++) sigmoid_bias_row(b, C, x + t * C);
}

TM_CLONES static void v7_residual_row(const float *vfirst, const float *b, const float *g, size_t n, float *v) {
    for (size_t i = 0; i < n; i++) v[i] += (vfirst[i] - v[i]) / (1.0f + aviary__expf(-(b[i] + g[i])));
}

void aviary_v7_value_residual(const float *vfirst, const float *b, const float *g, size_t T, size_t C, float *v) {
#pragma omp parallel for schedule(static) if (PAR_ROWS(T, C))
    for (size_t t = 0; t < T; t++) v7_residual_row(vfirst + t * C, b, g + t * C, C, v + t * C);
}

/* Dot products in 16 running lanes, so the loops vectorise without
 * reassociation flags (the lanes are one fixed summation order). */
#define LANES 16
static inline float lanes_sum(const float *acc) {
    float s = 0.0f;
    for (size_t l = 0; l < LANES; l++) s += acc[l];
    return s;
}

TM_CLONES static void wkv7_keys_head(const float *k_k, const float *k_a, const float *a, size_t N, float *k,
                                     float *kk) {
    float acc[LANES] = {0};
    size_t j = 0;
    for (; j + LANES <= N; j += LANES)
        for (size_t l = 0; l < LANES; l++) {
            const float q = k[j + l] * k_k[j + l];
            kk[j + l] = q;
            acc[l] += q * q;
        }
    float ss = lanes_sum(acc);
    for (; j < N; j++) {
        kk[j] = k[j] * k_k[j];
        ss += kk[j] * kk[j];
    }
    float norm = sqrtf(ss);
    if (norm < 1e-12f) norm = 1e-12f;
    for (size_t i = 0; i < N; i++) kk[i] /= norm;
    for (size_t i = 0; i < N; i++) k[i] *= 1.0f + (a[i] - 1.0f) * k_a[i];
}

void aviary_wkv7_keys(const float *k_k, const float *k_a, const float *a, size_t T, size_t H, size_t N, float *k,
                      float *kk) {
    const size_t C = H * N;
#pragma omp parallel for schedule(static) if (PAR_ROWS(T, C))
    for (size_t t = 0; t < T; t++)
        for (size_t h = 0; h < H; h++) {
            const size_t o = t * C + h * N;
            wkv7_keys_head(k_k + h * N, k_a + h * N, a + o, N, k + o, kk + o);
        }
}

TM_CLONES static void wkv7_bonus_head(const float *r, const float *k, const float *v, const float *r_k, size_t N,
                                      float *y) {
    float acc[LANES] = {0};
    size_t j = 0;
    for (; j + LANES <= N; j += LANES)
        for (size_t l = 0; l < LANES; l++) acc[l] += r[j + l] * k[j + l] * r_k[j + l];
    float s = lanes_sum(acc);
    for (; j < N; j++) s += r[j] * k[j] * r_k[j];
    for (size_t i = 0; i < N; i++) y[i] += s * v[i];
}

void aviary_wkv7_bonus(const float *r, const float *k, const float *v, const float *r_k, size_t T, size_t H,
                       size_t N, float *y) {
    const size_t C = H * N;
#pragma omp parallel for schedule(static) if (PAR_ROWS(T, C))
    for (size_t t = 0; t < T; t++)
        for (size_t h = 0; h < H; h++) {
            const size_t o = t * C + h * N;
            wkv7_bonus_head(r + o, k + o, v + o, r_k + h * N, N, y + o);
        }
}
