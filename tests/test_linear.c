/* test_linear.c - aviary_linear against a double-precision reference. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "aviary/aviary.h"

static int fails;
static uint32_t rng = 12345;
static float frand(void) { rng = rng * 1664525u + 1013904223u; return (float)((rng >> 8) / 16777216.0 * 2.0 - 1.0); }

/* Relative error ||y - ref|| / ||ref||. Tolerances: f32 accumulation ~1e-6;
 * bf16 weights round each weight to 8 mantissa bits (rel 2^-9 per element,
 * random signs -> ~2e-3 on the dot product); int8 per-row step max/127 gives
 * ~1e-2 relative; limits are set ~3-5x above these. */
static void check(int m, int in, int out, aviary_weight_type wt, bool tr, bool with_bias, double tol) {
    float *w = malloc(sizeof(float) * in * out), *b = malloc(sizeof(float) * out);
    float *x = malloc(sizeof(float) * m * in), *y = malloc(sizeof(float) * m * out);
    for (int i = 0; i < in * out; i++) w[i] = frand();
    for (int i = 0; i < out; i++) b[i] = frand();
    for (int i = 0; i < m * in; i++) x[i] = frand();
    aviary_tensor W = {0}, B = {0};
    W.dtype = AVIARY_F32; W.ndim = 2; W.shape[0] = tr ? in : out; W.shape[1] = tr ? out : in; W.data = w;
    aviary_tensor_set_contiguous(&W);
    B.dtype = AVIARY_F32; B.ndim = 1; B.shape[0] = out; B.data = b; aviary_tensor_set_contiguous(&B);
    aviary_linear_params p = aviary_linear_default_params();
    p.weights = wt; p.transposed = tr;
    aviary_linear *lin;
    if (aviary_linear_create(&W, with_bias ? &B : NULL, &p, &lin)) { printf("FAIL create: %s\n", aviary_errmsg()); fails++; goto done; }
    if (aviary_linear_forward(lin, x, m, y)) { printf("FAIL forward: %s\n", aviary_errmsg()); fails++; goto done2; }
    double num = 0, den = 0;
    for (int r = 0; r < m; r++)
        for (int o = 0; o < out; o++) {
            double acc = with_bias ? b[o] : 0;
            for (int i = 0; i < in; i++) acc += (double)x[r * in + i] * (tr ? w[i * out + o] : w[o * in + i]);
            num += (y[r * out + o] - acc) * (y[r * out + o] - acc); den += acc * acc;
        }
    double rel = sqrt(num / den);
    int ok = rel <= tol;
    if (!ok) fails++;
    printf("%s m=%d in=%d out=%d %s tr=%d bias=%d rel=%.3g (tol %.g)\n", ok ? "ok  " : "FAIL", m, in, out,
           aviary_weight_type_name(wt), tr, with_bias, rel, tol);
done2:
    aviary_linear_free(lin);
done:
    free(w); free(b); free(x); free(y);
}

int main(void) {
    int ms[] = {1, 7, 64};
    for (int i = 0; i < 3; i++) {
        check(ms[i], 100, 37, AVIARY_WEIGHTS_F32, false, true, 1e-5);
        check(ms[i], 100, 37, AVIARY_WEIGHTS_F32, true, false, 1e-5);
        check(ms[i], 129, 70, AVIARY_WEIGHTS_BF16, false, true, 1e-2);
        check(ms[i], 129, 70, AVIARY_WEIGHTS_INT8, true, true, 5e-2);
    }
    /* invalid arguments */
    aviary_linear *lin = (aviary_linear *)1;
    aviary_tensor W = {0};
    W.dtype = AVIARY_F32; W.ndim = 1; W.shape[0] = 4; float d[4] = {0}; W.data = d;
    if (aviary_linear_create(&W, NULL, NULL, &lin) != AVIARY_SHAPE || lin) { printf("FAIL 1-D weight accepted\n"); fails++; }
    if (aviary_linear_forward(NULL, d, 1, d) != AVIARY_INVALID_ARG) { printf("FAIL NULL lin\n"); fails++; }
    printf("%s\n", fails ? "FAILED" : "PASS");
    return fails != 0;
}
