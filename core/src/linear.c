/*
 * linear.c - aviary_linear (aviary_linear.h): y = x W^T (+ b).
 *
 * Current state: the portable C backend only (plain loops, OpenMP over output
 * rows). Weights are converted once at create time to the requested precision
 * and stored row-major [out, in]: f32, bf16 (upper 16 bits, rounded to nearest
 * even), or int8 with one f32 scale per output row (scale = max|w_row| / 127,
 * symmetric). Activations and accumulation are f32 in every case. The oneDNN
 * backend and the AVX-512 VNNI int8 GEMV are still to be added behind the
 * `backend` field.
 */
#include "internal.h"
#include <math.h>
#include <stdio.h>

typedef enum backend { BACKEND_C = 0 } backend;

struct aviary_linear {
    int64_t in, out;
    aviary_weight_type wt;   /* F32, BF16 or INT8 (never AUTO) */
    backend be;
    void *w;                 /* [out, in] of float / uint16_t / int8_t */
    float *scale;            /* [out] for INT8, else NULL */
    float *bias;             /* [out] or NULL */
    size_t wbytes;
};

const char *aviary_weight_type_name(aviary_weight_type t) {
    switch (t) {
    case AVIARY_WEIGHTS_AUTO: return "auto";
    case AVIARY_WEIGHTS_F32: return "f32";
    case AVIARY_WEIGHTS_BF16: return "bf16";
    case AVIARY_WEIGHTS_INT8: return "int8";
    }
    return "?";
}

aviary_status aviary_weight_type_parse(const char *s, aviary_weight_type *out) {
    static const aviary_weight_type all[] = {AVIARY_WEIGHTS_AUTO, AVIARY_WEIGHTS_F32, AVIARY_WEIGHTS_BF16,
                                             AVIARY_WEIGHTS_INT8};
    if (!s || !out) return aviary_error(AVIARY_INVALID_ARG, "linear.c: weight type: NULL argument");
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(s, aviary_weight_type_name(all[i]))) { *out = all[i]; return AVIARY_OK; }
    return aviary_error(AVIARY_INVALID_ARG, "linear.c: unknown weight type '%s' (want auto, f32, bf16 or int8)", s);
}

aviary_linear_params aviary_linear_default_params(void) {
    aviary_linear_params p = {AVIARY_WEIGHTS_AUTO, false};
    return p;
}

void aviary_linear_free(aviary_linear *lin) {
    if (!lin) return;
    aviary__free_aligned(lin->w);
    aviary__free_aligned(lin->scale);
    aviary__free_aligned(lin->bias);
    free(lin);
}

aviary_status aviary_linear_create(const aviary_tensor *weight, const aviary_tensor *bias,
                                   const aviary_linear_params *params, aviary_linear **out) {
    if (out) *out = NULL;
    if (!weight || !out) return aviary_error(AVIARY_INVALID_ARG, "linear.c: create: NULL weight or out");
    aviary_linear_params p = params ? *params : aviary_linear_default_params();
    const char *nm = weight->name ? weight->name : "weight";
    if (weight->ndim != 2 || weight->shape[0] <= 0 || weight->shape[1] <= 0)
        return aviary_error(AVIARY_SHAPE, "linear.c: %s: weight must be 2-D and non-empty", nm);
    if (!weight->data) return aviary_error(AVIARY_INVALID_ARG, "linear.c: %s: weight has no data", nm);
    if ((int)p.weights < AVIARY_WEIGHTS_AUTO || (int)p.weights > AVIARY_WEIGHTS_INT8)
        return aviary_error(AVIARY_INVALID_ARG, "linear.c: %s: invalid weight type %d", nm, (int)p.weights);
    int64_t rows = weight->shape[0], cols = weight->shape[1];
    int64_t outn = p.transposed ? cols : rows, in = p.transposed ? rows : cols;
    if (bias && (bias->ndim != 1 || bias->shape[0] != outn || !bias->data))
        return aviary_error(AVIARY_SHAPE, "linear.c: %s: bias must be 1-D of length %lld", nm, (long long)outn);
    aviary_weight_type wt = p.weights;
    if (wt == AVIARY_WEIGHTS_AUTO) wt = weight->dtype == AVIARY_BF16 ? AVIARY_WEIGHTS_BF16 : AVIARY_WEIGHTS_F32;

    size_t n, bytes;
    if (!aviary__mul_size((size_t)rows, (size_t)cols, &n) || !aviary__mul_size(n, sizeof(float), &bytes))
        return aviary_error(AVIARY_NOMEM, "linear.c: %s: weight too large", nm);
    float *f = aviary__alloc_aligned(bytes);
    aviary_linear *lin = calloc(1, sizeof *lin);
    aviary_status s = AVIARY_OK;
    if (!f || !lin) { s = aviary_error(AVIARY_NOMEM, "linear.c: %s: out of memory", nm); goto fail; }
    if ((s = aviary_tensor_to_f32(weight, f))) goto fail;
    lin->in = in; lin->out = outn; lin->wt = wt; lin->be = BACKEND_C;
    if (bias) {
        if (!(lin->bias = aviary__alloc_aligned((size_t)outn * sizeof(float)))) {
            s = aviary_error(AVIARY_NOMEM, "linear.c: %s: out of memory", nm); goto fail;
        }
        if ((s = aviary_tensor_to_f32(bias, lin->bias))) goto fail;
    }
    if (p.transposed) { /* to [out, in] */
        float *t = aviary__alloc_aligned(bytes);
        if (!t) { s = aviary_error(AVIARY_NOMEM, "linear.c: %s: out of memory", nm); goto fail; }
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < cols; j++) t[j * rows + i] = f[i * cols + j];
        aviary__free_aligned(f);
        f = t;
    }
    if (wt == AVIARY_WEIGHTS_F32) {
        lin->w = f; f = NULL; lin->wbytes = bytes;
    } else if (wt == AVIARY_WEIGHTS_BF16) {
        uint16_t *h = aviary__alloc_aligned(n * 2);
        if (!h) { s = aviary_error(AVIARY_NOMEM, "linear.c: %s: out of memory", nm); goto fail; }
        for (size_t i = 0; i < n; i++) h[i] = aviary_f32_to_bf16(f[i]);
        lin->w = h; lin->wbytes = n * 2;
    } else {
        int8_t *q = aviary__alloc_aligned(n);
        lin->scale = aviary__alloc_aligned((size_t)outn * sizeof(float));
        if (!q || !lin->scale) {
            aviary__free_aligned(q);
            s = aviary_error(AVIARY_NOMEM, "linear.c: %s: out of memory", nm); goto fail;
        }
        for (int64_t o = 0; o < outn; o++) {
            const float *r = f + o * in;
            float mx = 0;
            for (int64_t i = 0; i < in; i++) mx = fmaxf(mx, fabsf(r[i]));
            float sc = mx > 0 ? mx / 127.0f : 1.0f;
            lin->scale[o] = sc;
            for (int64_t i = 0; i < in; i++) q[o * in + i] = (int8_t)lrintf(r[i] / sc);
        }
        lin->w = q; lin->wbytes = n + (size_t)outn * sizeof(float);
    }
    aviary__free_aligned(f);
    *out = lin;
    return AVIARY_OK;
fail:
    aviary__free_aligned(f);
    aviary_linear_free(lin);
    return s;
}

int64_t aviary_linear_in(const aviary_linear *lin) { return lin ? lin->in : 0; }
int64_t aviary_linear_out(const aviary_linear *lin) { return lin ? lin->out : 0; }
aviary_weight_type aviary_linear_weight_type(const aviary_linear *lin) {
    return lin ? lin->wt : AVIARY_WEIGHTS_AUTO;
}
size_t aviary_linear_bytes(const aviary_linear *lin) {
    return lin ? lin->wbytes + (lin->bias ? (size_t)lin->out * sizeof(float) : 0) : 0;
}

static float row_dot(const aviary_linear *lin, int64_t o, const float *x) {
    int64_t in = lin->in;
    float acc = 0;
    if (lin->wt == AVIARY_WEIGHTS_F32) {
        const float *w = (const float *)lin->w + o * in;
        for (int64_t i = 0; i < in; i++) acc += w[i] * x[i];
    } else if (lin->wt == AVIARY_WEIGHTS_BF16) {
        const uint16_t *w = (const uint16_t *)lin->w + o * in;
        for (int64_t i = 0; i < in; i++) acc += aviary_bf16_to_f32(w[i]) * x[i];
    } else {
        const int8_t *w = (const int8_t *)lin->w + o * in;
        for (int64_t i = 0; i < in; i++) acc += (float)w[i] * x[i];
        acc *= lin->scale[o];
    }
    return acc + (lin->bias ? lin->bias[o] : 0.0f);
}

aviary_status aviary_linear_forward(const aviary_linear *lin, const float *x, int64_t m, float *y) {
    if (!lin || !x || !y) return aviary_error(AVIARY_INVALID_ARG, "linear.c: forward: NULL argument");
    if (m < 1) return aviary_error(AVIARY_INVALID_ARG, "linear.c: forward: m must be >= 1 (got %lld)", (long long)m);
    int64_t outn = lin->out, in = lin->in;
    int64_t total = m * outn;
#pragma omp parallel for schedule(static)
    for (int64_t k = 0; k < total; k++) {
        int64_t r = k / outn, o = k % outn;
        y[r * outn + o] = row_dot(lin, o, x + r * in);
    }
    return AVIARY_OK;
}
