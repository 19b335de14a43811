/* test_bidir.c - the bidirectional blocks (aviary_bidir.h) against direct
 * double-precision evaluations of the formulas in the header comments
 * (the WKVs as explicit sums over all other tokens, not recurrences). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aviary/aviary_bidir.h"
#include "aviary/aviary_blocks.h"

#define TEST_RNG_SEED 7u
#include "test_util.h"

/* Q-shift on a 3x4 grid, 10 channels in groups of 10 (q = 2, channels 8..9
 * copied) and of 5 is checked cell by cell; shift 1 and 2. */
static void test_q_shift(void) {
    enum { H = 3, W = 4 };
    for (int grp = 0; grp < 2; grp++)
        for (int s = 1; s <= 2; s++) {
            const int C = 10, G = grp ? 5 : 10, q = G / 4;
            float x[H * W * 10], y[H * W * 10];
            double ref[H * W * 10];
            for (int i = 0; i < H * W * C; i++) x[i] = (float)(i + 1);
            aviary_q_shift(x, H, W, (size_t)C, grp ? 5 : 0, (size_t)s, y);
            for (int h = 0; h < H; h++)
                for (int w = 0; w < W; w++)
                    for (int c = 0; c < C; c++) {
                        int part = (c % G) / q, sh = h, sw = w;
                        if (part == 0) sw -= s;
                        else if (part == 1) sw += s;
                        else if (part == 2) sh -= s;
                        else if (part == 3) sh += s;
                        bool in = sh >= 0 && sh < H && sw >= 0 && sw < W;
                        ref[(h * W + w) * C + c] = in ? x[(sh * W + sw) * C + c] : 0.0;
                    }
            CHECK(close_to(y, ref, H * W * C, 0));
        }
    /* left neighbour of cell (1,1) channel 0 is cell (1,0); upper of (1,1) channel 5 (group 10, q 2) is (0,1) */
    float x[2 * 2 * 8], y[2 * 2 * 8];
    for (int i = 0; i < 32; i++) x[i] = (float)i;
    aviary_q_shift(x, 2, 2, 8, 8, 1, y);
    CHECK(y[3 * 8 + 0] == x[2 * 8 + 0]);
    CHECK(y[3 * 8 + 4] == x[1 * 8 + 4]);
    CHECK(y[0 * 8 + 0] == 0.0f && y[0 * 8 + 4] == 0.0f);
}

static void test_conv_shift(void) {
    enum { H = 4, W = 3, C = 5 };
    float x[H * W * C], k[C * 9], y[H * W * C];
    double ref[H * W * C];
    fill(x, H * W * C, -1, 1);
    fill(k, C * 9, -1, 1);
    aviary_conv_shift_3x3(x, H, W, C, k, y);
    for (int h = 0; h < H; h++)
        for (int w = 0; w < W; w++)
            for (int c = 0; c < C; c++) {
                double s = 0;
                for (int a = 0; a < 3; a++)
                    for (int b = 0; b < 3; b++) {
                        int sh = h + a - 1, sw = w + b - 1;
                        if (sh >= 0 && sh < H && sw >= 0 && sw < W) s += (double)k[c * 9 + a * 3 + b] * x[(sh * W + sw) * C + c];
                    }
                ref[(h * W + w) * C + c] = s;
            }
    CHECK(close_to(y, ref, H * W * C, 1e-5));
}

static void test_bi_wkv6(void) {
    enum { T = 6, H = 2, N = 4, C = H * N };
    float r[T * C], k[T * C], v[T * C], w[T * C], u[C], y[T * C], S[H * N * N];
    double ref[T * C];
    fill(r, T * C, -1, 1);
    fill(k, T * C, -1, 1);
    fill(v, T * C, -1, 1);
    fill(w, T * C, 0.3f, 0.99f);
    fill(u, C, -0.5f, 0.5f);
    float *scratch = malloc(aviary_bi_wkv6_scratch(T, C) * sizeof(float));
    aviary_bi_wkv6(T, H, N, r, k, v, w, u, S, scratch, y);
    for (int t = 0; t < T; t++)
        for (int h = 0; h < H; h++)
            for (int j = 0; j < N; j++) {
                double acc = 0;
                for (int i = 0; i < N; i++) {
                    int ci = h * N + i, cj = h * N + j;
                    double kv = (double)u[ci] * k[t * C + ci] * v[t * C + cj];
                    for (int s = 0; s < T; s++) {
                        if (s == t) continue;
                        double decay = 1;
                        int lo = s < t ? s + 1 : t + 1, hi = s < t ? t - 1 : s - 1;
                        for (int p = lo; p <= hi; p++) decay *= w[p * C + ci];
                        kv += decay * k[s * C + ci] * v[s * C + cj];
                    }
                    acc += r[t * C + ci] * kv;
                }
                ref[t * C + h * N + j] = acc;
            }
    CHECK(close_to(y, ref, T * C, 1e-5));
    free(scratch);
}

/* bi_wkv7 = aviary_wkv7 forward + aviary_wkv7 on an explicitly reversed copy. */
static void test_bi_wkv7(void) {
    enum { T = 5, H = 2, N = 4, C = H * N };
    float in[6][T * C], rev[6][T * C], S[H * N * N], yf[T * C], yb[T * C], want[T * C], wantr[T * C];
    for (int i = 0; i < 6; i++) fill(in[i], T * C, i == 1 ? 0.5f : -1, 1);
    for (int i = 0; i < 6; i++)
        for (int t = 0; t < T; t++) memcpy(rev[i] + t * C, in[i] + (T - 1 - t) * C, C * sizeof(float));
    float *scratch = malloc(aviary_bi_wkv7_scratch(T, C) * sizeof(float));
    aviary_bi_wkv7(T, H, N, in[0], in[1], in[2], in[3], in[4], in[5], S, scratch, yf, yb);
    memset(S, 0, sizeof S);
    aviary_wkv7(T, H, N, in[0], in[1], in[2], in[3], in[4], in[5], S, want);
    CHECK(!memcmp(yf, want, sizeof want));
    memset(S, 0, sizeof S);
    aviary_wkv7(T, H, N, rev[0], rev[1], rev[2], rev[3], rev[4], rev[5], S, wantr);
    for (int t = 0; t < T; t++) CHECK(!memcmp(yb + t * C, wantr + (T - 1 - t) * C, C * sizeof(float)));
    /* the last token's backward output only sees itself: differs from the forward one */
    CHECK(memcmp(yb, yf, sizeof yf) != 0);
    free(scratch);
}

int main(void) {
    test_q_shift();
    test_conv_shift();
    test_bi_wkv6();
    test_bi_wkv7();
    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("bidir ok\n");
    return 0;
}
