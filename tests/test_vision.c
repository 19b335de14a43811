/* test_vision.c - Vision-RWKV pieces outside the fixtures' reach:
 *  - aviary_bi_wkv4 for T <= 32 (one token per chunk), where the official
 *    chunked kernel equals the "distance" formula
 *      y_t = (sum_{j != t} e^{-w|t-j| + k_j} v_j + e^{u + k_t} v_t) / (same without v)
 *    evaluated here directly in double; the fixtures cover T = 49 and 80;
 *  - aviary_bi_wkv4 for T > 32 (several tokens per chunk, empty trailing
 *    chunks) against a literal double-precision port of the kernel's loops
 *    (kernel_forward of cuda/wkv_cuda.cu, one channel at a time, with its
 *    O(32) per-chunk prefix/suffix loops);
 *  - aviary_resize_tokens_bicubic: identity at the same size, constants kept;
 *  - the classifier head layouts (mmcls fc, InternImage nn.Sequential
 *    linear-tanh-linear) on a small safetensors file, against hand sums;
 *  - softmax. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "aviary/aviary_bidir.h"
#include "aviary/aviary_classifier.h"
#include "aviary/aviary_vision_rwkv.h"

#define TEST_RNG_SEED 11u
#include "test_util.h"

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

static void kernel_port(int T, double w, double u, const double *k, const double *v, double *y) {
    enum { S = 32 };
    const int L = (T + S - 1) / S;
    double Sa[S], Sb[S], So2[S], Sc[S], Sd[S], So1[S];
    for (int j = 0; j < S; j++) {
        const int t0 = L * j, len = T - t0 < L ? T - t0 : L;
        double a = 0, b = 0, c = 0, d = 0, o1 = -1e38, o2 = -1e38;
        for (int i = t0; i < t0 + len; i++) {
            double no = fmax(o1, k[i] - w * (i - t0)), e1 = exp(o1 - no), e3 = exp(k[i] - w * (i - t0) - no);
            c = e1 * c + e3 * v[i], d = e1 * d + e3, o1 = no;
            const int ni = 2 * t0 + len - 1 - i, ew = t0 + len - ni;
            no = fmax(o2, k[ni] - w * ew);
            double e2 = exp(o2 - no);
            e3 = exp(k[ni] - w * ew - no);
            a = e2 * a + e3 * v[ni], b = e2 * b + e3, o2 = no;
        }
        Sa[j] = a, Sb[j] = b, So2[j] = o2, Sc[j] = c, Sd[j] = d, So1[j] = o1;
    }
    for (int j = 0; j < S; j++) {
        const int t0 = L * j, len = T - t0 < L ? T - t0 : L;
        if (len <= 0) continue;
        double a = 0, b = 0, o2 = -1e38, c = 0, d = 0, o1 = -1e38;
        for (int i = 0; i < j; i++) {
            const double ew = (double)(j - i - 1) * L, no = fmax(So2[i] - w * ew, o2);
            a = a * exp(o2 - no) + Sa[i] * exp(So2[i] - w * ew - no);
            b = b * exp(o2 - no) + Sb[i] * exp(So2[i] - w * ew - no);
            o2 = no;
        }
        for (int i = j; i < S; i++) {
            const double ew = (double)(i - j) * L, no = fmax(So1[i] - w * ew, o1);
            c = c * exp(o1 - no) + Sc[i] * exp(So1[i] - w * ew - no);
            d = d * exp(o1 - no) + Sd[i] * exp(So1[i] - w * ew - no);
            o1 = no;
        }
        c -= exp(k[t0] - o1) * v[t0];
        d -= exp(k[t0] - o1);
        for (int i = t0; i < t0 + len; i++) {
            double no = fmax(fmax(o1, u + k[i]), o2), e1 = exp(o1 - no), e2 = exp(o2 - no), e3 = exp(u + k[i] - no);
            y[i] = (c * e1 + a * e2 + e3 * v[i]) / (d * e1 + b * e2 + e3 + 1e-6);
            const int i2 = (i + 1) % T;
            no = fmax(o2 - w, k[i]);
            e2 = exp(o2 - w - no), e3 = exp(k[i] - no);
            a = e2 * a + e3 * v[i], b = e2 * b + e3, o2 = no;
            no = fmax(o1 + w, k[i2] + w);
            e1 = exp(o1 + w - no), e3 = exp(k[i2] + w - no);
            c = e1 * c - e3 * v[i2], d = e1 * d - e3, o1 = no;
        }
    }
}

static void test_bi_wkv4_chunked(void) {
    const int Ts[4] = {33, 100, 196, 577};
    enum { C = 70 }; /* two channel blocks, the second partial */
    for (int n = 0; n < 4; n++) {
        const int T = Ts[n];
        float *k = malloc(sizeof(float) * T * C), *v = malloc(sizeof(float) * T * C), *y = malloc(sizeof(float) * T * C);
        double *kd = malloc(sizeof(double) * T), *vd = malloc(sizeof(double) * T), *yd = malloc(sizeof(double) * T);
        float w[C], u[C];
        for (int i = 0; i < T * C; i++) k[i] = frand(-3, 3), v[i] = frand(-1, 1);
        for (int c = 0; c < C; c++) w[c] = frand(-8, 16) / (float)T, u[c] = frand(-4, 2) / (float)T;
        aviary_bi_wkv4((size_t)T, C, w, u, k, v, y);
        double worst = 0;
        for (int c = 0; c < C; c++) {
            for (int t = 0; t < T; t++) kd[t] = k[t * C + c], vd[t] = v[t * C + c];
            kernel_port(T, w[c], u[c], kd, vd, yd);
            for (int t = 0; t < T; t++) worst = fmax(worst, fabs(y[t * C + c] - yd[t]));
        }
        if (!(worst < 2e-5)) fprintf(stderr, "  bi_wkv4 T=%d: max |diff| %.3g\n", T, worst);
        CHECK(worst < 2e-5);
        free(k), free(v), free(y), free(kd), free(vd), free(yd);
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

static void test_softmax(void) {
    const float x[6] = {1.0f, 3.0f, -2.0f, 3.0f, 0.5f, 2.0f};
    float p[6];
    aviary_softmax(x, 6, p);
    double s = 0;
    for (int i = 0; i < 6; i++) s += p[i];
    CHECK(fabs(s - 1) < 1e-6);
    CHECK(fabs(p[1] / p[0] - exp(2.0)) < 1e-4);
}

int main(void) {
    test_bi_wkv4();
    test_bi_wkv4_chunked();
    test_resize_tokens();
    test_heads();
    test_softmax();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("test_vision: all checks passed\n");
    return 0;
}
