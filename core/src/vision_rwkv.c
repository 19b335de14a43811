/* vision_rwkv.c - Vision-RWKV VRWKV / VRWKV6 backbones (aviary_vision_rwkv.h).
 * Matmuls go through aviary_linear; norms, lerps and the causal WKV6 scan
 * come from aviary_blocks.h; the Q-shift and the bidirectional WKVs from
 * aviary_bidir.h. The model owns every buffer it allocates at load. */
#include <math.h>
#include <stdio.h>
#include "aviary/aviary_bidir.h"
#include "aviary/aviary_blocks.h"
#include "aviary/aviary_vision_rwkv.h"
#include "internal.h"
#include "weights.h"

#define V6_HEAD 64      /* HEAD_SIZE of vrwkv6.py (the kernel is built for 64) */
#define V6_MIX_DIM 32   /* TIME_MIX_EXTRA_DIM: time_maa_w1 is [C, 5*32] */
#define LN_EPS 1e-5f

typedef struct vr_layer {
    float *ln0_w, *ln0_b;            /* layer 0 only */
    float *ln1_w, *ln1_b, *ln2_w, *ln2_b;
    float *gamma1, *gamma2;          /* NULL without layer scale */
    /* spatial mix */
    float *decay, *first;            /* v4: spatial_decay/first [C] (divided by T at run time) */
    float *mix_k, *mix_v, *mix_r;    /* v4 */
    float *maa_x, *maa[5];           /* v6: order w, k, v, r, g */
    aviary_linear *maa_w1, *maa_w2[5], *decay_w1, *decay_w2;
    float *time_decay, *faaaa;       /* v6 [C] */
    float *lnx_w, *lnx_b;            /* v6 */
    aviary_linear *Wk, *Wv, *Wr, *Wg, *Wo;
    float *att_kn_w, *att_kn_b;      /* key_norm (C) */
    /* channel mix */
    float *fmix_k, *fmix_r;
    aviary_linear *Fk, *Fr, *Fv;
    float *ffn_kn_w, *ffn_kn_b;      /* key_norm (hidden) */
} vr_layer;

struct aviary_vision_rwkv {
    aviary_vision_rwkv_info info;
    aviary_linear *patch;            /* [C, 3*P*P] */
    float *patch_b;
    float *pos;                      /* [gh*gw, C] */
    vr_layer *layers;
    float *ln_w, *ln_b;              /* final norm, NULL if absent */
    aviary__f32s owned;              /* every f32 vector above */
};

aviary_vision_rwkv_options aviary_vision_rwkv_default_options(void) {
    aviary_vision_rwkv_options o = {NULL, -1, 0, 0, AVIARY_WEIGHTS_AUTO};
    return o;
}

/* ---- loading ------------------------------------------------------------- */

static void load_layer(aviary__weights *W, const aviary_vision_rwkv_info *I, int i, vr_layer *l) {
    const int64_t C = I->embed_dims, Hd = I->hidden;
    if (i == 0) {
        l->ln0_w = aviary__w_vec(W, false, C, "layers.0.ln0.weight");
        l->ln0_b = aviary__w_vec(W, false, C, "layers.0.ln0.bias");
    }
    l->ln1_w = aviary__w_vec(W, false, C, "layers.%d.ln1.weight", i);
    l->ln1_b = aviary__w_vec(W, false, C, "layers.%d.ln1.bias", i);
    l->ln2_w = aviary__w_vec(W, false, C, "layers.%d.ln2.weight", i);
    l->ln2_b = aviary__w_vec(W, false, C, "layers.%d.ln2.bias", i);
    if (I->layer_scale) {
        l->gamma1 = aviary__w_vec(W, false, C, "layers.%d.gamma1", i);
        l->gamma2 = aviary__w_vec(W, false, C, "layers.%d.gamma2", i);
    }
    l->Wk = aviary__w_lin(W, C, C, "layers.%d.att.key.weight", i);
    l->Wv = aviary__w_lin(W, C, C, "layers.%d.att.value.weight", i);
    l->Wr = aviary__w_lin(W, C, C, "layers.%d.att.receptance.weight", i);
    l->Wo = aviary__w_lin(W, C, C, "layers.%d.att.output.weight", i);
    if (I->key_norm) {
        l->att_kn_w = aviary__w_vec(W, false, C, "layers.%d.att.key_norm.weight", i);
        l->att_kn_b = aviary__w_vec(W, false, C, "layers.%d.att.key_norm.bias", i);
        l->ffn_kn_w = aviary__w_vec(W, false, Hd, "layers.%d.ffn.key_norm.weight", i);
        l->ffn_kn_b = aviary__w_vec(W, false, Hd, "layers.%d.ffn.key_norm.bias", i);
    }
    if (I->version == 4) {
        l->decay = aviary__w_vec(W, false, C, "layers.%d.att.spatial_decay", i);
        l->first = aviary__w_vec(W, false, C, "layers.%d.att.spatial_first", i);
        l->mix_k = aviary__w_vec(W, false, C, "layers.%d.att.spatial_mix_k", i);
        l->mix_v = aviary__w_vec(W, false, C, "layers.%d.att.spatial_mix_v", i);
        l->mix_r = aviary__w_vec(W, false, C, "layers.%d.att.spatial_mix_r", i);
    } else {
        static const char *mn[5] = {"w", "k", "v", "r", "g"};
        char name[128];
        l->maa_x = aviary__w_vec(W, false, C, "layers.%d.att.time_maa_x", i);
        for (int j = 0; j < 5; j++) l->maa[j] = aviary__w_vec(W, false, C, "layers.%d.att.time_maa_%s", i, mn[j]);
        snprintf(name, sizeof name, "layers.%d.att.time_maa_w1", i);
        const aviary_tensor *w1 = aviary__w_need(W, C * 5 * V6_MIX_DIM, "%s", name);
        l->maa_w1 = aviary__w_lin_view(W, w1, 0, C, 5 * V6_MIX_DIM, true, name);
        snprintf(name, sizeof name, "layers.%d.att.time_maa_w2", i);
        const aviary_tensor *w2 = aviary__w_need(W, 5 * V6_MIX_DIM * C, "%s", name);
        for (int j = 0; j < 5; j++)
            l->maa_w2[j] = aviary__w_lin_view(W, w2, (int64_t)j * V6_MIX_DIM * C, V6_MIX_DIM, C, true, name);
        snprintf(name, sizeof name, "layers.%d.att.time_decay_w1", i);
        int64_t dd = aviary__w_dim(W, 1, "%s", name);
        const aviary_tensor *d1 = aviary__w_need(W, C * dd, "%s", name);
        l->decay_w1 = aviary__w_lin_view(W, d1, 0, C, dd, true, name);
        snprintf(name, sizeof name, "layers.%d.att.time_decay_w2", i);
        const aviary_tensor *d2 = aviary__w_need(W, dd * C, "%s", name);
        l->decay_w2 = aviary__w_lin_view(W, d2, 0, dd, C, true, name);
        l->time_decay = aviary__w_vec(W, false, C, "layers.%d.att.time_decay", i);
        l->faaaa = aviary__w_vec(W, false, C, "layers.%d.att.time_faaaa", i);
        l->lnx_w = aviary__w_vec(W, false, C, "layers.%d.att.ln_x.weight", i);
        l->lnx_b = aviary__w_vec(W, false, C, "layers.%d.att.ln_x.bias", i);
        l->Wg = aviary__w_lin(W, C, C, "layers.%d.att.gate.weight", i);
    }
    l->fmix_k = aviary__w_vec(W, false, C, "layers.%d.ffn.spatial_mix_k", i);
    l->fmix_r = aviary__w_vec(W, false, C, "layers.%d.ffn.spatial_mix_r", i);
    l->Fk = aviary__w_lin(W, Hd, C, "layers.%d.ffn.key.weight", i);
    l->Fr = aviary__w_lin(W, C, C, "layers.%d.ffn.receptance.weight", i);
    l->Fv = aviary__w_lin(W, C, Hd, "layers.%d.ffn.value.weight", i);
}

static void free_layer(vr_layer *l) {
    aviary_linear *ls[] = {l->maa_w1, l->maa_w2[0], l->maa_w2[1], l->maa_w2[2], l->maa_w2[3], l->maa_w2[4],
                           l->decay_w1, l->decay_w2, l->Wk, l->Wv, l->Wr, l->Wg, l->Wo, l->Fk, l->Fr, l->Fv};
    for (size_t i = 0; i < sizeof ls / sizeof ls[0]; i++) aviary_linear_free(ls[i]);
}

void aviary_vision_rwkv_free(aviary_vision_rwkv *m) {
    if (!m) return;
    if (m->layers)
        for (int i = 0; i < m->info.depth; i++) free_layer(&m->layers[i]);
    free(m->layers);
    aviary_linear_free(m->patch);
    aviary__f32s_free(&m->owned);
    free(m);
}

aviary_status aviary_vision_rwkv_load(const aviary_checkpoint *ck, const aviary_vision_rwkv_options *opts,
                                      aviary_vision_rwkv **out) {
    *out = NULL;
    aviary_vision_rwkv_options o = opts ? *opts : aviary_vision_rwkv_default_options();
    const char *path = aviary_checkpoint_path(ck);
    aviary_vision_rwkv *m = calloc(1, sizeof *m);
    if (!m) return aviary_error(AVIARY_NOMEM, "%s: out of memory", path);
    aviary__weights W = {ck, o.prefix, "Vision-RWKV", aviary_linear_default_params(), &m->owned, AVIARY_OK};
    W.lp.weights = o.weights;
    if (!W.prefix) W.prefix = aviary_checkpoint_find(ck, "backbone.patch_embed.projection.weight") ? "backbone." : "";
    aviary_vision_rwkv_info *I = &m->info;

    char key[256];
    snprintf(key, sizeof key, "%spatch_embed.projection.weight", W.prefix);
    const aviary_tensor *pw = aviary_checkpoint_find(ck, key);
    if (!pw) {
        aviary_vision_rwkv_free(m);
        return aviary_error(AVIARY_FORMAT, "%s: not a Vision-RWKV checkpoint (no '%s')", path, key);
    }
    if (pw->ndim != 4 || pw->shape[1] != 3 || pw->shape[2] != pw->shape[3] || pw->shape[2] < 1 || pw->shape[0] < 1) {
        char shp[96];
        aviary_vision_rwkv_free(m);
        return aviary_error(AVIARY_SHAPE, "%s: '%s' has shape %s, expected [C, 3, P, P]", path, key,
                            aviary_tensor_shape_str(pw, shp, sizeof shp));
    }
    I->embed_dims = (int)pw->shape[0];
    I->patch_size = (int)pw->shape[2];
    const int64_t C = I->embed_dims, P = I->patch_size;
    I->version = aviary__w_find(&W, "layers.0.att.spatial_decay") ? 4 : aviary__w_find(&W, "layers.0.att.time_decay") ? 6 : 0;
    if (!I->version) {
        aviary_vision_rwkv_free(m);
        return aviary_error(AVIARY_FORMAT, "%s: no '%slayers.0.att.spatial_decay' (VRWKV) or 'time_decay' (VRWKV6)",
                            path, W.prefix);
    }
    while (aviary__w_find(&W, "layers.%d.ln1.weight", I->depth)) I->depth++;
    I->layer_scale = aviary__w_find(&W, "layers.0.gamma1") != NULL;
    I->key_norm = aviary__w_find(&W, "layers.0.att.key_norm.weight") != NULL;
    I->final_norm = aviary__w_find(&W, "ln1.weight") != NULL;
    I->post_norm = o.post_norm < 0 ? I->layer_scale : o.post_norm != 0;
    I->hidden = (int)aviary__w_dim(&W, 0, "layers.0.ffn.key.weight");
    if (I->version == 6) {
        if (C % V6_HEAD) {
            aviary_vision_rwkv_free(m);
            return aviary_error(AVIARY_UNSUPPORTED, "%s: VRWKV6 width %lld is not a multiple of the head size 64", path,
                                (long long)C);
        }
        I->n_head = (int)(C / V6_HEAD);
        I->head_size = V6_HEAD;
    } else {
        I->n_head = 1;
        I->head_size = (int)C;
    }
    /* pos_embed grid */
    const aviary_tensor *pe = aviary__w_need(&W, -1, "pos_embed");
    if (pe) {
        int64_t n = aviary_tensor_numel(pe) / (C ? C : 1);
        if (aviary_tensor_numel(pe) != n * C || n < 1) {
            W.st = aviary_error(AVIARY_SHAPE, "%s: '%spos_embed' does not hold whole rows of %lld", path, W.prefix,
                                (long long)C);
        } else if (o.pos_grid_h > 0 && o.pos_grid_w > 0) {
            I->pos_grid_h = o.pos_grid_h;
            I->pos_grid_w = o.pos_grid_w;
        } else {
            int s = (int)llround(sqrt((double)n));
            I->pos_grid_h = I->pos_grid_w = s;
        }
        if (!W.st && (int64_t)I->pos_grid_h * I->pos_grid_w != n)
            W.st = aviary_error(AVIARY_SHAPE, "%s: pos_embed has %lld tokens, not a %dx%d grid (give the training image size, "
                                "option img_size)",
                                path, (long long)n, I->pos_grid_h, I->pos_grid_w);
    }
    if (!W.st && (I->depth < 1 || I->hidden < 1))
        W.st = aviary_error(AVIARY_FORMAT, "%s: Vision-RWKV checkpoint without layers", path);
    if (!W.st) {
        snprintf(key, sizeof key, "patch_embed.projection.weight");
        m->patch = aviary__w_lin_view(&W, pw, 0, C, 3 * P * P, false, key);
        m->patch_b = aviary__w_vec(&W, false, C, "patch_embed.projection.bias");
        m->pos = aviary__w_vec(&W, false, (int64_t)I->pos_grid_h * I->pos_grid_w * C, "pos_embed");
    }
    if (!W.st && !(m->layers = calloc((size_t)I->depth, sizeof *m->layers)))
        W.st = aviary_error(AVIARY_NOMEM, "%s: out of memory", path);
    for (int i = 0; !W.st && i < I->depth; i++) load_layer(&W, I, i, &m->layers[i]);
    if (I->final_norm) {
        m->ln_w = aviary__w_vec(&W, false, C, "ln1.weight");
        m->ln_b = aviary__w_vec(&W, false, C, "ln1.bias");
    }
    if (W.st) {
        aviary_vision_rwkv_free(m);
        return W.st;
    }
    *out = m;
    return AVIARY_OK;
}

const aviary_vision_rwkv_info *aviary_vision_rwkv_get_info(const aviary_vision_rwkv *m) { return &m->info; }

void aviary_vision_rwkv_grid(const aviary_vision_rwkv *m, int height, int width, int *grid_h, int *grid_w) {
    const int P = m->info.patch_size;
    *grid_h = (height + P - 1) / P;
    *grid_w = (width + P - 1) / P;
}

/* ---- pos_embed resize ---------------------------------------------------- */

static double cubic1(double x, double A) { return ((A + 2) * x - (A + 3)) * x * x + 1; }
static double cubic2(double x, double A) { return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; }

/* torch's compute_indices_weights for cubic, align_corners=False: source
 * index scale*(i+0.5)-0.5, floor clamped to in-1, lambda clamped to [0,1],
 * taps idx-1..idx+2 clamped into [0, in). */
static void cubic_taps(int in, int out, int i, int idx[4], double w[4]) {
    const float scale = (float)in / (float)out;
    const float real = scale * ((float)i + 0.5f) - 0.5f;
    int64_t base = (int64_t)floorf(real);
    if (base > in - 1) base = in - 1;
    float t = real - (float)base;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    const double A = -0.75;
    w[0] = cubic2(t + 1.0, A);
    w[1] = cubic1(t, A);
    w[2] = cubic1(1.0 - t, A);
    w[3] = cubic2(2.0 - t, A);
    for (int k = 0; k < 4; k++) {
        int64_t j = base - 1 + k;
        idx[k] = (int)(j < 0 ? 0 : j > in - 1 ? in - 1 : j);
    }
}

void aviary_resize_tokens_bicubic(const float *in, int in_h, int in_w, int C, int out_h, int out_w, float *out) {
    for (int y = 0; y < out_h; y++) {
        int iy[4], ix[4];
        double wy[4], wx[4];
        cubic_taps(in_h, out_h, y, iy, wy);
        for (int x = 0; x < out_w; x++) {
            cubic_taps(in_w, out_w, x, ix, wx);
            float *o = out + ((size_t)y * out_w + x) * C;
            for (int c = 0; c < C; c++) {
                double acc = 0;
                for (int a = 0; a < 4; a++) {
                    double row = 0;
                    for (int b = 0; b < 4; b++) row += wx[b] * in[((size_t)iy[a] * in_w + ix[b]) * C + c];
                    acc += wy[a] * row;
                }
                o[c] = (float)acc;
            }
        }
    }
}

/* ---- forward ------------------------------------------------------------- */

typedef struct scratch {
    int64_t T;
    int gh, gw;
    float *xn, *xx, *a, *b, *c, *d, *e, *f, *g, *hid, *lora, *lora_j;
    float *wu;      /* v4: w, u [2C] */
    float *state;   /* v6: [H, 64, 64] */
    float *bw;      /* v6: aviary_bi_wkv6_scratch(T, C) */
} scratch;

static void lerp(const float *x, const float *xx, int64_t T, int64_t C, const float *mix, float *y) {
    aviary_mix_lerp(x, xx, (size_t)T, (size_t)C, mix, y);
}

/* Spatial mix of one layer on xn (already normed for pre-norm); result in S->g.
 * wkv_out, if non-NULL, receives the raw WKV output. */
static aviary_status spatial_mix(const aviary_vision_rwkv *m, const vr_layer *l, scratch *S, float *wkv_out) {
    const aviary_vision_rwkv_info *I = &m->info;
    const int64_t T = S->T, C = I->embed_dims;
    const size_t n = (size_t)(T * C);
    aviary_status st;
    aviary_q_shift(S->xn, (size_t)S->gh, (size_t)S->gw, (size_t)C, (size_t)(I->version == 6 ? V6_HEAD : C), 1, S->xx);
    if (I->version == 4) {
        lerp(S->xn, S->xx, T, C, l->mix_k, S->a);
        if ((st = aviary_linear_forward(l->Wk, S->a, T, S->b))) return st; /* k */
        lerp(S->xn, S->xx, T, C, l->mix_v, S->a);
        if ((st = aviary_linear_forward(l->Wv, S->a, T, S->c))) return st; /* v */
        lerp(S->xn, S->xx, T, C, l->mix_r, S->a);
        if ((st = aviary_linear_forward(l->Wr, S->a, T, S->d))) return st; /* r */
        aviary_sigmoid(S->d, n, S->d);
        float *w = S->wu, *u = S->wu + C;
        for (int64_t c = 0; c < C; c++) {
            w[c] = l->decay[c] / (float)T;
            u[c] = l->first[c] / (float)T;
        }
        aviary_bi_wkv4((size_t)T, (size_t)C, w, u, S->b, S->c, S->f);
        if (wkv_out) memcpy(wkv_out, S->f, n * sizeof(float));
        if (l->att_kn_w) aviary_layer_norm(S->f, (size_t)T, (size_t)C, l->att_kn_w, l->att_kn_b, LN_EPS, S->f);
        aviary_mul(S->d, S->f, n, S->f);
        return aviary_linear_forward(l->Wo, S->f, T, S->g);
    }
    /* v6: xx = shift(x) - x; data-dependent lerps through the LoRA. */
    aviary_maa_lerp(S->xn, S->xx, (size_t)T, (size_t)C, l->maa_x, S->a); /* xxx = x + xx*maa_x */
    if ((st = aviary_linear_forward(l->maa_w1, S->a, T, S->lora))) return st;
    aviary_tanh(S->lora, (size_t)(T * 5 * V6_MIX_DIM), S->lora);
    float *dst[5] = {S->a, S->b, S->c, S->d, S->e}; /* xw, xk, xv, xr, xg */
    for (int j = 0; j < 5; j++) {
        for (int64_t t = 0; t < T; t++)
            memcpy(S->lora_j + t * V6_MIX_DIM, S->lora + (t * 5 + j) * V6_MIX_DIM, V6_MIX_DIM * sizeof(float));
        if ((st = aviary_linear_forward(l->maa_w2[j], S->lora_j, T, dst[j]))) return st;
        aviary_ddlerp(S->xn, S->xx, dst[j], (size_t)T, (size_t)C, l->maa[j], dst[j]);
    }
    /* decay factor exp(-exp(time_decay + tanh(xw W1) W2)) into S->a (xw no longer needed) */
    {
        const int64_t dd = aviary_linear_out(l->decay_w1);
        float *tmp = S->hid; /* T*hidden >= T*dd */
        if ((st = aviary_linear_forward(l->decay_w1, S->a, T, tmp))) return st;
        aviary_tanh(tmp, (size_t)(T * dd), tmp);
        if ((st = aviary_linear_forward(l->decay_w2, tmp, T, S->a))) return st;
        for (int64_t t = 0; t < T; t++)
            for (int64_t c = 0; c < C; c++) {
                float *w = &S->a[t * C + c];
                *w = expf(-expf(l->time_decay[c] + *w));
            }
    }
    float *k = S->xx, *v = S->f, *r = S->g; /* xx is free now */
    if ((st = aviary_linear_forward(l->Wk, S->b, T, k))) return st;
    if ((st = aviary_linear_forward(l->Wv, S->c, T, v))) return st;
    if ((st = aviary_linear_forward(l->Wr, S->d, T, r))) return st;
    if ((st = aviary_linear_forward(l->Wg, S->e, T, S->b))) return st; /* gate */
    aviary_silu(S->b, n, S->b);
    aviary_bi_wkv6((size_t)T, (size_t)I->n_head, V6_HEAD, r, k, v, S->a, l->faaaa, S->state, S->bw, S->c);
    if (wkv_out) memcpy(wkv_out, S->c, n * sizeof(float));
    if (l->att_kn_w) aviary_layer_norm(S->c, (size_t)T, (size_t)C, l->att_kn_w, l->att_kn_b, LN_EPS, S->c);
    aviary_group_norm(S->c, (size_t)T, (size_t)I->n_head, V6_HEAD, l->lnx_w, l->lnx_b, 1e-5f, S->c);
    aviary_mul(S->c, S->b, n, S->c);
    return aviary_linear_forward(l->Wo, S->c, T, S->g);
}

/* Channel mix on xn; result in S->g. */
static aviary_status channel_mix(const aviary_vision_rwkv *m, const vr_layer *l, scratch *S) {
    const aviary_vision_rwkv_info *I = &m->info;
    const int64_t T = S->T, C = I->embed_dims;
    aviary_status st;
    aviary_q_shift(S->xn, (size_t)S->gh, (size_t)S->gw, (size_t)C, (size_t)(I->version == 6 ? V6_HEAD : C), 1, S->xx);
    lerp(S->xn, S->xx, T, C, l->fmix_k, S->a);
    if ((st = aviary_linear_forward(l->Fk, S->a, T, S->hid))) return st;
    aviary_relu_square(S->hid, (size_t)(T * I->hidden), S->hid);
    if (l->ffn_kn_w) aviary_layer_norm(S->hid, (size_t)T, (size_t)I->hidden, l->ffn_kn_w, l->ffn_kn_b, LN_EPS, S->hid);
    if ((st = aviary_linear_forward(l->Fv, S->hid, T, S->b))) return st;
    lerp(S->xn, S->xx, T, C, l->fmix_r, S->a);
    if ((st = aviary_linear_forward(l->Fr, S->a, T, S->c))) return st;
    aviary_sigmoid(S->c, (size_t)(T * C), S->c);
    aviary_mul(S->c, S->b, (size_t)(T * C), S->g);
    return AVIARY_OK;
}

/* x += gamma * (post-norm ? LN(y) : y), y = S->g. */
static void residual(const aviary_vision_rwkv *m, float *x, scratch *S, const float *ln_w, const float *ln_b,
                     const float *gamma) {
    const int64_t T = S->T, C = m->info.embed_dims;
    if (m->info.post_norm) aviary_layer_norm(S->g, (size_t)T, (size_t)C, ln_w, ln_b, LN_EPS, S->g);
    for (int64_t t = 0; t < T; t++)
        for (int64_t c = 0; c < C; c++) x[t * C + c] += gamma ? gamma[c] * S->g[t * C + c] : S->g[t * C + c];
}

aviary_status aviary_vision_rwkv_forward(const aviary_vision_rwkv *m, const float *pixels, int height, int width,
                                         const aviary_vision_rwkv_outputs *out) {
    const aviary_vision_rwkv_info *I = &m->info;
    if (height < 1 || width < 1 || height > 65536 || width > 65536)
        return aviary_error(AVIARY_INVALID_ARG, "Vision-RWKV: invalid image size %dx%d", width, height);
    scratch S = {0};
    aviary_vision_rwkv_grid(m, height, width, &S.gh, &S.gw);
    const int64_t C = I->embed_dims, P = I->patch_size, T = (int64_t)S.gh * S.gw, K = 3 * P * P;
    S.T = T;
    const size_t n = (size_t)(T * C);
    aviary_status st = AVIARY_OK;
    float *x = NULL, *cols = NULL, *pos = NULL;
    float **bufs[] = {&S.xn, &S.xx, &S.a, &S.b, &S.c, &S.d, &S.e, &S.f, &S.g, &x, &pos};
    bool fail = false;
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) fail |= !(*bufs[i] = malloc(n * sizeof(float)));
    const int64_t dd = I->version == 6 ? aviary_linear_out(m->layers[0].decay_w1) : 0;
    const int64_t hidw = I->hidden > dd ? I->hidden : dd;
    fail |= !(S.hid = malloc((size_t)(T * hidw) * sizeof(float)));
    fail |= !(S.lora = malloc((size_t)(T * 5 * V6_MIX_DIM) * sizeof(float)));
    fail |= !(S.lora_j = malloc((size_t)(T * V6_MIX_DIM) * sizeof(float)));
    fail |= !(cols = malloc((size_t)(T * K) * sizeof(float)));
    fail |= !(S.wu = malloc((size_t)(2 * C) * sizeof(float)));
    fail |= !(S.state = malloc((size_t)I->n_head * V6_HEAD * V6_HEAD * sizeof(float)));
    fail |= !(S.bw = malloc(aviary_bi_wkv6_scratch((size_t)T, (size_t)C) * sizeof(float)));
    if (fail) {
        st = aviary_error(AVIARY_NOMEM, "Vision-RWKV: out of memory for a %dx%d image", width, height);
        goto done;
    }
    /* patch embedding: im2col with zero padding at the bottom/right, then the conv as a matmul */
    for (int gy = 0; gy < S.gh; gy++)
        for (int gx = 0; gx < S.gw; gx++) {
            float *row = cols + ((int64_t)gy * S.gw + gx) * K;
            for (int ch = 0; ch < 3; ch++)
                for (int ky = 0; ky < P; ky++) {
                    const int64_t yy = (int64_t)gy * P + ky;
                    for (int kx = 0; kx < P; kx++) {
                        const int64_t xx = (int64_t)gx * P + kx;
                        row[(ch * P + ky) * P + kx] =
                            (yy < height && xx < width) ? pixels[((int64_t)ch * height + yy) * width + xx] : 0.0f;
                    }
                }
        }
    if ((st = aviary_linear_forward(m->patch, cols, T, x))) goto done;
    for (int64_t t = 0; t < T; t++)
        for (int64_t c = 0; c < C; c++) x[t * C + c] += m->patch_b[c];
    if (out && out->patch_embed) memcpy(out->patch_embed, x, n * sizeof(float));
    if (S.gh == I->pos_grid_h && S.gw == I->pos_grid_w)
        memcpy(pos, m->pos, n * sizeof(float));
    else
        aviary_resize_tokens_bicubic(m->pos, I->pos_grid_h, I->pos_grid_w, (int)C, S.gh, S.gw, pos);
    if (out && out->pos_embed) memcpy(out->pos_embed, pos, n * sizeof(float));
    aviary_add(x, pos, n, x);

    for (int i = 0; i < I->depth; i++) {
        const vr_layer *l = &m->layers[i];
        if (i == 0) aviary_layer_norm(x, (size_t)T, (size_t)C, l->ln0_w, l->ln0_b, LN_EPS, x);
        if (I->post_norm)
            memcpy(S.xn, x, n * sizeof(float));
        else
            aviary_layer_norm(x, (size_t)T, (size_t)C, l->ln1_w, l->ln1_b, LN_EPS, S.xn);
        if ((st = spatial_mix(m, l, &S, out && out->wkv ? out->wkv + (size_t)i * n : NULL))) goto done;
        residual(m, x, &S, l->ln1_w, l->ln1_b, l->gamma1);
        if (I->post_norm)
            memcpy(S.xn, x, n * sizeof(float));
        else
            aviary_layer_norm(x, (size_t)T, (size_t)C, l->ln2_w, l->ln2_b, LN_EPS, S.xn);
        if ((st = channel_mix(m, l, &S))) goto done;
        residual(m, x, &S, l->ln2_w, l->ln2_b, l->gamma2);
        if (out && out->layers) memcpy(out->layers + (size_t)i * n, x, n * sizeof(float));
    }
    if (m->ln_w) aviary_layer_norm(x, (size_t)T, (size_t)C, m->ln_w, m->ln_b, LN_EPS, x);
    if (out && out->features) memcpy(out->features, x, n * sizeof(float));
    if (out && out->pooled) {
        for (int64_t c = 0; c < C; c++) {
            float s = 0;
            for (int64_t t = 0; t < T; t++) s += x[t * C + c];
            out->pooled[c] = s / (float)T;
        }
    }
done:
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(*bufs[i]);
    free(S.hid);
    free(S.lora);
    free(S.lora_j);
    free(cols);
    free(S.wu);
    free(S.state);
    free(S.bw);
    return st;
}
