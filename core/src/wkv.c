/*
 * wkv.c - the causal WKV recurrences of RWKV-4/5/6/7 (aviary_blocks.h).
 * Inner loops run over a contiguous dimension with restrict pointers so the
 * compiler vectorises them.
 */
#include <math.h>
#include "internal.h"
#include "spin_pool.h"
#include "aviary/aviary_blocks.h"

void aviary_wkv4(size_t T, size_t C, const float *w, const float *u, const float *k, const float *v, float *aa,
                 float *bb, float *pp, float *y) {
    for (size_t t = 0; t < T; t++) {
        const float *kt = k + t * C, *vt = v + t * C;
        float *yt = y + t * C;
        for (size_t c = 0; c < C; c++) {
            const float kc = kt[c], vc = vt[c];
            float ww = u[c] + kc;
            float q = pp[c] > ww ? pp[c] : ww;
            float e1 = expf(pp[c] - q), e2 = expf(ww - q);
            const float out = (e1 * aa[c] + e2 * vc) / (e1 * bb[c] + e2);
            ww = pp[c] + w[c];
            q = ww > kc ? ww : kc;
            e1 = expf(ww - q);
            e2 = expf(kc - q);
            aa[c] = e1 * aa[c] + e2 * vc;
            bb[c] = e1 * bb[c] + e2;
            pp[c] = q;
            yt[c] = out;
        }
    }
}

/* GCC at -O2 only vectorises loops whose trip count is a known multiple of
 * the vector width, so the head kernels come in a fixed head-size-64 version
 * (every released RWKV-5/6/7) and a generic one, each compiled for AVX-512,
 * AVX2 and baseline x86-64 with the best picked at load time (ifunc). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define WKV_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define WKV_CLONES
#endif

/* One head, one row of RWKV-5/6: S [N, N] (key i, value j). */
#define WKV56_BODY(N)                                                                 \
    for (size_t j = 0; j < (N); j++) y[j] = 0.0f;                                     \
    for (size_t i = 0; i < (N); i++) {                                                \
        const float ri = r[i], ki = k[i], wi = w[i], rui = ri * u[i] * ki;            \
        float *restrict Si = S + i * (N);                                             \
        for (size_t j = 0; j < (N); j++) {                                            \
            const float s = Si[j];                                                    \
            y[j] += rui * v[j] + ri * s;                                              \
            Si[j] = wi * s + ki * v[j];                                               \
        }                                                                             \
    }

WKV_CLONES static void wkv56_head64(const float *restrict r, const float *restrict k, const float *restrict v,
                                    const float *restrict w, const float *restrict u, float *restrict S,
                                    float *restrict y) {
    WKV56_BODY(64)
}

WKV_CLONES static void wkv56_headn(size_t N, const float *restrict r, const float *restrict k,
                                   const float *restrict v, const float *restrict w, const float *restrict u,
                                   float *restrict S, float *restrict y) {
    WKV56_BODY(N)
}

static inline void wkv56_head(size_t N, const float *r, const float *k, const float *v, const float *w,
                              const float *u, float *S, float *y) {
    if (N == 64) wkv56_head64(r, k, v, w, u, S, y);
    else wkv56_headn(N, r, k, v, w, u, S, y);
}

/* Heads are independent: for a sequence (T > 1) they are spread over the
 * OpenMP threads (each thread walks all T rows of its heads); for one token
 * over spin_pool (already awake between the GEMVs of a token, where an
 * OpenMP region would pay a futex wake-up), two heads at a time. */
#define PAR_HEADS(T, H) ((T) > 1 && (H) > 1)

typedef struct head_job {
    int version; /* 5 or 6 (for one token both read w and u at the head's offset), 7 */
    size_t N;
    const float *r, *k, *v, *w, *u, *kk, *a;
    float *S, *y;
} head_job;

static inline void wkv7_head(size_t N, const float *r, const float *w, const float *k, const float *v, const float *kk,
                      const float *a, float *S, float *y);

static void head_item(void *ctx, int64_t h_) {
    const head_job *j = ctx;
    const size_t N = j->N, h = (size_t)h_, o = h * N;
    if (j->version == 7)
        wkv7_head(N, j->r + o, j->w + o, j->k + o, j->v + o, j->kk + o, j->a + o, j->S + h * N * N, j->y + o);
    else
        wkv56_head(N, j->r + o, j->k + o, j->v + o, j->w + o, j->u + o, j->S + h * N * N, j->y + o);
}

/* One token (T == 1) on the pool; false when the pool is not available. */
static bool heads_on_pool(size_t T, size_t H, const head_job *j) {
    return T == 1 && H > 1 && aviary__pool_for((int64_t)H, 2, head_item, (void *)j);
}

void aviary_wkv5(size_t T, size_t H, size_t N, const float *r, const float *k, const float *v, const float *w,
                 const float *u, float *S, float *y) {
    const size_t C = H * N;
    const head_job j = {5, N, r, k, v, w, u, NULL, NULL, S, y};
    if (heads_on_pool(T, H, &j)) return;
#pragma omp parallel for schedule(static) if (PAR_HEADS(T, H))
    for (size_t h = 0; h < H; h++)
        for (size_t t = 0; t < T; t++) {
            const size_t o = t * C + h * N;
            wkv56_head(N, r + o, k + o, v + o, w + h * N, u + h * N, S + h * N * N, y + o);
        }
}

void aviary_wkv6(size_t T, size_t H, size_t N, const float *r, const float *k, const float *v, const float *w,
                 const float *u, float *S, float *y) {
    const size_t C = H * N;
    const head_job j = {6, N, r, k, v, w, u, NULL, NULL, S, y};
    if (heads_on_pool(T, H, &j)) return;
#pragma omp parallel for schedule(static) if (PAR_HEADS(T, H))
    for (size_t h = 0; h < H; h++)
        for (size_t t = 0; t < T; t++) {
            const size_t o = t * C + h * N;
            wkv56_head(N, r + o, k + o, v + o, w + o, u + h * N, S + h * N * N, y + o);
        }
}

/* One head, one row of RWKV-7: S [N, N] (value i, key j). The two dot
 * products run as 16 partial sums (so they vectorise) when N % 16 == 0. */
#define WKV7_BODY(N)                                                                  \
    for (size_t i = 0; i < (N); i++) {                                                \
        float *restrict Si = S + i * (N);                                             \
        float sa = 0.0f;                                                              \
        for (size_t j = 0; j < (N); j++) sa -= Si[j] * kk[j];                         \
        const float vi = v[i];                                                        \
        float out = 0.0f;                                                             \
        for (size_t j = 0; j < (N); j++) {                                            \
            const float s = Si[j] * w[j] + sa * (kk[j] * a[j]) + vi * k[j];           \
            Si[j] = s;                                                                \
            out += s * r[j];                                                          \
        }                                                                             \
        y[i] = out;                                                                   \
    }

#define WKV7_BODY16(N)                                                                \
    for (size_t i = 0; i < (N); i++) {                                                \
        float *restrict Si = S + i * (N);                                             \
        float p[16] = {0};                                                            \
        for (size_t j0 = 0; j0 < (N); j0 += 16)                                       \
            for (size_t l = 0; l < 16; l++) p[l] -= Si[j0 + l] * kk[j0 + l];          \
        float sa = 0.0f;                                                              \
        for (size_t l = 0; l < 16; l++) sa += p[l];                                   \
        const float vi = v[i];                                                        \
        for (size_t l = 0; l < 16; l++) p[l] = 0.0f;                                  \
        for (size_t j0 = 0; j0 < (N); j0 += 16)                                       \
            for (size_t l = 0; l < 16; l++) {                                         \
                const size_t j = j0 + l;                                              \
                const float s = Si[j] * w[j] + sa * (kk[j] * a[j]) + vi * k[j];       \
                Si[j] = s;                                                            \
                p[l] += s * r[j];                                                     \
            }                                                                         \
        float out = 0.0f;                                                             \
        for (size_t l = 0; l < 16; l++) out += p[l];                                  \
        y[i] = out;                                                                   \
    }

WKV_CLONES static void wkv7_head64(const float *restrict r, const float *restrict w, const float *restrict k,
                                   const float *restrict v, const float *restrict kk, const float *restrict a,
                                   float *restrict S, float *restrict y) {
    WKV7_BODY16(64)
}

WKV_CLONES static void wkv7_headn(size_t N, const float *restrict r, const float *restrict w,
                                  const float *restrict k, const float *restrict v, const float *restrict kk,
                                  const float *restrict a, float *restrict S, float *restrict y) {
    WKV7_BODY(N)
}

static inline void wkv7_head(size_t N, const float *r, const float *w, const float *k, const float *v,
                             const float *kk, const float *a, float *S, float *y) {
    if (N == 64) wkv7_head64(r, w, k, v, kk, a, S, y);
    else wkv7_headn(N, r, w, k, v, kk, a, S, y);
}

void aviary_wkv7(size_t T, size_t H, size_t N, const float *r, const float *w, const float *k, const float *v,
                 const float *kk, const float *a, float *S, float *y) {
    const size_t C = H * N;
    const head_job j = {7, N, r, k, v, w, NULL, kk, a, S, y};
    if (heads_on_pool(T, H, &j)) return;
#pragma omp parallel for schedule(static) if (PAR_HEADS(T, H))
    for (size_t h = 0; h < H; h++)
        for (size_t t = 0; t < T; t++) {
            const size_t o = t * C + h * N;
            wkv7_head(N, r + o, w + o, k + o, v + o, kk + o, a + o, S + h * N * N, y + o);
        }
}
