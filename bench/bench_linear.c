/* bench_linear.c - aviary_linear speed per precision: one-token GEMV (m = 1,
 * memory bound: GB/s of weights streamed) and prefill GEMM (m = 256: GFLOP/s).
 * Usage: bench_linear [SHAPESET=rwkv6|rwkv7|all] [MIN_SECONDS=0.3] [WEIGHTS=f32|bf16|int8|all]
 * Threads: OMP_NUM_THREADS. Backend: default oneDNN, AVIARY_MATMUL=c for the
 * portable one. GEMV "cold" rotates over enough copies of the matrix to
 * exceed 1.2 GB (so weights come from DRAM, as in a large model); "hot"
 * repeats one matrix (from cache when it fits, as in a small model on a
 * CPU with a large L3). The last rows of each set are the channel-mix value
 * in its sparse-input layout (backend "onednn-kmajor"), half its inputs 0:
 * its GB/s counts all of the matrix's bytes, though only the rows of nonzero
 * inputs are read. 1 GB = 1e9 bytes. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "aviary/aviary.h"
#include "internal.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Seconds per call of forward over copies[0..n) in turn, repeated for >= min_s. */
static double time_calls(aviary_linear **lins, int n, const float *x, int64_t m, float *y, double min_s) {
    for (int i = 0; i < n; i++) aviary_linear_forward(lins[i], x, m, y); /* warm: primitives, pages */
    long calls = 0;
    double t0 = now(), dt;
    do {
        for (int i = 0; i < n; i++) aviary_linear_forward(lins[i], x, m, y);
        calls += n;
        dt = now() - t0;
    } while (dt < min_s);
    return dt / (double)calls;
}

/* flags: 0, or AVIARY__LINEAR_SPARSE_X for the channel-mix value's
 * input-major layout; its x then has every other input exactly 0, as
 * relu(k)^2 gives about half zeros on random weights. */
static int bench(int64_t out, int64_t in, aviary_weight_type wt, unsigned flags, double min_s) {
    float *w = malloc((size_t)(out * in) * sizeof(float));
    const int64_t M = 256;
    float *x = malloc((size_t)(M * in) * sizeof(float)), *y = malloc((size_t)(M * out) * sizeof(float));
    if (!w || !x || !y) return 1;
    uint32_t r = 1;
    for (int64_t i = 0; i < out * in; i++) { r = r * 1664525u + 1013904223u; w[i] = (float)(r >> 8) / 16777216.0f - 0.5f; }
    for (int64_t i = 0; i < M * in; i++) { r = r * 1664525u + 1013904223u; x[i] = (float)(r >> 8) / 16777216.0f - 0.5f; }
    if (flags & AVIARY__LINEAR_SPARSE_X)
        for (int64_t i = 0; i < M * in; i += 2) x[i] = 0.0f;
    aviary_tensor W = {0};
    W.dtype = AVIARY_F32; W.ndim = 2; W.shape[0] = out; W.shape[1] = in; W.data = w;
    aviary_tensor_set_contiguous(&W);
    aviary_linear_params p = aviary_linear_default_params();
    p.weights = wt;
    aviary_linear *lins[256];
    if (aviary__linear_create_flags(&W, NULL, &p, flags, &lins[0])) { fprintf(stderr, "%s\n", aviary_errmsg()); return 1; }
    const size_t bytes = aviary_linear_bytes(lins[0]);
    int n = (int)ceil(1.2e9 / (double)bytes);
    if (n > 256) n = 256;
    if (n < 1) n = 1;
    for (int i = 1; i < n; i++)
        if (aviary__linear_create_flags(&W, NULL, &p, flags, &lins[i])) { fprintf(stderr, "%s\n", aviary_errmsg()); return 1; }
    free(w);
    double t_cold = time_calls(lins, n, x, 1, y, min_s);
    double t_hot = time_calls(lins, 1, x, 1, y, min_s);
    double t_mm = time_calls(lins, 1, x, M, y, min_s);
    const double fl1 = 2.0 * (double)(out * in), flm = fl1 * (double)M;
    printf("%6lld x %-6lld %-4s %-13s | GEMV cold %7.3f ms %6.1f GB/s %6.1f GFLOP/s | hot %7.3f ms %6.1f GB/s | "
           "GEMM m=%lld %8.2f ms %7.1f GFLOP/s\n",
           (long long)out, (long long)in, aviary_weight_type_name(wt), aviary__linear_backend_name(lins[0]),
           t_cold * 1e3, (double)bytes / t_cold / 1e9, fl1 / t_cold / 1e9, t_hot * 1e3, (double)bytes / t_hot / 1e9,
           (long long)M, t_mm * 1e3, flm / t_mm / 1e9);
    fflush(stdout);
    for (int i = 0; i < n; i++) aviary_linear_free(lins[i]);
    free(x);
    free(y);
    return 0;
}

int main(int argc, char **argv) {
    const char *set = argc > 1 ? argv[1] : "all";
    double min_s = argc > 2 ? atof(argv[2]) : 0.3;
    const char *only = argc > 3 ? argv[3] : "all";
    static const int64_t v6[][2] = {{2048, 2048}, {7168, 2048}, {2048, 7168}, {65536, 2048}};
    static const int64_t v7[][2] = {{768, 768}, {3072, 768}, {768, 3072}, {65536, 768}};
    if (strcmp(set, "all") && strcmp(set, "rwkv6") && strcmp(set, "rwkv7")) {
        fprintf(stderr, "usage: bench_linear [rwkv6|rwkv7|all] [MIN_SECONDS] [f32|bf16|int8|all]\n");
        return 1;
    }
    printf("bench_linear: %d thread(s); [out x in], weights, backend\n", omp_get_max_threads());
    const aviary_weight_type wts[] = {AVIARY_WEIGHTS_F32, AVIARY_WEIGHTS_BF16, AVIARY_WEIGHTS_INT8};
    for (int s = 0; s < 2; s++) {
        if (!strcmp(set, s ? "rwkv6" : "rwkv7")) continue;
        for (int i = 0; i < 4; i++)
            for (int t = 0; t < 3; t++)
                if ((!strcmp(only, "all") || !strcmp(only, aviary_weight_type_name(wts[t]))) &&
                    bench((s ? v7 : v6)[i][0], (s ? v7 : v6)[i][1], wts[t], 0, min_s)) return 1;
        /* the channel-mix value (row 2 of each set) as the model creates it */
        for (int t = 0; t < 3; t++)
            if ((!strcmp(only, "all") || !strcmp(only, aviary_weight_type_name(wts[t]))) &&
                bench((s ? v7 : v6)[2][0], (s ? v7 : v6)[2][1], wts[t], AVIARY__LINEAR_SPARSE_X, min_s)) return 1;
    }
    return 0;
}
