/* bidir.c - bidirectional blocks (aviary_bidir.h). The WKV passes reuse the
 * causal recurrences of wkv.c on the sequence and on a flipped copy, so the
 * arithmetic (and its threading over heads) is exactly theirs. */
#include <math.h>
#include <string.h>
#include "aviary/aviary_bidir.h"
#include "aviary/aviary_blocks.h"

void aviary_flip_rows(const float *src, size_t T, size_t C, float *dst) {
    for (size_t t = 0; t < T; t++) memcpy(dst + t * C, src + (T - 1 - t) * C, C * sizeof(float));
}

void aviary_q_shift(const float *x, size_t H, size_t W, size_t C, size_t group, size_t shift_pixel, float *y) {
    if (group == 0) group = C;
    const size_t q = group / 4;
    const ptrdiff_t s = (ptrdiff_t)shift_pixel, gh = (ptrdiff_t)H, gw = (ptrdiff_t)W;
#pragma omp parallel for schedule(static) if (H * W * C > 65536)
    for (ptrdiff_t i = 0; i < gh; i++)
        for (ptrdiff_t j = 0; j < gw; j++) {
            float *o = y + ((size_t)i * W + (size_t)j) * C;
            for (size_t c = 0; c < C; c++) {
                size_t part = q ? (c % group) / q : 4;
                ptrdiff_t si = i, sj = j;
                if (part == 0) sj = j - s;
                else if (part == 1) sj = j + s;
                else if (part == 2) si = i - s;
                else if (part == 3) si = i + s;
                o[c] = (si < 0 || si >= gh || sj < 0 || sj >= gw) ? 0.0f : x[((size_t)si * W + (size_t)sj) * C + c];
            }
        }
}

void aviary_conv_shift_3x3(const float *x, size_t H, size_t W, size_t C, const float *k, float *y) {
    const ptrdiff_t gh = (ptrdiff_t)H, gw = (ptrdiff_t)W;
#pragma omp parallel for schedule(static) if (H * W * C > 65536)
    for (ptrdiff_t i = 0; i < gh; i++)
        for (ptrdiff_t j = 0; j < gw; j++) {
            float *o = y + ((size_t)i * W + (size_t)j) * C;
            for (size_t c = 0; c < C; c++) o[c] = 0.0f;
            /* same summation order as before (di, dj row-major), vectorised over channels */
            for (ptrdiff_t di = -1; di <= 1; di++)
                for (ptrdiff_t dj = -1; dj <= 1; dj++) {
                    ptrdiff_t si = i + di, sj = j + dj;
                    if (si < 0 || si >= gh || sj < 0 || sj >= gw) continue;
                    const float *src = x + ((size_t)si * W + (size_t)sj) * C;
                    const size_t tap = (size_t)((di + 1) * 3 + (dj + 1));
                    for (size_t c = 0; c < C; c++) o[c] += k[c * 9 + tap] * src[c];
                }
        }
}

size_t aviary_bi_wkv6_scratch(size_t T, size_t C) { return 5 * T * C + C; }

void aviary_bi_wkv6(size_t T, size_t H, size_t N, const float *r, const float *k, const float *v, const float *w,
                    const float *u, float *S, float *scratch, float *y) {
    const size_t C = H * N, n = T * C;
    float *fr = scratch, *fk = fr + n, *fv = fk + n, *fw = fv + n, *fy = fw + n, *zero = fy + n;
    aviary_flip_rows(r, T, C, fr);
    aviary_flip_rows(k, T, C, fk);
    aviary_flip_rows(v, T, C, fv);
    aviary_flip_rows(w, T, C, fw);
    memset(zero, 0, C * sizeof(float));
    /* backward scan = causal scan of the flipped sequence without the bonus */
    memset(S, 0, H * N * N * sizeof(float));
    aviary_wkv6(T, H, N, fr, fk, fv, fw, zero, S, fy);
    memset(S, 0, H * N * N * sizeof(float));
    aviary_wkv6(T, H, N, r, k, v, w, u, S, y);
    for (size_t t = 0; t < T; t++) {
        const float *b = fy + (T - 1 - t) * C;
        float *yt = y + t * C;
        for (size_t c = 0; c < C; c++) yt[c] += b[c];
    }
}

size_t aviary_bi_wkv7_scratch(size_t T, size_t C) { return 7 * T * C; }

void aviary_bi_wkv7(size_t T, size_t H, size_t N, const float *r, const float *w, const float *k, const float *v,
                    const float *kk, const float *a, float *S, float *scratch, float *y_fwd, float *y_bwd) {
    const size_t C = H * N, n = T * C;
    memset(S, 0, H * N * N * sizeof(float));
    aviary_wkv7(T, H, N, r, w, k, v, kk, a, S, y_fwd);
    const float *src[6] = {r, w, k, v, kk, a};
    for (int i = 0; i < 6; i++) aviary_flip_rows(src[i], T, C, scratch + (size_t)i * n);
    memset(S, 0, H * N * N * sizeof(float));
    aviary_wkv7(T, H, N, scratch, scratch + n, scratch + 2 * n, scratch + 3 * n, scratch + 4 * n, scratch + 5 * n, S,
                scratch + 6 * n);
    aviary_flip_rows(scratch + 6 * n, T, C, y_bwd);
}

/* ---- Vision-RWKV v4 chunked bidirectional WKV ---------------------------- */

#define BIWKV4_SPLIT 32        /* TOKEN_SPLIT of the kernel: threads along T */
#define BIWKV4_MIN (-1e38f)    /* MIN_VALUE */
#define BIWKV4_EPS 1e-6f
#define BIWKV4_BLOCK 64        /* channels per task; the inner loops run over them */

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define BIWKV4_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define BIWKV4_CLONES
#endif

/* e^x for x <= 0 (every exponent here is a value minus a running maximum),
 * branch-free so that the channel loops vectorise: Cephes' expf (range
 * reduction by ln 2 in two parts, degree-6 polynomial, 2^n from the exponent
 * bits), about 1 ulp; 0 below -87.3 where 2^n would leave the normal range
 * (the kernel's expf gives denormals there, < 1e-38 of the sums). */
static inline float exp_nonpos(float x) {
    const float lo = -87.33654f;
    const bool under = x < lo;
    x = under ? lo : x;
    float fx = x * 1.44269504088896341f + 0.5f;
    int n = (int)fx;
    n -= (float)n > fx; /* floor */
    const float fn = (float)n;
    float r = x - fn * 0.693359375f;
    r = r - fn * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union { int32_t i; float f; } sc;
    sc.i = (n + 127) << 23;
    return under ? 0.0f : p * sc.f;
}

/* Channels [c0, c0+nc) (nc <= BIWKV4_BLOCK). Names follow the kernel: (c, d,
 * o1) is the suffix accumulator, (a, b, o2) the prefix one, each a
 * max-scaled (numerator, denominator, exponent) triple, one per channel.
 * The kernel combines the 32 chunk partials with an O(32) loop per chunk;
 * here the prefixes and suffixes of all chunks come from one running
 * recurrence each (shift by e^{-w L}, add the next chunk): the same sums. */
BIWKV4_CLONES static void bi_wkv4_block(size_t T, size_t C, size_t c0, size_t nc, const float *restrict w,
                                        const float *restrict u, const float *restrict k, const float *restrict v,
                                        float *restrict y) {
    enum { S = BIWKV4_SPLIT, B = BIWKV4_BLOCK };
    const long L = (long)((T + S - 1) / S), TT = (long)T;
    /* per chunk: prefix partial (a, b, o2) over its tokens weighted by the
     * distance to the chunk's end, suffix partial (c, d, o1) weighted by the
     * distance minus one from its start; then replaced by the running
     * prefix / suffix the per-token pass starts from */
    float Pa[S][B], Pb[S][B], Po[S][B], Sc[S][B], Sd[S][B], So[S][B]; /* 48 KB */
    float wl[B];
    for (size_t q = 0; q < nc; q++) wl[q] = w[c0 + q] * (float)L;
    for (long j = 0; j < S; j++) {
        const long t0 = L * j, len = TT - t0 < L ? TT - t0 : L;
        float *restrict pa = Pa[j], *restrict pb = Pb[j], *restrict po = Po[j];
        float *restrict sc = Sc[j], *restrict sd = Sd[j], *restrict so = So[j];
        for (size_t q = 0; q < nc; q++) pa[q] = pb[q] = sc[q] = sd[q] = 0, po[q] = so[q] = BIWKV4_MIN;
        for (long i = t0; i < t0 + len; i++) {
            const long ni = 2 * t0 + len - 1 - i, ew = t0 + len - ni;
            const float *restrict ki = k + (size_t)i * C + c0, *restrict vi = v + (size_t)i * C + c0;
            const float *restrict kn = k + (size_t)ni * C + c0, *restrict vn = v + (size_t)ni * C + c0;
#pragma omp simd
            for (size_t q = 0; q < nc; q++) {
                const float wq = w[c0 + q];
                float x = ki[q] - wq * (float)(i - t0), no = so[q] > x ? so[q] : x;
                float e1 = exp_nonpos(so[q] - no), e3 = exp_nonpos(x - no);
                sc[q] = e1 * sc[q] + e3 * vi[q];
                sd[q] = e1 * sd[q] + e3;
                so[q] = no;
                x = kn[q] - wq * (float)ew;
                no = po[q] > x ? po[q] : x;
                e1 = exp_nonpos(po[q] - no), e3 = exp_nonpos(x - no);
                pa[q] = e1 * pa[q] + e3 * vn[q];
                pb[q] = e1 * pb[q] + e3;
                po[q] = no;
            }
        }
    }
    /* running prefix: before chunk j = sum_{i<j} P_i e^{-w L (j-1-i)} */
    {
        float ra[B], rb[B], ro[B];
        for (size_t q = 0; q < nc; q++) ra[q] = rb[q] = 0, ro[q] = BIWKV4_MIN;
        for (long j = 0; j < S; j++) {
#pragma omp simd
            for (size_t q = 0; q < nc; q++) {
                const float pa = Pa[j][q], pb = Pb[j][q], po = Po[j][q];
                Pa[j][q] = ra[q], Pb[j][q] = rb[q], Po[j][q] = ro[q];
                const float sh = ro[q] - wl[q]; /* older chunks move one chunk further away */
                const float no = sh > po ? sh : po, e1 = exp_nonpos(sh - no), e2 = exp_nonpos(po - no);
                ra[q] = ra[q] * e1 + pa * e2;
                rb[q] = rb[q] * e1 + pb * e2;
                ro[q] = no;
            }
        }
    }
    /* running suffix: from chunk j on = sum_{i>=j} S_i e^{-w L (i-j)} */
    {
        float rc[B], rd[B], ro[B];
        for (size_t q = 0; q < nc; q++) rc[q] = rd[q] = 0, ro[q] = BIWKV4_MIN;
        for (long j = S - 1; j >= 0; j--) {
#pragma omp simd
            for (size_t q = 0; q < nc; q++) {
                const float sh = ro[q] - wl[q], sx = So[j][q];
                const float no = sh > sx ? sh : sx, e1 = exp_nonpos(sh - no), e2 = exp_nonpos(sx - no);
                rc[q] = rc[q] * e1 + Sc[j][q] * e2;
                rd[q] = rd[q] * e1 + Sd[j][q] * e2;
                ro[q] = no;
                Sc[j][q] = rc[q], Sd[j][q] = rd[q], So[j][q] = ro[q];
            }
        }
    }
    for (long j = 0; j < S; j++) {
        const long t0 = L * j, len = TT - t0 < L ? TT - t0 : L;
        if (len <= 0) break;
        float a[B], b[B], o2[B], c[B], d[B], o1[B];
        const float *restrict k0 = k + (size_t)t0 * C + c0, *restrict v0 = v + (size_t)t0 * C + c0;
        for (size_t q = 0; q < nc; q++) {
            a[q] = Pa[j][q], b[q] = Pb[j][q], o2[q] = Po[j][q];
            o1[q] = So[j][q];
            const float e = exp_nonpos(k0[q] - o1[q]);
            c[q] = Sc[j][q] - e * v0[q];
            d[q] = Sd[j][q] - e;
        }
        for (long i = t0; i < t0 + len; i++) {
            const long i2 = (i + 1) % TT;
            const float *restrict ki = k + (size_t)i * C + c0, *restrict vi = v + (size_t)i * C + c0;
            const float *restrict k2 = k + (size_t)i2 * C + c0, *restrict v2 = v + (size_t)i2 * C + c0;
            float *restrict yi = y + (size_t)i * C + c0;
#pragma omp simd
            for (size_t q = 0; q < nc; q++) {
                const float wq = w[c0 + q], uk = u[c0 + q] + ki[q];
                float no = o1[q] > uk ? o1[q] : uk;
                no = no > o2[q] ? no : o2[q];
                float e1 = exp_nonpos(o1[q] - no), e2 = exp_nonpos(o2[q] - no), e3 = exp_nonpos(uk - no);
                yi[q] = (c[q] * e1 + a[q] * e2 + e3 * vi[q]) / (d[q] * e1 + b[q] * e2 + e3 + BIWKV4_EPS);
                const float ow = o2[q] - wq;
                no = ow > ki[q] ? ow : ki[q];
                e2 = exp_nonpos(ow - no), e3 = exp_nonpos(ki[q] - no);
                a[q] = e2 * a[q] + e3 * vi[q];
                b[q] = e2 * b[q] + e3;
                o2[q] = no;
                const float o1w = o1[q] + wq, k2w = k2[q] + wq;
                no = o1w > k2w ? o1w : k2w;
                e1 = exp_nonpos(o1w - no), e3 = exp_nonpos(k2w - no);
                c[q] = e1 * c[q] - e3 * v2[q];
                d[q] = e1 * d[q] - e3;
                o1[q] = no;
            }
        }
    }
}

void aviary_bi_wkv4(size_t T, size_t C, const float *w, const float *u, const float *k, const float *v, float *y) {
    if (T == 0 || C == 0) return;
    const long nb = (long)((C + BIWKV4_BLOCK - 1) / BIWKV4_BLOCK);
#pragma omp parallel for schedule(static) if (nb > 1)
    for (long bi = 0; bi < nb; bi++) {
        const size_t c0 = (size_t)bi * BIWKV4_BLOCK, nc = C - c0 < BIWKV4_BLOCK ? C - c0 : BIWKV4_BLOCK;
        bi_wkv4_block(T, C, c0, nc, w, u, k, v, y);
    }
}
