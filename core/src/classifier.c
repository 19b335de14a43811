/* classifier.c - mmcls classification heads, softmax, top-k, label files
 * (aviary_classifier.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include "aviary/aviary_blocks.h"
#include "aviary/aviary_classifier.h"
#include "internal.h"

struct aviary_classifier {
    aviary_linear *pre, *fc; /* pre == NULL for the plain linear head */
    int64_t in, hidden, classes;
};

static aviary_status make_linear(const aviary_checkpoint *ck, const char *prefix, const char *name,
                                 aviary_weight_type wt, aviary_linear **out) {
    char wk[256], bk[256];
    const char *dot = name[0] ? "." : "";
    snprintf(wk, sizeof wk, "%s%s%sweight", prefix, name, dot);
    snprintf(bk, sizeof bk, "%s%s%sbias", prefix, name, dot);
    const aviary_tensor *w = NULL;
    aviary_status s = aviary_checkpoint_get(ck, wk, &w);
    if (s) return s;
    const aviary_tensor *b = aviary_checkpoint_find(ck, bk);
    if (w->ndim != 2 || (b && (b->ndim != 1 || b->shape[0] != w->shape[0]))) {
        char shp[96];
        return aviary_error(AVIARY_SHAPE, "%s: '%s' has shape %s, expected [classes, features] (and a matching bias)",
                            aviary_checkpoint_path(ck), wk, aviary_tensor_shape_str(w, shp, sizeof shp));
    }
    aviary_linear_params p = aviary_linear_default_params();
    p.weights = wt;
    s = aviary_linear_create(w, b, &p, out);
    if (s) return aviary_error(s, "%s: '%s': %s", aviary_checkpoint_path(ck), wk, aviary_errmsg());
    return AVIARY_OK;
}

aviary_status aviary_classifier_load(const aviary_checkpoint *ck, const char *prefix, aviary_weight_type weights,
                                     aviary_classifier **out) {
    *out = NULL;
    if (!prefix) prefix = "head.";
    aviary_classifier *h = calloc(1, sizeof *h);
    if (!h) return aviary_error(AVIARY_NOMEM, "out of memory");
    char key[256];
    aviary_status s;
    /* the layouts, by their weight names under the prefix */
    static const char *const layouts[4][2] = {
        {"fc", NULL},                                 /* mmcls LinearClsHead */
        {"layers.pre_logits", "layers.head"},         /* mmcls VisionTransformerClsHead(hidden_dim) */
        {"0", "2"},                                   /* nn.Sequential(Linear, Tanh, Linear) (InternImage codebase, VRWKV-L) */
        {"", NULL},                                   /* a bare nn.Linear named by the prefix */
    };
    int which = -1;
    for (int i = 0; i < 4 && which < 0; i++) {
        snprintf(key, sizeof key, "%s%s%sweight", prefix, layouts[i][0], layouts[i][0][0] ? "." : "");
        if (aviary_checkpoint_find(ck, key)) which = i;
    }
    if (which < 0) {
        free(h);
        return aviary_error(AVIARY_NOT_FOUND,
                            "%s: no classification head ('%sfc.weight', '%slayers.pre_logits.weight', '%s0.weight' or "
                            "'%sweight')", aviary_checkpoint_path(ck), prefix, prefix, prefix, prefix);
    }
    if (!layouts[which][1]) {
        s = make_linear(ck, prefix, layouts[which][0], weights, &h->fc);
    } else {
        s = make_linear(ck, prefix, layouts[which][0], weights, &h->pre);
        if (!s) s = make_linear(ck, prefix, layouts[which][1], weights, &h->fc);
        if (!s && aviary_linear_in(h->fc) != aviary_linear_out(h->pre))
            s = aviary_error(AVIARY_SHAPE, "%s: head hidden sizes disagree (%lld vs %lld)", aviary_checkpoint_path(ck),
                             (long long)aviary_linear_out(h->pre), (long long)aviary_linear_in(h->fc));
    }
    if (s) {
        aviary_classifier_free(h);
        return s;
    }
    h->in = aviary_linear_in(h->pre ? h->pre : h->fc);
    h->hidden = h->pre ? aviary_linear_out(h->pre) : 0;
    h->classes = aviary_linear_out(h->fc);
    *out = h;
    return AVIARY_OK;
}

void aviary_classifier_free(aviary_classifier *h) {
    if (!h) return;
    aviary_linear_free(h->pre);
    aviary_linear_free(h->fc);
    free(h);
}

int64_t aviary_classifier_in(const aviary_classifier *h) { return h->in; }
int64_t aviary_classifier_classes(const aviary_classifier *h) { return h->classes; }
bool aviary_classifier_has_hidden(const aviary_classifier *h) { return h->pre != NULL; }

aviary_status aviary_classifier_forward(const aviary_classifier *h, const float *x, int64_t n, float *logits) {
    if (!h->pre) return aviary_linear_forward(h->fc, x, n, logits);
    float *hid = malloc((size_t)(n * h->hidden) * sizeof(float));
    if (!hid) return aviary_error(AVIARY_NOMEM, "classifier: out of memory");
    aviary_status s = aviary_linear_forward(h->pre, x, n, hid);
    if (!s) {
        aviary_tanh(hid, (size_t)(n * h->hidden), hid);
        s = aviary_linear_forward(h->fc, hid, n, logits);
    }
    free(hid);
    return s;
}

void aviary_softmax(const float *x, size_t n, float *y) {
    if (n == 0) return;
    float mx = x[0];
    for (size_t i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += (y[i] = expf(x[i] - mx));
    const float inv = (float)(1.0 / sum);
    for (size_t i = 0; i < n; i++) y[i] *= inv;
}

size_t aviary_top_k(const float *x, size_t n, size_t k, int *idx) {
    if (k > n) k = n;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        /* insertion into the sorted prefix idx[0..m) (largest first, stable) */
        if (m == k && !(x[i] > x[idx[m - 1]])) continue;
        size_t j = m < k ? m++ : k - 1;
        while (j > 0 && x[i] > x[idx[j - 1]]) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = (int)i;
    }
    return m;
}

void aviary_labels_free(aviary_labels *l) {
    if (!l) return;
    for (size_t i = 0; i < l->count; i++) free(l->names[i]);
    free(l->names);
    l->names = NULL;
    l->count = 0;
}

aviary_status aviary_labels_load(const char *path, size_t expected, aviary_labels *out) {
    out->count = 0;
    out->names = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return aviary_error(AVIARY_IO, "%s: cannot open label file: %s", path, strerror(errno));
    size_t cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    aviary_status st = AVIARY_OK;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (out->count == cap) {
            size_t nc = cap ? cap * 2 : 1024;
            char **p = realloc(out->names, nc * sizeof *p);
            if (!p) {
                st = aviary_error(AVIARY_NOMEM, "%s: out of memory", path);
                break;
            }
            out->names = p;
            cap = nc;
        }
        if (!(out->names[out->count] = strdup(line))) {
            st = aviary_error(AVIARY_NOMEM, "%s: out of memory", path);
            break;
        }
        out->count++;
    }
    if (!st && ferror(f)) st = aviary_error(AVIARY_IO, "%s: read error", path);
    free(line);
    fclose(f);
    if (!st && expected > 0 && out->count != expected)
        st = aviary_error(AVIARY_FORMAT, "%s: %zu labels, the model has %zu classes", path, out->count, expected);
    if (st) aviary_labels_free(out);
    return st;
}
