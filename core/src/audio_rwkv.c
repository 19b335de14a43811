/* audio_rwkv.c - AudioRWKV 2024 (VRWKV6) and A-RWKV 2025 (RWKV-7) encoders.
 * Norms and the causal WKV recurrences come from aviary_blocks.h (lm module);
 * the bidirectional passes here run them on the sequence and on its flip. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include "aviary/aviary_audio_rwkv.h"
#include "aviary/aviary_blocks.h"
#include "internal.h"

#define HS 64 /* head size of both designs (the reference kernels are built for 64) */

typedef struct layer24 {
    float *ln0_w, *ln0_b; /* layer 0 only */
    float *ln1_w, *ln1_b, *ln2_w, *ln2_b;
    float *maa_x, *maa[5];        /* order w, k, v, r, g (as time_maa_w2 is split) */
    float *maa_w1, *maa_w2;       /* [C][5*D], [5][D][C] */
    int d_mix;
    float *decay, *decay_w1, *decay_w2; /* [C], [C][Dd], [Dd][C] */
    int d_decay;
    float *faaaa;                 /* [H][64] */
    float *Wr, *Wk, *Wv, *Wg, *Wo; /* transposed: [in][out] */
    float *lnx_w, *lnx_b;
    float *mix_k, *mix_r;
    float *Fk, *Fr, *Fv;          /* [C][4C], [C][C], [4C][C] transposed */
} layer24;

typedef struct layer25 {
    float *ln1_w, *ln1_b, *ln2_w, *ln2_b;
    float *x_r, *x_w, *x_k, *x_v, *x_a, *x_g;
    float *w0, *w1, *w2, *a0, *a1, *a2, *v0, *v1, *v2, *g1, *g2; /* LoRA [C][D], [D][C] */
    int dw, da, dv, dg;
    float *k_k, *k_a, *r_k;       /* r_k [H][64] */
    float *gate;                  /* [H][64] */
    float *shift;                 /* [C][9] */
    float *Wr, *Wk, *Wv, *Wo;     /* transposed */
    float *lnx_w, *lnx_b;
    float *f_xk, *f_shift;        /* [C], [C][9] */
    float *Fk, *Fkb, *Fv, *Fvb;   /* [C][4C] + [4C], [4C][C] + [C] */
} layer25;

struct aviary_audio_rwkv {
    aviary_audio_rwkv_info info;
    float *bn_mean, *bn_var, *bn_w, *bn_b; /* 2024 */
    float *patch_w, *patch_b;     /* [C][P*P], [C] */
    float *pe_ln_w, *pe_ln_b;     /* 2024 */
    float *pos;                   /* [N][C] */
    layer24 *l24;
    layer25 *l25;
    float *norm_w, *norm_b;       /* 2024 classifier.norm / 2025 ln_out */
    float *head_w, *head_b;       /* transposed [C][K]; bias 2024 only */
    float **allocs;
    size_t n_allocs, cap_allocs;
};

/* ---- loading ------------------------------------------------------------- */

typedef struct loader {
    const aviary_checkpoint *ck;
    aviary_audio_rwkv *m;
    const char *prefix;
    aviary_status st;
} loader;

static float *track(loader *L, size_t n) {
    aviary_audio_rwkv *m = L->m;
    if (m->n_allocs == m->cap_allocs) {
        size_t nc = m->cap_allocs ? m->cap_allocs * 2 : 64;
        float **p = realloc(m->allocs, nc * sizeof *p);
        if (!p) return NULL;
        m->allocs = p;
        m->cap_allocs = nc;
    }
    float *b = malloc((n ? n : 1) * sizeof(float));
    if (b) m->allocs[m->n_allocs++] = b;
    return b;
}

static const aviary_tensor *find(loader *L, const char *name) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", L->prefix, name);
    return aviary_checkpoint_find(L->ck, full);
}

/* Tensor `name` (printf-style) as an owned f32 copy of exactly `numel`
 * values; transposed from [rows][numel/rows] to [numel/rows][rows] if
 * rows > 0. Records the first error in L->st and returns NULL. */
static float *getv(loader *L, int64_t numel, int64_t rows, const char *fmt, ...) AVIARY_PRINTF(4, 5);
static float *getv(loader *L, int64_t numel, int64_t rows, const char *fmt, ...) {
    if (L->st) return NULL;
    char name[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    const aviary_tensor *t = find(L, name);
    const char *path = aviary_checkpoint_path(L->ck);
    if (!t) {
        L->st = aviary_error(AVIARY_NOT_FOUND, "%s: AudioRWKV tensor '%s%s' is missing", path, L->prefix, name);
        return NULL;
    }
    if (aviary_tensor_numel(t) != numel) {
        char shp[96];
        L->st = aviary_error(AVIARY_SHAPE, "%s: '%s%s' has shape %s, expected %lld values", path, L->prefix, name,
                             aviary_tensor_shape_str(t, shp, sizeof shp), (long long)numel);
        return NULL;
    }
    float *tmp = rows > 0 ? malloc((size_t)numel * sizeof(float)) : NULL;
    float *b = track(L, (size_t)numel);
    if (!b || (rows > 0 && !tmp)) {
        free(tmp);
        L->st = aviary_error(AVIARY_NOMEM, "%s: out of memory loading '%s'", path, name);
        return NULL;
    }
    aviary_status s = aviary_tensor_to_f32(t, rows > 0 ? tmp : b);
    if (s) {
        free(tmp);
        L->st = s;
        return NULL;
    }
    if (rows > 0) {
        int64_t cols = numel / rows;
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < cols; c++) b[c * rows + r] = tmp[r * cols + c];
        free(tmp);
    }
    return b;
}

/* Second dimension of a 2-D tensor (LoRA width), 0 with an error if absent. */
static int dim_of(loader *L, const char *name, int axis) {
    if (L->st) return 0;
    const aviary_tensor *t = find(L, name);
    if (!t || t->ndim <= axis) {
        L->st = aviary_error(AVIARY_NOT_FOUND, "%s: AudioRWKV tensor '%s%s' is missing or has too few dimensions",
                             aviary_checkpoint_path(L->ck), L->prefix, name);
        return 0;
    }
    return (int)t->shape[axis];
}

static int count_layers(loader *L, const char *fmt) {
    int n = 0;
    char name[128];
    for (;;) {
        snprintf(name, sizeof name, fmt, n);
        if (!find(L, name)) return n;
        n++;
    }
}

static void load_2024(loader *L, int n_mels) {
    aviary_audio_rwkv *m = L->m;
    aviary_audio_rwkv_info *I = &m->info;
    I->n_embd = dim_of(L, "pos_embed", 2);
    int N = dim_of(L, "pos_embed", 1);
    I->patch = dim_of(L, "patch_embed.0.weight", 2);
    I->n_head = dim_of(L, "layers.0.att.time_faaaa", 0);
    int bn = dim_of(L, "bn0.weight", 0);
    if (L->st) return;
    if (n_mels == 0) n_mels = bn;
    const int C = I->n_embd, P = I->patch;
    if (n_mels != bn || P < 1 || n_mels % P || C != I->n_head * HS || N < 1 || N % (n_mels / P)) {
        L->st = aviary_error(AVIARY_SHAPE,
                             "%s: AudioRWKV-2024 shapes do not fit (embed %d, heads %d x %d, patch %d, %d mels, bn0 %d, %d tokens)",
                             aviary_checkpoint_path(L->ck), C, I->n_head, HS, P, n_mels, bn, N);
        return;
    }
    I->n_mels = n_mels;
    I->grid_w = n_mels / P;
    I->grid_h = N / I->grid_w;
    I->min_frames = I->grid_h * P;
    I->n_layer = count_layers(L, "layers.%d.ln1.weight");
    I->n_classes = dim_of(L, "classifier.head.weight", 0);
    if (L->st) return;
    m->bn_mean = getv(L, bn, 0, "bn0.running_mean");
    m->bn_var = getv(L, bn, 0, "bn0.running_var");
    m->bn_w = getv(L, bn, 0, "bn0.weight");
    m->bn_b = getv(L, bn, 0, "bn0.bias");
    m->patch_w = getv(L, (int64_t)C * P * P, 0, "patch_embed.0.weight");
    m->patch_b = getv(L, C, 0, "patch_embed.0.bias");
    m->pe_ln_w = getv(L, C, 0, "patch_embed.2.weight");
    m->pe_ln_b = getv(L, C, 0, "patch_embed.2.bias");
    m->pos = getv(L, (int64_t)N * C, 0, "pos_embed");
    m->l24 = calloc((size_t)(I->n_layer ? I->n_layer : 1), sizeof(layer24));
    if (!m->l24) {
        L->st = aviary_error(AVIARY_NOMEM, "out of memory");
        return;
    }
    for (int l = 0; l < I->n_layer && !L->st; l++) {
        layer24 *y = &m->l24[l];
        char nm[96];
        if (l == 0) {
            y->ln0_w = getv(L, C, 0, "layers.0.ln0.weight");
            y->ln0_b = getv(L, C, 0, "layers.0.ln0.bias");
        }
        y->ln1_w = getv(L, C, 0, "layers.%d.ln1.weight", l);
        y->ln1_b = getv(L, C, 0, "layers.%d.ln1.bias", l);
        y->ln2_w = getv(L, C, 0, "layers.%d.ln2.weight", l);
        y->ln2_b = getv(L, C, 0, "layers.%d.ln2.bias", l);
        y->maa_x = getv(L, C, 0, "layers.%d.att.time_maa_x", l);
        static const char *mn[5] = {"w", "k", "v", "r", "g"};
        for (int i = 0; i < 5; i++) y->maa[i] = getv(L, C, 0, "layers.%d.att.time_maa_%s", l, mn[i]);
        snprintf(nm, sizeof nm, "layers.%d.att.time_maa_w2", l);
        y->d_mix = dim_of(L, nm, 1);
        y->maa_w1 = getv(L, (int64_t)C * 5 * y->d_mix, 0, "layers.%d.att.time_maa_w1", l);
        y->maa_w2 = getv(L, (int64_t)5 * y->d_mix * C, 0, "layers.%d.att.time_maa_w2", l);
        snprintf(nm, sizeof nm, "layers.%d.att.time_decay_w1", l);
        y->d_decay = dim_of(L, nm, 1);
        y->decay = getv(L, C, 0, "layers.%d.att.time_decay", l);
        y->decay_w1 = getv(L, (int64_t)C * y->d_decay, 0, "layers.%d.att.time_decay_w1", l);
        y->decay_w2 = getv(L, (int64_t)y->d_decay * C, 0, "layers.%d.att.time_decay_w2", l);
        y->faaaa = getv(L, C, 0, "layers.%d.att.time_faaaa", l);
        y->Wr = getv(L, (int64_t)C * C, C, "layers.%d.att.receptance.weight", l);
        y->Wk = getv(L, (int64_t)C * C, C, "layers.%d.att.key.weight", l);
        y->Wv = getv(L, (int64_t)C * C, C, "layers.%d.att.value.weight", l);
        y->Wg = getv(L, (int64_t)C * C, C, "layers.%d.att.gate.weight", l);
        y->Wo = getv(L, (int64_t)C * C, C, "layers.%d.att.output.weight", l);
        y->lnx_w = getv(L, C, 0, "layers.%d.att.ln_x.weight", l);
        y->lnx_b = getv(L, C, 0, "layers.%d.att.ln_x.bias", l);
        y->mix_k = getv(L, C, 0, "layers.%d.ffn.spatial_mix_k", l);
        y->mix_r = getv(L, C, 0, "layers.%d.ffn.spatial_mix_r", l);
        y->Fk = getv(L, (int64_t)4 * C * C, 4 * C, "layers.%d.ffn.key.weight", l);
        y->Fr = getv(L, (int64_t)C * C, C, "layers.%d.ffn.receptance.weight", l);
        y->Fv = getv(L, (int64_t)4 * C * C, C, "layers.%d.ffn.value.weight", l);
    }
    m->norm_w = getv(L, C, 0, "classifier.norm.weight");
    m->norm_b = getv(L, C, 0, "classifier.norm.bias");
    m->head_w = getv(L, (int64_t)I->n_classes * C, I->n_classes, "classifier.head.weight");
    m->head_b = getv(L, I->n_classes, 0, "classifier.head.bias");
}

static void load_2025(loader *L, int n_mels) {
    aviary_audio_rwkv *m = L->m;
    aviary_audio_rwkv_info *I = &m->info;
    I->n_embd = dim_of(L, "pos_embed", 2);
    int N = dim_of(L, "pos_embed", 1);
    I->patch = dim_of(L, "emb.weight", 2);
    I->n_head = dim_of(L, "blocks.0.att.r_k", 0);
    if (L->st) return;
    if (n_mels == 0) n_mels = 128;
    const int C = I->n_embd, P = I->patch;
    if (P < 1 || n_mels % P || C != I->n_head * HS || N < 1 || N % (n_mels / P)) {
        L->st = aviary_error(AVIARY_SHAPE, "%s: A-RWKV shapes do not fit (embed %d, heads %d x %d, patch %d, %d mels, %d tokens)",
                             aviary_checkpoint_path(L->ck), C, I->n_head, HS, P, n_mels, N);
        return;
    }
    I->n_mels = n_mels;
    I->grid_w = n_mels / P;
    I->grid_h = N / I->grid_w;
    I->min_frames = I->grid_h * P;
    I->n_layer = count_layers(L, "blocks.%d.ln1.weight");
    I->n_classes = dim_of(L, "head.weight", 0);
    if (L->st) return;
    m->patch_w = getv(L, (int64_t)C * P * P, 0, "emb.weight");
    m->patch_b = getv(L, C, 0, "emb.bias");
    m->pos = getv(L, (int64_t)N * C, 0, "pos_embed");
    m->l25 = calloc((size_t)(I->n_layer ? I->n_layer : 1), sizeof(layer25));
    if (!m->l25) {
        L->st = aviary_error(AVIARY_NOMEM, "out of memory");
        return;
    }
    for (int l = 0; l < I->n_layer && !L->st; l++) {
        layer25 *y = &m->l25[l];
        char nm[96];
        y->ln1_w = getv(L, C, 0, "blocks.%d.ln1.weight", l);
        y->ln1_b = getv(L, C, 0, "blocks.%d.ln1.bias", l);
        y->ln2_w = getv(L, C, 0, "blocks.%d.ln2.weight", l);
        y->ln2_b = getv(L, C, 0, "blocks.%d.ln2.bias", l);
        y->x_r = getv(L, C, 0, "blocks.%d.att.x_r", l);
        y->x_w = getv(L, C, 0, "blocks.%d.att.x_w", l);
        y->x_k = getv(L, C, 0, "blocks.%d.att.x_k", l);
        y->x_v = getv(L, C, 0, "blocks.%d.att.x_v", l);
        y->x_a = getv(L, C, 0, "blocks.%d.att.x_a", l);
        y->x_g = getv(L, C, 0, "blocks.%d.att.x_g", l);
#define LORA(v, d)                                                                  \
    snprintf(nm, sizeof nm, "blocks.%d.att." #v "1", l);                             \
    y->d = dim_of(L, nm, 1);                                                        \
    y->v##1 = getv(L, (int64_t)C * y->d, 0, "blocks.%d.att." #v "1", l);              \
    y->v##2 = getv(L, (int64_t)y->d * C, 0, "blocks.%d.att." #v "2", l);
        LORA(w, dw)
        LORA(a, da)
        LORA(v, dv)
        LORA(g, dg)
#undef LORA
        y->w0 = getv(L, C, 0, "blocks.%d.att.w0", l);
        y->a0 = getv(L, C, 0, "blocks.%d.att.a0", l);
        y->v0 = getv(L, C, 0, "blocks.%d.att.v0", l);
        y->k_k = getv(L, C, 0, "blocks.%d.att.k_k", l);
        y->k_a = getv(L, C, 0, "blocks.%d.att.k_a", l);
        y->r_k = getv(L, C, 0, "blocks.%d.att.r_k", l);
        y->gate = getv(L, C, 0, "blocks.%d.att.gate.weight", l);
        y->shift = getv(L, (int64_t)C * 9, 0, "blocks.%d.att.time_shift.weight", l);
        y->Wr = getv(L, (int64_t)C * C, C, "blocks.%d.att.receptance.weight", l);
        y->Wk = getv(L, (int64_t)C * C, C, "blocks.%d.att.key.weight", l);
        y->Wv = getv(L, (int64_t)C * C, C, "blocks.%d.att.value.weight", l);
        y->Wo = getv(L, (int64_t)C * C, C, "blocks.%d.att.output.weight", l);
        y->lnx_w = getv(L, C, 0, "blocks.%d.att.ln_x.weight", l);
        y->lnx_b = getv(L, C, 0, "blocks.%d.att.ln_x.bias", l);
        y->f_xk = getv(L, C, 0, "blocks.%d.ffn.x_k", l);
        y->f_shift = getv(L, (int64_t)C * 9, 0, "blocks.%d.ffn.time_shift.weight", l);
        y->Fk = getv(L, (int64_t)4 * C * C, 4 * C, "blocks.%d.ffn.key.weight", l);
        y->Fkb = getv(L, 4 * C, 0, "blocks.%d.ffn.key.bias", l);
        y->Fv = getv(L, (int64_t)4 * C * C, C, "blocks.%d.ffn.value.weight", l);
        y->Fvb = getv(L, C, 0, "blocks.%d.ffn.value.bias", l);
    }
    m->norm_w = getv(L, C, 0, "ln_out.weight");
    m->norm_b = getv(L, C, 0, "ln_out.bias");
    m->head_w = getv(L, (int64_t)I->n_classes * C, I->n_classes, "head.weight");
}

void aviary_audio_rwkv_free(aviary_audio_rwkv *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n_allocs; i++) free(m->allocs[i]);
    free(m->allocs);
    free(m->l24);
    free(m->l25);
    free(m);
}

aviary_status aviary_audio_rwkv_load(const aviary_checkpoint *ck, int n_mels, aviary_audio_rwkv **out) {
    if (!out) return aviary_error(AVIARY_INVALID_ARG, "aviary_audio_rwkv_load: out is NULL");
    *out = NULL;
    if (!ck) return aviary_error(AVIARY_INVALID_ARG, "aviary_audio_rwkv_load: checkpoint is NULL");
    if (n_mels < 0 || n_mels > 4096) return aviary_error(AVIARY_INVALID_ARG, "aviary_audio_rwkv_load: n_mels %d", n_mels);
    aviary_audio_rwkv *m = calloc(1, sizeof *m);
    if (!m) return aviary_error(AVIARY_NOMEM, "out of memory");
    loader L = {ck, m, "", AVIARY_OK};
    if (aviary_checkpoint_find(ck, "sed_model.bn0.weight")) {
        L.prefix = "sed_model.";
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
    if (!L.st && (m->info.n_layer < 1 || m->info.n_classes < 1))
        L.st = aviary_error(AVIARY_SHAPE, "%s: AudioRWKV checkpoint has %d layers and %d classes",
                            aviary_checkpoint_path(ck), m->info.n_layer, m->info.n_classes);
    if (L.st) {
        aviary_audio_rwkv_free(m);
        return L.st;
    }
    m->info.head_size = HS;
    *out = m;
    return AVIARY_OK;
}

const aviary_audio_rwkv_info *aviary_audio_rwkv_get_info(const aviary_audio_rwkv *m) { return m ? &m->info : NULL; }

/* ---- kernels ------------------------------------------------------------- */

/* y[T][O] = x[T][I] @ Wt[I][O] (+ b). Rows are independent (threads split
 * them); each row accumulates Wt's rows in order, vectorised over O. */
static void matmul_ld(const float *restrict x, int64_t ldx, int64_t T, int I, const float *restrict Wt,
                      const float *restrict b, int O, float *restrict y) {
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < T; t++) {
        float *restrict yt = y + t * O;
        const float *restrict xt = x + t * ldx;
        for (int o = 0; o < O; o++) yt[o] = b ? b[o] : 0.0f;
        for (int i = 0; i < I; i++) {
            const float xi = xt[i];
            const float *restrict w = Wt + (int64_t)i * O;
#pragma omp simd
            for (int o = 0; o < O; o++) yt[o] += xi * w[o];
        }
    }
}

static void matmul(const float *x, int64_t T, int I, const float *Wt, const float *b, int O, float *y) {
    matmul_ld(x, I, T, I, Wt, b, O, y);
}

static void layernorm(const float *x, int64_t T, int C, const float *w, const float *b, double eps, float *y) {
    aviary_layer_norm(x, (size_t)T, (size_t)C, w, b, (float)eps, y);
}

/* GroupNorm with one group per head, per token (in place). */
static void groupnorm_heads(float *x, int64_t T, int H, const float *w, const float *b, double eps) {
    aviary_group_norm(x, (size_t)T, (size_t)H, HS, w, b, (float)eps, x);
}

/* dst row t = src row T-1-t ([T][C]). */
static void flip_rows(const float *src, int64_t T, int C, float *dst) {
    for (int64_t t = 0; t < T; t++) memcpy(dst + t * C, src + (T - 1 - t) * C, (size_t)C * sizeof(float));
}

static inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

/* Vision-RWKV multi-head Q-shift on a [gh][gw] token grid: within each head,
 * quarter 0 takes (t, f-1), 1 (t, f+1), 2 (t-1, f), 3 (t+1, f); zeros outside. */
static void qshift(const float *x, int gh, int gw, int C, float *out) {
    const int q = HS / 4;
    for (int i = 0; i < gh; i++)
        for (int j = 0; j < gw; j++) {
            float *o = out + ((int64_t)i * gw + j) * C;
            for (int c = 0; c < C; c++) {
                int part = (c % HS) / q, si = i, sj = j;
                if (part == 0) sj = j - 1;
                else if (part == 1) sj = j + 1;
                else if (part == 2) si = i - 1;
                else si = i + 1;
                o[c] = (si < 0 || si >= gh || sj < 0 || sj >= gw) ? 0.0f : x[((int64_t)si * gw + sj) * C + c];
            }
        }
}

/* A-RWKV ConvShift: depthwise 3x3 cross-correlation with zero padding on the
 * [gh][gw] grid, minus x. k is [C][3][3]. */
static void convshift(const float *x, int gh, int gw, int C, const float *k, float *out) {
    for (int i = 0; i < gh; i++)
        for (int j = 0; j < gw; j++) {
            float *o = out + ((int64_t)i * gw + j) * C;
            for (int c = 0; c < C; c++) {
                float acc = 0;
                for (int di = -1; di <= 1; di++)
                    for (int dj = -1; dj <= 1; dj++) {
                        int si = i + di, sj = j + dj;
                        if (si < 0 || si >= gh || sj < 0 || sj >= gw) continue;
                        acc += k[c * 9 + (di + 1) * 3 + (dj + 1)] * x[((int64_t)si * gw + sj) * C + c];
                    }
                o[c] = acc - x[((int64_t)i * gw + j) * C + c];
            }
        }
}

/* Bidirectional RWKV-6 WKV (Vision-RWKV), per head, state S[j key][i value]:
 * a reverse pass y_t = r_t.S, S = diag(d_t) S + k_t v_t^T over the tokens
 * after t, plus the causal RWKV-6 pass with the u bonus. The reverse pass is
 * aviary_wkv6 with u = 0 on the flipped sequence. f[0..5] are scratch
 * buffers of T*C floats. */
static void biwkv6(const float *r, const float *k, const float *v, const float *d, const float *u, int64_t T, int H,
                   float *const *f, float *S, const float *zero, float *y) {
    const int C = H * HS;
    float *fr = f[0], *fk = f[1], *fv = f[2], *fd = f[3], *fy = f[4];
    flip_rows(r, T, C, fr);
    flip_rows(k, T, C, fk);
    flip_rows(v, T, C, fv);
    flip_rows(d, T, C, fd);
    memset(S, 0, (size_t)H * HS * HS * sizeof(float));
    aviary_wkv6((size_t)T, (size_t)H, HS, fr, fk, fv, fd, zero, S, fy);
    memset(S, 0, (size_t)H * HS * HS * sizeof(float));
    aviary_wkv6((size_t)T, (size_t)H, HS, r, k, v, d, u, S, y);
    for (int64_t t = 0; t < T; t++) {
        const float *b = fy + (T - 1 - t) * C;
        for (int c = 0; c < C; c++) y[t * C + c] += b[c];
    }
}

/* A-RWKV's two RWKV-7 passes: aviary_wkv7 (sa = S.(-kk), b = kk*a) on the
 * sequence into y and on its flip into yb, which is flipped back, so yb[t]
 * is the backward pass's output for token t. f[0..6] scratch of T*C. */
static void biwkv7(const float *r, const float *w, const float *k, const float *v, const float *kk, const float *a,
                   int64_t T, int H, float *const *f, float *S, float *y, float *yb) {
    const int C = H * HS;
    memset(S, 0, (size_t)H * HS * HS * sizeof(float));
    aviary_wkv7((size_t)T, (size_t)H, HS, r, w, k, v, kk, a, S, y);
    const float *src[6] = {r, w, k, v, kk, a};
    for (int i = 0; i < 6; i++) flip_rows(src[i], T, C, f[i]);
    memset(S, 0, (size_t)H * HS * HS * sizeof(float));
    aviary_wkv7((size_t)T, (size_t)H, HS, f[0], f[1], f[2], f[3], f[4], f[5], S, f[6]);
    flip_rows(f[6], T, C, yb);
}

/* ---- forward ------------------------------------------------------------- */

/* Conv PxP stride P (+ bias) on [frames][n_mels] -> tokens [gh*gw][C]. */
static void patch_embed(const aviary_audio_rwkv *m, const float *in, int n_mels, float *x) {
    const aviary_audio_rwkv_info *I = &m->info;
    const int P = I->patch, C = I->n_embd;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < I->grid_h; i++)
        for (int j = 0; j < I->grid_w; j++) {
            float *o = x + ((int64_t)i * I->grid_w + j) * C;
            for (int c = 0; c < C; c++) {
                const float *w = m->patch_w + (int64_t)c * P * P;
                double acc = m->patch_b[c];
                for (int p = 0; p < P; p++)
                    for (int q = 0; q < P; q++) acc += (double)w[p * P + q] * in[((int64_t)i * P + p) * n_mels + j * P + q];
                o[c] = (float)acc;
            }
        }
}

/* B[0..15] activations, B[16..22] flipped copies for the reverse passes */
#define NBUF 23

static aviary_status forward_2024(const aviary_audio_rwkv *m, float *x, float **B, float *S, const float *zero,
                                  const aviary_audio_rwkv_outputs *out) {
    const aviary_audio_rwkv_info *I = &m->info;
    const int C = I->n_embd, H = I->n_head, gh = I->grid_h, gw = I->grid_w;
    const int64_t T = (int64_t)gh * gw;
    float *ln = B[0], *xx = B[1], *r = B[2], *k = B[3], *v = B[4], *g = B[5], *w = B[6], *y = B[7], *tmp = B[8],
          *big = B[9], *mix = B[10];
    for (int l = 0; l < I->n_layer; l++) {
        const layer24 *L = &m->l24[l];
        if (l == 0) layernorm(x, T, C, L->ln0_w, L->ln0_b, 1e-5, x);
        /* spatial mix */
        layernorm(x, T, C, L->ln1_w, L->ln1_b, 1e-5, ln);
        qshift(ln, gh, gw, C, xx);
        for (int64_t i = 0; i < T * C; i++) xx[i] -= ln[i];
        for (int64_t t = 0; t < T; t++)
            for (int c = 0; c < C; c++) tmp[t * C + c] = ln[t * C + c] + xx[t * C + c] * L->maa_x[c];
        const int D = L->d_mix;
        matmul(tmp, T, C, L->maa_w1, NULL, 5 * D, mix); /* [T][5*D] */
        for (int64_t i = 0; i < T * 5 * D; i++) mix[i] = tanhf(mix[i]);
        float *dst[5] = {w, k, v, r, g}; /* mixed inputs xw, xk, xv, xr, xg */
        for (int s = 0; s < 5; s++) {
            matmul_ld(mix + s * D, 5 * D, T, D, L->maa_w2 + (int64_t)s * D * C, L->maa[s], C, dst[s]);
            for (int64_t i = 0; i < T * C; i++) dst[s][i] = ln[i] + xx[i] * dst[s][i];
        }
        /* now w,k,v,r,g hold xw,xk,xv,xr,xg; project (order matters: reuse buffers) */
        matmul(r, T, C, L->Wr, NULL, C, y);
        memcpy(r, y, (size_t)(T * C) * sizeof(float));
        matmul(k, T, C, L->Wk, NULL, C, y);
        memcpy(k, y, (size_t)(T * C) * sizeof(float));
        matmul(v, T, C, L->Wv, NULL, C, y);
        memcpy(v, y, (size_t)(T * C) * sizeof(float));
        matmul(g, T, C, L->Wg, NULL, C, y);
        for (int64_t i = 0; i < T * C; i++) g[i] = y[i] * sigmoidf(y[i]);
        matmul(w, T, C, L->decay_w1, NULL, L->d_decay, big);
        for (int64_t i = 0; i < T * L->d_decay; i++) big[i] = tanhf(big[i]);
        matmul(big, T, L->d_decay, L->decay_w2, L->decay, C, w);
        for (int64_t i = 0; i < T * C; i++) w[i] = expf(-expf(w[i]));
        biwkv6(r, k, v, w, L->faaaa, T, H, B + 16, S, zero, y);
        groupnorm_heads(y, T, H, L->lnx_w, L->lnx_b, 1e-5);
        for (int64_t i = 0; i < T * C; i++) y[i] *= g[i];
        matmul(y, T, C, L->Wo, NULL, C, tmp);
        for (int64_t i = 0; i < T * C; i++) x[i] += tmp[i];
        /* channel mix */
        layernorm(x, T, C, L->ln2_w, L->ln2_b, 1e-5, ln);
        qshift(ln, gh, gw, C, xx);
        for (int64_t t = 0; t < T; t++)
            for (int c = 0; c < C; c++) {
                int64_t i = t * C + c;
                k[i] = ln[i] * L->mix_k[c] + xx[i] * (1 - L->mix_k[c]);
                r[i] = ln[i] * L->mix_r[c] + xx[i] * (1 - L->mix_r[c]);
            }
        matmul(k, T, C, L->Fk, NULL, 4 * C, big);
        for (int64_t i = 0; i < T * 4 * C; i++) {
            float q = big[i] > 0 ? big[i] : 0;
            big[i] = q * q;
        }
        matmul(big, T, 4 * C, L->Fv, NULL, C, y);
        matmul(r, T, C, L->Fr, NULL, C, tmp);
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

static aviary_status forward_2025(const aviary_audio_rwkv *m, float *x, float **B, float *S,
                                  const aviary_audio_rwkv_outputs *out) {
    const aviary_audio_rwkv_info *I = &m->info;
    const int C = I->n_embd, H = I->n_head, gh = I->grid_h, gw = I->grid_w;
    const int64_t T = (int64_t)gh * gw;
    float *ln = B[0], *xx = B[1], *r = B[2], *k = B[3], *v = B[4], *g = B[5], *w = B[6], *y = B[7], *tmp = B[8],
          *big = B[9], *a = B[10], *kk = B[11], *yb = B[12], *vfirst = B[13], *lo = B[14], *xi = B[15];
    for (int l = 0; l < I->n_layer; l++) {
        const layer25 *L = &m->l25[l];
        layernorm(x, T, C, L->ln1_w, L->ln1_b, 1e-5, ln);
        convshift(ln, gh, gw, C, L->shift, xx);
#define MIXIN(dstv, coef)                                                              \
    for (int64_t t = 0; t < T; t++)                                                    \
        for (int c = 0; c < C; c++) dstv[t * C + c] = ln[t * C + c] + xx[t * C + c] * coef[c];
        MIXIN(xi, L->x_r)
        matmul(xi, T, C, L->Wr, NULL, C, r);
        MIXIN(xi, L->x_w)
        matmul(xi, T, C, L->w1, NULL, L->dw, lo);
        for (int64_t i = 0; i < T * L->dw; i++) lo[i] = tanhf(lo[i]);
        matmul(lo, T, L->dw, L->w2, L->w0, C, w);
        for (int64_t i = 0; i < T * C; i++) {
            /* w = -softplus(-(w0 + ...)) - 0.5; decay = exp(-exp(w)) */
            double z = -(double)w[i];
            double sp = z > 20 ? z : log1p(exp(z));
            w[i] = (float)exp(-exp(-sp - 0.5));
        }
        MIXIN(xi, L->x_k)
        matmul(xi, T, C, L->Wk, NULL, C, k);
        MIXIN(xi, L->x_v)
        matmul(xi, T, C, L->Wv, NULL, C, v);
        if (l == 0) {
            memcpy(vfirst, v, (size_t)(T * C) * sizeof(float));
        } else {
            matmul(xi, T, C, L->v1, NULL, L->dv, lo);
            matmul(lo, T, L->dv, L->v2, L->v0, C, tmp);
            for (int64_t i = 0; i < T * C; i++) v[i] += (vfirst[i] - v[i]) * sigmoidf(tmp[i]);
        }
        MIXIN(xi, L->x_a)
        matmul(xi, T, C, L->a1, NULL, L->da, lo);
        matmul(lo, T, L->da, L->a2, L->a0, C, a);
        for (int64_t i = 0; i < T * C; i++) a[i] = sigmoidf(a[i]);
        MIXIN(xi, L->x_g)
        matmul(xi, T, C, L->g1, NULL, L->dg, lo);
        for (int64_t i = 0; i < T * L->dg; i++) lo[i] = sigmoidf(lo[i]);
        matmul(lo, T, L->dg, L->g2, NULL, C, g);
#undef MIXIN
        /* kk = normalize(k * k_k) per head; k = k * (1 + (a-1) k_a) */
        for (int64_t t = 0; t < T; t++)
            for (int h = 0; h < H; h++) {
                const int64_t o = t * C + h * HS;
                double ss = 0;
                for (int i = 0; i < HS; i++) {
                    kk[o + i] = k[o + i] * L->k_k[h * HS + i];
                    ss += (double)kk[o + i] * kk[o + i];
                }
                double nrm = sqrt(ss);
                if (nrm < 1e-12) nrm = 1e-12;
                for (int i = 0; i < HS; i++) kk[o + i] = (float)(kk[o + i] / nrm);
            }
        for (int64_t t = 0; t < T; t++)
            for (int c = 0; c < C; c++) {
                int64_t i = t * C + c;
                k[i] = k[i] * (1 + (a[i] - 1) * L->k_a[c]);
            }
        biwkv7(r, w, k, v, kk, a, T, H, B + 16, S, y, yb);
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
        for (int64_t t = 0; t < T; t++)
            for (int h = 0; h < H; h++) {
                const int64_t o = t * C + h * HS;
                double s = 0;
                for (int i = 0; i < HS; i++) s += (double)r[o + i] * k[o + i] * L->r_k[h * HS + i];
                for (int i = 0; i < HS; i++) y[o + i] += (float)s * v[o + i];
            }
        for (int64_t i = 0; i < T * C; i++) y[i] *= g[i];
        matmul(y, T, C, L->Wo, NULL, C, tmp);
        for (int64_t i = 0; i < T * C; i++) x[i] += tmp[i];
        /* channel mix */
        layernorm(x, T, C, L->ln2_w, L->ln2_b, 1e-5, ln);
        convshift(ln, gh, gw, C, L->f_shift, xx);
        for (int64_t t = 0; t < T; t++)
            for (int c = 0; c < C; c++) xi[t * C + c] = ln[t * C + c] + xx[t * C + c] * L->f_xk[c];
        matmul(xi, T, C, L->Fk, L->Fkb, 4 * C, big);
        for (int64_t i = 0; i < T * 4 * C; i++) {
            float q = big[i] > 0 ? big[i] : 0;
            big[i] = q * q;
        }
        matmul(big, T, 4 * C, L->Fv, L->Fvb, C, tmp);
        for (int64_t i = 0; i < T * C; i++) x[i] += tmp[i];
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
    int64_t width = 4 * C;
    if (5 * 64 > width) width = 5 * 64;
    for (int l = 0; l < I->n_layer; l++) {
        if (m->l24) {
            if (5 * m->l24[l].d_mix > width) width = 5 * m->l24[l].d_mix;
            if (m->l24[l].d_decay > width) width = m->l24[l].d_decay;
        }
    }
    float *B[NBUF] = {0};
    float *x = malloc((size_t)(T * C) * sizeof(float));
    float *S = malloc((size_t)I->n_head * HS * HS * sizeof(float));
    float *zero = calloc((size_t)C, sizeof(float));
    float *in = NULL;
    bool ok = x && S && zero;
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
    patch_embed(m, src, n_mels, x);
    if (m->l24) layernorm(x, T, C, m->pe_ln_w, m->pe_ln_b, 1e-5, x);
    for (int64_t i = 0; i < T * C; i++) x[i] += m->pos[i];
    st = m->l24 ? forward_2024(m, x, B, S, zero, out) : forward_2025(m, x, B, S, out);
    if (st) goto done;
    /* both forwards leave the pooled vector in B[8] */
    const float *pooled = B[8];
    if (out->pooled) memcpy(out->pooled, pooled, (size_t)C * sizeof(float));
    const int K = I->n_classes;
    float *logits = B[9];
    matmul(pooled, 1, C, m->head_w, m->head_b, K, logits);
    if (out->logits) memcpy(out->logits, logits, (size_t)K * sizeof(float));
    if (out->probs)
        for (int i = 0; i < K; i++) out->probs[i] = sigmoidf(logits[i]);
done:
    for (int i = 0; i < NBUF; i++) free(B[i]);
    free(x);
    free(S);
    free(zero);
    free(in);
    return st;
}
