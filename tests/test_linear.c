/* test_linear.c - aviary_linear against a double-precision reference. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include "aviary/aviary.h"
#include <oneapi/dnnl/dnnl.h>
#include "internal.h"
#include "test_linear_util.h"

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
    printf("%s [%s] m=%d in=%d out=%d %s tr=%d bias=%d rel=%.3g (tol %.g)\n", ok ? "ok  " : "FAIL",
           aviary__linear_backend_name(lin), m, in, out, aviary_weight_type_name(wt), tr, with_bias, rel, tol);
done2:
    aviary_linear_free(lin);
done:
    free(w); free(b); free(x); free(y);
}



/* The default (oneDNN) backend against the portable C one, on the same
 * weights: f32 must agree to rounding; bf16 to the oneDNN primitive's hi/lo
 * split of x (~2^-16 relative); int8 to its two-level quantization of x
 * (~2^-15 relative to max|x|; the C backend keeps x f32). Also: m rows at
 * once (oneDNN primitive for m > 4) must agree with the same rows one at a
 * time (our GEMV kernels). */
static void agree(int m, int in, int out, aviary_weight_type wt, bool tr, bool with_bias) {
    float *w = malloc(sizeof(float) * in * out), *b = malloc(sizeof(float) * out);
    float *x = malloc(sizeof(float) * m * in), *y1 = malloc(sizeof(float) * m * out);
    float *y2 = malloc(sizeof(float) * m * out), *y3 = malloc(sizeof(float) * m * out);
    for (int i = 0; i < in * out; i++) w[i] = frand();
    for (int i = 0; i < out; i++) b[i] = frand();
    for (int i = 0; i < m * in; i++) x[i] = frand() * (i % 7 == 0 ? 4.0f : 1.0f);
    aviary_linear *lc = make_linear(w, with_bias ? b : NULL, in, out, wt, tr, 0, true);
    aviary_linear *ld = make_linear(w, with_bias ? b : NULL, in, out, wt, tr, 0, false);
    if (!lc || !ld) { fails++; goto done; }
    if (aviary_linear_forward(lc, x, m, y1) || aviary_linear_forward(ld, x, m, y2)) {
        printf("FAIL forward: %s\n", aviary_errmsg()); fails++; goto done;
    }
    for (int r = 0; r < m; r++)
        if (aviary_linear_forward(ld, x + r * in, 1, y3 + r * out)) { printf("FAIL forward\n"); fails++; goto done; }
    double tol = wt == AVIARY_WEIGHTS_F32 ? 2e-6 : wt == AVIARY_WEIGHTS_BF16 ? 2e-5 : 2e-4;
    double d12 = rel_diff(y2, y1, (size_t)m * out), d23 = rel_diff(y3, y2, (size_t)m * out);
    /* bf16: the GEMV keeps x exact, the primitive splits it (2^-16) */
    int ok = d12 <= tol && d23 <= (wt == AVIARY_WEIGHTS_BF16 ? 2e-5 : 2e-6);
    if (!ok) fails++;
    printf("%s agree [%s vs c] m=%d in=%d out=%d %s tr=%d bias=%d: backends %.3g (tol %.g), rows-vs-batch %.3g\n",
           ok ? "ok  " : "FAIL", aviary__linear_backend_name(ld), m, in, out, aviary_weight_type_name(wt), tr,
           with_bias, d12, tol, d23);
done:
    aviary_linear_free(lc); aviary_linear_free(ld);
    free(w); free(b); free(x); free(y1); free(y2); free(y3);
}

/* Several threads calling forward on one linear with different m. */
typedef struct job {
    const aviary_linear *lin;
    const float *x, *want;
    int in, out, m, iters;
    double worst;
    int err;
} job;

static void *worker(void *arg) {
    job *j = arg;
    float *y = malloc(sizeof(float) * j->m * j->out);
    for (int it = 0; it < j->iters; it++) {
        if (aviary_linear_forward(j->lin, j->x, j->m, y)) { j->err = 1; break; }
        double d = rel_diff(y, j->want, (size_t)j->m * j->out);
        if (d > j->worst) j->worst = d;
    }
    free(y);
    return NULL;
}

static void concurrency(aviary_weight_type wt) {
    enum { NT = 4 };
    const int in = 256, out = 320, ms[NT] = {1, 3, 40, 130};
    float *w = malloc(sizeof(float) * in * out), *b = malloc(sizeof(float) * out);
    float *x = malloc(sizeof(float) * 130 * in), *want[NT];
    for (int i = 0; i < in * out; i++) w[i] = frand();
    for (int i = 0; i < out; i++) b[i] = frand();
    for (int i = 0; i < 130 * in; i++) x[i] = frand();
    aviary_linear *lin = make_linear(w, b, in, out, wt, false, 0, false);
    if (!lin) { fails++; return; }
    job jobs[NT];
    pthread_t th[NT];
    for (int t = 0; t < NT; t++) {
        want[t] = malloc(sizeof(float) * ms[t] * out);
        if (aviary_linear_forward(lin, x, ms[t], want[t])) fails++;
        jobs[t] = (job){lin, x, want[t], in, out, ms[t], 30, 0, 0};
    }
    for (int t = 0; t < NT; t++) pthread_create(&th[t], NULL, worker, &jobs[t]);
    double worst = 0;
    int err = 0;
    for (int t = 0; t < NT; t++) {
        pthread_join(th[t], NULL);
        if (jobs[t].worst > worst) worst = jobs[t].worst;
        err |= jobs[t].err;
        free(want[t]);
    }
    int ok = !err && worst <= 1e-6;
    if (!ok) fails++;
    printf("%s concurrency [%s] %s: %d threads x 30 calls, worst rel diff %.3g\n", ok ? "ok  " : "FAIL",
           aviary__linear_backend_name(lin), aviary_weight_type_name(wt), NT, worst);
    aviary_linear_free(lin);
    free(w); free(b); free(x);
}

/* aviary__linear_forward_multi: several linears of mixed precision and
 * shape in one call give exactly what separate forwards give. */
static void multi(int m) {
    enum { N = 4 };
    const int ins[N] = {256, 100, 768, 64}, outs[N] = {320, 37, 64, 700};
    const aviary_weight_type wts[N] = {AVIARY_WEIGHTS_INT8, AVIARY_WEIGHTS_F32, AVIARY_WEIGHTS_BF16, AVIARY_WEIGHTS_INT8};
    aviary_linear *l[N];
    float *w[N], *x[N], *y1[N], *y2[N];
    for (int i = 0; i < N; i++) {
        w[i] = malloc(sizeof(float) * ins[i] * outs[i]);
        x[i] = malloc(sizeof(float) * m * ins[i]);
        y1[i] = malloc(sizeof(float) * m * outs[i]);
        y2[i] = malloc(sizeof(float) * m * outs[i]);
        for (int k = 0; k < ins[i] * outs[i]; k++) w[i][k] = frand();
        for (int k = 0; k < m * ins[i]; k++) x[i][k] = frand();
        l[i] = make_linear(w[i], NULL, ins[i], outs[i], wts[i], false, 0, false);
        if (!l[i] || aviary_linear_forward(l[i], x[i], m, y1[i])) fails++;
    }
    const aviary_linear *lc[N] = {l[0], l[1], l[2], l[3]};
    const float *xc[N] = {x[0], x[1], x[2], x[3]};
    int ok = aviary__linear_forward_multi(N, lc, xc, m, y2) == AVIARY_OK;
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double d = rel_diff(y2[i], y1[i], (size_t)m * outs[i]);
        if (d > worst) worst = d;
    }
    ok = ok && worst <= (m > 4 ? 2e-5 : 0); /* m > 4: bf16 primitive (hi/lo x) vs GEMV */
    if (!ok) fails++;
    printf("%s forward_multi m=%d: 4 linears (int8, f32, bf16, int8), worst rel diff vs separate %.3g\n",
           ok ? "ok  " : "FAIL", m, worst);
    for (int i = 0; i < N; i++) {
        aviary_linear_free(l[i]);
        free(w[i]); free(x[i]); free(y1[i]); free(y2[i]);
    }
}

/* No linear may land on the portable C backend (plain loops, 10-50x
 * slower) on an x86 CPU oneDNN supports: where oneDNN's ISA has the
 * precision natively (avx512_core for f32, +bf16, +vnni for int8) it is
 * the packed blocked layout ("onednn"), otherwise the k-major one. int8 once
 * fell back to C on AMD Zen 4, where oneDNN's layout for an s8 x carries a
 * compensation we did not expect. Run also under ONEDNN_MAX_CPU_ISA=AVX2
 * (tests/linear.cmake), as a CPU without AVX-512. */
static void packed_backend(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    const unsigned isa = (unsigned)dnnl_get_effective_cpu_isa();
    if ((isa & dnnl_cpu_isa_avx2) != dnnl_cpu_isa_avx2) return; /* below AVX2: C is the expected fallback */
    const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
    const unsigned native[3] = {dnnl_cpu_isa_avx512_core, dnnl_cpu_isa_avx512_core_bf16,
                                dnnl_cpu_isa_avx512_core_vnni};
    enum { IN = 512, OUT = 256 };
    float *w = malloc(sizeof(float) * IN * OUT);
    for (int i = 0; i < IN * OUT; i++) w[i] = frand();
    for (int wt = AVIARY_WEIGHTS_F32; wt <= AVIARY_WEIGHTS_INT8; wt++) {
        const bool blocked = avx512 && (isa & native[wt - AVIARY_WEIGHTS_F32]) == native[wt - AVIARY_WEIGHTS_F32];
        const char *want = blocked ? "onednn" : "onednn-kmajor";
        aviary_linear *l = make_linear(w, NULL, IN, OUT, (aviary_weight_type)wt, false, 0, false);
        const char *be = l ? aviary__linear_backend_name(l) : "(none)";
        const int ok = l && !strcmp(be, want);
        if (!ok) fails++;
        printf("%s %s weights (oneDNN ISA 0x%x) use backend %s (want %s)\n", ok ? "ok  " : "FAIL",
               aviary_weight_type_name((aviary_weight_type)wt), isa, be, want);
        aviary_linear_free(l);
    }
    free(w);
#endif
}

int main(void) {
    packed_backend();
    int ms[] = {1, 7, 64};
    for (int i = 0; i < 3; i++) {
        check(ms[i], 100, 37, AVIARY_WEIGHTS_F32, false, true, 1e-5);
        check(ms[i], 100, 37, AVIARY_WEIGHTS_F32, true, false, 1e-5);
        check(ms[i], 129, 70, AVIARY_WEIGHTS_BF16, false, true, 1e-2);
        check(ms[i], 129, 70, AVIARY_WEIGHTS_INT8, true, true, 5e-2);
    }
    /* random shapes, precisions and m (covering the GEMV sizes 1..4 and the primitive) */
    const int ins[] = {1, 5, 64, 100, 129, 256, 768}, outs[] = {1, 16, 64, 70, 130, 200};
    const int mm[] = {1, 2, 3, 4, 5, 17, 64, 300};
    for (int i = 0; i < 24; i++) {
        rng = rng * 1664525u + 1013904223u;
        uint32_t r = rng >> 4;
        agree(mm[r % 8], ins[(r / 8) % 7], outs[(r / 56) % 6], (aviary_weight_type)(1 + (r / 336) % 3),
              (r / 1008) % 2, (r / 2016) % 2);
    }
    agree(1, 2048, 300, AVIARY_WEIGHTS_INT8, false, false);
    /* the portable GEMV kernels (CPUs without AVX-512) on the same packed layouts */
    aviary__linear_kernels(AVIARY__KERNELS_PORTABLE);
    printf("portable GEMV kernels:\n");
    for (int wt = AVIARY_WEIGHTS_F32; wt <= AVIARY_WEIGHTS_INT8; wt++) {
        agree(1, 129, 70, (aviary_weight_type)wt, false, true);
        agree(3, 768, 200, (aviary_weight_type)wt, true, false);
        agree(5, 100, 130, (aviary_weight_type)wt, false, false);
    }
    aviary__linear_kernels(AVIARY__KERNELS_BEST);
    agree(256, 768, 200, AVIARY_WEIGHTS_BF16, false, true);
    concurrency(AVIARY_WEIGHTS_F32);
    concurrency(AVIARY_WEIGHTS_BF16);
    concurrency(AVIARY_WEIGHTS_INT8);
    multi(1);
    multi(3);
    multi(9);
    /* invalid arguments */
    aviary_linear *lin = (aviary_linear *)1;
    aviary_tensor W = {0};
    W.dtype = AVIARY_F32; W.ndim = 1; W.shape[0] = 4; float d[4] = {0}; W.data = d;
    if (aviary_linear_create(&W, NULL, NULL, &lin) != AVIARY_SHAPE || lin) { printf("FAIL 1-D weight accepted\n"); fails++; }
    if (aviary_linear_forward(NULL, d, 1, d) != AVIARY_INVALID_ARG) { printf("FAIL NULL lin\n"); fails++; }
    printf("%s\n", fails ? "FAILED" : "PASS");
    return fails != 0;
}
