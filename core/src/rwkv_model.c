/*
 * rwkv_model.c - RWKV-4/5/6/7 language models (aviary_model.h).
 *
 * Loading: the key naming style (official, Hugging Face RWKV-4/5/6
 * "rwkv.blocks.N.attention", fla RWKV-7 "model.layers.N.attn") and an
 * optional prefix are detected from the tensor names; version and every size
 * from which tensors exist and their shapes. Small vectors (norm weights,
 * mixes, decays) become owned f32 arrays; every matrix becomes an
 * aviary_linear in the requested precision; the embedding stays a zero-copy
 * view into the checkpoint (rows converted on use).
 *
 * Running: one function per version runs one block over a [T, C] hidden
 * sequence with the layer's state (all projections of all T rows as one
 * matmul per weight, then the recurrence from aviary_blocks.h). RNN mode is
 * the same code with T = 1. Scratch buffers live in the state (grown only
 * when a longer chunk than ever before arrives), so a steady stream of
 * tokens does no allocation.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include "internal.h"
#include "aviary/aviary_blocks.h"
#include "aviary/aviary_model.h"

#define LN_EPS 1e-5f
#define GN_EPS 64e-5f
#define SEQ_CHUNK 256 /* max tokens per sequence-mode chunk in aviary_model_eval (see seq_chunk) */
#define SEQ_CHUNK_MIN 64

enum { STYLE_OFFICIAL, STYLE_HF, STYLE_FLA };

typedef struct layer {
    float *ln0_w, *ln0_b, *ln1_w, *ln1_b, *ln2_w, *ln2_b;
    /* time mix */
    float *mix_k, *mix_v, *mix_r, *mix_g;         /* v4/v5 time_mix_*; v6 time_maa_*; v7 x_k x_v x_r x_g */
    float *mix_w, *mix_x, *mix_a;                 /* v6 time_maa_w / time_maa_x; v7 x_w, x_a */
    float *decay, *first;                         /* v4: -exp(time_decay), time_first; v5: exp(-exp(decay)),
                                                     faaaa; v6: raw time_decay, faaaa */
    float *w0, *a0, *v0, *k_k, *k_a, *r_k;        /* v7 */
    float *lnx_w, *lnx_b;
    aviary_linear *key, *value, *recept, *gate, *output;
    aviary_linear *maa_w1, *maa_w2[5], *dec_w1, *dec_w2;          /* v6 LoRA */
    aviary_linear *w1, *w2, *a1, *a2, *v1, *v2, *g1, *g2;         /* v7 LoRA */
    /* channel mix */
    float *fmix_k, *fmix_r;
    aviary_linear *fkey, *fvalue, *frecept;
} layer;

struct aviary_model {
    aviary_model_info info;
    aviary_checkpoint *own_ck; /* opened by aviary_model_load, else NULL */
    aviary_tensor emb;         /* view [vocab, C] */
    float *lnout_w, *lnout_b;
    aviary_linear *head;
    layer *layers;
    float **vecs; size_t n_vecs, cap_vecs; /* owned small vectors */
    size_t per_layer;          /* state floats per layer */
    size_t lora_max;
    size_t seq_chunk;          /* tokens per sequence-mode chunk (see build) */
    void *emb_buf;             /* owned embedding of a random model, else NULL */
};

/* Scratch for T rows, in the state. */
typedef struct scratch {
    size_t T;
    float *block;
    float *xx, *prev, *m0, *m1, *m2, *m3, *m4, *m5;
    float *r, *k, *v, *w, *a, *g, *kk, *y, *vfirst, *lo, *lo2, *hid, *out, *xin;
} scratch;

struct aviary_state {
    const aviary_model *m;
    float *data;
    scratch sc;
};

/* ------------------------------------------------------------- loading -- */

typedef struct loader {
    aviary_model *m;
    aviary_checkpoint *ck;
    const char *file;
    int style;
    char prefix[128];
    aviary_weight_type wt;
    /* random-weights source (aviary_model_random): ck == NULL, tensors with data == NULL */
    aviary_tensor *syn;
    size_t n_syn;
    uint64_t seed;
} loader;

/* Map an official key (e.g. "blocks.3.att.key.weight") to this file's name. */
static void map_name(const loader *L, const char *off, char *out, size_t n) {
    char tmp[256];
    if (L->style == STYLE_OFFICIAL) {
        snprintf(out, n, "%s%s", L->prefix, off);
        return;
    }
    int blk = -1, used = 0;
    const char *rest = off;
    if (sscanf(off, "blocks.%d.%n", &blk, &used) == 1 && used > 0) rest = off + used;
    if (L->style == STYLE_HF) {
        if (!strcmp(off, "emb.weight")) snprintf(tmp, sizeof tmp, "embeddings.weight");
        else if (!strncmp(off, "ln_out.", 7)) snprintf(tmp, sizeof tmp, "%s", off);
        else if (blk >= 0) {
            const char *part = rest;
            char sub[160];
            if (!strncmp(rest, "ln0.", 4)) snprintf(sub, sizeof sub, "pre_ln.%s", rest + 4);
            else if (!strncmp(rest, "att.", 4)) {
                const char *a = rest + 4;
                /* RWKV-4 HF spells the mixes out */
                if (!strcmp(a, "time_mix_k")) a = "time_mix_key";
                else if (!strcmp(a, "time_mix_v")) a = "time_mix_value";
                else if (!strcmp(a, "time_mix_r")) a = "time_mix_receptance";
                else if (!strcmp(a, "time_mix_g")) a = "time_mix_gate";
                snprintf(sub, sizeof sub, "attention.%s", a);
            } else if (!strncmp(rest, "ffn.", 4)) {
                const char *a = rest + 4;
                if (!strcmp(a, "time_mix_k")) a = "time_mix_key";
                else if (!strcmp(a, "time_mix_r")) a = "time_mix_receptance";
                snprintf(sub, sizeof sub, "feed_forward.%s", a);
            } else snprintf(sub, sizeof sub, "%s", part);
            snprintf(tmp, sizeof tmp, "blocks.%d.%s", blk, sub);
        } else snprintf(tmp, sizeof tmp, "%s", off);
        snprintf(out, n, "%s%s", L->prefix, tmp);
        return;
    }
    /* fla RWKV-7 */
    if (!strcmp(off, "emb.weight")) snprintf(tmp, sizeof tmp, "embeddings.weight");
    else if (!strncmp(off, "ln_out.", 7)) snprintf(tmp, sizeof tmp, "norm.%s", off + 7);
    else if (blk >= 0) {
        char sub[160];
        if (!strncmp(rest, "ln0.", 4)) snprintf(sub, sizeof sub, "pre_norm.%s", rest + 4);
        else if (!strncmp(rest, "ln1.", 4)) snprintf(sub, sizeof sub, "attn_norm.%s", rest + 4);
        else if (!strncmp(rest, "ln2.", 4)) snprintf(sub, sizeof sub, "ffn_norm.%s", rest + 4);
        else if (!strncmp(rest, "att.", 4)) {
            const char *a = rest + 4;
            static const char *const map[][2] = {
                {"receptance.weight", "r_proj.weight"}, {"key.weight", "k_proj.weight"},
                {"value.weight", "v_proj.weight"},      {"output.weight", "o_proj.weight"},
                {"ln_x.weight", "g_norm.weight"},       {"ln_x.bias", "g_norm.bias"},
                {"w1", "w_lora.lora.0.weight"},         {"w2", "w_lora.lora.2.weight"},
                {"w0", "w_lora.lora.2.bias"},           {"a1", "a_lora.lora.0.weight"},
                {"a2", "a_lora.lora.2.weight"},         {"a0", "a_lora.lora.2.bias"},
                {"v1", "v_lora.lora.0.weight"},         {"v2", "v_lora.lora.2.weight"},
                {"v0", "v_lora.lora.2.bias"},           {"g1", "g_lora.lora.0.weight"},
                {"g2", "g_lora.lora.2.weight"},
            };
            for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
                if (!strcmp(a, map[i][0])) { a = map[i][1]; break; }
            snprintf(sub, sizeof sub, "attn.%s", a);
        } else snprintf(sub, sizeof sub, "%s", rest); /* ffn.* keeps its names */
        snprintf(tmp, sizeof tmp, "layers.%d.%s", blk, sub);
    } else if (!strcmp(off, "head.weight")) {
        snprintf(out, n, "lm_head.weight");
        return;
    } else snprintf(tmp, sizeof tmp, "%s", off);
    snprintf(out, n, "%s%s", L->prefix, tmp);
}

static const aviary_tensor *find(const loader *L, const char *off) {
    char name[400];
    map_name(L, off, name, sizeof name);
    if (!L->ck) {
        for (size_t i = 0; i < L->n_syn; i++)
            if (!strcmp(L->syn[i].name, name)) return &L->syn[i];
        return NULL;
    }
    const aviary_tensor *t = aviary_checkpoint_find(L->ck, name);
    if (!t && !strcmp(off, "head.weight")) { /* HF keeps the head outside the "rwkv." prefix */
        t = aviary_checkpoint_find(L->ck, "head.weight");
        if (!t) t = aviary_checkpoint_find(L->ck, "lm_head.weight");
    }
    return t;
}

static aviary_status need(const loader *L, const char *off, const aviary_tensor **out) {
    *out = find(L, off);
    if (*out) return AVIARY_OK;
    char name[400];
    map_name(L, off, name, sizeof name);
    return aviary_error(AVIARY_NOT_FOUND, "%s: RWKV-%d model: missing tensor '%s'", L->file, L->m->info.version,
                        name);
}

static aviary_status bad_shape(const loader *L, const aviary_tensor *t, const char *want) {
    char buf[96];
    return aviary_error(AVIARY_SHAPE, "%s: tensor '%s' has shape %s, expected %s", L->file,
                        t->name ? t->name : "?", aviary_tensor_shape_str(t, buf, sizeof buf), want);
}

/* Random-weights source. Values are a counter-based hash of (seed, tensor
 * name, element index), so any block of rows can be generated on its own:
 * matrices are generated row-chunk by row-chunk straight into the packed
 * linear (aviary__linear_create_rows), never as a whole f32 copy. */
typedef struct syn_gen {
    uint64_t key;
    bool is_ln, is_w;
    int ndim;
    int64_t cols;  /* row length of a matrix being generated */
    int64_t off;   /* element offset of row 0 (a slice of a 3-D tensor) */
} syn_gen;

static syn_gen syn_init(const loader *L, const aviary_tensor *t) {
    syn_gen g;
    const size_t ln = strlen(t->name);
    g.is_w = ln > 7 && !strcmp(t->name + ln - 7, ".weight");
    g.is_ln = strstr(t->name, "ln") && t->ndim == 1;
    g.ndim = t->ndim;
    g.cols = t->ndim >= 2 ? t->shape[t->ndim - 1] : 1;
    g.off = 0;
    uint64_t x = L->seed ^ (0x9E3779B97F4A7C15ull * (ln + 1));
    for (size_t i = 0; i < ln; i++) x = (x ^ (unsigned char)t->name[i]) * 0x100000001B3ull;
    g.key = x;
    return g;
}

static float syn_value(const syn_gen *g, uint64_t i) {
    if (g->is_ln) return g->is_w ? 1.0f : 0.0f;
    uint64_t z = g->key + (i + 1) * 0x9E3779B97F4A7C15ull; /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    const float u = (float)(z >> 40) / (float)(1ull << 24); /* [0, 1) */
    return g->ndim >= 2 ? (u - 0.5f) * 0.1f : u;
}

static aviary_status syn_rows(void *ctx, int64_t n0, int64_t cnt, float *dst) {
    const syn_gen *g = ctx;
    for (int64_t i = 0; i < cnt * g->cols; i++) dst[i] = syn_value(g, (uint64_t)(g->off + n0 * g->cols + i));
    return AVIARY_OK;
}

/* Give a data-less synthetic tensor random contents in a temporary buffer
 * (*buf, freed by the caller), in its own dtype. Real tensors pass through. */
static aviary_status with_data(loader *L, const aviary_tensor *t, aviary_tensor *tmp, void **buf) {
    *tmp = *t;
    *buf = NULL;
    if (t->data) return AVIARY_OK;
    const size_t n = (size_t)aviary_tensor_numel(t), es = aviary_dtype_size(t->dtype);
    void *b = aviary__alloc_aligned(n * es);
    if (!b) return aviary_error(AVIARY_NOMEM, "random model: out of memory for '%s'", t->name);
    const syn_gen g = syn_init(L, t);
    for (size_t i = 0; i < n; i++) {
        const float v = syn_value(&g, i);
        if (t->dtype == AVIARY_BF16) ((uint16_t *)b)[i] = aviary_f32_to_bf16(v);
        else ((float *)b)[i] = v;
    }
    tmp->data = b;
    *buf = b;
    return AVIARY_OK;
}

/* The precision a matrix gets: LoRA and decay matrices are small and
 * sensitive, so int8 applies only to the big projections (they stay as
 * stored); AUTO keeps a bf16 source bf16 and makes anything else f32. */
static aviary_weight_type lin_type(const loader *L, const aviary_tensor *t, bool lora) {
    aviary_weight_type wt = lora && L->wt == AVIARY_WEIGHTS_INT8 ? AVIARY_WEIGHTS_AUTO : L->wt;
    if (wt == AVIARY_WEIGHTS_AUTO) wt = t->dtype == AVIARY_BF16 ? AVIARY_WEIGHTS_BF16 : AVIARY_WEIGHTS_F32;
    return wt;
}

/* A random-model matrix [out, in] generated straight into a linear. off: element offset (3-D slices). */
static aviary_status syn_lin(loader *L, const aviary_tensor *t, int64_t outn, int64_t in, int64_t off, bool lora,
                             unsigned flags, aviary_linear **out) {
    syn_gen g = syn_init(L, t);
    g.cols = in;
    g.off = off;
    aviary_status s = aviary__linear_create_rows(outn, in, lin_type(L, t, lora), flags, syn_rows, &g, NULL, t->name,
                                                 out);
    if (!s) L->m->info.weight_bytes += aviary_linear_bytes(*out);
    return s;
}

/* A vector of n floats (any shape with n elements, e.g. [1,1,C]), as owned f32. */
static aviary_status get_vec(loader *L, const char *off, int64_t n, float **out) {
    const aviary_tensor *t;
    aviary_status s = need(L, off, &t);
    if (s) return s;
    if (aviary_tensor_numel(t) != n) {
        char want[64];
        snprintf(want, sizeof want, "%lld elements", (long long)n);
        return bad_shape(L, t, want);
    }
    aviary_model *m = L->m;
    if (m->n_vecs == m->cap_vecs) {
        size_t nc = m->cap_vecs ? m->cap_vecs * 2 : 64;
        float **nv = realloc(m->vecs, nc * sizeof *nv);
        if (!nv) return aviary_error(AVIARY_NOMEM, "%s: out of memory", L->file);
        m->vecs = nv;
        m->cap_vecs = nc;
    }
    float *v = aviary__alloc_aligned((size_t)n * sizeof(float));
    if (!v) return aviary_error(AVIARY_NOMEM, "%s: out of memory", L->file);
    m->vecs[m->n_vecs++] = v;
    aviary_tensor tmp;
    void *buf;
    if ((s = with_data(L, t, &tmp, &buf))) return s;
    s = aviary_tensor_to_f32(&tmp, v);
    aviary__free_aligned(buf);
    if (s) return s;
    *out = v;
    return AVIARY_OK;
}

/* After a matrix has been packed into a linear, the checkpoint's pages for it
 * are not needed: drop them from the resident set (the mapping is a
 * read-only private file mapping, so they are re-read from the file if ever
 * touched again). Keeps peak RSS near the packed weights instead of twice. */
static void release_pages(const loader *L, const aviary_tensor *t) {
    if (!L->ck || t->owned || !t->data || !aviary_tensor_is_contiguous(t)) return;
    const long pg = sysconf(_SC_PAGESIZE);
    if (pg <= 0) return;
    uintptr_t b = (uintptr_t)t->data, e = b + (uintptr_t)aviary_tensor_numel(t) * aviary_dtype_size(t->dtype);
    b = (b + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
    e &= ~((uintptr_t)pg - 1);
    if (e > b) (void)madvise((void *)b, e - b, MADV_DONTNEED);
}

/* A matrix [rows, cols] as a linear. transposed: the file holds W as [in, out]
 * (x @ W). fla stores LoRA down/up as nn.Linear ([out, in]), official as
 * [in, out]; lora=true picks the right flag by style. */
static aviary_status get_lin_flags(loader *L, const char *off, int64_t rows, int64_t cols, bool transposed,
                                   bool lora, unsigned flags, aviary_linear **out) {
    const aviary_tensor *t;
    aviary_status s = need(L, off, &t);
    if (s) return s;
    if (lora && L->style == STYLE_FLA) {
        transposed = false;
        int64_t tmp = rows; rows = cols; cols = tmp;
    }
    if (t->ndim != 2 || t->shape[0] != rows || t->shape[1] != cols) {
        char want[64];
        snprintf(want, sizeof want, "[%lld, %lld]", (long long)rows, (long long)cols);
        return bad_shape(L, t, want);
    }
    if (!t->data) return syn_lin(L, t, transposed ? cols : rows, transposed ? rows : cols, 0, lora, flags, out);
    aviary_linear_params p = aviary_linear_default_params();
    p.transposed = transposed;
    p.weights = lin_type(L, t, lora);
    aviary_tensor tmp;
    void *buf;
    if ((s = with_data(L, t, &tmp, &buf))) return s;
    s = aviary__linear_create_flags(&tmp, NULL, &p, flags, out);
    aviary__free_aligned(buf);
    if (s) return s;
    release_pages(L, t);
    L->m->info.weight_bytes += aviary_linear_bytes(*out);
    return AVIARY_OK;
}

static aviary_status get_lin(loader *L, const char *off, int64_t rows, int64_t cols, bool transposed, bool lora,
                             aviary_linear **out) {
    return get_lin_flags(L, off, rows, cols, transposed, lora, 0, out);
}

/* Find the naming style and prefix from the embedding key. */
static aviary_status detect_style(loader *L, const char *want_prefix) {
    size_t n = aviary_checkpoint_count(L->ck);
    static const struct { const char *suffix; int style; } pats[] = {
        {"emb.weight", STYLE_OFFICIAL}, {"embeddings.weight", STYLE_HF}};
    for (size_t i = 0; i < n; i++) {
        const char *name = aviary_checkpoint_at(L->ck, i)->name;
        if (!name) continue;
        size_t ln = strlen(name);
        for (size_t p = 0; p < 2; p++) {
            size_t ls = strlen(pats[p].suffix);
            if (ln < ls || strcmp(name + ln - ls, pats[p].suffix)) continue;
            if (ln > ls && name[ln - ls - 1] != '.') continue; /* whole component */
            size_t pl = ln - ls;
            if (pl >= sizeof L->prefix) continue;
            if (want_prefix && *want_prefix && (strlen(want_prefix) != pl || strncmp(name, want_prefix, pl)))
                continue;
            memcpy(L->prefix, name, pl);
            L->prefix[pl] = '\0';
            L->style = pats[p].style;
            if (L->style == STYLE_HF) {
                char probe[400];
                snprintf(probe, sizeof probe, "%slayers.0.attn.r_k", L->prefix);
                if (aviary_checkpoint_find(L->ck, probe)) L->style = STYLE_FLA;
            }
            return AVIARY_OK;
        }
    }
    return aviary_error(AVIARY_UNSUPPORTED,
                        "%s: not an RWKV language model checkpoint (no emb.weight / embeddings.weight tensor%s%s)",
                        L->file, want_prefix && *want_prefix ? " under prefix " : "",
                        want_prefix && *want_prefix ? want_prefix : "");
}

static aviary_status load_layer(loader *L, int i) {
    aviary_model *m = L->m;
    aviary_model_info *in = &m->info;
    layer *ly = &m->layers[i];
    const int64_t C = in->n_embd, A = in->dim_att, F = in->dim_ffn;
    char k[128];
    aviary_status s;
#define K(fmt) (snprintf(k, sizeof k, "blocks.%d." fmt, i), k)
#define TRY(e) do { if ((s = (e)) != AVIARY_OK) return s; } while (0)
    if (i == 0) {
        TRY(get_vec(L, K("ln0.weight"), C, &ly->ln0_w));
        TRY(get_vec(L, K("ln0.bias"), C, &ly->ln0_b));
    }
    TRY(get_vec(L, K("ln1.weight"), C, &ly->ln1_w));
    TRY(get_vec(L, K("ln1.bias"), C, &ly->ln1_b));
    TRY(get_vec(L, K("ln2.weight"), C, &ly->ln2_w));
    TRY(get_vec(L, K("ln2.bias"), C, &ly->ln2_b));
    TRY(get_lin(L, K("att.key.weight"), A, C, false, false, &ly->key));
    TRY(get_lin(L, K("att.value.weight"), A, C, false, false, &ly->value));
    TRY(get_lin(L, K("att.receptance.weight"), A, C, false, false, &ly->recept));
    TRY(get_lin(L, K("att.output.weight"), C, A, false, false, &ly->output));
    TRY(get_lin(L, K("ffn.key.weight"), F, C, false, false, &ly->fkey));
    /* fed relu(k)^2, mostly exact zeros: one token reads only the rows it needs */
    TRY(get_lin_flags(L, K("ffn.value.weight"), C, F, false, false, AVIARY__LINEAR_SPARSE_X, &ly->fvalue));
    const int H = in->n_head, N = in->head_size;
    switch (in->version) {
    case 4:
        TRY(get_vec(L, K("att.time_mix_k"), C, &ly->mix_k));
        TRY(get_vec(L, K("att.time_mix_v"), C, &ly->mix_v));
        TRY(get_vec(L, K("att.time_mix_r"), C, &ly->mix_r));
        TRY(get_vec(L, K("att.time_decay"), A, &ly->decay));
        TRY(get_vec(L, K("att.time_first"), A, &ly->first));
        for (int64_t c = 0; c < A; c++) ly->decay[c] = -expf(ly->decay[c]);
        TRY(get_vec(L, K("ffn.time_mix_k"), C, &ly->fmix_k));
        TRY(get_vec(L, K("ffn.time_mix_r"), C, &ly->fmix_r));
        TRY(get_lin(L, K("ffn.receptance.weight"), C, C, false, false, &ly->frecept));
        break;
    case 5:
        TRY(get_vec(L, K("att.time_mix_k"), C, &ly->mix_k));
        TRY(get_vec(L, K("att.time_mix_v"), C, &ly->mix_v));
        TRY(get_vec(L, K("att.time_mix_r"), C, &ly->mix_r));
        TRY(get_vec(L, K("att.time_mix_g"), C, &ly->mix_g));
        TRY(get_vec(L, K("att.time_decay"), A, &ly->decay));
        TRY(get_vec(L, K("att.time_faaaa"), A, &ly->first));
        for (int64_t c = 0; c < A; c++) ly->decay[c] = expf(-expf(ly->decay[c]));
        TRY(get_lin(L, K("att.gate.weight"), A, C, false, false, &ly->gate));
        TRY(get_vec(L, K("att.ln_x.weight"), A, &ly->lnx_w));
        TRY(get_vec(L, K("att.ln_x.bias"), A, &ly->lnx_b));
        TRY(get_vec(L, K("ffn.time_mix_k"), C, &ly->fmix_k));
        TRY(get_vec(L, K("ffn.time_mix_r"), C, &ly->fmix_r));
        TRY(get_lin(L, K("ffn.receptance.weight"), C, C, false, false, &ly->frecept));
        break;
    case 6: {
        const int64_t D = in->lora_mix, Dd = in->lora_decay;
        TRY(get_vec(L, K("att.time_maa_x"), C, &ly->mix_x));
        TRY(get_vec(L, K("att.time_maa_w"), C, &ly->mix_w));
        TRY(get_vec(L, K("att.time_maa_k"), C, &ly->mix_k));
        TRY(get_vec(L, K("att.time_maa_v"), C, &ly->mix_v));
        TRY(get_vec(L, K("att.time_maa_r"), C, &ly->mix_r));
        TRY(get_vec(L, K("att.time_maa_g"), C, &ly->mix_g));
        TRY(get_lin(L, K("att.time_maa_w1"), C, 5 * D, true, true, &ly->maa_w1));
        const aviary_tensor *w2;
        TRY(need(L, K("att.time_maa_w2"), &w2));
        if (w2->ndim != 3 || w2->shape[0] != 5 || w2->shape[1] != D || w2->shape[2] != C) {
            char want[64];
            snprintf(want, sizeof want, "[5, %lld, %lld]", (long long)D, (long long)C);
            return bad_shape(L, w2, want);
        }
        for (int j = 0; j < 5 && !w2->data; j++)
            TRY(syn_lin(L, w2, C, D, (int64_t)j * D * C, true, 0, &ly->maa_w2[j]));
        aviary_tensor w2d = *w2;
        void *w2buf = NULL;
        for (int j = 0; j < 5 && w2->data && !s; j++) {
            aviary_tensor sub = w2d;
            sub.ndim = 2;
            sub.shape[0] = w2->shape[1]; sub.shape[1] = w2->shape[2];
            sub.strides[0] = w2->strides[1]; sub.strides[1] = w2->strides[2];
            sub.data = (char *)w2d.data + (size_t)(j * w2->strides[0]) * aviary_dtype_size(w2->dtype);
            aviary_linear_params p = aviary_linear_default_params();
            p.transposed = true;
            p.weights = lin_type(L, w2, true);
            s = aviary_linear_create(&sub, NULL, &p, &ly->maa_w2[j]);
            if (!s) in->weight_bytes += aviary_linear_bytes(ly->maa_w2[j]);
        }
        aviary__free_aligned(w2buf);
        if (s) return s;
        release_pages(L, w2);
        TRY(get_lin(L, K("att.time_decay_w1"), C, Dd, true, true, &ly->dec_w1));
        TRY(get_lin(L, K("att.time_decay_w2"), Dd, A, true, true, &ly->dec_w2));
        TRY(get_vec(L, K("att.time_decay"), A, &ly->decay));
        TRY(get_vec(L, K("att.time_faaaa"), A, &ly->first));
        TRY(get_lin(L, K("att.gate.weight"), A, C, false, false, &ly->gate));
        TRY(get_vec(L, K("att.ln_x.weight"), A, &ly->lnx_w));
        TRY(get_vec(L, K("att.ln_x.bias"), A, &ly->lnx_b));
        TRY(get_vec(L, K("ffn.time_maa_k"), C, &ly->fmix_k));
        TRY(get_vec(L, K("ffn.time_maa_r"), C, &ly->fmix_r));
        TRY(get_lin(L, K("ffn.receptance.weight"), C, C, false, false, &ly->frecept));
        break;
    }
    case 7: {
        TRY(get_vec(L, K("att.x_r"), C, &ly->mix_r));
        TRY(get_vec(L, K("att.x_w"), C, &ly->mix_w));
        TRY(get_vec(L, K("att.x_k"), C, &ly->mix_k));
        TRY(get_vec(L, K("att.x_v"), C, &ly->mix_v));
        TRY(get_vec(L, K("att.x_a"), C, &ly->mix_a));
        TRY(get_vec(L, K("att.x_g"), C, &ly->mix_g));
        TRY(get_vec(L, K("att.w0"), A, &ly->w0));
        TRY(get_lin(L, K("att.w1"), C, in->lora_decay, true, true, &ly->w1));
        TRY(get_lin(L, K("att.w2"), in->lora_decay, A, true, true, &ly->w2));
        TRY(get_vec(L, K("att.a0"), A, &ly->a0));
        TRY(get_lin(L, K("att.a1"), C, in->lora_aaa, true, true, &ly->a1));
        TRY(get_lin(L, K("att.a2"), in->lora_aaa, A, true, true, &ly->a2));
        if (i > 0) {
            TRY(get_vec(L, K("att.v0"), A, &ly->v0));
            TRY(get_lin(L, K("att.v1"), C, in->lora_mv, true, true, &ly->v1));
            TRY(get_lin(L, K("att.v2"), in->lora_mv, A, true, true, &ly->v2));
        }
        TRY(get_lin(L, K("att.g1"), C, in->lora_gate, true, true, &ly->g1));
        TRY(get_lin(L, K("att.g2"), in->lora_gate, A, true, true, &ly->g2));
        TRY(get_vec(L, K("att.k_k"), A, &ly->k_k));
        TRY(get_vec(L, K("att.k_a"), A, &ly->k_a));
        TRY(get_vec(L, K("att.r_k"), (int64_t)H * N, &ly->r_k));
        TRY(get_vec(L, K("att.ln_x.weight"), A, &ly->lnx_w));
        TRY(get_vec(L, K("att.ln_x.bias"), A, &ly->lnx_b));
        TRY(get_vec(L, K("ffn.x_k"), C, &ly->fmix_k));
        break;
    }
    default:
        break;
    }
#undef K
#undef TRY
    return AVIARY_OK;
}

/* Infer version and sizes. */
static aviary_status infer(loader *L) {
    aviary_model_info *in = &L->m->info;
    const aviary_tensor *t;
    const char *file = L->file;
    if (find(L, "blocks.0.att.r_k")) in->version = 7;
    else if (find(L, "blocks.0.att.time_maa_x")) in->version = 6;
    else if (find(L, "blocks.0.att.time_faaaa")) in->version = 5;
    else if (find(L, "blocks.0.att.time_first")) in->version = 4;
    else {
        char name[400];
        map_name(L, "blocks.0.att.time_first", name, sizeof name);
        return aviary_error(AVIARY_UNSUPPORTED,
                            "%s: not an RWKV-4/5/6/7 language model (no r_k / time_maa_x / time_faaaa / time_first "
                            "tensor in block 0, e.g. '%s')", file, name);
    }
    if (in->version == 5 && !find(L, "blocks.0.att.gate.weight"))
        return aviary_error(AVIARY_UNSUPPORTED, "%s: RWKV-5.0/5.1 (no att.gate) is not supported, only 5.2", file);
    aviary_status s = need(L, "emb.weight", &t);
    if (s) return s;
    if (t->ndim != 2 || t->shape[0] < 1 || t->shape[1] < 1) return bad_shape(L, t, "[vocab, n_embd]");
    in->vocab_size = (int)t->shape[0];
    in->n_embd = (int)t->shape[1];
    if (!t->data) { /* random model: the model owns its embedding */
        void *buf;
        if ((s = with_data(L, t, &L->m->emb, &buf))) return s;
        L->m->emb_buf = buf;
        L->m->emb.name = NULL; /* the synthetic name is freed after loading */
    } else L->m->emb = *t;
    int n = 0;
    for (;; n++) {
        char k[64];
        snprintf(k, sizeof k, "blocks.%d.ln1.weight", n);
        if (!find(L, k)) break;
    }
    if (n == 0) return need(L, "blocks.0.ln1.weight", &t);
    in->n_layer = n;
    if ((s = need(L, "blocks.0.att.key.weight", &t))) return s;
    if (t->ndim != 2) return bad_shape(L, t, "[dim_att, n_embd]");
    in->dim_att = (int)t->shape[0];
    if ((s = need(L, "blocks.0.ffn.key.weight", &t))) return s;
    if (t->ndim != 2) return bad_shape(L, t, "[dim_ffn, n_embd]");
    in->dim_ffn = (int)t->shape[0];
    if (in->version == 5 || in->version == 6 || in->version == 7) {
        if ((s = need(L, in->version == 7 ? "blocks.0.att.r_k" : "blocks.0.att.time_faaaa", &t))) return s;
        if (t->ndim != 2 || t->shape[0] < 1 || t->shape[1] < 1) return bad_shape(L, t, "[n_head, head_size]");
        in->n_head = (int)t->shape[0];
        in->head_size = (int)t->shape[1];
        if ((int64_t)in->n_head * in->head_size != in->dim_att) return bad_shape(L, t, "[n_head, dim_att/n_head]");
    }
    const bool fla = L->style == STYLE_FLA;
    /* LoRA rank = the small dimension of the down matrix. */
#define RANK(key, out, div) do { \
        if ((s = need(L, key, &t))) return s; \
        if (t->ndim != 2) return bad_shape(L, t, "a 2-D LoRA matrix"); \
        out = (int)((fla ? t->shape[0] : t->shape[1]) / (div)); } while (0)
    if (in->version == 6) {
        RANK("blocks.0.att.time_maa_w1", in->lora_mix, 5);
        RANK("blocks.0.att.time_decay_w1", in->lora_decay, 1);
        if (in->lora_mix < 1) return bad_shape(L, t, "[n_embd, 5 * D_MIX_LORA]");
    } else if (in->version == 7) {
        RANK("blocks.0.att.w1", in->lora_decay, 1);
        RANK("blocks.0.att.a1", in->lora_aaa, 1);
        RANK("blocks.0.att.g1", in->lora_gate, 1);
        if (in->n_layer > 1) RANK("blocks.1.att.v1", in->lora_mv, 1);
    }
#undef RANK
    int lm = in->lora_mix * 5;
    if (in->lora_decay > lm) lm = in->lora_decay;
    if (in->lora_aaa > lm) lm = in->lora_aaa;
    if (in->lora_mv > lm) lm = in->lora_mv;
    if (in->lora_gate > lm) lm = in->lora_gate;
    L->m->lora_max = (size_t)lm;
    size_t C = (size_t)in->n_embd;
    L->m->per_layer = in->version == 4 ? 5 * C : 2 * C + (size_t)in->n_head * in->head_size * in->head_size;
    in->state_floats = L->m->per_layer * (size_t)in->n_layer;
    return AVIARY_OK;
}

aviary_model_params aviary_model_default_params(void) {
    aviary_model_params p = {AVIARY_WEIGHTS_AUTO, NULL};
    return p;
}

static void free_layer(layer *ly) {
    aviary_linear *all[] = {ly->key, ly->value, ly->recept, ly->gate, ly->output, ly->maa_w1, ly->maa_w2[0],
                            ly->maa_w2[1], ly->maa_w2[2], ly->maa_w2[3], ly->maa_w2[4], ly->dec_w1, ly->dec_w2,
                            ly->w1, ly->w2, ly->a1, ly->a2, ly->v1, ly->v2, ly->g1, ly->g2, ly->fkey, ly->fvalue,
                            ly->frecept};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) aviary_linear_free(all[i]);
}

void aviary_model_free(aviary_model *m) {
    if (!m) return;
    if (m->layers)
        for (int i = 0; i < m->info.n_layer; i++) free_layer(&m->layers[i]);
    free(m->layers);
    aviary_linear_free(m->head);
    for (size_t i = 0; i < m->n_vecs; i++) aviary__free_aligned(m->vecs[i]);
    free(m->vecs);
    aviary_checkpoint_close(m->own_ck);
    aviary__free_aligned(m->emb_buf);
    free(m);
}

/* Everything after the naming style is known: sizes, layers, head. Frees m on failure. */
static aviary_status build(loader *L, aviary_model **out) {
    aviary_model *m = L->m;
    aviary_status s = infer(L);
    if (!s) {
        m->layers = calloc((size_t)m->info.n_layer, sizeof *m->layers);
        if (!m->layers) s = aviary_error(AVIARY_NOMEM, "%s: out of memory", L->file);
    }
    for (int i = 0; !s && i < m->info.n_layer; i++) s = load_layer(L, i);
    const int64_t C = m->info.n_embd;
    if (!s) s = get_vec(L, "ln_out.weight", C, &m->lnout_w);
    if (!s) s = get_vec(L, "ln_out.bias", C, &m->lnout_b);
    if (!s) s = get_lin(L, "head.weight", m->info.vocab_size, C, false, false, &m->head);
    if (s) {
        aviary_model_free(m);
        return s;
    }
    m->info.weights = aviary_linear_weight_type(m->head);
    m->info.embedding_bytes = (uint64_t)aviary_tensor_numel(&m->emb) * aviary_dtype_size(m->emb.dtype);
    m->info.weight_bytes += m->info.embedding_bytes;
    /* Sequence chunk: up to SEQ_CHUNK rows per matmul keeps prefill
     * efficient, but the per-state scratch grows with it (~19 widths + ffn
     * floats per row); cap it at ~2% of the weights, so a small model's
     * prefill does not add a large fraction to its memory. */
    {
        const size_t W = (size_t)(m->info.n_embd > m->info.dim_att ? m->info.n_embd : m->info.dim_att);
        const size_t row = (19 * W + 2 * m->lora_max + (size_t)m->info.dim_ffn) * sizeof(float);
        size_t c = SEQ_CHUNK;
        while (c > SEQ_CHUNK_MIN && (double)(c * row) > 0.02 * (double)m->info.weight_bytes) c /= 2;
        m->seq_chunk = c;
    }
    *out = m;
    return AVIARY_OK;
}

aviary_status aviary_model_load_checkpoint(aviary_checkpoint *ck, const aviary_model_params *params,
                                           aviary_model **out) {
    if (!out) return aviary_error(AVIARY_INVALID_ARG, "aviary_model_load_checkpoint: out is NULL");
    *out = NULL;
    if (!ck) return aviary_error(AVIARY_INVALID_ARG, "aviary_model_load_checkpoint: checkpoint is NULL");
    aviary_model_params p = params ? *params : aviary_model_default_params();
    aviary_model *m = calloc(1, sizeof *m);
    if (!m) return aviary_error(AVIARY_NOMEM, "%s: out of memory", aviary_checkpoint_path(ck));
    loader L = {m, ck, aviary_checkpoint_path(ck), STYLE_OFFICIAL, "", p.weights, NULL, 0, 0};
    aviary_status s = detect_style(&L, p.prefix);
    if (s) {
        aviary_model_free(m);
        return s;
    }
    return build(&L, out);
}

aviary_status aviary_model_probe(aviary_checkpoint *ck, const aviary_model_params *params, aviary_model_info *info) {
    if (!info) return aviary_error(AVIARY_INVALID_ARG, "aviary_model_probe: info is NULL");
    memset(info, 0, sizeof *info);
    if (!ck) return aviary_error(AVIARY_INVALID_ARG, "aviary_model_probe: checkpoint is NULL");
    aviary_model_params p = params ? *params : aviary_model_default_params();
    aviary_model *m = calloc(1, sizeof *m);
    if (!m) return aviary_error(AVIARY_NOMEM, "%s: out of memory", aviary_checkpoint_path(ck));
    loader L = {m, ck, aviary_checkpoint_path(ck), STYLE_OFFICIAL, "", p.weights, NULL, 0, 0};
    aviary_status s = detect_style(&L, p.prefix);
    if (!s) s = infer(&L); /* reads names and shapes only; m->emb is a struct copy */
    if (!s) *info = m->info;
    free(m);
    return s;
}

/* ---------------------------------------------------- random-weights model -- */

static int round32(double v) {
    int r = (int)(v / 32.0 + 0.5) * 32;
    return r < 32 ? 32 : r;
}

static bool syn_add(loader *L, size_t cap, aviary_dtype dt, int ndim, int64_t d0, int64_t d1, int64_t d2,
                    const char *fmt, int layer) {
    if (L->n_syn == cap) return false;
    char name[128];
    snprintf(name, sizeof name, fmt, layer);
    aviary_tensor *t = &L->syn[L->n_syn];
    memset(t, 0, sizeof *t);
    t->dtype = ndim >= 2 ? dt : AVIARY_F32;
    t->ndim = ndim;
    t->shape[0] = d0; t->shape[1] = d1; t->shape[2] = d2;
    aviary_tensor_set_contiguous(t);
    t->name = strdup(name);
    if (!t->name) return false;
    L->n_syn++;
    return true;
}

aviary_status aviary_model_random(const char *spec, const aviary_model_params *params, uint64_t seed,
                                  aviary_model **out) {
    if (!out) return aviary_error(AVIARY_INVALID_ARG, "aviary_model_random: out is NULL");
    *out = NULL;
    int ver = 0, nl = 0, C = 0, V = 0, F = 0;
    if (!spec || sscanf(spec, "rwkv%d:L%d:D%d:V%d", &ver, &nl, &C, &V) != 4 || ver < 4 || ver > 7 || nl < 1 ||
        nl > 1024 || C < 64 || C % 64 || C > 65536 || V < 1 || V > (1 << 24))
        return aviary_error(AVIARY_INVALID_ARG,
                            "model shape '%s': expected rwkvV:L<layers>:D<width>:V<vocab> with V in 4..7, width a "
                            "multiple of 64 (e.g. rwkv6:L24:D2048:V65536)", spec ? spec : "(null)");
    aviary_model_params p = params ? *params : aviary_model_default_params();
    /* bf16 and int8 models get a bf16 embedding (and int8's LoRA matrices stay bf16) */
    const aviary_dtype dt = p.weights == AVIARY_WEIGHTS_BF16 || p.weights == AVIARY_WEIGHTS_INT8 ? AVIARY_BF16 : AVIARY_F32;
    if (p.weights == AVIARY_WEIGHTS_AUTO) p.weights = AVIARY_WEIGHTS_F32;
    F = ver == 5 || ver == 6 ? (int)((C * 7 / 2) / 32 * 32) : 4 * C;
    const int H = C / 64, N = 64;
    const double sq = sqrt((double)C);
    const int dmix = C < 4096 ? 32 : 64, ddec6 = C < 4096 ? 64 : 128;
    const int dw = round32(1.8 * sq), da = round32(1.8 * sq), dv = round32(1.3 * sq), dg = round32(0.6 * pow(C, 0.8));
    aviary_model *m = calloc(1, sizeof *m);
    const size_t cap = 16 + (size_t)nl * 48;
    aviary_tensor *syn = calloc(cap, sizeof *syn);
    if (!m || !syn) {
        free(m);
        free(syn);
        return aviary_error(AVIARY_NOMEM, "model shape '%s': out of memory", spec);
    }
    loader L = {m, NULL, spec, STYLE_OFFICIAL, "", p.weights, syn, 0, seed ? seed : 1};
    bool ok = syn_add(&L, cap, dt, 2, V, C, 0, "emb.weight", 0);
    for (int i = 0; ok && i < nl; i++) {
#define V1(name, n) ok = ok && syn_add(&L, cap, dt, 1, n, 0, 0, "blocks.%d." name, i)
#define M2(name, a, b) ok = ok && syn_add(&L, cap, dt, 2, a, b, 0, "blocks.%d." name, i)
        if (i == 0) { V1("ln0.weight", C); V1("ln0.bias", C); }
        V1("ln1.weight", C); V1("ln1.bias", C); V1("ln2.weight", C); V1("ln2.bias", C);
        M2("att.key.weight", C, C); M2("att.value.weight", C, C); M2("att.receptance.weight", C, C);
        M2("att.output.weight", C, C); M2("ffn.key.weight", F, C); M2("ffn.value.weight", C, F);
        if (ver <= 6) M2("ffn.receptance.weight", C, C);
        if (ver == 4) {
            V1("att.time_mix_k", C); V1("att.time_mix_v", C); V1("att.time_mix_r", C);
            V1("att.time_decay", C); V1("att.time_first", C);
            V1("ffn.time_mix_k", C); V1("ffn.time_mix_r", C);
        } else if (ver == 5) {
            V1("att.time_mix_k", C); V1("att.time_mix_v", C); V1("att.time_mix_r", C); V1("att.time_mix_g", C);
            V1("att.time_decay", C); M2("att.time_faaaa", H, N); M2("att.gate.weight", C, C);
            V1("att.ln_x.weight", C); V1("att.ln_x.bias", C);
            V1("ffn.time_mix_k", C); V1("ffn.time_mix_r", C);
        } else if (ver == 6) {
            V1("att.time_maa_x", C); V1("att.time_maa_w", C); V1("att.time_maa_k", C); V1("att.time_maa_v", C);
            V1("att.time_maa_r", C); V1("att.time_maa_g", C);
            M2("att.time_maa_w1", C, 5 * dmix);
            ok = ok && syn_add(&L, cap, dt, 3, 5, dmix, C, "blocks.%d.att.time_maa_w2", i);
            M2("att.time_decay_w1", C, ddec6); M2("att.time_decay_w2", ddec6, C);
            V1("att.time_decay", C); M2("att.time_faaaa", H, N); M2("att.gate.weight", C, C);
            V1("att.ln_x.weight", C); V1("att.ln_x.bias", C);
            V1("ffn.time_maa_k", C); V1("ffn.time_maa_r", C);
        } else {
            V1("att.x_r", C); V1("att.x_w", C); V1("att.x_k", C); V1("att.x_v", C); V1("att.x_a", C);
            V1("att.x_g", C); V1("att.w0", C); M2("att.w1", C, dw); M2("att.w2", dw, C);
            V1("att.a0", C); M2("att.a1", C, da); M2("att.a2", da, C);
            V1("att.v0", C); M2("att.v1", C, dv); M2("att.v2", dv, C);
            M2("att.g1", C, dg); M2("att.g2", dg, C);
            V1("att.k_k", C); V1("att.k_a", C); M2("att.r_k", H, N);
            V1("att.ln_x.weight", C); V1("att.ln_x.bias", C); V1("ffn.x_k", C);
        }
#undef V1
#undef M2
    }
    ok = ok && syn_add(&L, cap, dt, 1, C, 0, 0, "ln_out.weight", 0) && syn_add(&L, cap, dt, 1, C, 0, 0, "ln_out.bias", 0) &&
         syn_add(&L, cap, dt, 2, V, C, 0, "head.weight", 0);
    aviary_status s = ok ? build(&L, out) : (aviary_model_free(m), aviary_error(AVIARY_NOMEM, "model shape '%s': out of memory", spec));
    for (size_t i = 0; i < L.n_syn; i++) free((char *)syn[i].name);
    free(syn);
    return s;
}

aviary_status aviary_model_load(const char *path, const aviary_model_params *params, aviary_model **out) {
    if (!out) return aviary_error(AVIARY_INVALID_ARG, "aviary_model_load: out is NULL");
    *out = NULL;
    aviary_checkpoint *ck = NULL;
    aviary_status s = aviary_checkpoint_open(path, &ck);
    if (s) return s;
    s = aviary_model_load_checkpoint(ck, params, out);
    if (s) {
        aviary_checkpoint_close(ck);
        return s;
    }
    (*out)->own_ck = ck;
    return AVIARY_OK;
}

const aviary_model_info *aviary_model_get_info(const aviary_model *m) { return m ? &m->info : NULL; }

/* --------------------------------------------------------------- state -- */

aviary_status aviary_state_create(const aviary_model *m, aviary_state **out) {
    if (!out) return aviary_error(AVIARY_INVALID_ARG, "aviary_state_create: out is NULL");
    *out = NULL;
    if (!m) return aviary_error(AVIARY_INVALID_ARG, "aviary_state_create: model is NULL");
    aviary_state *s = calloc(1, sizeof *s);
    if (!s) return aviary_error(AVIARY_NOMEM, "aviary_state_create: out of memory");
    s->m = m;
    s->data = aviary__alloc_aligned(m->info.state_floats * sizeof(float));
    if (!s->data) {
        free(s);
        return aviary_error(AVIARY_NOMEM, "aviary_state_create: out of memory");
    }
    aviary_state_reset(s);
    *out = s;
    return AVIARY_OK;
}

void aviary_state_free(aviary_state *s) {
    if (!s) return;
    aviary__free_aligned(s->data);
    aviary__free_aligned(s->sc.block);
    free(s);
}

void aviary_state_reset(aviary_state *s) {
    if (!s) return;
    const aviary_model *m = s->m;
    memset(s->data, 0, m->info.state_floats * sizeof(float));
    if (m->info.version == 4) {
        const size_t C = (size_t)m->info.n_embd;
        for (int l = 0; l < m->info.n_layer; l++) {
            float *pp = s->data + l * m->per_layer + 4 * C;
            for (size_t c = 0; c < C; c++) pp[c] = -1e30f;
        }
    }
}

aviary_status aviary_state_copy(aviary_state *dst, const aviary_state *src) {
    if (!dst || !src) return aviary_error(AVIARY_INVALID_ARG, "aviary_state_copy: NULL state");
    if (dst->m != src->m)
        return aviary_error(AVIARY_INVALID_ARG, "aviary_state_copy: the states belong to different models");
    if (dst != src) memcpy(dst->data, src->data, src->m->info.state_floats * sizeof(float));
    return AVIARY_OK;
}

float *aviary_state_part(aviary_state *s, const char *name, int layer, size_t *n_floats) {
    if (!s || !name) return NULL;
    const aviary_model *m = s->m;
    if (layer < 0 || layer >= m->info.n_layer) return NULL;
    const size_t C = (size_t)m->info.n_embd;
    float *base = s->data + (size_t)layer * m->per_layer;
    size_t off, n = C;
    if (!strcmp(name, "att_x")) off = 0;
    else if (!strcmp(name, "ffn_x")) off = C;
    else if (m->info.version == 4 && !strcmp(name, "aa")) off = 2 * C;
    else if (m->info.version == 4 && !strcmp(name, "bb")) off = 3 * C;
    else if (m->info.version == 4 && !strcmp(name, "pp")) off = 4 * C;
    else if (m->info.version != 4 && !strcmp(name, "wkv")) {
        off = 2 * C;
        n = m->per_layer - 2 * C;
    } else return NULL;
    if (n_floats) *n_floats = n;
    return base + off;
}

#define STATE_MAGIC "AVYSTATE"
#define STATE_FILE_VERSION 1u

static void state_header(const aviary_model *m, uint32_t h[8]) {
    h[0] = STATE_FILE_VERSION;
    h[1] = (uint32_t)m->info.version;
    h[2] = (uint32_t)m->info.n_layer;
    h[3] = (uint32_t)m->info.n_embd;
    h[4] = (uint32_t)m->info.n_head;
    h[5] = (uint32_t)m->info.head_size;
    h[6] = (uint32_t)(m->info.state_floats & 0xffffffffu);
    h[7] = (uint32_t)((uint64_t)m->info.state_floats >> 32);
}

aviary_status aviary_state_save(const aviary_state *s, const char *path) {
    if (!s || !path) return aviary_error(AVIARY_INVALID_ARG, "aviary_state_save: NULL argument");
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 16);
    if (!tmp) return aviary_error(AVIARY_NOMEM, "%s: out of memory", path);
    snprintf(tmp, pl + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        aviary_status st = aviary_error(AVIARY_IO, "%s: cannot create temporary file: %s", path, strerror(errno));
        free(tmp);
        return st;
    }
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        unlink(tmp);
        free(tmp);
        return aviary_error(AVIARY_IO, "%s: cannot write: %s", path, strerror(errno));
    }
    uint32_t h[8];
    state_header(s->m, h);
    bool ok = fwrite(STATE_MAGIC, 1, 8, f) == 8 && fwrite(h, sizeof h, 1, f) == 1 &&
              fwrite(s->data, sizeof(float), s->m->info.state_floats, f) == s->m->info.state_floats;
    ok = (fflush(f) == 0) && ok;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return aviary_error(AVIARY_IO, "%s: cannot write state file: %s", path, strerror(e));
    }
    free(tmp);
    return AVIARY_OK;
}

aviary_status aviary_state_load(aviary_state *s, const char *path) {
    if (!s || !path) return aviary_error(AVIARY_INVALID_ARG, "aviary_state_load: NULL argument");
    FILE *f = fopen(path, "rb");
    if (!f) return aviary_error(AVIARY_IO, "%s: cannot open: %s", path, strerror(errno));
    char magic[8];
    uint32_t h[8], want[8];
    aviary_status st = AVIARY_OK;
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, STATE_MAGIC, 8))
        st = aviary_error(AVIARY_FORMAT, "%s: not an aviary state file (bad magic)", path);
    else if (fread(h, sizeof h, 1, f) != 1)
        st = aviary_error(AVIARY_FORMAT, "%s: truncated state file header", path);
    else {
        state_header(s->m, want);
        if (h[0] != STATE_FILE_VERSION)
            st = aviary_error(AVIARY_UNSUPPORTED, "%s: state file version %u, expected %u", path, h[0],
                              STATE_FILE_VERSION);
        else if (memcmp(h, want, sizeof h))
            st = aviary_error(AVIARY_SHAPE,
                              "%s: state is for RWKV-%u %ux%u (heads %u x %u), model is RWKV-%u %ux%u (heads %u x %u)",
                              path, h[1], h[2], h[3], h[4], h[5], want[1], want[2], want[3], want[4], want[5]);
    }
    float *buf = NULL;
    if (!st) {
        buf = malloc(s->m->info.state_floats * sizeof(float) + 1);
        if (!buf) st = aviary_error(AVIARY_NOMEM, "%s: out of memory", path);
        else if (fread(buf, sizeof(float), s->m->info.state_floats, f) != s->m->info.state_floats)
            st = aviary_error(AVIARY_FORMAT, "%s: truncated state file", path);
        else if (fgetc(f) != EOF) st = aviary_error(AVIARY_FORMAT, "%s: trailing bytes after the state", path);
    }
    fclose(f);
    if (!st) memcpy(s->data, buf, s->m->info.state_floats * sizeof(float));
    free(buf);
    return st;
}

/* ------------------------------------------------------------- compute -- */

static aviary_status ensure_scratch(aviary_state *st, size_t T) {
    scratch *sc = &st->sc;
    if (sc->T >= T) return AVIARY_OK;
    const aviary_model_info *in = &st->m->info;
    size_t C = (size_t)in->n_embd, A = (size_t)in->dim_att, F = (size_t)in->dim_ffn;
    size_t W = C > A ? C : A;
    size_t per = 8 * W /* xx prev m0..m5 */ + 11 * W /* r k v w a g kk y vfirst out xin */ + 2 * st->m->lora_max + F;
    size_t bytes;
    if (!aviary__mul_size(per, T, &bytes) || !aviary__mul_size(bytes, sizeof(float), &bytes))
        return aviary_error(AVIARY_NOMEM, "aviary_model_eval: %zu tokens is too many", T);
    float *blk = aviary__alloc_aligned(bytes);
    if (!blk) return aviary_error(AVIARY_NOMEM, "aviary_model_eval: out of memory for %zu tokens", T);
    aviary__free_aligned(sc->block);
    sc->block = blk;
    sc->T = T;
    float *p = blk;
#define TAKE(f, n) (sc->f = p, p += (n) * T)
    TAKE(xx, W); TAKE(prev, W); TAKE(m0, W); TAKE(m1, W); TAKE(m2, W); TAKE(m3, W); TAKE(m4, W); TAKE(m5, W);
    TAKE(r, W); TAKE(k, W); TAKE(v, W); TAKE(w, W); TAKE(a, W); TAKE(g, W); TAKE(kk, W); TAKE(y, W);
    TAKE(vfirst, W); TAKE(out, W); TAKE(lo, st->m->lora_max); TAKE(lo2, st->m->lora_max); TAKE(hid, F); TAKE(xin, W);
#undef TAKE
    return AVIARY_OK;
}

#define LIN(l, x, T, y) do { aviary_status s_ = aviary_linear_forward((l), (x), (int64_t)(T), (y)); \
                             if (s_) return s_; } while (0)

/* Independent projections of the same rows as one call (one fork/join for a
 * single token; see aviary__linear_forward_multi). */
#define LINS(n, L_, X_, Y_, T) do { \
        const aviary_linear *l_[n] = L_; const float *x_[n] = X_; float *y_[n] = Y_; \
        aviary_status s_ = aviary__linear_forward_multi((n), l_, x_, (int64_t)(T), y_); \
        if (s_) return s_; } while (0)
#define A_(...) {__VA_ARGS__}

/* Channel mix of RWKV-4/5/6 (receptance-gated) and 7 (plain). x += ffn(LN2(x)). */
static aviary_status channel_mix(const aviary_model *m, const layer *ly, float *st_ffn, float *x, size_t T,
                                 scratch *sc) {
    const size_t C = (size_t)m->info.n_embd, F = (size_t)m->info.dim_ffn;
    const int ver = m->info.version;
    aviary_layer_norm(x, T, C, ly->ln2_w, ly->ln2_b, LN_EPS, sc->xx);
    aviary_token_shift(sc->xx, T, C, st_ffn, sc->prev);
    if (ver <= 5) aviary_mix_lerp(sc->xx, sc->prev, T, C, ly->fmix_k, sc->m0);
    else aviary_maa_lerp(sc->xx, sc->prev, T, C, ly->fmix_k, sc->m0);
    if (ver == 7) LIN(ly->fkey, sc->m0, T, sc->hid);
    else {
        if (ver <= 5) aviary_mix_lerp(sc->xx, sc->prev, T, C, ly->fmix_r, sc->m1);
        else aviary_maa_lerp(sc->xx, sc->prev, T, C, ly->fmix_r, sc->m1);
        LINS(2, A_(ly->fkey, ly->frecept), A_(sc->m0, sc->m1), A_(sc->hid, sc->r), T);
    }
    aviary_relu_square(sc->hid, T * F, sc->hid);
    LIN(ly->fvalue, sc->hid, T, sc->out);
    if (ver == 7) {
        aviary_add(x, sc->out, T * C, x);
        return AVIARY_OK;
    }
    aviary_sigmoid(sc->r, T * C, sc->r);
    for (size_t i = 0; i < T * C; i++) x[i] += sc->r[i] * sc->out[i];
    return AVIARY_OK;
}

static aviary_status time_mix4(const aviary_model *m, const layer *ly, float *sl, float *x, size_t T, scratch *sc) {
    const size_t C = (size_t)m->info.n_embd, A = (size_t)m->info.dim_att;
    aviary_layer_norm(x, T, C, ly->ln1_w, ly->ln1_b, LN_EPS, sc->xx);
    aviary_token_shift(sc->xx, T, C, sl, sc->prev);
    aviary_mix_lerp(sc->xx, sc->prev, T, C, ly->mix_k, sc->m0);
    aviary_mix_lerp(sc->xx, sc->prev, T, C, ly->mix_v, sc->m1);
    aviary_mix_lerp(sc->xx, sc->prev, T, C, ly->mix_r, sc->m2);
    LINS(3, A_(ly->key, ly->value, ly->recept), A_(sc->m0, sc->m1, sc->m2), A_(sc->k, sc->v, sc->r), T);
    aviary_sigmoid(sc->r, T * A, sc->r);
    aviary_wkv4(T, A, ly->decay, ly->first, sc->k, sc->v, sl + 2 * C, sl + 3 * C, sl + 4 * C, sc->y);
    aviary_mul(sc->r, sc->y, T * A, sc->y);
    LIN(ly->output, sc->y, T, sc->out);
    aviary_add(x, sc->out, T * C, x);
    return AVIARY_OK;
}

static aviary_status time_mix5(const aviary_model *m, const layer *ly, float *sl, float *x, size_t T, scratch *sc) {
    const size_t C = (size_t)m->info.n_embd, A = (size_t)m->info.dim_att;
    const size_t H = (size_t)m->info.n_head, N = (size_t)m->info.head_size;
    aviary_layer_norm(x, T, C, ly->ln1_w, ly->ln1_b, LN_EPS, sc->xx);
    aviary_token_shift(sc->xx, T, C, sl, sc->prev);
    aviary_mix_lerp(sc->xx, sc->prev, T, C, ly->mix_k, sc->m0);
    aviary_mix_lerp(sc->xx, sc->prev, T, C, ly->mix_v, sc->m1);
    aviary_mix_lerp(sc->xx, sc->prev, T, C, ly->mix_r, sc->m2);
    aviary_mix_lerp(sc->xx, sc->prev, T, C, ly->mix_g, sc->m3);
    LINS(4, A_(ly->key, ly->value, ly->recept, ly->gate), A_(sc->m0, sc->m1, sc->m2, sc->m3),
         A_(sc->k, sc->v, sc->r, sc->g), T);
    aviary_silu(sc->g, T * A, sc->g);
    aviary_wkv5(T, H, N, sc->r, sc->k, sc->v, ly->decay, ly->first, sl + 2 * C, sc->y);
    aviary_group_norm(sc->y, T, H, N, ly->lnx_w, ly->lnx_b, GN_EPS, sc->y);
    aviary_mul(sc->y, sc->g, T * A, sc->y);
    LIN(ly->output, sc->y, T, sc->out);
    aviary_add(x, sc->out, T * C, x);
    return AVIARY_OK;
}

static aviary_status time_mix6(const aviary_model *m, const layer *ly, float *sl, float *x, size_t T, scratch *sc) {
    const size_t C = (size_t)m->info.n_embd, A = (size_t)m->info.dim_att;
    const size_t H = (size_t)m->info.n_head, N = (size_t)m->info.head_size;
    const size_t D = (size_t)m->info.lora_mix;
    aviary_layer_norm(x, T, C, ly->ln1_w, ly->ln1_b, LN_EPS, sc->xx);
    aviary_token_shift(sc->xx, T, C, sl, sc->prev);
    /* xxx = x + sx * maa_x; lo = tanh(xxx @ w1) [T, 5D] */
    aviary_maa_lerp(sc->xx, sc->prev, T, C, ly->mix_x, sc->out);
    LIN(ly->maa_w1, sc->out, T, sc->lo);
    aviary_tanh(sc->lo, T * 5 * D, sc->lo);
    float *dst[5] = {sc->m0, sc->m1, sc->m2, sc->m3, sc->m4}; /* w k v r g */
    const float *mix[5] = {ly->mix_w, ly->mix_k, ly->mix_v, ly->mix_r, ly->mix_g};
    /* The five second LoRA matrices as one call (one fork/join per token, not
     * five): their inputs are lo's five D-wide column slices, regrouped as
     * [5][T][D] in lo2 (for one token they are already contiguous in lo). */
    const float *lx[5];
    for (size_t j = 0; j < 5; j++) {
        if (T == 1) {
            lx[j] = sc->lo + j * D;
            continue;
        }
        float *d = sc->lo2 + j * T * D;
        for (size_t t = 0; t < T; t++) memcpy(d + t * D, sc->lo + t * 5 * D + j * D, D * sizeof(float));
        lx[j] = d;
    }
    LINS(5, A_(ly->maa_w2[0], ly->maa_w2[1], ly->maa_w2[2], ly->maa_w2[3], ly->maa_w2[4]),
         A_(lx[0], lx[1], lx[2], lx[3], lx[4]), A_(dst[0], dst[1], dst[2], dst[3], dst[4]), T);
    for (size_t j = 0; j < 5; j++) aviary_ddlerp(sc->xx, sc->prev, dst[j], T, C, mix[j], dst[j]);
    LINS(5, A_(ly->recept, ly->key, ly->value, ly->gate, ly->dec_w1), A_(sc->m3, sc->m1, sc->m2, sc->m4, sc->m0),
         A_(sc->r, sc->k, sc->v, sc->g, sc->lo), T);
    aviary_silu(sc->g, T * A, sc->g);
    aviary_tanh(sc->lo, T * (size_t)m->info.lora_decay, sc->lo);
    LIN(ly->dec_w2, sc->lo, T, sc->w);
    aviary__decay_rows(T, A, ly->decay, sc->w, 6);
    aviary_wkv6(T, H, N, sc->r, sc->k, sc->v, sc->w, ly->first, sl + 2 * C, sc->y);
    aviary_group_norm(sc->y, T, H, N, ly->lnx_w, ly->lnx_b, GN_EPS, sc->y);
    aviary_mul(sc->y, sc->g, T * A, sc->y);
    LIN(ly->output, sc->y, T, sc->out);
    aviary_add(x, sc->out, T * C, x);
    return AVIARY_OK;
}

static aviary_status time_mix7(const aviary_model *m, int li, const layer *ly, float *sl, float *x, size_t T,
                               scratch *sc) {
    const size_t C = (size_t)m->info.n_embd, A = (size_t)m->info.dim_att;
    const size_t H = (size_t)m->info.n_head, N = (size_t)m->info.head_size;
    aviary_layer_norm(x, T, C, ly->ln1_w, ly->ln1_b, LN_EPS, sc->xx);
    aviary_token_shift(sc->xx, T, C, sl, sc->prev);
    aviary_maa_lerp(sc->xx, sc->prev, T, C, ly->mix_r, sc->m0);
    aviary_maa_lerp(sc->xx, sc->prev, T, C, ly->mix_w, sc->m1);
    aviary_maa_lerp(sc->xx, sc->prev, T, C, ly->mix_k, sc->m2);
    aviary_maa_lerp(sc->xx, sc->prev, T, C, ly->mix_v, sc->m3);
    aviary_maa_lerp(sc->xx, sc->prev, T, C, ly->mix_a, sc->m4);
    aviary_maa_lerp(sc->xx, sc->prev, T, C, ly->mix_g, sc->m5);
    /* decay w = exp(-e^-0.5 * sigmoid(w0 + tanh(xw @ w1) @ w2)) */
    LINS(4, A_(ly->recept, ly->key, ly->value, ly->w1), A_(sc->m0, sc->m2, sc->m3, sc->m1),
         A_(sc->r, sc->k, sc->v, sc->lo), T);
    aviary_tanh(sc->lo, T * (size_t)m->info.lora_decay, sc->lo);
    LIN(ly->w2, sc->lo, T, sc->w);
    aviary__decay_rows(T, A, ly->w0, sc->w, 7);
    if (li == 0) memcpy(sc->vfirst, sc->v, T * A * sizeof(float));
    else {
        LIN(ly->v1, sc->m3, T, sc->lo);
        LIN(ly->v2, sc->lo, T, sc->g);
        aviary_v7_value_residual(sc->vfirst, ly->v0, sc->g, T, A, sc->v);
    }
    LIN(ly->a1, sc->m4, T, sc->lo);
    LIN(ly->a2, sc->lo, T, sc->a);
    aviary_sigmoid_bias(ly->a0, T, A, sc->a);
    LIN(ly->g1, sc->m5, T, sc->lo);
    aviary_sigmoid(sc->lo, T * (size_t)m->info.lora_gate, sc->lo);
    LIN(ly->g2, sc->lo, T, sc->g);
    aviary_wkv7_keys(ly->k_k, ly->k_a, sc->a, T, H, N, sc->k, sc->kk);
    aviary_wkv7(T, H, N, sc->r, sc->w, sc->k, sc->v, sc->kk, sc->a, sl + 2 * C, sc->y);
    aviary_group_norm(sc->y, T, H, N, ly->lnx_w, ly->lnx_b, GN_EPS, sc->y);
    aviary_wkv7_bonus(sc->r, sc->k, sc->v, ly->r_k, T, H, N, sc->y);
    aviary_mul(sc->y, sc->g, T * A, sc->y);
    LIN(ly->output, sc->y, T, sc->out);
    aviary_add(x, sc->out, T * C, x);
    return AVIARY_OK;
}

aviary_status aviary_model_embed(const aviary_model *m, const int32_t *tokens, size_t n, float *x) {
    if (!m || (!tokens && n) || (!x && n)) return aviary_error(AVIARY_INVALID_ARG, "aviary_model_embed: NULL argument");
    const size_t C = (size_t)m->info.n_embd;
    for (size_t t = 0; t < n; t++) {
        if (tokens[t] < 0 || tokens[t] >= m->info.vocab_size)
            return aviary_error(AVIARY_INVALID_ARG, "token id %d is outside the vocabulary [0, %d)", (int)tokens[t],
                                m->info.vocab_size);
        aviary_tensor row = m->emb;
        row.ndim = 1;
        row.shape[0] = m->emb.shape[1];
        row.strides[0] = m->emb.strides[1];
        row.data = (char *)m->emb.data + (size_t)(tokens[t] * m->emb.strides[0]) * aviary_dtype_size(m->emb.dtype);
        row.owned = NULL;
        aviary_status s = aviary_tensor_to_f32(&row, x + t * C);
        if (s) return s;
    }
    return AVIARY_OK;
}

aviary_status aviary_model_forward_layer(const aviary_model *m, aviary_state *s, int layer_index, float *x,
                                         size_t n) {
    if (!m || !s || (!x && n)) return aviary_error(AVIARY_INVALID_ARG, "aviary_model_forward_layer: NULL argument");
    if (s->m != m) return aviary_error(AVIARY_INVALID_ARG, "aviary_model_forward_layer: state is from another model");
    if (layer_index < 0 || layer_index >= m->info.n_layer)
        return aviary_error(AVIARY_INVALID_ARG, "aviary_model_forward_layer: layer %d outside [0, %d)", layer_index,
                            m->info.n_layer);
    if (n == 0) return AVIARY_OK;
    aviary_status st = ensure_scratch(s, n);
    if (st) return st;
    const layer *ly = &m->layers[layer_index];
    const size_t C = (size_t)m->info.n_embd;
    float *sl = s->data + (size_t)layer_index * m->per_layer;
    if (layer_index == 0) aviary_layer_norm(x, n, C, ly->ln0_w, ly->ln0_b, LN_EPS, x);
    switch (m->info.version) {
    case 4: st = time_mix4(m, ly, sl, x, n, &s->sc); break;
    case 5: st = time_mix5(m, ly, sl, x, n, &s->sc); break;
    case 6: st = time_mix6(m, ly, sl, x, n, &s->sc); break;
    default: st = time_mix7(m, layer_index, ly, sl, x, n, &s->sc); break;
    }
    if (st) return st;
    return channel_mix(m, ly, sl + C, x, n, &s->sc);
}

aviary_status aviary_model_head(const aviary_model *m, const float *x, size_t n, float *logits) {
    if (!m || (n && (!x || !logits))) return aviary_error(AVIARY_INVALID_ARG, "aviary_model_head: NULL argument");
    if (n == 0) return AVIARY_OK;
    const size_t C = (size_t)m->info.n_embd;
    float *tmp = malloc(n * C * sizeof(float));
    if (!tmp) return aviary_error(AVIARY_NOMEM, "aviary_model_head: out of memory");
    aviary_layer_norm(x, n, C, m->lnout_w, m->lnout_b, LN_EPS, tmp);
    aviary_status s = aviary_linear_forward(m->head, tmp, (int64_t)n, logits);
    free(tmp);
    return s;
}

aviary_status aviary_model_ln_out(const aviary_model *m, const float *x, size_t n, float *y) {
    if (!m || (n && (!x || !y))) return aviary_error(AVIARY_INVALID_ARG, "aviary_model_ln_out: NULL argument");
    aviary_layer_norm(x, n, (size_t)m->info.n_embd, m->lnout_w, m->lnout_b, LN_EPS, y);
    return AVIARY_OK;
}

/* Run rows [T, C] of embeddings (raw, before ln0) through every layer; logits of the last row. */
static aviary_status run_rows(const aviary_model *m, aviary_state *s, float *x, size_t T, float *logits) {
    for (int l = 0; l < m->info.n_layer; l++) {
        aviary_status st = aviary_model_forward_layer(m, s, l, x, T);
        if (st) return st;
    }
    if (!logits) return AVIARY_OK;
    const size_t C = (size_t)m->info.n_embd;
    /* ln_out of the last row into the scratch (no allocation per token) */
    float *row = s->sc.xx;
    aviary_layer_norm(x + (T - 1) * C, 1, C, m->lnout_w, m->lnout_b, LN_EPS, row);
    return aviary_linear_forward(m->head, row, 1, logits);
}

/* Feed n tokens (or n embedding rows) in chunks of `chunk` rows: chunk 1 is
 * RNN mode, larger chunks are sequence mode. Allocation-free once the state's
 * scratch has grown to the chunk size. */
static aviary_status eval_common(const aviary_model *m, aviary_state *s, const int32_t *tokens, const float *emb,
                                 size_t n, float *logits, size_t chunk) {
    if (!m || !s) return aviary_error(AVIARY_INVALID_ARG, "aviary_model_eval: NULL model or state");
    if (s->m != m) return aviary_error(AVIARY_INVALID_ARG, "aviary_model_eval: state is from another model");
    if (n == 0) return aviary_error(AVIARY_INVALID_ARG, "aviary_model_eval: no tokens");
    if (!tokens && !emb) return aviary_error(AVIARY_INVALID_ARG, "aviary_model_eval: NULL input");
    const size_t C = (size_t)m->info.n_embd;
    /* check every id first, so that a bad one leaves the state untouched */
    for (size_t t = 0; tokens && t < n; t++)
        if (tokens[t] < 0 || tokens[t] >= m->info.vocab_size)
            return aviary_error(AVIARY_INVALID_ARG, "token %zu: id %d is outside the vocabulary [0, %d)", t,
                                (int)tokens[t], m->info.vocab_size);
    if (chunk > n) chunk = n;
    aviary_status st = ensure_scratch(s, chunk);
    if (st) return st;
    float *x = s->sc.xin; /* [chunk, C]; forward_layer never regrows the scratch below chunk rows */
    for (size_t done = 0; done < n && !st; done += chunk) {
        size_t T = n - done < chunk ? n - done : chunk;
        if (tokens) st = aviary_model_embed(m, tokens + done, T, x);
        else memcpy(x, emb + done * C, T * C * sizeof(float));
        if (!st) st = run_rows(m, s, x, T, done + T == n ? logits : NULL);
    }
    return st;
}

aviary_status aviary_model_eval(const aviary_model *m, aviary_state *s, const int32_t *tokens, size_t n,
                                float *logits) {
    return eval_common(m, s, tokens, NULL, n, logits, m ? m->seq_chunk : SEQ_CHUNK);
}

aviary_status aviary_model_eval_rnn(const aviary_model *m, aviary_state *s, const int32_t *tokens, size_t n,
                                    float *logits) {
    return eval_common(m, s, tokens, NULL, n, logits, 1);
}

aviary_status aviary_model_eval_embeddings(const aviary_model *m, aviary_state *s, const float *emb, size_t n,
                                           float *logits) {
    if (!emb) return aviary_error(AVIARY_INVALID_ARG, "aviary_model_eval_embeddings: NULL input");
    return eval_common(m, s, NULL, emb, n, logits, m->seq_chunk);
}
