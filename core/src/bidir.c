/* bidir.c - bidirectional blocks (aviary_bidir.h). The WKV passes reuse the
 * causal recurrences of wkv.c on the sequence and on a flipped copy, so the
 * arithmetic (and its threading over heads) is exactly theirs. */
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
