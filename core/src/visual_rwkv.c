/*
 * visual_rwkv.c - VisualRWKV projection, prompt layout, bidirectional
 * layer-major prefill and the LM + vision bundle (aviary_visual_rwkv.h).
 * The LM math is aviary_model's (per-layer API); the vision tower is
 * clip_vit.c; this file only composes them the way VisualRWKV does.
 */
#include "internal.h"
#include "weights.h"
#include "aviary/aviary_blocks.h"
#include "aviary/aviary_visual_rwkv.h"
#include <math.h>
#include <stdio.h>

/* ------------------------------------------------------------ projection */

struct aviary_vrwkv_proj {
    int in, out;
    aviary_linear *lin;      /* v6: proj.weight; v7: o_proj */
    aviary_linear *gate;     /* v7 only */
    float *ln_w, *ln_b;      /* v7 only */
};

void aviary_vrwkv_proj_free(aviary_vrwkv_proj *p) {
    if (!p) return;
    aviary_linear_free(p->lin);
    aviary_linear_free(p->gate);
    free(p->ln_w);
    free(p->ln_b);
    free(p);
}

int aviary_vrwkv_proj_in(const aviary_vrwkv_proj *p) { return p ? p->in : 0; }
int aviary_vrwkv_proj_out(const aviary_vrwkv_proj *p) { return p ? p->out : 0; }
bool aviary_vrwkv_proj_gated(const aviary_vrwkv_proj *p) { return p && p->gate; }

aviary_status aviary_vrwkv_proj_load(const aviary_checkpoint *ck, const char *prefix, aviary_weight_type weights,
                                     aviary_vrwkv_proj **out) {
    if (out) *out = NULL;
    if (!ck || !out) return aviary_error(AVIARY_INVALID_ARG, "aviary_vrwkv_proj_load: NULL argument");
    if (!prefix) prefix = "proj.";
    const char *file = aviary_checkpoint_path(ck);
    const aviary_tensor *w = aviary__w_lookup(ck, prefix, "weight");
    const aviary_tensor *gate = aviary__w_lookup(ck, prefix, "gate.weight");
    const aviary_tensor *o = aviary__w_lookup(ck, prefix, "o_proj.weight");
    const aviary_tensor *lw = aviary__w_lookup(ck, prefix, "ln_v.weight");
    const aviary_tensor *lb = aviary__w_lookup(ck, prefix, "ln_v.bias");
    aviary_vrwkv_proj *p = calloc(1, sizeof *p);
    if (!p) return aviary_error(AVIARY_NOMEM, "projection: out of memory");
    aviary_linear_params lp = aviary_linear_default_params();
    lp.weights = weights;
    aviary_status s = AVIARY_OK;
    if (gate || o) {
        if (!gate || !o || !lw || !lb) {
            s = aviary_error(AVIARY_NOT_FOUND, "%s: gated image projection needs %sgate.weight, %so_proj.weight and "
                             "%sln_v.{weight,bias}; some are missing", file, prefix, prefix, prefix);
            goto fail;
        }
        if (gate->ndim != 2 || o->ndim != 2 || gate->shape[0] != gate->shape[1] || o->shape[1] != gate->shape[0]) {
            s = aviary_error(AVIARY_SHAPE, "%s: %sgate.weight must be [D, D] and %so_proj.weight [C, D]", file,
                             prefix, prefix);
            goto fail;
        }
        p->in = (int)gate->shape[0];
        p->out = (int)o->shape[0];
        if ((s = aviary_linear_create(gate, NULL, &lp, &p->gate)) || (s = aviary_linear_create(o, NULL, &lp, &p->lin)) ||
            (s = aviary__w_copy_f32(ck, prefix, "ln_v.weight", p->out, &p->ln_w)) ||
            (s = aviary__w_copy_f32(ck, prefix, "ln_v.bias", p->out, &p->ln_b)))
            goto fail;
    } else if (w) {
        if (w->ndim != 2) {
            s = aviary_error(AVIARY_SHAPE, "%s: %sweight must be 2-D [n_embd, vision_dim]", file, prefix);
            goto fail;
        }
        p->in = (int)w->shape[1];
        p->out = (int)w->shape[0];
        if ((s = aviary_linear_create(w, NULL, &lp, &p->lin))) goto fail;
    } else {
        s = aviary_error(AVIARY_NOT_FOUND, "%s: no image projection (neither %sweight nor %sgate.weight)", file, prefix,
                         prefix);
        goto fail;
    }
    *out = p;
    return AVIARY_OK;
fail:
    aviary_vrwkv_proj_free(p);
    return s;
}

aviary_status aviary_vrwkv_proj_random(int in_dim, int out_dim, uint64_t seed, aviary_vrwkv_proj **out) {
    if (out) *out = NULL;
    if (!out || in_dim < 1 || out_dim < 1) return aviary_error(AVIARY_INVALID_ARG, "aviary_vrwkv_proj_random: bad size");
    aviary_tensor t;
    int64_t sh[2] = {out_dim, in_dim};
    aviary_status s = aviary_tensor_alloc(&t, AVIARY_F32, 2, sh);
    if (s) return s;
    float *f = t.data;
    uint64_t x = seed ? seed : 88172645463325252ULL;
    const float sc = 1.0f / sqrtf((float)in_dim);
    for (int64_t i = 0; i < (int64_t)out_dim * in_dim; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        f[i] = sc * ((float)(x >> 40) / 8388608.0f - 1.0f);
    }
    aviary_vrwkv_proj *p = calloc(1, sizeof *p);
    if (!p) s = aviary_error(AVIARY_NOMEM, "projection: out of memory");
    else {
        p->in = in_dim;
        p->out = out_dim;
        s = aviary_linear_create(&t, NULL, NULL, &p->lin);
    }
    aviary_tensor_free(&t);
    if (s) {
        aviary_vrwkv_proj_free(p);
        return s;
    }
    *out = p;
    return AVIARY_OK;
}

aviary_status aviary_vrwkv_proj_forward(const aviary_vrwkv_proj *p, const float *x, size_t n, float *y) {
    if (!p || (n && (!x || !y))) return aviary_error(AVIARY_INVALID_ARG, "aviary_vrwkv_proj_forward: NULL argument");
    if (n == 0) return AVIARY_OK;
    if (!p->gate) return aviary_linear_forward(p->lin, x, (int64_t)n, y);
    const size_t D = (size_t)p->in;
    float *g = malloc(n * D * sizeof(float));
    if (!g) return aviary_error(AVIARY_NOMEM, "projection: out of memory for %zu rows", n);
    aviary_status s = aviary_linear_forward(p->gate, x, (int64_t)n, g);
    if (!s) {
        aviary_sigmoid(g, n * D, g);
        aviary_mul(x, g, n * D, g);
        s = aviary_linear_forward(p->lin, g, (int64_t)n, y);
    }
    if (!s) aviary_layer_norm(y, n, (size_t)p->out, p->ln_w, p->ln_b, 1e-5f, y);
    free(g);
    return s;
}

/* ------------------------------------------------------------ prompt */

aviary_status aviary_vrwkv_layout_parse(const char *s, aviary_vrwkv_layout *out) {
    if (s && out && (!strcmp(s, "sandwich") || !strcmp(s, "middle"))) {
        *out = AVIARY_VRWKV_SANDWICH;
        return AVIARY_OK;
    }
    if (s && out && (!strcmp(s, "first") || !strcmp(s, "image-first"))) {
        *out = AVIARY_VRWKV_IMAGE_FIRST;
        return AVIARY_OK;
    }
    return aviary_error(AVIARY_INVALID_ARG, "unknown prompt layout '%s' (expected sandwich or first)", s ? s : "(null)");
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* Python's s.strip() then re.sub(r"\n(\s*\n)+", "\n", s), into a new string. */
static char *normalise(const char *s, size_t len) {
    while (len && is_space(*s)) s++, len--;
    while (len && is_space(s[len - 1])) len--;
    char *o = malloc(len + 1);
    if (!o) return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        if (s[i] == '\n') {
            /* find the longest "\n(\s*\n)+" starting here: last '\n' reachable through whitespace */
            size_t j = i + 1, last = i;
            while (j < len && is_space(s[j])) {
                if (s[j] == '\n') last = j;
                j++;
            }
            o[n++] = '\n';
            i = last + 1;
        } else {
            o[n++] = s[i++];
        }
    }
    o[n] = 0;
    return o;
}

/* Remove every occurrence of `pat` from s (in place). */
static void remove_all(char *s, const char *pat) {
    size_t lp = strlen(pat);
    char *p;
    while ((p = strstr(s, pat))) memmove(p, p + lp, strlen(p + lp) + 1);
}

static char *cat3(const char *a, const char *b, const char *c) {
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *o = malloc(la + lb + lc + 1);
    if (!o) return NULL;
    memcpy(o, a, la);
    memcpy(o + la, b, lb);
    memcpy(o + la + lb, c, lc + 1);
    return o;
}

aviary_status aviary_vrwkv_prompt_text(const char *question, aviary_vrwkv_layout layout, char **before, char **after,
                                       char **assistant) {
    if (before) *before = NULL;
    if (after) *after = NULL;
    if (assistant) *assistant = NULL;
    if (!question || !before || !after || !assistant)
        return aviary_error(AVIARY_INVALID_ARG, "aviary_vrwkv_prompt_text: NULL argument");
    /* the human turn is "<image>\n" + question (evaluate.py); the image token
     * is removed and the text normalised, then placed per layout */
    char *q0 = strdup(question);
    if (!q0) return aviary_error(AVIARY_NOMEM, "prompt: out of memory");
    remove_all(q0, "<image>");
    char *q = normalise(q0, strlen(q0));
    free(q0);
    if (!q) return aviary_error(AVIARY_NOMEM, "prompt: out of memory");
    if (!*q) {
        free(q);
        return aviary_error(AVIARY_INVALID_ARG, "the question is empty");
    }
    aviary_status s = AVIARY_OK;
    if (layout == AVIARY_VRWKV_SANDWICH) {
        /* get_all_human_conversation: without the GQA instruction, stripped, collapsed */
        char *a = strdup(q);
        char *all = NULL;
        if (a) {
            remove_all(a, "Answer the question using a single word or phrase.");
            all = normalise(a, strlen(a));
            free(a);
        }
        if (all) {
            *before = cat3("User: ", all, "\n");
            free(all);
        }
    } else {
        *before = strdup("User: ");
    }
    *after = cat3("\n", q, "\n\n");
    *assistant = strdup("Assistant:");
    free(q);
    if (!*before || !*after || !*assistant) {
        free(*before);
        free(*after);
        free(*assistant);
        *before = *after = *assistant = NULL;
        s = aviary_error(AVIARY_NOMEM, "prompt: out of memory");
    }
    return s;
}

aviary_status aviary_vrwkv_assemble(const aviary_model *m, const int32_t *before, size_t n_before, const float *image,
                                    size_t n_image, const int32_t *after, size_t n_after, float *x) {
    if (!m || !x || (n_before && !before) || (n_image && !image) || (n_after && !after))
        return aviary_error(AVIARY_INVALID_ARG, "aviary_vrwkv_assemble: NULL argument");
    const size_t C = (size_t)aviary_model_get_info(m)->n_embd;
    aviary_status s = aviary_model_embed(m, before, n_before, x);
    if (s) return s;
    if (n_image) memcpy(x + n_before * C, image, n_image * C * sizeof(float));
    return aviary_model_embed(m, after, n_after, x + (n_before + n_image) * C);
}

/* ------------------------------------------------------------ prefill */

/* Rows per forward_layer call in the prefill (matmul activations stay in
 * cache; one call over ~600 rows measured 3x slower than 256-row chunks). */
#define VRWKV_PREFILL_CHUNK 256

static void reverse_rows(float *x, size_t a, size_t b, size_t C, float *tmp) {
    if (b <= a + 1) return;
    for (size_t i = a, j = b - 1; i < j; i++, j--) {
        memcpy(tmp, x + i * C, C * sizeof(float));
        memcpy(x + i * C, x + j * C, C * sizeof(float));
        memcpy(x + j * C, tmp, C * sizeof(float));
    }
}

aviary_status aviary_vrwkv_prefill(const aviary_model *m, aviary_state *s, float *x, size_t T, size_t img_start,
                                   size_t img_end, float *block_outputs, float *logits) {
    if (!m || !s || !x || T == 0) return aviary_error(AVIARY_INVALID_ARG, "aviary_vrwkv_prefill: no input");
    const aviary_model_info *in = aviary_model_get_info(m);
    if (img_start > img_end || img_end > T)
        return aviary_error(AVIARY_INVALID_ARG, "aviary_vrwkv_prefill: image rows [%zu, %zu) outside [0, %zu)",
                            img_start, img_end, T);
    if (in->version == 7 && img_end > img_start + 1)
        return aviary_error(AVIARY_UNSUPPORTED, "VisualRWKV bidirectional prefill needs an RWKV-4/5/6 language model "
                            "(got RWKV-7)");
    const size_t C = (size_t)in->n_embd;
    float *tmp = malloc(C * sizeof(float));
    if (!tmp) return aviary_error(AVIARY_NOMEM, "prefill: out of memory");
    aviary_status st = AVIARY_OK;
    for (int l = 0; l < in->n_layer && !st; l++) {
        const bool flip = (l % 2) == 1;
        if (flip) reverse_rows(x, img_start, img_end, C, tmp);
        /* rows in chunks: the layer's state carries from chunk to chunk, so
         * this equals one call over all T rows, with smaller activations */
        const size_t chunk = VRWKV_PREFILL_CHUNK;
        for (size_t t0 = 0; t0 < T && !st; t0 += chunk)
            st = aviary_model_forward_layer(m, s, l, x + t0 * C, T - t0 < chunk ? T - t0 : chunk);
        if (flip) reverse_rows(x, img_start, img_end, C, tmp);
        if (!st && block_outputs) memcpy(block_outputs + (size_t)l * T * C, x, T * C * sizeof(float));
    }
    free(tmp);
    if (!st && logits) st = aviary_model_head(m, x + (T - 1) * C, 1, logits);
    return st;
}

/* ------------------------------------------------------------ bundle */

struct aviary_vrwkv {
    aviary_checkpoint *ck_lm, *ck_vis;  /* kept open: the LM may hold zero-copy views */
    aviary_model *lm;
    aviary_clip_vit *vit;
    aviary_vrwkv_proj *proj;
};

aviary_vrwkv_params aviary_vrwkv_default_params(void) {
    aviary_vrwkv_params p = {AVIARY_WEIGHTS_AUTO, 0, NULL, NULL};
    return p;
}

void aviary_vrwkv_free(aviary_vrwkv *v) {
    if (!v) return;
    aviary_model_free(v->lm);
    aviary_clip_vit_free(v->vit);
    aviary_vrwkv_proj_free(v->proj);
    aviary_checkpoint_close(v->ck_lm);
    aviary_checkpoint_close(v->ck_vis);
    free(v);
}

const aviary_model *aviary_vrwkv_lm(const aviary_vrwkv *v) { return v ? v->lm : NULL; }
const aviary_clip_vit *aviary_vrwkv_vision(const aviary_vrwkv *v) { return v ? v->vit : NULL; }
const aviary_vrwkv_proj *aviary_vrwkv_projection(const aviary_vrwkv *v) { return v ? v->proj : NULL; }
int aviary_vrwkv_image_tokens(const aviary_vrwkv *v) {
    return v && v->vit ? aviary_clip_vit_get_info(v->vit)->n_patches + 1 : 0;
}

/* The projection must map the vision width to the LM width. */
static aviary_status check_fit(const aviary_vrwkv *v, const char *what) {
    const int D = aviary_clip_vit_get_info(v->vit)->hidden, C = aviary_model_get_info(v->lm)->n_embd;
    if (v->proj->in != D || v->proj->out != C)
        return aviary_error(AVIARY_SHAPE, "%s: image projection maps %d -> %d, but the vision tower is %d wide and the "
                            "language model %d", what, v->proj->in, v->proj->out, D, C);
    return AVIARY_OK;
}

aviary_status aviary_vrwkv_load(const char *lm_path, const char *vision_path, const aviary_vrwkv_params *params,
                                aviary_vrwkv **out) {
    if (out) *out = NULL;
    if (!lm_path || !out) return aviary_error(AVIARY_INVALID_ARG, "aviary_vrwkv_load: NULL argument");
    aviary_vrwkv_params p = params ? *params : aviary_vrwkv_default_params();
    aviary_vrwkv *v = calloc(1, sizeof *v);
    if (!v) return aviary_error(AVIARY_NOMEM, "out of memory");
    aviary_status s = aviary_checkpoint_open(lm_path, &v->ck_lm);
    if (!s && vision_path) s = aviary_checkpoint_open(vision_path, &v->ck_vis);
    if (s) goto fail;
    const aviary_checkpoint *vis = v->ck_vis ? v->ck_vis : v->ck_lm;
    aviary_model_params mp = aviary_model_default_params();
    mp.weights = p.weights;
    mp.prefix = p.lm_prefix;
    if (!mp.prefix && aviary_checkpoint_find(v->ck_lm, "rwkv.emb.weight")) mp.prefix = "rwkv.";
    if ((s = aviary_model_load_checkpoint(v->ck_lm, &mp, &v->lm))) goto fail;
    aviary_clip_vit_params cp = aviary_clip_vit_default_params();
    cp.weights = p.weights;
    cp.n_head = p.vision_heads;
    if ((s = aviary_clip_vit_load_checkpoint(vis, &cp, &v->vit))) goto fail;
    const char *pp = p.proj_prefix ? p.proj_prefix : "proj.";
    const aviary_checkpoint *pck = vis;
    if (v->ck_vis && !aviary__w_lookup(v->ck_vis, pp, "weight") && !aviary__w_lookup(v->ck_vis, pp, "gate.weight"))
        pck = v->ck_lm;
    if ((s = aviary_vrwkv_proj_load(pck, pp, p.weights, &v->proj))) goto fail;
    if ((s = check_fit(v, aviary_checkpoint_path(pck)))) goto fail;
    *out = v;
    return AVIARY_OK;
fail:
    aviary_vrwkv_free(v);
    return s;
}

aviary_status aviary_vrwkv_random(const char *lm_spec, const char *clip_spec, uint64_t seed,
                                  aviary_weight_type weights, aviary_vrwkv **out) {
    if (out) *out = NULL;
    if (!lm_spec || !clip_spec || !out) return aviary_error(AVIARY_INVALID_ARG, "aviary_vrwkv_random: NULL argument");
    aviary_vrwkv *v = calloc(1, sizeof *v);
    if (!v) return aviary_error(AVIARY_NOMEM, "out of memory");
    aviary_model_params mp = aviary_model_default_params();
    mp.weights = weights;
    aviary_clip_vit_params cp = aviary_clip_vit_default_params();
    cp.weights = weights;
    aviary_status s = aviary_model_random(lm_spec, &mp, seed, &v->lm);
    if (!s) s = aviary_clip_vit_random(clip_spec, &cp, seed + 1, &v->vit);
    if (!s)
        s = aviary_vrwkv_proj_random(aviary_clip_vit_get_info(v->vit)->hidden, aviary_model_get_info(v->lm)->n_embd,
                                     seed + 2, &v->proj);
    if (s) {
        aviary_vrwkv_free(v);
        return s;
    }
    *out = v;
    return AVIARY_OK;
}

aviary_status aviary_vrwkv_encode_image(const aviary_vrwkv *v, const float *pixels, float *features, float *embeds) {
    if (!v || !pixels || !embeds) return aviary_error(AVIARY_INVALID_ARG, "aviary_vrwkv_encode_image: NULL argument");
    const aviary_clip_vit_info *vi = aviary_clip_vit_get_info(v->vit);
    const size_t n = (size_t)vi->n_patches + 1;
    float *f = features ? features : malloc(n * (size_t)vi->hidden * sizeof(float));
    if (!f) return aviary_error(AVIARY_NOMEM, "out of memory for the image features");
    aviary_status s = aviary_clip_vit_forward(v->vit, pixels, f);
    if (!s) {
        aviary_clip_vit_cls_last(f, vi->n_patches, vi->hidden);
        s = aviary_vrwkv_proj_forward(v->proj, f, n, embeds);
    }
    if (f != features) free(f);
    return s;
}
