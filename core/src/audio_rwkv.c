/* audio_rwkv.c - AudioRWKV 2024 (VRWKV6) and A-RWKV 2025 (RWKV-7) encoders.
 * Norms come from aviary_blocks.h, the Q-shift, conv shift and bidirectional
 * WKV passes from aviary_bidir.h, and every matrix product is an
 * aviary_linear made once at load time (the model owns them). Small vectors
 * (norm weights, mixes, decays) are owned f32 copies. */
#include <math.h>
#include <stdio.h>
#include "aviary/aviary_audio_rwkv.h"
#include "aviary/aviary_bidir.h"
#include "aviary/aviary_blocks.h"
#include "aviary/aviary_linear.h"
#include "internal.h"
#include "weights.h"

#define HS 64 /* head size of both designs (the reference kernels are built for 64) */

typedef aviary_linear lin_t;

typedef struct layer24 {
    float *ln0_w, *ln0_b; /* layer 0 only */
    float *ln1_w, *ln1_b, *ln2_w, *ln2_b;
    float *maa_x;
    lin_t *maa1;                  /* tanh(xxx @ time_maa_w1): C -> 5*D */
    lin_t *maa2[5];               /* time_maa_w2[s] + time_maa_{w,k,v,r,g} as bias: D -> C */
    int d_mix;
    lin_t *decay1, *decay2;       /* time_decay_w1 (C -> Dd), time_decay_w2 + time_decay (Dd -> C) */
    int d_decay;
    float *faaaa;                 /* [H][64] */
    lin_t *Wr, *Wk, *Wv, *Wg, *Wo;
    float *lnx_w, *lnx_b;
    float *mix_k, *mix_r;
    lin_t *Fk, *Fr, *Fv;
} layer24;

typedef struct layer25 {
    float *ln1_w, *ln1_b, *ln2_w, *ln2_b;
    float *x_r, *x_w, *x_k, *x_v, *x_a, *x_g;
    lin_t *w1, *w2, *a1, *a2, *v1, *v2, *g1, *g2; /* LoRAs; w2/a2/v2 carry w0/a0/v0 as bias */
    int dw, da, dv, dg;
    float *k_k, *k_a, *r_k;       /* r_k [H][64] */
    float *gate;                  /* [H][64] */
    float *shift;                 /* [C][9] */
    lin_t *Wr, *Wk, *Wv, *Wo;
    float *lnx_w, *lnx_b;
    float *f_xk, *f_shift;        /* [C], [C][9] */
    lin_t *Fk, *Fv;               /* with their biases */
} layer25;

struct aviary_audio_rwkv {
    aviary_audio_rwkv_info info;
    float *bn_mean, *bn_var, *bn_w, *bn_b; /* 2024 */
    lin_t *patch;                 /* the PxP stride-P conv as a linear over flattened patches: P*P -> C */
    float *pe_ln_w, *pe_ln_b;     /* 2024 */
    float *pos;                   /* [N][C] */
    layer24 *l24;
    layer25 *l25;
    float *norm_w, *norm_b;       /* 2024 classifier.norm / 2025 ln_out */
    lin_t *head;                  /* C -> K (bias 2024 only) */
    aviary__f32s owned;           /* every owned vector, freed with the model */
    lin_t **lins;                 /* every linear, freed with the model */
    size_t n_lins, cap_lins;
};

/* ---- loading ------------------------------------------------------------- */

/* Loading state: the shared weight reader (weights.h) plus the model being
 * filled, which owns what is loaded. */
typedef struct loader {
    aviary__weights w;
    aviary_audio_rwkv *m;
} loader;

/* A view of tensor t with the given 1-D or 2-D shape (same numel); t must be
 * contiguous, as checkpoint tensors are. */
static bool reshape_view(const aviary_tensor *t, int ndim, int64_t d0, int64_t d1, aviary_tensor *v) {
    if (!aviary_tensor_is_contiguous(t) || aviary_tensor_numel(t) != (ndim == 1 ? d0 : d0 * d1)) return false;
    *v = *t;
    v->owned = NULL;
    v->ndim = ndim;
    v->shape[0] = d0;
    if (ndim == 2) v->shape[1] = d1;
    aviary_tensor_set_contiguous(v);
    return true;
}

static bool keep_lin(loader *L, lin_t *l) {
    aviary_audio_rwkv *m = L->m;
    if (m->n_lins == m->cap_lins) {
        size_t nc = m->cap_lins ? m->cap_lins * 2 : 64;
        lin_t **p = realloc(m->lins, nc * sizeof *p);
        if (!p) return false;
        m->lins = p;
        m->cap_lins = nc;
    }
    m->lins[m->n_lins++] = l;
    return true;
}

/* A linear in -> out from weight `wname` (nn.Linear [out][in], or [in][out]
 * when `tr`, or any contiguous tensor of out*in values such as a conv
 * weight), with slice `slice` of a 3-D [S][in][out] weight when slice >= 0,
 * and bias `bname` (any shape with `out` values) or none. Names are
 * printf-formatted with the layer index `l`. Records the first error. */
static lin_t *mklin(loader *L, int64_t in, int64_t out, bool tr, int slice, const char *wfmt, const char *bfmt,
                    int l) {
    if (L->w.st) return NULL;
    char wn[128], bn[128];
    snprintf(wn, sizeof wn, wfmt, l);
    const char *path = aviary_checkpoint_path(L->w.ck);
    const aviary_tensor *w = aviary__w_need(&L->w, -1, "%s", wn), *b = NULL;
    if (!w) return NULL;
    if (bfmt) {
        snprintf(bn, sizeof bn, bfmt, l);
        if (!(b = aviary__w_need(&L->w, -1, "%s", bn))) return NULL;
    }
    aviary_tensor wv, bv;
    bool ok;
    if (slice >= 0) {
        ok = w->ndim == 3 && slice < w->shape[0] && w->shape[1] == in && w->shape[2] == out;
        if (ok) {
            wv = *w;
            wv.owned = NULL;
            wv.ndim = 2;
            wv.shape[0] = in;
            wv.shape[1] = out;
            wv.strides[0] = w->strides[1];
            wv.strides[1] = w->strides[2];
            wv.data = (char *)w->data + (size_t)slice * (size_t)w->strides[0] * aviary_dtype_size(w->dtype);
        }
    } else {
        ok = tr ? reshape_view(w, 2, in, out, &wv) : reshape_view(w, 2, out, in, &wv);
    }
    if (!ok) {
        char shp[96];
        L->w.st = aviary_error(AVIARY_SHAPE, "%s: '%s%s' has shape %s, expected %lld x %lld values", path, L->w.prefix,
                             wn, aviary_tensor_shape_str(w, shp, sizeof shp), (long long)in, (long long)out);
        return NULL;
    }
    if (b && !reshape_view(b, 1, out, 0, &bv)) {
        char shp[96];
        L->w.st = aviary_error(AVIARY_SHAPE, "%s: '%s%s' has shape %s, expected %lld values", path, L->w.prefix, bn,
                             aviary_tensor_shape_str(b, shp, sizeof shp), (long long)out);
        return NULL;
    }
    wv.name = w->name;
    aviary_linear_params p = L->w.lp;
    p.transposed = tr || slice >= 0;
    lin_t *lin = NULL;
    aviary_status s = aviary_linear_create(&wv, b ? &bv : NULL, &p, &lin);
    if (s) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", aviary_errmsg());
        L->w.st = aviary_error(s, "%s: '%s%s': %s", path, L->w.prefix, wn, msg);
        return NULL;
    }
    if (!keep_lin(L, lin)) {
        aviary_linear_free(lin);
        L->w.st = aviary_error(AVIARY_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    return lin;
}

/* Check that N position-embedding tokens, the patch size, the head count
 * and n_mels make one grid of patches, and set the grid fields of the info.
 * bn > 0 (the 2024 design): its BatchNorm over mel bins must have n_mels
 * channels. Returns false with L->w.st set when they do not fit. */
static bool patch_grid(loader *L, int N, int n_mels, int bn) {
    aviary_audio_rwkv_info *I = &L->m->info;
    const int C = I->n_embd, P = I->patch;
    if ((bn > 0 && n_mels != bn) || P < 1 || n_mels % P || C != I->n_head * HS || N < 1 || N % (n_mels / P)) {
        if (bn > 0)
            L->w.st = aviary_error(AVIARY_SHAPE,
                                   "%s: AudioRWKV-2024 shapes do not fit (embed %d, heads %d x %d, patch %d, %d mels, bn0 %d, %d tokens)",
                                   aviary_checkpoint_path(L->w.ck), C, I->n_head, HS, P, n_mels, bn, N);
        else
            L->w.st = aviary_error(AVIARY_SHAPE,
                                   "%s: A-RWKV shapes do not fit (embed %d, heads %d x %d, patch %d, %d mels, %d tokens)",
                                   aviary_checkpoint_path(L->w.ck), C, I->n_head, HS, P, n_mels, N);
        return false;
    }
    I->n_mels = n_mels;
    I->grid_w = n_mels / P;
    I->grid_h = N / I->grid_w;
    I->min_frames = I->grid_h * P;
    return true;
}

static void load_2024(loader *L, int n_mels) {
    aviary_audio_rwkv *m = L->m;
    aviary_audio_rwkv_info *I = &m->info;
    I->n_embd = (int)aviary__w_dim(&L->w, 2, "pos_embed");
    int N = (int)aviary__w_dim(&L->w, 1, "pos_embed");
    I->patch = (int)aviary__w_dim(&L->w, 2, "patch_embed.0.weight");
    I->n_head = (int)aviary__w_dim(&L->w, 0, "layers.0.att.time_faaaa");
    int bn = (int)aviary__w_dim(&L->w, 0, "bn0.weight");
    if (L->w.st) return;
    if (n_mels == 0) n_mels = bn;
    if (!patch_grid(L, N, n_mels, bn)) return;
    const int C = I->n_embd, P = I->patch;
    I->n_layer = aviary__w_count(&L->w, "layers.%d.ln1.weight");
    I->n_classes = (int)aviary__w_dim(&L->w, 0, "classifier.head.weight");
    if (L->w.st) return;
    m->bn_mean = aviary__w_vec(&L->w, false, bn, "bn0.running_mean");
    m->bn_var = aviary__w_vec(&L->w, false, bn, "bn0.running_var");
    m->bn_w = aviary__w_vec(&L->w, false, bn, "bn0.weight");
    m->bn_b = aviary__w_vec(&L->w, false, bn, "bn0.bias");
    m->patch = mklin(L, (int64_t)P * P, C, false, -1, "patch_embed.0.weight", "patch_embed.0.bias", 0);
    m->pe_ln_w = aviary__w_vec(&L->w, false, C, "patch_embed.2.weight");
    m->pe_ln_b = aviary__w_vec(&L->w, false, C, "patch_embed.2.bias");
    m->pos = aviary__w_vec(&L->w, false, (int64_t)N * C, "pos_embed");
    m->l24 = calloc((size_t)(I->n_layer ? I->n_layer : 1), sizeof(layer24));
    if (!m->l24) {
        L->w.st = aviary_error(AVIARY_NOMEM, "out of memory");
        return;
    }
    for (int l = 0; l < I->n_layer && !L->w.st; l++) {
        layer24 *y = &m->l24[l];
        char nm[96];
        if (l == 0) {
            y->ln0_w = aviary__w_vec(&L->w, false, C, "layers.0.ln0.weight");
            y->ln0_b = aviary__w_vec(&L->w, false, C, "layers.0.ln0.bias");
        }
        y->ln1_w = aviary__w_vec(&L->w, false, C, "layers.%d.ln1.weight", l);
        y->ln1_b = aviary__w_vec(&L->w, false, C, "layers.%d.ln1.bias", l);
        y->ln2_w = aviary__w_vec(&L->w, false, C, "layers.%d.ln2.weight", l);
        y->ln2_b = aviary__w_vec(&L->w, false, C, "layers.%d.ln2.bias", l);
        y->maa_x = aviary__w_vec(&L->w, false, C, "layers.%d.att.time_maa_x", l);
        snprintf(nm, sizeof nm, "layers.%d.att.time_maa_w2", l);
        y->d_mix = (int)aviary__w_dim(&L->w, 1, "%s", nm);
        const int D = y->d_mix;
        y->maa1 = mklin(L, C, 5 * D, true, -1, "layers.%d.att.time_maa_w1", NULL, l);
        static const char *mb[5] = {"layers.%d.att.time_maa_w", "layers.%d.att.time_maa_k", "layers.%d.att.time_maa_v",
                                    "layers.%d.att.time_maa_r", "layers.%d.att.time_maa_g"};
        for (int s = 0; s < 5; s++) y->maa2[s] = mklin(L, D, C, true, s, "layers.%d.att.time_maa_w2", mb[s], l);
        snprintf(nm, sizeof nm, "layers.%d.att.time_decay_w1", l);
        y->d_decay = (int)aviary__w_dim(&L->w, 1, "%s", nm);
        y->decay1 = mklin(L, C, y->d_decay, true, -1, "layers.%d.att.time_decay_w1", NULL, l);
        y->decay2 = mklin(L, y->d_decay, C, true, -1, "layers.%d.att.time_decay_w2", "layers.%d.att.time_decay", l);
        y->faaaa = aviary__w_vec(&L->w, false, C, "layers.%d.att.time_faaaa", l);
        y->Wr = mklin(L, C, C, false, -1, "layers.%d.att.receptance.weight", NULL, l);
        y->Wk = mklin(L, C, C, false, -1, "layers.%d.att.key.weight", NULL, l);
        y->Wv = mklin(L, C, C, false, -1, "layers.%d.att.value.weight", NULL, l);
        y->Wg = mklin(L, C, C, false, -1, "layers.%d.att.gate.weight", NULL, l);
        y->Wo = mklin(L, C, C, false, -1, "layers.%d.att.output.weight", NULL, l);
        y->lnx_w = aviary__w_vec(&L->w, false, C, "layers.%d.att.ln_x.weight", l);
        y->lnx_b = aviary__w_vec(&L->w, false, C, "layers.%d.att.ln_x.bias", l);
        y->mix_k = aviary__w_vec(&L->w, false, C, "layers.%d.ffn.spatial_mix_k", l);
        y->mix_r = aviary__w_vec(&L->w, false, C, "layers.%d.ffn.spatial_mix_r", l);
        y->Fk = mklin(L, C, 4 * C, false, -1, "layers.%d.ffn.key.weight", NULL, l);
        y->Fr = mklin(L, C, C, false, -1, "layers.%d.ffn.receptance.weight", NULL, l);
        y->Fv = mklin(L, 4 * C, C, false, -1, "layers.%d.ffn.value.weight", NULL, l);
    }
    m->norm_w = aviary__w_vec(&L->w, false, C, "classifier.norm.weight");
    m->norm_b = aviary__w_vec(&L->w, false, C, "classifier.norm.bias");
    m->head = mklin(L, C, I->n_classes, false, -1, "classifier.head.weight", "classifier.head.bias", 0);
}

static void load_2025(loader *L, int n_mels) {
    aviary_audio_rwkv *m = L->m;
    aviary_audio_rwkv_info *I = &m->info;
    I->n_embd = (int)aviary__w_dim(&L->w, 2, "pos_embed");
    int N = (int)aviary__w_dim(&L->w, 1, "pos_embed");
    I->patch = (int)aviary__w_dim(&L->w, 2, "emb.weight");
    I->n_head = (int)aviary__w_dim(&L->w, 0, "blocks.0.att.r_k");
    if (L->w.st) return;
    if (n_mels == 0) n_mels = 128;
    if (!patch_grid(L, N, n_mels, 0)) return;
    const int C = I->n_embd, P = I->patch;
    I->n_layer = aviary__w_count(&L->w, "blocks.%d.ln1.weight");
    I->n_classes = (int)aviary__w_dim(&L->w, 0, "head.weight");
    if (L->w.st) return;
    m->patch = mklin(L, (int64_t)P * P, C, false, -1, "emb.weight", "emb.bias", 0);
    m->pos = aviary__w_vec(&L->w, false, (int64_t)N * C, "pos_embed");
    m->l25 = calloc((size_t)(I->n_layer ? I->n_layer : 1), sizeof(layer25));
    if (!m->l25) {
        L->w.st = aviary_error(AVIARY_NOMEM, "out of memory");
        return;
    }
    for (int l = 0; l < I->n_layer && !L->w.st; l++) {
        layer25 *y = &m->l25[l];
        char nm[96];
        y->ln1_w = aviary__w_vec(&L->w, false, C, "blocks.%d.ln1.weight", l);
        y->ln1_b = aviary__w_vec(&L->w, false, C, "blocks.%d.ln1.bias", l);
        y->ln2_w = aviary__w_vec(&L->w, false, C, "blocks.%d.ln2.weight", l);
        y->ln2_b = aviary__w_vec(&L->w, false, C, "blocks.%d.ln2.bias", l);
        y->x_r = aviary__w_vec(&L->w, false, C, "blocks.%d.att.x_r", l);
        y->x_w = aviary__w_vec(&L->w, false, C, "blocks.%d.att.x_w", l);
        y->x_k = aviary__w_vec(&L->w, false, C, "blocks.%d.att.x_k", l);
        y->x_v = aviary__w_vec(&L->w, false, C, "blocks.%d.att.x_v", l);
        y->x_a = aviary__w_vec(&L->w, false, C, "blocks.%d.att.x_a", l);
        y->x_g = aviary__w_vec(&L->w, false, C, "blocks.%d.att.x_g", l);
#define LORA(v, d, bias)                                                                          \
    snprintf(nm, sizeof nm, "blocks.%d.att." #v "1", l);                                          \
    y->d = (int)aviary__w_dim(&L->w, 1, "%s", nm);                                                                      \
    y->v##1 = mklin(L, C, y->d, true, -1, "blocks.%d.att." #v "1", NULL, l);                      \
    y->v##2 = mklin(L, y->d, C, true, -1, "blocks.%d.att." #v "2", bias, l);
        LORA(w, dw, "blocks.%d.att.w0")
        LORA(a, da, "blocks.%d.att.a0")
        if (l > 0 || aviary__w_find(&L->w, "blocks.0.att.v1")) { /* layer 0 keeps v_first: its value LoRA is unused */
            LORA(v, dv, "blocks.%d.att.v0")
        }
        LORA(g, dg, NULL)
#undef LORA
        y->k_k = aviary__w_vec(&L->w, false, C, "blocks.%d.att.k_k", l);
        y->k_a = aviary__w_vec(&L->w, false, C, "blocks.%d.att.k_a", l);
        y->r_k = aviary__w_vec(&L->w, false, C, "blocks.%d.att.r_k", l);
        y->gate = aviary__w_vec(&L->w, false, C, "blocks.%d.att.gate.weight", l);
        y->shift = aviary__w_vec(&L->w, false, (int64_t)C * 9, "blocks.%d.att.time_shift.weight", l);
        y->Wr = mklin(L, C, C, false, -1, "blocks.%d.att.receptance.weight", NULL, l);
        y->Wk = mklin(L, C, C, false, -1, "blocks.%d.att.key.weight", NULL, l);
        y->Wv = mklin(L, C, C, false, -1, "blocks.%d.att.value.weight", NULL, l);
        y->Wo = mklin(L, C, C, false, -1, "blocks.%d.att.output.weight", NULL, l);
        y->lnx_w = aviary__w_vec(&L->w, false, C, "blocks.%d.att.ln_x.weight", l);
        y->lnx_b = aviary__w_vec(&L->w, false, C, "blocks.%d.att.ln_x.bias", l);
        y->f_xk = aviary__w_vec(&L->w, false, C, "blocks.%d.ffn.x_k", l);
        y->f_shift = aviary__w_vec(&L->w, false, (int64_t)C * 9, "blocks.%d.ffn.time_shift.weight", l);
        y->Fk = mklin(L, C, 4 * C, false, -1, "blocks.%d.ffn.key.weight", "blocks.%d.ffn.key.bias", l);
        y->Fv = mklin(L, 4 * C, C, false, -1, "blocks.%d.ffn.value.weight", "blocks.%d.ffn.value.bias", l);
    }
    m->norm_w = aviary__w_vec(&L->w, false, C, "ln_out.weight");
    m->norm_b = aviary__w_vec(&L->w, false, C, "ln_out.bias");
    m->head = mklin(L, C, I->n_classes, false, -1, "head.weight", NULL, 0);
}

void aviary_audio_rwkv_free(aviary_audio_rwkv *m) {
    if (!m) return;
    aviary__f32s_free(&m->owned);
    for (size_t i = 0; i < m->n_lins; i++) aviary_linear_free(m->lins[i]);
    free(m->lins);
    free(m->l24);
    free(m->l25);
    free(m);
}

aviary_status aviary_audio_rwkv_load(const aviary_checkpoint *ck, int n_mels, aviary_audio_rwkv **out) {
    return aviary_audio_rwkv_load_weights(ck, n_mels, AVIARY_WEIGHTS_AUTO, out);
}

aviary_status aviary_audio_rwkv_load_weights(const aviary_checkpoint *ck, int n_mels, aviary_weight_type weights,
                                             aviary_audio_rwkv **out) {
    if (!out) return aviary_error(AVIARY_INVALID_ARG, "aviary_audio_rwkv_load: out is NULL");
    *out = NULL;
    if (!ck) return aviary_error(AVIARY_INVALID_ARG, "aviary_audio_rwkv_load: checkpoint is NULL");
    if (n_mels < 0 || n_mels > 4096) return aviary_error(AVIARY_INVALID_ARG, "aviary_audio_rwkv_load: n_mels %d", n_mels);
    aviary_audio_rwkv *m = calloc(1, sizeof *m);
    if (!m) return aviary_error(AVIARY_NOMEM, "out of memory");
    loader L = {{ck, "", "AudioRWKV", aviary_linear_default_params(), &m->owned, AVIARY_OK}, m};
    L.w.lp.weights = weights;
    if (aviary_checkpoint_find(ck, "sed_model.bn0.weight")) {
        L.w.prefix = "sed_model.";
        m->info.variant = AVIARY_AUDIO_RWKV_2024;
    } else if (aviary_checkpoint_find(ck, "bn0.weight")) {
        m->info.variant = AVIARY_AUDIO_RWKV_2024;
    } else if (aviary_checkpoint_find(ck, "emb.weight") && aviary_checkpoint_find(ck, "blocks.0.att.r_k")) {
        m->info.variant = AVIARY_AUDIO_RWKV_2025; /* "module." prefixes are resolved by find */
    } else {
        free(m);
        return aviary_error(AVIARY_UNSUPPORTED,
                            "%s: not an AudioRWKV checkpoint (neither bn0.weight nor emb.weight + blocks.0.att.r_k)",
                            aviary_checkpoint_path(ck));
    }
    if (m->info.variant == AVIARY_AUDIO_RWKV_2024)
        load_2024(&L, n_mels);
    else
        load_2025(&L, n_mels);
    if (!L.w.st && (m->info.n_layer < 1 || m->info.n_classes < 1))
        L.w.st = aviary_error(AVIARY_SHAPE, "%s: AudioRWKV checkpoint has %d layers and %d classes",
                            aviary_checkpoint_path(ck), m->info.n_layer, m->info.n_classes);
    if (L.w.st) {
        aviary_audio_rwkv_free(m);
        return L.w.st;
    }
    m->info.head_size = HS;
    *out = m;
    return AVIARY_OK;
}

const aviary_audio_rwkv_info *aviary_audio_rwkv_get_info(const aviary_audio_rwkv *m) { return m ? &m->info : NULL; }


/* ---- kernels ------------------------------------------------------------- */

/* Run linear `lin` on m rows; returns from the calling function on error. */
#define LIN(lin, x, m, y)                                                       \
    do {                                                                        \
        aviary_status lin_st_ = aviary_linear_forward((lin), (x), (m), (y));    \
        if (lin_st_) return lin_st_;                                            \
    } while (0)

static void layernorm(const float *x, int64_t T, int C, const float *w, const float *b, double eps, float *y) {
    aviary_layer_norm(x, (size_t)T, (size_t)C, w, b, (float)eps, y);
}

/* GroupNorm with one group per head, per token (in place). */
static void groupnorm_heads(float *x, int64_t T, int H, const float *w, const float *b, double eps) {
    aviary_group_norm(x, (size_t)T, (size_t)H, HS, w, b, (float)eps, x);
}

static inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

/* ---- forward ------------------------------------------------------------- */

/* The PxP stride-P conv: gather each patch into a row of P*P values (the
 * conv weight's [c][p][q] order), then one linear over all patches. */
static aviary_status patch_embed(const aviary_audio_rwkv *m, const float *in, int n_mels, float *patches, float *x) {
    const aviary_audio_rwkv_info *I = &m->info;
    const int P = I->patch;
    for (int i = 0; i < I->grid_h; i++)
        for (int j = 0; j < I->grid_w; j++) {
            float *o = patches + ((int64_t)i * I->grid_w + j) * P * P;
            for (int p = 0; p < P; p++)
                memcpy(o + p * P, in + ((int64_t)i * P + p) * n_mels + j * P, (size_t)P * sizeof(float));
        }
    LIN(m->patch, patches, (int64_t)I->grid_h * I->grid_w, x);
    return AVIARY_OK;
}

#define NBUF 16

static aviary_status forward_2024(const aviary_audio_rwkv *m, float *x, float **B, float *S, float *scratch,
                                  const aviary_audio_rwkv_outputs *out) {
    const aviary_audio_rwkv_info *I = &m->info;
    const int C = I->n_embd, H = I->n_head, gh = I->grid_h, gw = I->grid_w;
    const int64_t T = (int64_t)gh * gw;
    float *ln = B[0], *xx = B[1], *r = B[2], *k = B[3], *v = B[4], *g = B[5], *w = B[6], *y = B[7], *tmp = B[8],
          *big = B[9], *mix = B[10], *part = B[11];
    for (int l = 0; l < I->n_layer; l++) {
        const layer24 *L = &m->l24[l];
        if (l == 0) layernorm(x, T, C, L->ln0_w, L->ln0_b, 1e-5, x);
        /* spatial mix */
        layernorm(x, T, C, L->ln1_w, L->ln1_b, 1e-5, ln);
        aviary_q_shift(ln, (size_t)gh, (size_t)gw, (size_t)C, HS, 1, xx);
        for (int64_t i = 0; i < T * C; i++) xx[i] -= ln[i];
        for (int64_t t = 0; t < T; t++)
            for (int c = 0; c < C; c++) tmp[t * C + c] = ln[t * C + c] + xx[t * C + c] * L->maa_x[c];
        const int D = L->d_mix;
        LIN(L->maa1, tmp, T, mix); /* [T][5*D] */
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < T * 5 * D; i++) mix[i] = tanhf(mix[i]);
        float *dst[5] = {w, k, v, r, g}; /* mixed inputs xw, xk, xv, xr, xg */
        for (int s = 0; s < 5; s++) {
            for (int64_t t = 0; t < T; t++) memcpy(part + t * D, mix + t * 5 * D + s * D, (size_t)D * sizeof(float));
            LIN(L->maa2[s], part, T, dst[s]); /* time_maa_s + lora_s */
            for (int64_t i = 0; i < T * C; i++) dst[s][i] = ln[i] + xx[i] * dst[s][i];
        }
        /* now w,k,v,r,g hold xw,xk,xv,xr,xg; project (order matters: reuse buffers) */
        LIN(L->Wr, r, T, y);
        memcpy(r, y, (size_t)(T * C) * sizeof(float));
        LIN(L->Wk, k, T, y);
        memcpy(k, y, (size_t)(T * C) * sizeof(float));
        LIN(L->Wv, v, T, y);
        memcpy(v, y, (size_t)(T * C) * sizeof(float));
        LIN(L->Wg, g, T, y);
        aviary_silu(y, (size_t)(T * C), g);
        LIN(L->decay1, w, T, big);
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < T * L->d_decay; i++) big[i] = tanhf(big[i]);
        LIN(L->decay2, big, T, w);
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < T * C; i++) w[i] = expf(-expf(w[i]));
        aviary_bi_wkv6((size_t)T, (size_t)H, HS, r, k, v, w, L->faaaa, S, scratch, y);
        groupnorm_heads(y, T, H, L->lnx_w, L->lnx_b, 1e-5);
        aviary_mul(y, g, (size_t)(T * C), y);
        LIN(L->Wo, y, T, tmp);
        aviary_add(x, tmp, (size_t)(T * C), x);
        /* channel mix */
        layernorm(x, T, C, L->ln2_w, L->ln2_b, 1e-5, ln);
        aviary_q_shift(ln, (size_t)gh, (size_t)gw, (size_t)C, HS, 1, xx);
        for (int64_t t = 0; t < T; t++)
            for (int c = 0; c < C; c++) {
                int64_t i = t * C + c;
                k[i] = ln[i] * L->mix_k[c] + xx[i] * (1 - L->mix_k[c]);
                r[i] = ln[i] * L->mix_r[c] + xx[i] * (1 - L->mix_r[c]);
            }
        LIN(L->Fk, k, T, big);
        aviary_relu_square(big, (size_t)(T * 4 * C), big);
        LIN(L->Fv, big, T, y);
        LIN(L->Fr, r, T, tmp);
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < T * C; i++) x[i] += sigmoidf(tmp[i]) * y[i];
    }
    if (out->features) memcpy(out->features, x, (size_t)(T * C) * sizeof(float));
    layernorm(x, T, C, m->norm_w, m->norm_b, 1e-5, ln);
    double pooled_d[4096];
    for (int c = 0; c < C; c++) pooled_d[c] = 0;
    for (int64_t t = 0; t < T; t++)
        for (int c = 0; c < C; c++) pooled_d[c] += ln[t * C + c];
    float *pooled = tmp;
    for (int c = 0; c < C; c++) pooled[c] = (float)(pooled_d[c] / (double)T);
    return AVIARY_OK;
}

static aviary_status forward_2025(const aviary_audio_rwkv *m, float *x, float **B, float *S, float *scratch,
                                  const aviary_audio_rwkv_outputs *out) {
    const aviary_audio_rwkv_info *I = &m->info;
    const int C = I->n_embd, H = I->n_head, gh = I->grid_h, gw = I->grid_w;
    const int64_t T = (int64_t)gh * gw;
    float *ln = B[0], *xx = B[1], *r = B[2], *k = B[3], *v = B[4], *g = B[5], *w = B[6], *y = B[7], *tmp = B[8],
          *big = B[9], *a = B[10], *kk = B[11], *yb = B[12], *vfirst = B[13], *lo = B[14], *xi = B[15];
    for (int l = 0; l < I->n_layer; l++) {
        const layer25 *L = &m->l25[l];
        layernorm(x, T, C, L->ln1_w, L->ln1_b, 1e-5, ln);
        aviary_conv_shift_3x3(ln, (size_t)gh, (size_t)gw, (size_t)C, L->shift, xx);
        for (int64_t i = 0; i < T * C; i++) xx[i] -= ln[i];
#define MIXIN(dstv, coef)                                                              \
    for (int64_t t = 0; t < T; t++)                                                    \
        for (int c = 0; c < C; c++) dstv[t * C + c] = ln[t * C + c] + xx[t * C + c] * coef[c];
        MIXIN(xi, L->x_r)
        LIN(L->Wr, xi, T, r);
        MIXIN(xi, L->x_w)
        LIN(L->w1, xi, T, lo);
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < T * L->dw; i++) lo[i] = tanhf(lo[i]);
        LIN(L->w2, lo, T, w);
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < T * C; i++) {
            /* w = -softplus(-(w0 + ...)) - 0.5 (torch softplus: linear above 20);
             * decay = exp(-exp(w)); float32 like the reference */
            float z = -w[i];
            float sp = z > 20.0f ? z : log1pf(expf(z));
            w[i] = expf(-expf(-sp - 0.5f));
        }
        MIXIN(xi, L->x_k)
        LIN(L->Wk, xi, T, k);
        MIXIN(xi, L->x_v)
        LIN(L->Wv, xi, T, v);
        if (l == 0) {
            memcpy(vfirst, v, (size_t)(T * C) * sizeof(float));
        } else {
            LIN(L->v1, xi, T, lo);
            LIN(L->v2, lo, T, tmp);
#pragma omp parallel for schedule(static)
            for (int64_t i = 0; i < T * C; i++) v[i] += (vfirst[i] - v[i]) * sigmoidf(tmp[i]);
        }
        MIXIN(xi, L->x_a)
        LIN(L->a1, xi, T, lo);
        LIN(L->a2, lo, T, a);
        aviary_sigmoid(a, (size_t)(T * C), a);
        MIXIN(xi, L->x_g)
        LIN(L->g1, xi, T, lo);
        aviary_sigmoid(lo, (size_t)(T * L->dg), lo);
        LIN(L->g2, lo, T, g);
#undef MIXIN
        aviary_wkv7_keys(L->k_k, L->k_a, a, (size_t)T, (size_t)H, HS, k, kk);
        aviary_bi_wkv7((size_t)T, (size_t)H, HS, r, w, k, v, kk, a, S, scratch, y, yb);
#pragma omp parallel for schedule(static)
        for (int64_t t = 0; t < T; t++)
            for (int h = 0; h < H; h++) {
                double s = 0;
                for (int i = 0; i < HS; i++) s += (double)L->gate[h * HS + i] * xx[t * C + h * HS + i];
                float gt = sigmoidf((float)s);
                for (int i = 0; i < HS; i++) {
                    int64_t q = t * C + h * HS + i;
                    y[q] = gt * y[q] + (1.0f - gt) * yb[q];
                }
            }
        groupnorm_heads(y, T, H, L->lnx_w, L->lnx_b, 6.4e-4);
        aviary_wkv7_bonus(r, k, v, L->r_k, (size_t)T, (size_t)H, HS, y);
        aviary_mul(y, g, (size_t)(T * C), y);
        LIN(L->Wo, y, T, tmp);
        aviary_add(x, tmp, (size_t)(T * C), x);
        /* channel mix */
        layernorm(x, T, C, L->ln2_w, L->ln2_b, 1e-5, ln);
        aviary_conv_shift_3x3(ln, (size_t)gh, (size_t)gw, (size_t)C, L->f_shift, xx);
        for (int64_t i = 0; i < T * C; i++) xx[i] -= ln[i];
        for (int64_t t = 0; t < T; t++)
            for (int c = 0; c < C; c++) xi[t * C + c] = ln[t * C + c] + xx[t * C + c] * L->f_xk[c];
        LIN(L->Fk, xi, T, big);
        aviary_relu_square(big, (size_t)(T * 4 * C), big);
        LIN(L->Fv, big, T, tmp);
        aviary_add(x, tmp, (size_t)(T * C), x);
    }
    if (out->features) memcpy(out->features, x, (size_t)(T * C) * sizeof(float));
    float *mean = ln;
    for (int c = 0; c < C; c++) {
        double s = 0;
        for (int64_t t = 0; t < T; t++) s += x[t * C + c];
        mean[c] = (float)(s / (double)T);
    }
    layernorm(mean, 1, C, m->norm_w, m->norm_b, 1e-5, tmp);
    return AVIARY_OK;
}

aviary_status aviary_audio_rwkv_forward(const aviary_audio_rwkv *m, const float *spec, int64_t frames, int n_mels,
                                        const aviary_audio_rwkv_outputs *out) {
    if (!m || !spec || !out) return aviary_error(AVIARY_INVALID_ARG, "aviary_audio_rwkv_forward: NULL argument");
    const aviary_audio_rwkv_info *I = &m->info;
    if (n_mels != I->n_mels || frames < I->min_frames)
        return aviary_error(AVIARY_SHAPE, "AudioRWKV: input is %lld frames x %d mels, the model needs at least %d x %d",
                            (long long)frames, n_mels, I->min_frames, I->n_mels);
    if (I->n_embd > 4096) return aviary_error(AVIARY_UNSUPPORTED, "AudioRWKV: width %d too large", I->n_embd);
    const int C = I->n_embd;
    const int64_t T = (int64_t)I->grid_h * I->grid_w;
    /* widest activation row: FFN 4C, LoRA outputs, patches, head logits */
    int64_t width = 4 * C;
    if ((int64_t)I->patch * I->patch > width) width = (int64_t)I->patch * I->patch;
    if (I->n_classes > width * T) width = (I->n_classes + T - 1) / T;
    for (int l = 0; l < I->n_layer; l++) {
        if (m->l24) {
            if (5 * m->l24[l].d_mix > width) width = 5 * m->l24[l].d_mix;
            if (m->l24[l].d_decay > width) width = m->l24[l].d_decay;
        } else {
            const layer25 *y = &m->l25[l];
            int d = y->dw > y->da ? y->dw : y->da;
            d = d > y->dv ? d : y->dv;
            d = d > y->dg ? d : y->dg;
            if (d > width) width = d;
        }
    }
    size_t n_scratch = m->l24 ? aviary_bi_wkv6_scratch((size_t)T, (size_t)C) : aviary_bi_wkv7_scratch((size_t)T, (size_t)C);
    float *B[NBUF] = {0};
    float *x = malloc((size_t)(T * C) * sizeof(float));
    float *S = malloc((size_t)I->n_head * HS * HS * sizeof(float));
    float *scratch = malloc(n_scratch * sizeof(float));
    float *in = NULL;
    bool ok = x && S && scratch;
    for (int i = 0; i < NBUF && ok; i++) ok = (B[i] = malloc((size_t)(T * width) * sizeof(float))) != NULL;
    if (ok && m->l24) ok = (in = malloc((size_t)(frames * n_mels) * sizeof(float))) != NULL;
    aviary_status st = AVIARY_OK;
    if (!ok) {
        st = aviary_error(AVIARY_NOMEM, "AudioRWKV: out of memory for %lld tokens", (long long)T);
        goto done;
    }
    const float *src = spec;
    if (m->l24) {
        /* bn0 (eval) over the mel axis */
        for (int64_t t = 0; t < frames; t++)
            for (int f = 0; f < n_mels; f++) {
                double inv = 1.0 / sqrt((double)m->bn_var[f] + 1e-5);
                in[t * n_mels + f] =
                    (float)(((double)spec[t * n_mels + f] - m->bn_mean[f]) * inv * m->bn_w[f] + m->bn_b[f]);
            }
        if (out->fbank) memcpy(out->fbank, in, (size_t)(frames * n_mels) * sizeof(float));
        src = in;
    }
    if ((st = patch_embed(m, src, n_mels, B[0], x))) goto done;
    if (m->l24) layernorm(x, T, C, m->pe_ln_w, m->pe_ln_b, 1e-5, x);
    for (int64_t i = 0; i < T * C; i++) x[i] += m->pos[i];
    st = m->l24 ? forward_2024(m, x, B, S, scratch, out) : forward_2025(m, x, B, S, scratch, out);
    if (st) goto done;
    /* both forwards leave the pooled vector in B[8] */
    const float *pooled = B[8];
    if (out->pooled) memcpy(out->pooled, pooled, (size_t)C * sizeof(float));
    const int K = I->n_classes;
    float *logits = B[9];
    if ((st = aviary_linear_forward(m->head, pooled, 1, logits))) goto done;
    if (out->logits) memcpy(out->logits, logits, (size_t)K * sizeof(float));
    if (out->probs)
        for (int i = 0; i < K; i++) out->probs[i] = sigmoidf(logits[i]);
done:
    for (int i = 0; i < NBUF; i++) free(B[i]);
    free(x);
    free(S);
    free(scratch);
    free(in);
    return st;
}
