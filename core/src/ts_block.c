/* ts_block.c - the x051a RWKV block (RWKV-5 style, scalar decay per head) used
 * by RWKV-TS. Contract in aviary_ts_block.h. */
#include <math.h>
#include <stdio.h>
#include "internal.h"
#include "weights.h"
#include "aviary/aviary_blocks.h"
#include "aviary/aviary_ts_block.h"

struct aviary_x051a_block {
    int C, H, N, F;
    double ln_eps, gn_eps;
    float *ln1_w, *ln1_b, *ln2_w, *ln2_b;  /* [C] */
    float *maa_k, *maa_v, *maa_r, *maa_g;  /* tmix [C] */
    float *cmaa_k, *cmaa_r;                /* cmix [C] */
    float *w, *u;                          /* [H] decay factor, bonus */
    float *w_c, *u_c;                      /* [C] the same broadcast per channel (for aviary_wkv5) */
    float *gn_w, *gn_b;                    /* [C] */
    aviary_linear *r, *k, *v, *g, *o;      /* tmix */
    aviary_linear *ck, *cv, *cr;           /* cmix */
    int64_t n_params;
};

aviary_x051a_params aviary_x051a_default_params(void) {
    aviary_x051a_params p = {1e-5, 1e-5 * 64, AVIARY_WEIGHTS_AUTO};
    return p;
}

void aviary_x051a_block_free(aviary_x051a_block *b) {
    if (!b) return;
    float **vecs[] = {&b->ln1_w, &b->ln1_b, &b->ln2_w, &b->ln2_b, &b->maa_k, &b->maa_v, &b->maa_r,
                      &b->maa_g, &b->cmaa_k, &b->cmaa_r, &b->w, &b->u, &b->w_c, &b->u_c, &b->gn_w, &b->gn_b};
    for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++) free(*vecs[i]);
    aviary_linear *lins[] = {b->r, b->k, b->v, b->g, b->o, b->ck, b->cv, b->cr};
    for (size_t i = 0; i < sizeof lins / sizeof lins[0]; i++) aviary_linear_free(lins[i]);
    free(b);
}

/* Fetch prefix+key as an f32 vector of exactly n elements (any shape);
 * counts its parameters. */
static aviary_status get_vec(const aviary_checkpoint *ck, const char *prefix, const char *key, int64_t n,
                             float **out, int64_t *count) {
    aviary_status s = aviary__w_copy_f32(ck, prefix, key, n, out);
    if (!s) *count += n;
    return s;
}

/* Linear prefix+key (weight [outn, in] + bias); counts its parameters. */
static aviary_status get_linear(const aviary_checkpoint *ck, const char *prefix, const char *key, int64_t in,
                                int64_t outn, const aviary_linear_params *lp, aviary_linear **out, int64_t *count) {
    aviary_status s = aviary__w_linear_bias(ck, prefix, key, outn, in, lp, out, NULL);
    if (!s) *count += in * outn + outn;
    return s;
}

aviary_status aviary_x051a_block_create(const aviary_checkpoint *ck, const char *prefix,
                                        const aviary_x051a_params *params, aviary_x051a_block **out) {
    if (out) *out = NULL;
    if (!ck || !out) return aviary_error(AVIARY_INVALID_ARG, "aviary_x051a_block_create: NULL argument");
    if (!prefix) prefix = "";
    aviary_x051a_params def = aviary_x051a_default_params();
    if (!params) params = &def;
    aviary_x051a_block *b = calloc(1, sizeof *b);
    if (!b) return aviary_error(AVIARY_NOMEM, "out of memory");
    b->ln_eps = params->ln_eps;
    b->gn_eps = params->gn_eps;
    aviary_status s;
    char name[256];
    const aviary_tensor *t;
    snprintf(name, sizeof name, "%sln_1.weight", prefix);
    if ((s = aviary_checkpoint_get(ck, name, &t))) goto fail;
    int64_t C = aviary_tensor_numel(t);
    snprintf(name, sizeof name, "%stmix.time_decay", prefix);
    if ((s = aviary_checkpoint_get(ck, name, &t))) goto fail;
    int64_t H = t->ndim >= 1 ? t->shape[0] : 1;
    if (C <= 0 || C > (1 << 16) || H <= 0 || C % H != 0 || aviary_tensor_numel(t) != H) {
        char shp[96];
        s = aviary_error(AVIARY_SHAPE, "%s: %s has shape %s, expected [n_head, 1] with n_head dividing %lld",
                         aviary_checkpoint_path(ck), name, aviary_tensor_shape_str(t, shp, sizeof shp), (long long)C);
        goto fail;
    }
    snprintf(name, sizeof name, "%scmix.key.weight", prefix);
    if ((s = aviary_checkpoint_get(ck, name, &t))) goto fail;
    int64_t F = t->ndim == 2 ? t->shape[0] : 0;
    if (F <= 0 || F > (1 << 20)) {
        s = aviary_error(AVIARY_SHAPE, "%s: %s is not a 2-D weight", aviary_checkpoint_path(ck), name);
        goto fail;
    }
    b->C = (int)C;
    b->H = (int)H;
    b->N = (int)(C / H);
    b->F = (int)F;
    int64_t *n = &b->n_params;
    if ((s = get_vec(ck, prefix, "ln_1.weight", C, &b->ln1_w, n)) || (s = get_vec(ck, prefix, "ln_1.bias", C, &b->ln1_b, n)) ||
        (s = get_vec(ck, prefix, "ln_2.weight", C, &b->ln2_w, n)) || (s = get_vec(ck, prefix, "ln_2.bias", C, &b->ln2_b, n)) ||
        (s = get_vec(ck, prefix, "tmix.time_maa_k", C, &b->maa_k, n)) ||
        (s = get_vec(ck, prefix, "tmix.time_maa_v", C, &b->maa_v, n)) ||
        (s = get_vec(ck, prefix, "tmix.time_maa_r", C, &b->maa_r, n)) ||
        (s = get_vec(ck, prefix, "tmix.time_maa_g", C, &b->maa_g, n)) ||
        (s = get_vec(ck, prefix, "tmix.time_decay", H, &b->w, n)) ||
        (s = get_vec(ck, prefix, "tmix.time_faaaa", H, &b->u, n)) ||
        (s = get_vec(ck, prefix, "tmix.ln_x.weight", C, &b->gn_w, n)) ||
        (s = get_vec(ck, prefix, "tmix.ln_x.bias", C, &b->gn_b, n)) ||
        (s = get_vec(ck, prefix, "cmix.time_maa_k", C, &b->cmaa_k, n)) ||
        (s = get_vec(ck, prefix, "cmix.time_maa_r", C, &b->cmaa_r, n)))
        goto fail;
    for (int h = 0; h < b->H; h++) b->w[h] = (float)exp(-exp((double)b->w[h]));
    b->w_c = malloc((size_t)C * sizeof(float));
    b->u_c = malloc((size_t)C * sizeof(float));
    if (!b->w_c || !b->u_c) {
        s = aviary_error(AVIARY_NOMEM, "out of memory");
        goto fail;
    }
    for (int c = 0; c < b->C; c++) {
        b->w_c[c] = b->w[c / b->N];
        b->u_c[c] = b->u[c / b->N];
    }
    aviary_linear_params lp = aviary_linear_default_params();
    lp.weights = params->weights;
    if ((s = get_linear(ck, prefix, "tmix.receptance", C, C, &lp, &b->r, n)) ||
        (s = get_linear(ck, prefix, "tmix.key", C, C, &lp, &b->k, n)) ||
        (s = get_linear(ck, prefix, "tmix.value", C, C, &lp, &b->v, n)) ||
        (s = get_linear(ck, prefix, "tmix.gate", C, C, &lp, &b->g, n)) ||
        (s = get_linear(ck, prefix, "tmix.output", C, C, &lp, &b->o, n)) ||
        (s = get_linear(ck, prefix, "cmix.key", C, F, &lp, &b->ck, n)) ||
        (s = get_linear(ck, prefix, "cmix.value", F, C, &lp, &b->cv, n)) ||
        (s = get_linear(ck, prefix, "cmix.receptance", C, C, &lp, &b->cr, n)))
        goto fail;
    *out = b;
    return AVIARY_OK;
fail:
    aviary_x051a_block_free(b);
    return s;
}

int aviary_x051a_block_width(const aviary_x051a_block *b) { return b ? b->C : 0; }
int aviary_x051a_block_heads(const aviary_x051a_block *b) { return b ? b->H : 0; }
int aviary_x051a_block_ffn(const aviary_x051a_block *b) { return b ? b->F : 0; }
int64_t aviary_x051a_block_params(const aviary_x051a_block *b) { return b ? b->n_params : 0; }

/* prev = token-shifted x per sequence (zero before each sequence's first token). */
static void shift_seqs(const float *x, float *prev, int64_t n_seq, int64_t T, int C, float *zero_state) {
    for (int64_t q = 0; q < n_seq; q++) {
        memset(zero_state, 0, (size_t)C * sizeof(float));
        aviary_token_shift(x + (size_t)(q * T) * C, (size_t)T, (size_t)C, zero_state, prev + (size_t)(q * T) * C);
    }
}

aviary_status aviary_x051a_block_forward(const aviary_x051a_block *b, float *x, int64_t n_seq, int64_t T) {
    if (!b || !x || n_seq <= 0 || T <= 0)
        return aviary_error(AVIARY_INVALID_ARG, "aviary_x051a_block_forward: bad arguments");
    const int C = b->C, F = b->F, H = b->H, N = b->N;
    size_t M, bytes, sbytes;
    if (!aviary__mul_size((size_t)n_seq, (size_t)T, &M) || !aviary__mul_size(M, (size_t)(7 * C + F), &bytes) ||
        !aviary__mul_size(bytes, sizeof(float), &bytes) ||
        !aviary__mul_size((size_t)n_seq, (size_t)H * N * N * sizeof(float), &sbytes))
        return aviary_error(AVIARY_NOMEM, "x051a block: batch too large");
    float *ws = aviary__alloc_aligned(bytes), *states = aviary__alloc_aligned(sbytes);
    float *zero = calloc((size_t)C, sizeof(float));
    if (!ws || !states || !zero) {
        aviary__free_aligned(ws);
        aviary__free_aligned(states);
        free(zero);
        return aviary_error(AVIARY_NOMEM, "x051a block: out of memory (%zu bytes)", bytes + sbytes);
    }
    float *xn = ws, *prev = xn + M * C, *xm = prev + M * C, *rr = xm + M * C, *kk = rr + M * C, *vv = kk + M * C,
          *gg = vv + M * C, *hid = gg + M * C;
    const int64_t m = (int64_t)M;
    const size_t MC = M * (size_t)C;
    aviary_status s;

    /* time mix */
    aviary_layer_norm(x, M, (size_t)C, b->ln1_w, b->ln1_b, (float)b->ln_eps, xn);
    shift_seqs(xn, prev, n_seq, T, C, zero);
    aviary_maa_lerp(xn, prev, M, (size_t)C, b->maa_r, xm);
    if ((s = aviary_linear_forward(b->r, xm, m, rr))) goto done;
    aviary_maa_lerp(xn, prev, M, (size_t)C, b->maa_k, xm);
    if ((s = aviary_linear_forward(b->k, xm, m, kk))) goto done;
    aviary_maa_lerp(xn, prev, M, (size_t)C, b->maa_v, xm);
    if ((s = aviary_linear_forward(b->v, xm, m, vv))) goto done;
    aviary_maa_lerp(xn, prev, M, (size_t)C, b->maa_g, xm);
    if ((s = aviary_linear_forward(b->g, xm, m, gg))) goto done;
    /* RWKV-5 WKV with this block's per-head decay/bonus broadcast over each head's channels */
#pragma omp parallel for schedule(static) if (n_seq > 1)
    for (int64_t q = 0; q < n_seq; q++) {
        size_t off = (size_t)(q * T) * C;
        aviary_wkv5((size_t)T, (size_t)H, (size_t)N, rr + off, kk + off, vv + off, b->w_c, b->u_c,
                    states + (size_t)q * H * N * N, xm + off);
    }
    aviary_group_norm(xm, M, (size_t)H, (size_t)N, b->gn_w, b->gn_b, (float)b->gn_eps, xm);
    aviary_silu(gg, MC, gg);
    aviary_mul(xm, gg, MC, xm);
    if ((s = aviary_linear_forward(b->o, xm, m, rr))) goto done;
    aviary_add(x, rr, MC, x);

    /* channel mix */
    aviary_layer_norm(x, M, (size_t)C, b->ln2_w, b->ln2_b, (float)b->ln_eps, xn);
    shift_seqs(xn, prev, n_seq, T, C, zero);
    aviary_maa_lerp(xn, prev, M, (size_t)C, b->cmaa_k, xm);
    if ((s = aviary_linear_forward(b->ck, xm, m, hid))) goto done;
    aviary_relu_square(hid, M * (size_t)F, hid);
    if ((s = aviary_linear_forward(b->cv, hid, m, vv))) goto done;
    aviary_maa_lerp(xn, prev, M, (size_t)C, b->cmaa_r, xm);
    if ((s = aviary_linear_forward(b->cr, xm, m, rr))) goto done;
    aviary_sigmoid(rr, MC, rr);
    aviary_mul(rr, vv, MC, rr);
    aviary_add(x, rr, MC, x);
done:
    aviary__free_aligned(ws);
    aviary__free_aligned(states);
    free(zero);
    return s;
}
