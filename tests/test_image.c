/* test_image.c - image input and preprocessing (aviary_image.h): decoding
 * of grey+alpha PNG and RGBA BMP written here with stb_image_write and of a
 * JPEG from tests/corpus/image,
 * clean errors for missing, empty, garbage and truncated files, the resize
 * (against a double-precision evaluation of Pillow's formula, +-1 level),
 * the short-side rule, the centre-crop rounding and the normalisation. The
 * vision-* fixtures check the whole pipeline bit for bit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aviary/aviary_image.h"

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb_image_write.h>

#include "test_util.h"

typedef struct membuf { unsigned char *p; size_t n, cap; } membuf;
static void put(void *ctx, void *data, int size) {
    membuf *m = ctx;
    if (m->n + (size_t)size > m->cap) {
        m->cap = (m->n + (size_t)size) * 2;
        m->p = realloc(m->p, m->cap);
    }
    memcpy(m->p + m->n, data, (size_t)size);
    m->n += (size_t)size;
}

static void test_decode(void) {
    /* 3x2 grey+alpha PNG: grey replicated, alpha dropped (no compositing) */
    unsigned char ga[3 * 2 * 2];
    for (int i = 0; i < 6; i++) ga[2 * i] = (unsigned char)(40 * i), ga[2 * i + 1] = (unsigned char)(i * 50);
    membuf m = {0};
    CHECK(stbi_write_png_to_func(put, &m, 3, 2, 2, ga, 3 * 2));
    aviary_image img;
    CHECK(aviary_image_load_memory(m.p, m.n, "ga.png", &img) == AVIARY_OK);
    CHECK(img.width == 3 && img.height == 2);
    for (int i = 0; i < 6 && img.rgb; i++)
        CHECK(img.rgb[3 * i] == 40 * i && img.rgb[3 * i + 1] == 40 * i && img.rgb[3 * i + 2] == 40 * i);
    aviary_image_free(&img);
    /* truncated PNG -> AVIARY_FORMAT */
    CHECK(aviary_image_load_memory(m.p, m.n - 20, "cut.png", &img) == AVIARY_FORMAT);
    CHECK(strstr(aviary_errmsg(), "cut.png") != NULL);
    CHECK(img.rgb == NULL);
    m.n = 0;
    /* a PNG whose IHDR claims far more pixels than its IDAT can inflate to
     * (deflate expands at most 1032:1) is refused before stb allocates the
     * image: a flat 64x64 image relabelled 20000x20000 */
    unsigned char flat[64 * 64];
    memset(flat, 7, sizeof flat);
    CHECK(stbi_write_png_to_func(put, &m, 64, 64, 1, flat, 64));
    CHECK(m.n > 33 && !memcmp(m.p + 12, "IHDR", 4));
    const unsigned char big[8] = {0, 0, 0x4e, 0x20, 0, 0, 0x4e, 0x20};
    memcpy(m.p + 16, big, 8);
    CHECK(aviary_image_load_memory(m.p, m.n, "bomb.png", &img) == AVIARY_FORMAT);
    CHECK(strstr(aviary_errmsg(), "bomb.png: truncated or corrupt image data (too little PNG image data") != NULL);
    CHECK(img.rgb == NULL);
    m.n = 0;
    /* RGBA BMP: alpha dropped */
    unsigned char rgba[2 * 2 * 4];
    for (int i = 0; i < 16; i++) rgba[i] = (unsigned char)(i * 13);
    CHECK(stbi_write_bmp_to_func(put, &m, 2, 2, 4, rgba));
    CHECK(aviary_image_load_memory(m.p, m.n, "x.bmp", &img) == AVIARY_OK);
    for (int i = 0; i < 4 && img.rgb; i++)
        for (int c = 0; c < 3; c++) CHECK(img.rgb[3 * i + c] == rgba[4 * i + c]);
    aviary_image_free(&img);
    m.n = 0;
    /* JPEG (tests/corpus/image/rgb.jpg, 40x30; stb_image_write's JPEG encoder
     * trips UBSan, so the file is pre-made): decodes; without its
     * end-of-image marker it is truncated */
    CHECK(aviary_image_load("corpus/image/rgb.jpg", &img) == AVIARY_OK);
    CHECK(img.width == 40 && img.height == 30);
    aviary_image_free(&img);
    FILE *jf = fopen("corpus/image/rgb.jpg", "rb");
    CHECK(jf != NULL);
    if (jf) {
        m.cap = 1 << 16;
        m.p = realloc(m.p, m.cap);
        m.n = fread(m.p, 1, m.cap, jf);
        fclose(jf);
        CHECK(m.n > 100 && m.n < m.cap);
        CHECK(aviary_image_load_memory(m.p, m.n / 2, "half.jpg", &img) == AVIARY_FORMAT);
        CHECK(strstr(aviary_errmsg(), "truncated") != NULL);
    }
    free(m.p);
    /* PNM and BMP: stb would zero-fill a short file; aviary reports it */
    CHECK(aviary_image_load("corpus/image/rgb.ppm", &img) == AVIARY_OK);
    CHECK(img.width == 4 && img.height == 3);
    aviary_image_free(&img);
    CHECK(aviary_image_load("corpus/image/truncated.ppm", &img) == AVIARY_FORMAT);
    CHECK(strstr(aviary_errmsg(), "truncated") != NULL);
    CHECK(aviary_image_load("corpus/image/truncated.bmp", &img) == AVIARY_FORMAT);
    CHECK(strstr(aviary_errmsg(), "truncated") != NULL);
    CHECK(aviary_image_load("corpus/image/rgb.tga", &img) == AVIARY_OK); /* run-length TGA */
    aviary_image_free(&img);
    CHECK(aviary_image_load("corpus/image/truncated.tga", &img) == AVIARY_FORMAT);
    CHECK(strstr(aviary_errmsg(), "truncated") != NULL);
    /* a 20-byte file claiming 30000x4000 pixels is refused before decoding */
    CHECK(aviary_image_load("corpus/image/huge_header.ppm", &img) == AVIARY_FORMAT);
    CHECK(strstr(aviary_errmsg(), "more than a 20-byte file can hold") != NULL);
    /* garbage, empty, HDR, missing file */
    CHECK(aviary_image_load_memory("hello world, not an image", 25, "t.txt", &img) == AVIARY_FORMAT);
    CHECK(aviary_image_load_memory("", 0, "empty.png", &img) == AVIARY_FORMAT);
    CHECK(aviary_image_load_memory("#?RADIANCE\n", 11, "a.hdr", &img) == AVIARY_UNSUPPORTED);
    CHECK(aviary_image_load("/nonexistent/x.png", &img) == AVIARY_IO);
    CHECK(strstr(aviary_errmsg(), "/nonexistent/x.png") != NULL);
}

/* Pillow's bicubic on one axis in double (no fixed point): for checking. */
static double cubic(double x) {
    const double a = -0.5;
    x = fabs(x);
    if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
    return 0;
}
static void ref_resize_1d(const double *in, int n, double *out, int m) {
    double scale = (double)n / m, fs = scale < 1 ? 1 : scale, sup = 2 * fs;
    for (int i = 0; i < m; i++) {
        double c = (i + 0.5) * scale, s = 0, ws = 0;
        int lo = (int)(c - sup + 0.5), hi = (int)(c + sup + 0.5);
        if (lo < 0) lo = 0;
        if (hi > n) hi = n;
        for (int x = lo; x < hi; x++) {
            double w = cubic((x - c + 0.5) / fs);
            s += w * in[x];
            ws += w;
        }
        out[i] = s / ws;
    }
}

static void test_resize(void) {
    enum { W = 13, H = 1, OW = 5 };
    aviary_image in = {W, H, malloc(W * H * 3)}, out;
    double row[W], ref[OW];
    for (int x = 0; x < W; x++) {
        row[x] = (x * 37) % 256;
        for (int c = 0; c < 3; c++) in.rgb[3 * x + c] = (uint8_t)row[x];
    }
    CHECK(aviary_image_resize_bicubic(&in, OW, 1, &out) == AVIARY_OK);
    ref_resize_1d(row, W, ref, OW);
    for (int i = 0; i < OW && out.rgb; i++) {
        double r = ref[i] < 0 ? 0 : ref[i] > 255 ? 255 : ref[i];
        CHECK(fabs(out.rgb[3 * i] - r) <= 1.0);
    }
    aviary_image_free(&out);
    /* upscale 13 -> 29 and a constant image stays constant */
    for (int i = 0; i < W * 3; i++) in.rgb[i] = 77;
    CHECK(aviary_image_resize_bicubic(&in, 29, 4, &out) == AVIARY_OK);
    CHECK(out.width == 29 && out.height == 4);
    for (int i = 0; i < 29 * 4 * 3 && out.rgb; i++) CHECK(out.rgb[i] == 77);
    aviary_image_free(&out);
    CHECK(aviary_image_resize_bicubic(&in, 0, 4, &out) == AVIARY_INVALID_ARG);
    aviary_image_free(&in);

    int w, h;
    aviary_image_short_side_size(451, 300, 128, &w, &h); /* int(128*451/300) = 192 */
    CHECK(w == 192 && h == 128);
    aviary_image_short_side_size(213, 320, 146, &w, &h); /* int(146*320/213) = 219 */
    CHECK(w == 146 && h == 219);
    aviary_image_short_side_size(300, 256, 256, &w, &h);
    CHECK(w == 300 && h == 256);
}

static void test_crop_normalize(void) {
    /* width 7 -> 4: offset round(1.5) = 2; width 9 -> 4: round(2.5) = 2 (half to even) */
    for (int W = 7; W <= 9; W += 2) {
        aviary_image in = {W, 1, malloc((size_t)W * 3)}, out;
        for (int x = 0; x < W; x++) in.rgb[3 * x] = in.rgb[3 * x + 1] = in.rgb[3 * x + 2] = (uint8_t)x;
        CHECK(aviary_image_center_crop(&in, 1, 4, &out) == AVIARY_OK);
        CHECK(out.width == 4 && out.rgb && out.rgb[0] == 2);
        aviary_image_free(&out);
        /* larger than the image: clipped, like mmcv */
        CHECK(aviary_image_center_crop(&in, 5, 20, &out) == AVIARY_OK);
        CHECK(out.width == W && out.height == 1);
        aviary_image_free(&out);
        aviary_image_free(&in);
    }
    aviary_image px = {1, 1, malloc(3)};
    px.rgb[0] = 200, px.rgb[1] = 0, px.rgb[2] = 255;
    const double mean[3] = {123.675, 116.28, 103.53}, std[3] = {58.395, 57.12, 57.375};
    float chw[3];
    aviary_image_normalize(&px, mean, std, chw);
    for (int c = 0; c < 3; c++)
        CHECK(chw[c] == ((float)px.rgb[c] - (float)mean[c]) * (float)(1.0 / std[c]));
    aviary_image_free(&px);
}

int main(void) {
    test_decode();
    test_resize();
    test_crop_normalize();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("test_image: all checks passed\n");
    return 0;
}
