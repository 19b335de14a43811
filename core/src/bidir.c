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

#define BIWKV4_SPLIT 32       /* TOKEN_SPLIT of the kernel: threads along T */
#define BIWKV4_MIN (-1e38)    /* MIN_VALUE */
#define BIWKV4_EPS 1e-6

/* One channel: k, v, y point at the channel's first value, rows `ld` apart.
 * The variable names follow the kernel: (c, d, o1) is the suffix
 * accumulator, (a, b, o2) the prefix one, each a max-scaled (numerator,
 * denominator, exponent) triple; P and S hold the kernel's per-chunk
 * (shared memory) partials. */
static void bi_wkv4_channel(size_t T, size_t ld, double w, double u, const float *kp, const float *vp, float *yp) {
#define k(i) ((double)kp[(size_t)(i) * ld])
#define v(i) ((double)vp[(size_t)(i) * ld])
    const long L = (long)((T + BIWKV4_SPLIT - 1) / BIWKV4_SPLIT), TT = (long)T;
    double Pa[BIWKV4_SPLIT], Pb[BIWKV4_SPLIT], Po[BIWKV4_SPLIT]; /* per-chunk prefix partials (a, b, o2) */
    double Sc[BIWKV4_SPLIT], Sd[BIWKV4_SPLIT], So[BIWKV4_SPLIT]; /* per-chunk suffix partials (c, d, o1) */
    for (long j = 0; j < BIWKV4_SPLIT; j++) {
        const long t0 = L * j, len = TT - t0 < L ? TT - t0 : L;
        double a = 0, b = 0, c = 0, d = 0, o1 = BIWKV4_MIN, o2 = BIWKV4_MIN;
        for (long i = t0; i < t0 + len; i++) {
            double no = fmax(o1, k(i) - w * (double)(i - t0));
            double e1 = exp(o1 - no), e3 = exp(k(i) - w * (double)(i - t0) - no);
            c = e1 * c + e3 * v(i);
            d = e1 * d + e3;
            o1 = no;
            const long ni = 2 * t0 + len - 1 - i, ew = t0 + len - ni;
            no = fmax(o2, k(ni) - w * (double)ew);
            double e2 = exp(o2 - no);
            e3 = exp(k(ni) - w * (double)ew - no);
            a = e2 * a + e3 * v(ni);
            b = e2 * b + e3;
            o2 = no;
        }
        Pa[j] = a, Pb[j] = b, Po[j] = o2;
        Sc[j] = c, Sd[j] = d, So[j] = o1;
    }
    for (long j = 0; j < BIWKV4_SPLIT; j++) {
        const long t0 = L * j, len = TT - t0 < L ? TT - t0 : L;
        if (len <= 0) continue;
        double a = 0, b = 0, o2 = BIWKV4_MIN;
        for (long i = 0; i < j; i++) {
            const double ew = (double)((j - i - 1) * L);
            const double no = fmax(Po[i] - w * ew, o2), ea = exp(o2 - no), eb = exp(Po[i] - w * ew - no);
            a = a * ea + Pa[i] * eb;
            b = b * ea + Pb[i] * eb;
            o2 = no;
        }
        double c = 0, d = 0, o1 = BIWKV4_MIN;
        for (long i = j; i < BIWKV4_SPLIT; i++) {
            const double ew = (double)((i - j) * L);
            const double no = fmax(So[i] - w * ew, o1), ea = exp(o1 - no), eb = exp(So[i] - w * ew - no);
            c = c * ea + Sc[i] * eb;
            d = d * ea + Sd[i] * eb;
            o1 = no;
        }
        c -= exp(k(t0) - o1) * v(t0);
        d -= exp(k(t0) - o1);
        for (long i = t0; i < t0 + len; i++) {
            double no = fmax(fmax(o1, u + k(i)), o2);
            double e1 = exp(o1 - no), e2 = exp(o2 - no), e3 = exp(u + k(i) - no);
            yp[(size_t)i * ld] = (float)((c * e1 + a * e2 + e3 * v(i)) / (d * e1 + b * e2 + e3 + BIWKV4_EPS));
            const long i2 = (i + 1) % TT;
            no = fmax(o2 - w, k(i));
            e2 = exp(o2 - w - no);
            e3 = exp(k(i) - no);
            a = e2 * a + e3 * v(i);
            b = e2 * b + e3;
            o2 = no;
            no = fmax(o1 + w, k(i2) + w);
            e1 = exp(o1 + w - no);
            e3 = exp(k(i2) + w - no);
            c = e1 * c - e3 * v(i2);
            d = e1 * d - e3;
            o1 = no;
        }
    }
#undef k
#undef v
}

void aviary_bi_wkv4(size_t T, size_t C, const float *w, const float *u, const float *k, const float *v, float *y) {
    if (T == 0) return;
#pragma omp parallel for schedule(static)
    for (size_t c = 0; c < C; c++) bi_wkv4_channel(T, C, w[c], u[c], k + c, v + c, y + c);
}
