/*
 * clip_vit.c - CLIP ViT vision tower (aviary_clip_vit.h).
 *
 * Weights: every matrix is an aviary_linear (the patch conv too, as a [D,
 * 3*p*p] matrix over unfolded patches, since stride == kernel); small vectors
 * are owned f32 copies. Attention scores are a tight loop with OpenMP over
 * heads (T x T per head is small next to the projections).
 */
#include "internal.h"
#include "aviary/aviary_blocks.h"
#include "aviary/aviary_clip_vit.h"
#include <math.h>
#include <stdio.h>

#define CLIP_LN_EPS 1e-5f

typedef struct vit_layer {
    float *ln1_w, *ln1_b, *ln2_w, *ln2_b;
    aviary_linear *q, *k, *v, *o, *fc1, *fc2;
} vit_layer;

struct aviary_clip_vit {
    aviary_clip_vit_info info;
    aviary_linear *patch;     /* [D, 3*p*p] */
    float *cls, *pos;         /* [D], [P+1, D] */
    float *pre_w, *pre_b;     /* pre_layrnorm */
    vit_layer *layers;
};

aviary_clip_vit_params aviary_clip_vit_default_params(void) {
    aviary_clip_vit_params p = {AVIARY_WEIGHTS_AUTO, 0, NULL};
    return p;
}

const aviary_clip_vit_info *aviary_clip_vit_get_info(const aviary_clip_vit *v) { return v ? &v->info : NULL; }

void aviary_clip_vit_free(aviary_clip_vit *v) {
    if (!v) return;
    aviary_linear_free(v->patch);
    free(v->cls);
    free(v->pos);
    free(v->pre_w);
    free(v->pre_b);
    for (int i = 0; v->layers && i < v->info.n_layer; i++) {
        vit_layer *l = &v->layers[i];
        free(l->ln1_w); free(l->ln1_b); free(l->ln2_w); free(l->ln2_b);
        aviary_linear_free(l->q); aviary_linear_free(l->k); aviary_linear_free(l->v);
        aviary_linear_free(l->o); aviary_linear_free(l->fc1); aviary_linear_free(l->fc2);
    }
    free(v->layers);
    free(v);
}

/* Where the tensors come from: a checkpoint, or (random model) a generator. */
typedef struct src {
    const aviary_checkpoint *ck;
    const char *file;
    char prefix[160];
    aviary_weight_type wt;
    uint64_t seed;            /* random model when ck == NULL */
} src;

static float rnd(uint64_t *s) { /* xorshift64*, uniform in [-1, 1) */
    *s ^= *s >> 12; *s ^= *s << 25; *s ^= *s >> 27;
    return (float)((double)((*s * 2685821657736338717ULL) >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* Tensor `name` (after the prefix) with the expected shape (d1 = -1: 1-D).
 * For a random model, an owned tensor of that shape scaled by `scale`
 * (caller frees tmp). */
static aviary_status get(src *S, const char *name, int64_t d0, int64_t d1, float scale, aviary_tensor *tmp,
                         const aviary_tensor **out) {
    char key[320];
    snprintf(key, sizeof key, "%s%s", S->prefix, name);
    memset(tmp, 0, sizeof *tmp);
    if (!S->ck) {
        int64_t sh[2] = {d0, d1};
        aviary_status s = aviary_tensor_alloc(tmp, AVIARY_F32, d1 < 0 ? 1 : 2, sh);
        if (s) return s;
        float *f = tmp->data;
        int64_t n = aviary_tensor_numel(tmp);
        for (int64_t i = 0; i < n; i++) f[i] = scale * rnd(&S->seed);
        *out = tmp;
        return AVIARY_OK;
    }
    const aviary_tensor *t = aviary_checkpoint_find(S->ck, key);
    if (!t) return aviary_error(AVIARY_NOT_FOUND, "%s: CLIP vision tower: missing tensor '%s'", S->file, key);
    bool ok = d1 < 0 ? (t->ndim == 1 && t->shape[0] == d0) : (t->ndim == 2 && t->shape[0] == d0 && t->shape[1] == d1);
    if (!ok) {
        char b[96], want[64];
        if (d1 < 0) snprintf(want, sizeof want, "[%lld]", (long long)d0);
        else snprintf(want, sizeof want, "[%lld, %lld]", (long long)d0, (long long)d1);
        return aviary_error(AVIARY_SHAPE, "%s: CLIP vision tower: '%s' has shape %s, expected %s", S->file, key,
                            aviary_tensor_shape_str(t, b, sizeof b), want);
    }
    *out = t;
    return AVIARY_OK;
}

static aviary_status get_vec(src *S, const char *name, int64_t n, float base, float **out) {
    aviary_tensor tmp;
    const aviary_tensor *t;
    aviary_status s = get(S, name, n, -1, 0.02f, &tmp, &t);
    if (s) return s;
    *out = malloc((size_t)n * sizeof(float));
    if (!*out) s = aviary_error(AVIARY_NOMEM, "CLIP vision tower: out of memory");
    else s = aviary_tensor_to_f32(t, *out);
    if (!s && !S->ck)
        for (int64_t i = 0; i < n; i++) (*out)[i] += base;
    aviary_tensor_free(&tmp);
    return s;
}

static aviary_status get_lin(src *S, const char *wname, const char *bname, int64_t out, int64_t in,
                             aviary_linear **lin) {
    aviary_tensor tw, tb;
    const aviary_tensor *w, *b = NULL;
    float sc = 1.0f / sqrtf((float)in);
    aviary_status s = get(S, wname, out, in, sc, &tw, &w);
    if (s) return s;
    if (bname && (s = get(S, bname, out, -1, 0.02f, &tb, &b))) {
        aviary_tensor_free(&tw);
        return s;
    }
    aviary_linear_params lp = aviary_linear_default_params();
    lp.weights = S->wt;
    s = aviary_linear_create(w, b, &lp, lin);
    aviary_tensor_free(&tw);
    if (bname) aviary_tensor_free(&tb);
    return s;
}

static aviary_status load_layer(src *S, aviary_clip_vit *v, int i) {
    const int64_t D = v->info.hidden, I = v->info.intermediate;
    vit_layer *l = &v->layers[i];
    char w[128], b[128];
    aviary_status s;
#define LNAME(field, key) \
    snprintf(w, sizeof w, "encoder.layers.%d.%s.weight", i, key); \
    snprintf(b, sizeof b, "encoder.layers.%d.%s.bias", i, key);   \
    if ((s = get_vec(S, w, D, 1.0f, &l->field##_w)) || (s = get_vec(S, b, D, 0.0f, &l->field##_b))) return s;
    LNAME(ln1, "layer_norm1")
    LNAME(ln2, "layer_norm2")
#undef LNAME
#define LIN(field, key, o, n)                                     \
    snprintf(w, sizeof w, "encoder.layers.%d.%s.weight", i, key); \
    snprintf(b, sizeof b, "encoder.layers.%d.%s.bias", i, key);   \
    if ((s = get_lin(S, w, b, o, n, &l->field))) return s;
    LIN(q, "self_attn.q_proj", D, D)
    LIN(k, "self_attn.k_proj", D, D)
    LIN(v, "self_attn.v_proj", D, D)
    LIN(o, "self_attn.out_proj", D, D)
    LIN(fc1, "mlp.fc1", I, D)
    LIN(fc2, "mlp.fc2", D, I)
#undef LIN
    return AVIARY_OK;
}

static aviary_status build(src *S, const aviary_clip_vit_params *p, aviary_clip_vit *v) {
    aviary_clip_vit_info *in = &v->info;
    const int64_t D = in->hidden, pp = in->patch_size;
    if (in->image_size % in->patch_size)
        return aviary_error(AVIARY_SHAPE, "%s: CLIP vision tower: %d position embeddings do not fit patch size %d",
                            S->file, in->n_patches + 1, in->patch_size);
    in->n_head = p->n_head > 0 ? p->n_head : (int)(D / 64 > 0 ? D / 64 : 1);
    if (D % in->n_head)
        return aviary_error(AVIARY_SHAPE, "%s: CLIP vision tower: hidden size %lld is not divisible by %d heads",
                            S->file, (long long)D, in->n_head);
    aviary_status s;
    /* patch conv [D, 3, p, p] viewed as [D, 3*p*p] (row-major c, ky, kx = the unfold order) */
    aviary_tensor tmp;
    const aviary_tensor *t;
    char key[320];
    if (S->ck) {
        snprintf(key, sizeof key, "%sembeddings.patch_embedding.weight", S->prefix);
        t = aviary_checkpoint_find(S->ck, key);
        if (!t) return aviary_error(AVIARY_NOT_FOUND, "%s: CLIP vision tower: missing tensor '%s'", S->file, key);
        if (t->ndim != 4 || t->shape[0] != D || t->shape[1] != 3 || t->shape[2] != pp || t->shape[3] != pp ||
            !aviary_tensor_is_contiguous(t))
            return aviary_error(AVIARY_SHAPE, "%s: '%s': expected a contiguous [%lld, 3, %lld, %lld] conv weight",
                                S->file, key, (long long)D, (long long)pp, (long long)pp);
        aviary_tensor w2 = *t;
        w2.ndim = 2;
        w2.shape[1] = 3 * pp * pp;
        aviary_tensor_set_contiguous(&w2);
        w2.owned = NULL;
        aviary_linear_params lp = aviary_linear_default_params();
        lp.weights = S->wt;
        if ((s = aviary_linear_create(&w2, NULL, &lp, &v->patch))) return s;
    } else if ((s = get_lin(S, "embeddings.patch_embedding.weight", NULL, D, 3 * pp * pp, &v->patch))) {
        return s;
    }
    if ((s = get_vec(S, "embeddings.class_embedding", D, 0.0f, &v->cls))) return s;
    {
        const int64_t n = (int64_t)(in->n_patches + 1);
        if ((s = get(S, "embeddings.position_embedding.weight", n, D, 0.02f, &tmp, &t))) return s;
        v->pos = malloc((size_t)(n * D) * sizeof(float));
        if (!v->pos) s = aviary_error(AVIARY_NOMEM, "CLIP vision tower: out of memory");
        else s = aviary_tensor_to_f32(t, v->pos);
        aviary_tensor_free(&tmp);
        if (s) return s;
    }
    if ((s = get_vec(S, "pre_layrnorm.weight", D, 1.0f, &v->pre_w)) ||
        (s = get_vec(S, "pre_layrnorm.bias", D, 0.0f, &v->pre_b)))
        return s;
    v->layers = calloc((size_t)in->n_layer, sizeof *v->layers);
    if (!v->layers) return aviary_error(AVIARY_NOMEM, "CLIP vision tower: out of memory");
    for (int i = 0; i < in->n_layer; i++)
        if ((s = load_layer(S, v, i))) return s;
    uint64_t bytes = aviary_linear_bytes(v->patch);
    for (int i = 0; i < in->n_layer; i++) {
        vit_layer *l = &v->layers[i];
        bytes += aviary_linear_bytes(l->q) + aviary_linear_bytes(l->k) + aviary_linear_bytes(l->v) +
                 aviary_linear_bytes(l->o) + aviary_linear_bytes(l->fc1) + aviary_linear_bytes(l->fc2);
    }
    in->weight_bytes = bytes;
    return AVIARY_OK;
}

aviary_status aviary_clip_vit_load_checkpoint(const aviary_checkpoint *ck, const aviary_clip_vit_params *params,
                                              aviary_clip_vit **out) {
    if (out) *out = NULL;
    if (!ck || !out) return aviary_error(AVIARY_INVALID_ARG, "aviary_clip_vit_load_checkpoint: NULL argument");
    aviary_clip_vit_params p = params ? *params : aviary_clip_vit_default_params();
    src S = {ck, aviary_checkpoint_path(ck), "", p.weights, 0};
    static const char anchor[] = "vision_model.embeddings.class_embedding";
    if (p.prefix) {
        snprintf(S.prefix, sizeof S.prefix, "%svision_model.", p.prefix);
    } else {
        bool found = false;
        for (size_t i = 0; i < aviary_checkpoint_count(ck) && !found; i++) {
            const char *nm = aviary_checkpoint_at(ck, i)->name;
            size_t ln = nm ? strlen(nm) : 0, la = sizeof anchor - 1;
            if (ln >= la && !strcmp(nm + ln - la, anchor) && ln - la < 128) {
                snprintf(S.prefix, sizeof S.prefix, "%.*svision_model.", (int)(ln - la), nm);
                found = true;
            }
        }
        if (!found)
            return aviary_error(AVIARY_NOT_FOUND,
                                "%s: no CLIP vision tower in this checkpoint (no key ending in '%s')", S.file, anchor);
    }
    /* sizes from shapes */
    char key[320];
    snprintf(key, sizeof key, "%sembeddings.patch_embedding.weight", S.prefix);
    const aviary_tensor *pw = aviary_checkpoint_find(ck, key);
    snprintf(key, sizeof key, "%sembeddings.position_embedding.weight", S.prefix);
    const aviary_tensor *pe = aviary_checkpoint_find(ck, key);
    snprintf(key, sizeof key, "%sencoder.layers.0.mlp.fc1.weight", S.prefix);
    const aviary_tensor *f1 = aviary_checkpoint_find(ck, key);
    if (!pw || !pe || !f1)
        return aviary_error(AVIARY_NOT_FOUND, "%s: CLIP vision tower: missing %sembeddings.patch_embedding, "
                            "position_embedding or encoder.layers.0.mlp.fc1", S.file, S.prefix);
    if (pw->ndim != 4 || pe->ndim != 2 || f1->ndim != 2 || pw->shape[2] != pw->shape[3] || pw->shape[2] < 1)
        return aviary_error(AVIARY_SHAPE, "%s: CLIP vision tower: unexpected patch/position embedding shapes", S.file);
    aviary_clip_vit *v = calloc(1, sizeof *v);
    if (!v) return aviary_error(AVIARY_NOMEM, "CLIP vision tower: out of memory");
    aviary_clip_vit_info *in = &v->info;
    in->hidden = (int)pw->shape[0];
    in->patch_size = (int)pw->shape[2];
    in->n_patches = (int)pe->shape[0] - 1;
    in->intermediate = (int)f1->shape[0];
    int g = (int)lround(sqrt((double)in->n_patches));
    in->image_size = g * in->patch_size;
    while (in->n_layer < 4096) {
        snprintf(key, sizeof key, "%sencoder.layers.%d.mlp.fc1.weight", S.prefix, in->n_layer);
        if (!aviary_checkpoint_find(ck, key)) break;
        in->n_layer++;
    }
    aviary_status s = AVIARY_OK;
    if (g * g != in->n_patches || pe->shape[1] != in->hidden)
        s = aviary_error(AVIARY_SHAPE, "%s: CLIP vision tower: position embedding %lldx%lld is not a square grid + CLS "
                         "of width %d", S.file, (long long)pe->shape[0], (long long)pe->shape[1], in->hidden);
    if (!s) s = build(&S, &p, v);
    if (s) {
        aviary_clip_vit_free(v);
        return s;
    }
    *out = v;
    return AVIARY_OK;
}

aviary_status aviary_clip_vit_load(const char *path, const aviary_clip_vit_params *params, aviary_clip_vit **out) {
    if (out) *out = NULL;
    aviary_checkpoint *ck = NULL;
    aviary_status s = aviary_checkpoint_open(path, &ck);
    if (s) return s;
    s = aviary_clip_vit_load_checkpoint(ck, params, out);
    aviary_checkpoint_close(ck);
    return s;
}

aviary_status aviary_clip_vit_random(const char *spec, const aviary_clip_vit_params *params, uint64_t seed,
                                     aviary_clip_vit **out) {
    if (out) *out = NULL;
    if (!spec || !out) return aviary_error(AVIARY_INVALID_ARG, "aviary_clip_vit_random: NULL argument");
    int S_ = 0, P = 0, D = 0, L = 0, end = 0;
    if (sscanf(spec, "clip%d:P%d:D%d:L%d%n", &S_, &P, &D, &L, &end) != 4 || spec[end] || S_ < 1 || P < 1 ||
        S_ % P || D < 1 || D > 8192 || L < 1 || L > 256 || S_ / P > 256)
        return aviary_error(AVIARY_INVALID_ARG, "bad CLIP shape '%s' (want clipS:P<patch>:D<hidden>:L<layers>, e.g. "
                            "clip336:P14:D1024:L24)", spec);
    aviary_clip_vit_params p = params ? *params : aviary_clip_vit_default_params();
    aviary_clip_vit *v = calloc(1, sizeof *v);
    if (!v) return aviary_error(AVIARY_NOMEM, "CLIP vision tower: out of memory");
    v->info.image_size = S_;
    v->info.patch_size = P;
    v->info.n_patches = (S_ / P) * (S_ / P);
    v->info.hidden = D;
    v->info.intermediate = 4 * D;
    v->info.n_layer = L;
    src S = {NULL, "random", "", p.weights == AVIARY_WEIGHTS_AUTO ? AVIARY_WEIGHTS_F32 : p.weights,
             seed ? seed : 0x9E3779B97F4A7C15ULL};
    aviary_status s = build(&S, &p, v);
    if (s) {
        aviary_clip_vit_free(v);
        return s;
    }
    *out = v;
    return AVIARY_OK;
}

const float aviary_clip_mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
const float aviary_clip_std[3] = {0.26862954f, 0.26130258f, 0.27577711f};

aviary_status aviary_clip_preprocess(const aviary_image *img, int size, int crop, const float mean[3],
                                     const float std[3], float *chw, aviary_image *resized) {
    if (!img || !img->rgb || !chw || size < 1 || crop < 1 || !mean || !std)
        return aviary_error(AVIARY_INVALID_ARG, "aviary_clip_preprocess: bad argument");
    int w = 0, h = 0;
    aviary_image_short_side_size(img->width, img->height, size, &w, &h);
    aviary_image r = {0};
    aviary_status s = aviary_image_resize_bicubic(img, w, h, &r);
    if (s) return s;
    /* HF center_crop: top = (h - crop) // 2 (floor, also when negative: the
     * image is then padded with zeros around) */
    const int top = (r.height - crop) >= 0 ? (r.height - crop) / 2 : -((crop - r.height + 1) / 2);
    const int left = (r.width - crop) >= 0 ? (r.width - crop) / 2 : -((crop - r.width + 1) / 2);
    const double inv255 = 1.0 / 255.0;
    for (int c = 0; c < 3; c++) {
        const float m = mean[c], sd = std[c];
        for (int y = 0; y < crop; y++)
            for (int x = 0; x < crop; x++) {
                const int sy = y + top, sx = x + left;
                const uint8_t u = (sy >= 0 && sy < r.height && sx >= 0 && sx < r.width)
                                      ? r.rgb[((size_t)sy * (size_t)r.width + (size_t)sx) * 3 + (size_t)c]
                                      : 0;
                const float v = (float)((double)u * inv255);
                chw[((size_t)c * (size_t)crop + (size_t)y) * (size_t)crop + (size_t)x] = (v - m) / sd;
            }
    }
    if (resized) *resized = r;
    else aviary_image_free(&r);
    return AVIARY_OK;
}

void aviary_clip_vit_cls_last(float *hidden, int n_patches, int dim) {
    if (!hidden || n_patches < 1 || dim < 1) return;
    const size_t D = (size_t)dim;
    float *cls = malloc(D * sizeof(float));
    if (cls) {
        memcpy(cls, hidden, D * sizeof(float));
        memmove(hidden, hidden + D, (size_t)n_patches * D * sizeof(float));
        memcpy(hidden + (size_t)n_patches * D, cls, D * sizeof(float));
        free(cls);
        return;
    }
    /* no memory for one row: rotate element by element */
    for (size_t c = 0; c < D; c++) {
        float t = hidden[c];
        for (int r = 0; r < n_patches; r++) hidden[(size_t)r * D + c] = hidden[(size_t)(r + 1) * D + c];
        hidden[(size_t)n_patches * D + c] = t;
    }
}

/* Multi-head softmax attention: out[T, D] from q (already scaled), k, v [T, D].
 * kt: scratch [D, T] (k transposed, so the score loop runs over contiguous
 * keys); sc: scratch [H, ATT_ROWS, T]. Query rows go in blocks of ATT_ROWS so
 * that each key / value row loaded serves several queries. Compiled for
 * AVX-512 and AVX2 as well (GCC picks at run time); the project builds for
 * baseline x86-64 otherwise. */
#define ATT_ROWS 4
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
static void attention(const float *q, const float *k, const float *v, int T, int D, int H, float *kt, float *sc,
                      float *out) {
    const int hd = D / H;
    for (int t = 0; t < T; t++)
        for (int c = 0; c < D; c++) kt[(size_t)c * T + t] = k[(size_t)t * D + c];
#pragma omp parallel for schedule(dynamic, 1)
    for (int h = 0; h < H; h++) {
        float *s = sc + (size_t)h * ATT_ROWS * T;
        for (int i0 = 0; i0 < T; i0 += ATT_ROWS) {
            const int nr = T - i0 < ATT_ROWS ? T - i0 : ATT_ROWS;
            for (int j = 0; j < ATT_ROWS * T; j++) s[j] = 0.0f;
            for (int d = 0; d < hd; d++) {
                const float *kr = kt + (size_t)(h * hd + d) * T;
                if (nr == ATT_ROWS) {
                    const float q0 = q[(size_t)i0 * D + h * hd + d], q1 = q[(size_t)(i0 + 1) * D + h * hd + d];
                    const float q2 = q[(size_t)(i0 + 2) * D + h * hd + d], q3 = q[(size_t)(i0 + 3) * D + h * hd + d];
                    float *s0 = s, *s1 = s + T, *s2 = s + 2 * T, *s3 = s + 3 * T;
                    for (int j = 0; j < T; j++) {
                        const float kj = kr[j];
                        s0[j] += q0 * kj;
                        s1[j] += q1 * kj;
                        s2[j] += q2 * kj;
                        s3[j] += q3 * kj;
                    }
                } else {
                    for (int r = 0; r < nr; r++) {
                        const float qd = q[(size_t)(i0 + r) * D + h * hd + d];
                        float *sr = s + (size_t)r * T;
                        for (int j = 0; j < T; j++) sr[j] += qd * kr[j];
                    }
                }
            }
            for (int r = 0; r < nr; r++) {
                float *sr = s + (size_t)r * T;
                float mx = sr[0];
                for (int j = 1; j < T; j++) mx = sr[j] > mx ? sr[j] : mx;
                float sum = 0.0f;
                for (int j = 0; j < T; j++) {
                    sr[j] = expf(sr[j] - mx);
                    sum += sr[j];
                }
                const float inv = 1.0f / sum;
                for (int j = 0; j < T; j++) sr[j] *= inv;
                float *o = out + (size_t)(i0 + r) * D + h * hd;
                for (int d = 0; d < hd; d++) o[d] = 0.0f;
            }
            for (int j = 0; j < T; j++) {
                const float *vj = v + (size_t)j * D + h * hd;
                for (int r = 0; r < nr; r++) {
                    const float pj = s[(size_t)r * T + j];
                    float *o = out + (size_t)(i0 + r) * D + h * hd;
                    for (int d = 0; d < hd; d++) o[d] += pj * vj[d];
                }
            }
        }
    }
}

aviary_status aviary_clip_vit_forward(const aviary_clip_vit *v, const float *pixels, float *hidden) {
    if (!v || !pixels || !hidden) return aviary_error(AVIARY_INVALID_ARG, "aviary_clip_vit_forward: NULL argument");
    const aviary_clip_vit_info *in = &v->info;
    const int S = in->image_size, p = in->patch_size, g = S / p, P = in->n_patches, T = P + 1;
    const int D = in->hidden, I = in->intermediate, H = in->n_head;
    const size_t K = (size_t)3 * p * p;
    size_t big = (size_t)T * (size_t)(I > D ? I : D);
    if (big < (size_t)P * K) big = (size_t)P * K;
    /* one block: h [T,D], q, k, v, att [T,D], kt [D,T], scores [H,T], big [T, max(I, D, 3pp)] */
    size_t TD = (size_t)T * D;
    size_t total = 6 * TD + (size_t)H * ATT_ROWS * T + big;
    float *buf = aviary__alloc_aligned(total * sizeof(float));
    if (!buf) return aviary_error(AVIARY_NOMEM, "CLIP vision tower: out of memory for %d tokens", T);
    float *h = buf, *q = h + TD, *k = q + TD, *vv = k + TD, *att = vv + TD, *kt = att + TD, *sc = kt + TD,
          *mid = sc + (size_t)H * ATT_ROWS * T;
    aviary_status s;
    /* unfold patches row-major: row r = (gy, gx), columns (c, ky, kx) */
    for (int gy = 0; gy < g; gy++)
        for (int gx = 0; gx < g; gx++) {
            float *row = mid + (size_t)(gy * g + gx) * K;
            for (int c = 0; c < 3; c++)
                for (int ky = 0; ky < p; ky++)
                    memcpy(row + ((size_t)c * p + ky) * p,
                           pixels + ((size_t)c * S + (size_t)(gy * p + ky)) * S + (size_t)gx * p, (size_t)p * sizeof(float));
        }
    if ((s = aviary_linear_forward(v->patch, mid, P, hidden + D))) goto done;
    memcpy(hidden, v->cls, (size_t)D * sizeof(float));
    aviary_add(hidden, v->pos, TD, hidden);
    aviary_layer_norm(hidden, (size_t)T, (size_t)D, v->pre_w, v->pre_b, CLIP_LN_EPS, hidden);
    const float scale = 1.0f / sqrtf((float)(D / H));
    for (int li = 0; li < in->n_layer; li++) {
        const vit_layer *l = &v->layers[li];
        aviary_layer_norm(hidden, (size_t)T, (size_t)D, l->ln1_w, l->ln1_b, CLIP_LN_EPS, h);
        if ((s = aviary_linear_forward(l->q, h, T, q)) || (s = aviary_linear_forward(l->k, h, T, k)) ||
            (s = aviary_linear_forward(l->v, h, T, vv)))
            goto done;
        for (size_t i = 0; i < TD; i++) q[i] *= scale;
        attention(q, k, vv, T, D, H, kt, sc, att);
        if ((s = aviary_linear_forward(l->o, att, T, h))) goto done;
        aviary_add(hidden, h, TD, hidden);
        aviary_layer_norm(hidden, (size_t)T, (size_t)D, l->ln2_w, l->ln2_b, CLIP_LN_EPS, h);
        if ((s = aviary_linear_forward(l->fc1, h, T, mid))) goto done;
        const size_t TI = (size_t)T * I;
        for (size_t i = 0; i < TI; i++) mid[i] = mid[i] / (1.0f + expf(-1.702f * mid[i]));
        if ((s = aviary_linear_forward(l->fc2, mid, T, h))) goto done;
        aviary_add(hidden, h, TD, hidden);
    }
done:
    aviary__free_aligned(buf);
    return s;
}
