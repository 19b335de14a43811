/* test_vision.c - Vision-RWKV pieces outside the fixtures' reach:
 *  - aviary_bi_wkv4 for T <= 32 (one token per chunk), where the official
 *    chunked kernel equals the "distance" formula
 *      y_t = (sum_{j != t} e^{-w|t-j| + k_j} v_j + e^{u + k_t} v_t) / (same without v)
 *    evaluated here directly in double; the fixtures cover T = 49 and 80;
 *  - aviary_resize_tokens_bicubic: identity at the same size, constants kept;
 *  - softmax and top-k. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "aviary/aviary_bidir.h"
#include "aviary/aviary_classifier.h"
#include "aviary/aviary_vision_rwkv.h"

static int failures;
#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
                                  failures++; } } while (0)

static unsigned rng = 11;
static float frand(float lo, float hi) {
    rng = rng * 1664525u + 1013904223u;
    return lo + (hi - lo) * (float)(rng >> 8) / (float)(1u << 24);
}

static void test_bi_wkv4(void) {
    enum { C = 5 };
    for (int T = 1; T <= 32; T += 7) {
        float *k = malloc(sizeof(float) * T * C), *v = malloc(sizeof(float) * T * C), *y = malloc(sizeof(float) * T * C);
        float w[C], u[C];
        for (int i = 0; i < T * C; i++) k[i] = frand(-2, 2), v[i] = frand(-1, 1);
        for (int c = 0; c < C; c++) w[c] = frand(0.01f, 1.5f), u[c] = frand(-1, 1);
        aviary_bi_wkv4((size_t)T, C, w, u, k, v, y);
        for (int c = 0; c < C; c++)
            for (int t = 0; t < T; t++) {
                double num = 0, den = 0;
                for (int j = 0; j < T; j++) {
                    double e = j == t ? exp(u[c] + k[j * C + c]) : exp(-w[c] * abs(t - j) + k[j * C + c]);
                    num += e * v[j * C + c];
                    den += e;
                }
                CHECK(fabs(y[t * C + c] - num / den) <= 1e-5);
            }
        free(k), free(v), free(y);
    }
}

static void test_resize_tokens(void) {
    enum { H = 3, W = 4, C = 2 };
    float in[H * W * C], out[H * W * C], big[7 * 9 * C];
    for (int i = 0; i < H * W * C; i++) in[i] = frand(-1, 1);
    aviary_resize_tokens_bicubic(in, H, W, C, H, W, out);
    for (int i = 0; i < H * W * C; i++) CHECK(fabs(out[i] - in[i]) < 1e-6);
    for (int i = 0; i < H * W * C; i++) in[i] = 0.25f;
    aviary_resize_tokens_bicubic(in, H, W, C, 7, 9, big);
    for (int i = 0; i < 7 * 9 * C; i++) CHECK(fabs(big[i] - 0.25f) < 1e-6);
}

static void test_softmax_topk(void) {
    const float x[6] = {1.0f, 3.0f, -2.0f, 3.0f, 0.5f, 2.0f};
    float p[6];
    aviary_softmax(x, 6, p);
    double s = 0;
    for (int i = 0; i < 6; i++) s += p[i];
    CHECK(fabs(s - 1) < 1e-6);
    CHECK(fabs(p[1] / p[0] - exp(2.0)) < 1e-4);
    int idx[6];
    CHECK(aviary_top_k(x, 6, 3, idx) == 3);
    CHECK(idx[0] == 1 && idx[1] == 3 && idx[2] == 5);
    CHECK(aviary_top_k(x, 6, 10, idx) == 6);
    CHECK(idx[5] == 2 && idx[4] == 4 && idx[3] == 0);
}

int main(void) {
    test_bi_wkv4();
    test_resize_tokens();
    test_softmax_topk();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("test_vision: all checks passed\n");
    return 0;
}
