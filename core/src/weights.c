/* weights.c - reading a model's weights out of a checkpoint (weights.h). */
#include "weights.h"
#include <stdarg.h>
#include <stdio.h>

float *aviary__f32s_alloc(aviary__f32s *l, size_t n) {
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        float **p = realloc(l->p, nc * sizeof *p);
        if (!p) return NULL;
        l->p = p;
        l->cap = nc;
    }
    float *b = malloc((n ? n : 1) * sizeof(float));
    if (b) l->p[l->n++] = b;
    return b;
}

void aviary__f32s_free(aviary__f32s *l) {
    for (size_t i = 0; i < l->n; i++) free(l->p[i]);
    free(l->p);
    l->p = NULL;
    l->n = l->cap = 0;
}

/* Declares `char name[200]` holding the printf-formatted `fmt` and the
 * function's variadic arguments (the tensor name without the prefix). */
#define FORMAT_NAME(name, fmt)                      \
    char name[200];                                 \
    do {                                            \
        va_list ap_;                                \
        va_start(ap_, fmt);                         \
        vsnprintf(name, sizeof name, fmt, ap_);     \
        va_end(ap_);                                \
    } while (0)

static const aviary_tensor *find_in(const aviary_checkpoint *ck, const char *prefix, const char *name) {
    char full[320];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    return aviary_checkpoint_find(ck, full);
}

static const aviary_tensor *find_name(const aviary__weights *W, const char *name) {
    return find_in(W->ck, W->prefix, name);
}

const aviary_tensor *aviary__w_lookup(const aviary_checkpoint *ck, const char *prefix, const char *fmt, ...) {
    FORMAT_NAME(name, fmt);
    return find_in(ck, prefix, name);
}

int aviary__w_count_in(const aviary_checkpoint *ck, const char *prefix, const char *fmt) {
    int n = 0;
    char name[200];
    for (; n < 100000; n++) {
        snprintf(name, sizeof name, fmt, n);
        if (!find_in(ck, prefix, name)) break;
    }
    return n;
}

const aviary_tensor *aviary__w_find(const aviary__weights *W, const char *fmt, ...) {
    FORMAT_NAME(name, fmt);
    return find_name(W, name);
}

static const aviary_tensor *need_name(aviary__weights *W, int64_t numel, const char *name) {
    if (W->st) return NULL;
    const aviary_tensor *t = find_name(W, name);
    const char *path = aviary_checkpoint_path(W->ck);
    if (!t) {
        W->st = aviary_error(AVIARY_NOT_FOUND, "%s: %s tensor '%s%s' is missing", path, W->family, W->prefix, name);
        return NULL;
    }
    if (numel >= 0 && aviary_tensor_numel(t) != numel) {
        char shp[96];
        W->st = aviary_error(AVIARY_SHAPE, "%s: '%s%s' has shape %s, expected %lld values", path, W->prefix, name,
                             aviary_tensor_shape_str(t, shp, sizeof shp), (long long)numel);
        return NULL;
    }
    return t;
}

const aviary_tensor *aviary__w_need(aviary__weights *W, int64_t numel, const char *fmt, ...) {
    FORMAT_NAME(name, fmt);
    return need_name(W, numel, name);
}

float *aviary__w_vec(aviary__weights *W, bool optional, int64_t numel, const char *fmt, ...) {
    if (W->st) return NULL;
    FORMAT_NAME(name, fmt);
    if (optional && !find_name(W, name)) return NULL;
    const aviary_tensor *t = need_name(W, numel, name);
    if (!t) return NULL;
    float *b = aviary__f32s_alloc(W->owned, (size_t)numel);
    if (!b) {
        W->st = aviary_error(AVIARY_NOMEM, "%s: out of memory loading '%s'", aviary_checkpoint_path(W->ck), name);
        return NULL;
    }
    aviary_status s = aviary_tensor_to_f32(t, b);
    if (s) W->st = s;
    return s ? NULL : b;
}

aviary_linear *aviary__w_lin_view(aviary__weights *W, const aviary_tensor *t, int64_t offset, int64_t rows,
                                  int64_t cols, bool transposed, const char *name) {
    if (W->st || !t) return NULL;
    if (!aviary_tensor_is_contiguous(t)) {
        W->st = aviary_error(AVIARY_UNSUPPORTED, "%s: '%s' is not stored contiguously", aviary_checkpoint_path(W->ck),
                             name);
        return NULL;
    }
    aviary_tensor v = *t;
    v.ndim = 2;
    v.shape[0] = rows;
    v.shape[1] = cols;
    aviary_tensor_set_contiguous(&v);
    v.data = (char *)t->data + (size_t)offset * aviary_dtype_size(t->dtype);
    v.owned = NULL;
    aviary_linear_params p = W->lp;
    p.transposed = transposed;
    aviary_linear *lin = NULL;
    aviary_status s = aviary_linear_create(&v, NULL, &p, &lin);
    if (s) {
        char msg[256]; /* aviary_errmsg() is rewritten by aviary_error */
        snprintf(msg, sizeof msg, "%s", aviary_errmsg());
        W->st = aviary_error(s, "%s: '%s': %s", aviary_checkpoint_path(W->ck), name, msg);
        return NULL;
    }
    return lin;
}

aviary_linear *aviary__w_lin(aviary__weights *W, int64_t out, int64_t in, const char *fmt, ...) {
    if (W->st) return NULL;
    FORMAT_NAME(name, fmt);
    const aviary_tensor *t = need_name(W, out * in, name);
    if (t && (t->ndim != 2 || t->shape[0] != out)) {
        char shp[96];
        W->st = aviary_error(AVIARY_SHAPE, "%s: '%s%s' has shape %s, expected [%lld, %lld]",
                             aviary_checkpoint_path(W->ck), W->prefix, name, aviary_tensor_shape_str(t, shp, sizeof shp),
                             (long long)out, (long long)in);
        return NULL;
    }
    return aviary__w_lin_view(W, t, 0, out, in, false, name);
}

int64_t aviary__w_dim(aviary__weights *W, int axis, const char *fmt, ...) {
    if (W->st) return 0;
    FORMAT_NAME(name, fmt);
    const aviary_tensor *t = need_name(W, -1, name);
    if (!t) return 0;
    if (t->ndim <= axis) {
        W->st = aviary_error(AVIARY_SHAPE, "%s: '%s%s' has %d dimensions, expected more than %d",
                             aviary_checkpoint_path(W->ck), W->prefix, name, t->ndim, axis);
        return 0;
    }
    return t->shape[axis];
}

int aviary__w_count(const aviary__weights *W, const char *fmt) { return aviary__w_count_in(W->ck, W->prefix, fmt); }

aviary_status aviary__w_linear_bias(const aviary_checkpoint *ck, const char *prefix, const char *key, int64_t out,
                                    int64_t in, const aviary_linear_params *lp, aviary_linear **lin, int64_t dims[2]) {
    char wn[256], bn[256];
    snprintf(wn, sizeof wn, "%s%s.weight", prefix, key);
    snprintf(bn, sizeof bn, "%s%s.bias", prefix, key);
    const aviary_tensor *w, *b;
    aviary_status s;
    if ((s = aviary_checkpoint_get(ck, wn, &w)) || (s = aviary_checkpoint_get(ck, bn, &b))) return s;
    char shp[96];
    if (w->ndim != 2 || w->shape[0] <= 0 || w->shape[1] <= 0 || (out > 0 && w->shape[0] != out) ||
        (in > 0 && w->shape[1] != in)) {
        if (out <= 0 && in <= 0)
            return aviary_error(AVIARY_SHAPE, "%s: %s has shape %s, expected a 2-D weight", aviary_checkpoint_path(ck),
                                wn, aviary_tensor_shape_str(w, shp, sizeof shp));
        return aviary_error(AVIARY_SHAPE, "%s: %s has shape %s, expected [%lld, %lld]", aviary_checkpoint_path(ck), wn,
                            aviary_tensor_shape_str(w, shp, sizeof shp), (long long)out, (long long)in);
    }
    if (aviary_tensor_numel(b) != w->shape[0])
        return aviary_error(AVIARY_SHAPE, "%s: %s has shape %s, expected [%lld]", aviary_checkpoint_path(ck), bn,
                            aviary_tensor_shape_str(b, shp, sizeof shp), (long long)w->shape[0]);
    if ((s = aviary_linear_create(w, b, lp, lin))) return s;
    if (dims) {
        dims[0] = w->shape[0];
        dims[1] = w->shape[1];
    }
    return AVIARY_OK;
}

aviary_status aviary__w_copy_f32(const aviary_checkpoint *ck, const char *prefix, const char *key, int64_t n,
                                 float **out) {
    char name[256];
    snprintf(name, sizeof name, "%s%s", prefix, key);
    const aviary_tensor *t;
    aviary_status s = aviary_checkpoint_get(ck, name, &t);
    if (s) return s;
    if (aviary_tensor_numel(t) != n) {
        char shp[96];
        return aviary_error(AVIARY_SHAPE, "%s: %s has shape %s, expected %lld elements", aviary_checkpoint_path(ck),
                            name, aviary_tensor_shape_str(t, shp, sizeof shp), (long long)n);
    }
    float *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    if (!v) return aviary_error(AVIARY_NOMEM, "%s: out of memory", name);
    s = aviary_tensor_to_f32(t, v);
    if (s) {
        free(v);
        return s;
    }
    *out = v;
    return AVIARY_OK;
}
