/* test_linear_sparse.c - sparse-input linears (AVIARY__LINEAR_SPARSE_X, the
 * k-major layout RWKV's channel-mix value uses): the same results as the
 * portable C backend and as a dense linear on the same weights, for inputs
 * with no, half, most and all entries exactly zero, one token (the
 * row-skipping GEMV, AVX-512 and portable) and many (the oneDNN primitive on
 * the k-major weights). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aviary/aviary.h"
#include "internal.h"
#include "test_linear_util.h"

static int fails;
static uint32_t rng = 777;
static float frand(void) { rng = rng * 1664525u + 1013904223u; return (float)((rng >> 8) / 16777216.0 * 2.0 - 1.0); }



/* zero: the fraction of x set to exactly 0 (1 = all) */
static void agree(int m, int in, int out, aviary_weight_type wt, bool tr, bool with_bias, double zero) {
    float *w = malloc(sizeof(float) * in * out), *b = malloc(sizeof(float) * out);
    float *x = malloc(sizeof(float) * m * in), *yc = malloc(sizeof(float) * m * out);
    float *ys = malloc(sizeof(float) * m * out), *yd = malloc(sizeof(float) * m * out);
    float *y1 = malloc(sizeof(float) * m * out);
    for (int i = 0; i < in * out; i++) w[i] = frand();
    for (int i = 0; i < out; i++) b[i] = frand();
    for (int i = 0; i < m * in; i++) {
        const float v = frand();
        x[i] = (frand() * 0.5f + 0.5f) < zero ? 0.0f : v * v; /* like relu(k)^2: >= 0 */
    }
    aviary_linear *lc = make_linear(w, with_bias ? b : NULL, in, out, wt, tr, 0, true);
    aviary_linear *ls = make_linear(w, with_bias ? b : NULL, in, out, wt, tr, AVIARY__LINEAR_SPARSE_X, false);
    aviary_linear *ld = make_linear(w, with_bias ? b : NULL, in, out, wt, tr, 0, false);
    if (!lc || !ls || !ld) { fails++; goto done; }
    if (aviary_linear_forward(lc, x, m, yc) || aviary_linear_forward(ls, x, m, ys) ||
        aviary_linear_forward(ld, x, m, yd)) {
        printf("FAIL forward: %s\n", aviary_errmsg()); fails++; goto done;
    }
    for (int r = 0; r < m; r++)
        if (aviary_linear_forward(ls, x + r * in, 1, y1 + r * out)) { printf("FAIL forward\n"); fails++; goto done; }
    /* m <= 4: the sparse GEMV multiplies the same stored weights by exact f32
     * x, as the C backend does: only the summation order differs. m > 4: the
     * oneDNN primitive (bf16: hi/lo x, int8: two-level x, see test_linear). */
    const double tol = m <= 4 || wt == AVIARY_WEIGHTS_F32 ? 2e-6 : wt == AVIARY_WEIGHTS_BF16 ? 2e-5 : 2e-4;
    const double dc = rel_diff(ys, yc, (size_t)m * out), dd = rel_diff(ys, yd, (size_t)m * out);
    const double d1 = rel_diff(y1, yc, (size_t)m * out);
    /* the dense oneDNN linear quantizes x for int8 one-token calls too */
    const double tol_d = wt == AVIARY_WEIGHTS_INT8 ? 2e-4 : wt == AVIARY_WEIGHTS_BF16 && m > 4 ? 2e-5 : 2e-6;
    const bool ok = dc <= tol && dd <= tol_d && d1 <= 2e-6 && aviary_linear_bytes(ls) > 0 &&
                    !strcmp(aviary__linear_backend_name(ls), "onednn-kmajor");
    if (!ok) fails++;
    printf("%s sparse [%s] m=%d in=%d out=%d %s tr=%d bias=%d zero=%.2f: vs c %.3g (tol %.g), vs dense %.3g, "
           "rows one at a time vs c %.3g\n",
           ok ? "ok  " : "FAIL", aviary__linear_backend_name(ls), m, in, out, aviary_weight_type_name(wt), tr,
           with_bias, zero, dc, tol, dd, d1);
done:
    aviary_linear_free(lc); aviary_linear_free(ls); aviary_linear_free(ld);
    free(w); free(b); free(x); free(yc); free(ys); free(yd); free(y1);
}

/* forward_multi with a sparse linear among dense ones: the same as separate calls */
static void multi(void) {
    enum { IN = 300, OUT = 130 };
    float *w = malloc(sizeof(float) * IN * OUT), *x = malloc(sizeof(float) * IN);
    float ya[2][OUT], yb[2][OUT];
    for (int i = 0; i < IN * OUT; i++) w[i] = frand();
    for (int i = 0; i < IN; i++) x[i] = i % 3 ? 0.0f : frand();
    aviary_linear *l[2] = {make_linear(w, NULL, IN, OUT, AVIARY_WEIGHTS_BF16, false, AVIARY__LINEAR_SPARSE_X, false),
                           make_linear(w, NULL, IN, OUT, AVIARY_WEIGHTS_INT8, false, 0, false)};
    bool ok = l[0] && l[1];
    for (int i = 0; ok && i < 2; i++) ok = aviary_linear_forward(l[i], x, 1, ya[i]) == AVIARY_OK;
    const aviary_linear *lc[2] = {l[0], l[1]};
    const float *xc[2] = {x, x};
    float *yc[2] = {yb[0], yb[1]};
    ok = ok && aviary__linear_forward_multi(2, lc, xc, 1, yc) == AVIARY_OK;
    ok = ok && rel_diff(yb[0], ya[0], OUT) == 0 && rel_diff(yb[1], ya[1], OUT) == 0;
    if (!ok) fails++;
    printf("%s forward_multi with a sparse linear\n", ok ? "ok  " : "FAIL");
    aviary_linear_free(l[0]); aviary_linear_free(l[1]);
    free(w); free(x);
}

int main(void) {
    const aviary_weight_type wts[] = {AVIARY_WEIGHTS_F32, AVIARY_WEIGHTS_BF16, AVIARY_WEIGHTS_INT8};
    const double zeros[] = {0.0, 0.5, 0.9, 1.0};
    for (int t = 0; t < 3; t++)
        for (int z = 0; z < 4; z++) {
            agree(1, 129, 70, wts[t], false, true, zeros[z]);
            agree(1, 3000, 300, wts[t], z % 2, z < 2, zeros[z]); /* large enough for the thread pool */
        }
    for (int t = 0; t < 3; t++) {
        agree(2, 100, 64, wts[t], true, false, 0.5);
        agree(4, 768, 200, wts[t], false, true, 0.5);
        agree(5, 129, 70, wts[t], false, true, 0.5);  /* the oneDNN primitive on k-major weights */
        agree(64, 768, 200, wts[t], true, false, 0.5);
        agree(1, 1, 1, wts[t], false, true, 0.0);
        agree(1, 7, 1, wts[t], false, false, 0.5);
    }
    /* the portable row-skipping kernel (CPUs without AVX-512) */
    aviary__linear_kernels(AVIARY__KERNELS_PORTABLE);
    printf("portable kernels:\n");
    for (int t = 0; t < 3; t++) {
        agree(1, 129, 70, wts[t], false, true, 0.5);
        agree(1, 3000, 300, wts[t], true, false, 0.9);
    }
    aviary__linear_kernels(AVIARY__KERNELS_BEST);
    multi();
    printf("%s\n", fails ? "FAILED" : "PASS");
    return fails != 0;
}
