/* test_vision.c - Vision-RWKV pieces outside the fixtures' reach:
 *  - aviary_bi_wkv4 for T <= 32 (one token per chunk), where the official
 *    chunked kernel equals the "distance" formula
 *      y_t = (sum_{j != t} e^{-w|t-j| + k_j} v_j + e^{u + k_t} v_t) / (same without v)
 *    evaluated here directly in double; the fixtures cover T = 49 and 80;
 *  - aviary_resize_tokens_bicubic: identity at the same size, constants kept;
 *  - the classifier head layouts (mmcls fc, InternImage nn.Sequential
 *    linear-tanh-linear) on a small safetensors file, against hand sums;
 *  - softmax and top-k. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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

/* Write F32 tensors as safetensors: names[i] with shape dims[i] (1-D or 2-D). */
static void write_st(const char *path, int n, const char *const *names, const int (*dims)[2], const float *const *data) {
    char h[1024];
    int o = 0;
    long off = 0;
    o += snprintf(h + o, sizeof h - (size_t)o, "{");
    for (int i = 0; i < n; i++) {
        long cnt = (long)dims[i][0] * (dims[i][1] ? dims[i][1] : 1);
        if (dims[i][1])
            o += snprintf(h + o, sizeof h - (size_t)o, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%d,%d],\"data_offsets\":[%ld,%ld]}",
                          i ? "," : "", names[i], dims[i][0], dims[i][1], off, off + 4 * cnt);
        else
            o += snprintf(h + o, sizeof h - (size_t)o, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%d],\"data_offsets\":[%ld,%ld]}",
                          i ? "," : "", names[i], dims[i][0], off, off + 4 * cnt);
        off += 4 * cnt;
    }
    o += snprintf(h + o, sizeof h - (size_t)o, "}");
    while (o % 8) h[o++] = ' ';
    FILE *f = fopen(path, "wb");
    unsigned long long hl = (unsigned long long)o;
    fwrite(&hl, 8, 1, f);
    fwrite(h, 1, (size_t)o, f);
    for (int i = 0; i < n; i++) fwrite(data[i], 4, (size_t)dims[i][0] * (dims[i][1] ? dims[i][1] : 1), f);
    fclose(f);
}

static void test_heads(void) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/aviary_test_heads_%d.safetensors", (int)getpid());
    const float w0[3 * 2] = {0.5f, -1, 2, 0.25f, -0.5f, 1}, b0[3] = {0.1f, -0.2f, 0.3f};
    const float w2[2 * 3] = {1, -1, 0.5f, 2, 0, -1}, b2[2] = {0.05f, -0.05f};
    const char *names[4] = {"head.0.weight", "head.0.bias", "head.2.weight", "head.2.bias"};
    const int dims[4][2] = {{3, 2}, {3, 0}, {2, 3}, {2, 0}};
    const float *data[4] = {w0, b0, w2, b2};
    write_st(path, 4, names, dims, data);
    aviary_checkpoint *ck = NULL;
    aviary_classifier *h = NULL;
    CHECK(aviary_checkpoint_open(path, &ck) == AVIARY_OK);
    CHECK(ck && aviary_classifier_load(ck, NULL, AVIARY_WEIGHTS_F32, &h) == AVIARY_OK);
    if (h) {
        CHECK(aviary_classifier_has_hidden(h) && aviary_classifier_in(h) == 2 && aviary_classifier_classes(h) == 2);
        const float x[2] = {0.7f, -1.3f};
        float y[2];
        CHECK(aviary_classifier_forward(h, x, 1, y) == AVIARY_OK);
        double hid[3], want[2];
        for (int i = 0; i < 3; i++) hid[i] = tanh(w0[2 * i] * x[0] + w0[2 * i + 1] * x[1] + b0[i]);
        for (int k = 0; k < 2; k++) want[k] = w2[3 * k] * hid[0] + w2[3 * k + 1] * hid[1] + w2[3 * k + 2] * hid[2] + b2[k];
        CHECK(fabs(y[0] - want[0]) < 1e-5 && fabs(y[1] - want[1]) < 1e-5);
    }
    aviary_classifier_free(h);
    h = NULL;
    /* no head under another prefix: a clear error naming the file */
    CHECK(ck && aviary_classifier_load(ck, "cls.", AVIARY_WEIGHTS_F32, &h) == AVIARY_NOT_FOUND);
    CHECK(strstr(aviary_errmsg(), path) != NULL && h == NULL);
    aviary_checkpoint_close(ck);
    unlink(path);
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
    test_heads();
    test_softmax_topk();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("test_vision: all checks passed\n");
    return 0;
}
