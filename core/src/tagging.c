/* tagging.c - label files, sliding windows, aggregation and top-k
 * (aviary_tagging.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include "aviary/aviary_tagging.h"
#include "internal.h"

struct aviary_label_list {
    size_t n;
    char **names, **ids;
};

void aviary_label_list_free(aviary_label_list *l) {
    if (!l) return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->names[i]);
        free(l->ids[i]);
    }
    free(l->names);
    free(l->ids);
    free(l);
}

size_t aviary_label_list_count(const aviary_label_list *l) { return l ? l->n : 0; }
const char *aviary_label_list_name(const aviary_label_list *l, size_t i) { return l && i < l->n ? l->names[i] : ""; }
const char *aviary_label_list_id(const aviary_label_list *l, size_t i) { return l && i < l->n ? l->ids[i] : ""; }

/* Split one CSV line (NUL-terminated, no line end) into at most max fields,
 * unquoting in place. Returns the field count, -1 on a bad quote. */
static int csv_fields(char *s, char **f, int max) {
    int n = 0;
    char *w = s;
    for (;;) {
        if (n == max) return max + 1;
        f[n++] = w;
        if (*s == '"') {
            s++;
            for (;;) {
                if (!*s) return -1;
                if (*s == '"') {
                    if (s[1] == '"') {
                        *w++ = '"';
                        s += 2;
                        continue;
                    }
                    s++;
                    break;
                }
                *w++ = *s++;
            }
            if (*s && *s != ',') return -1;
        } else {
            while (*s && *s != ',') *w++ = *s++;
        }
        if (!*s) {
            *w = 0;
            return n;
        }
        *w++ = 0;
        s++;
        /* the next field starts right after the comma; unquoting only shrinks */
        w = s;
    }
}

static bool push(aviary_label_list *l, size_t *cap, const char *name, const char *id) {
    if (l->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        char **a = realloc(l->names, nc * sizeof *a);
        if (!a) return false;
        l->names = a;
        char **b = realloc(l->ids, nc * sizeof *b);
        if (!b) return false;
        l->ids = b;
        *cap = nc;
    }
    char *n = strdup(name), *i = strdup(id);
    if (!n || !i) {
        free(n);
        free(i);
        return false;
    }
    l->names[l->n] = n;
    l->ids[l->n] = i;
    l->n++;
    return true;
}

aviary_status aviary_label_list_parse(const char *data, size_t size, const char *name, aviary_label_list **out) {
    if (!out) return aviary_error(AVIARY_INVALID_ARG, "aviary_label_list_parse: out is NULL");
    *out = NULL;
    if (!data && size) return aviary_error(AVIARY_INVALID_ARG, "aviary_label_list_parse: data is NULL");
    if (!name) name = "labels";
    aviary_label_list *l = calloc(1, sizeof *l);
    char *buf = malloc(size + 1);
    if (!l || !buf) {
        free(l);
        free(buf);
        return aviary_error(AVIARY_NOMEM, "out of memory");
    }
    size_t cap = 0, lineno = 0, pos = 0;
    aviary_status st = AVIARY_OK;
    int col_index = -1, col_mid = -1, col_name = -1, n_cols = 0;
    bool csv = false;
    if (size >= 3 && (unsigned char)data[0] == 0xEF && (unsigned char)data[1] == 0xBB && (unsigned char)data[2] == 0xBF)
        pos = 3;
    while (pos < size && !st) {
        /* one line into buf (NUL-terminated, without its line end) */
        const char *nl = memchr(data + pos, '\n', size - pos);
        size_t end = nl ? (size_t)(nl - data) : size, len = end - pos;
        memcpy(buf, data + pos, len);
        buf[len] = 0;
        pos = nl ? end + 1 : size;
        lineno++;
        while (len && buf[len - 1] == '\r') buf[--len] = 0;
        if (memchr(buf, 0, len)) {
            st = aviary_error(AVIARY_FORMAT, "%s:%zu: NUL byte in a label file", name, lineno);
            break;
        }
        char *fl[16];
        if (lineno == 1 && strstr(buf, "display_name")) {
            int nf = csv_fields(buf, fl, 16);
            for (int i = 0; i < nf && i < 16; i++) {
                if (!strcmp(fl[i], "index")) col_index = i;
                else if (!strcmp(fl[i], "mid")) col_mid = i;
                else if (!strcmp(fl[i], "display_name")) col_name = i;
            }
            csv = col_name >= 0;
            n_cols = nf;
            if (csv) continue;
        }
        if (!len) {
            st = aviary_error(AVIARY_FORMAT, "%s:%zu: empty line (one class name per line expected)", name, lineno);
            break;
        }
        if (!csv) {
            if (!push(l, &cap, buf, "")) st = aviary_error(AVIARY_NOMEM, "out of memory");
            continue;
        }
        int nf = csv_fields(buf, fl, 16);
        if (nf != n_cols) {
            st = aviary_error(AVIARY_FORMAT, "%s:%zu: malformed CSV row (expected the header's %d columns)", name,
                              lineno, n_cols);
            break;
        }
        if (col_index >= 0) {
            char *endp;
            errno = 0;
            long v = strtol(fl[col_index], &endp, 10);
            if (errno || endp == fl[col_index] || *endp || v < 0 || (size_t)v != l->n) {
                st = aviary_error(AVIARY_FORMAT, "%s:%zu: index '%s', expected %zu (rows must be in index order)", name,
                                  lineno, fl[col_index], l->n);
                break;
            }
        }
        if (!push(l, &cap, fl[col_name], col_mid >= 0 ? fl[col_mid] : "")) st = aviary_error(AVIARY_NOMEM, "out of memory");
    }
    free(buf);
    if (!st && l->n == 0) st = aviary_error(AVIARY_FORMAT, "%s: no class labels in the file", name);
    if (st) {
        aviary_label_list_free(l);
        return st;
    }
    *out = l;
    return AVIARY_OK;
}

aviary_status aviary_label_list_read(const char *path, aviary_label_list **out) {
    if (!out) return aviary_error(AVIARY_INVALID_ARG, "aviary_label_list_read: out is NULL");
    *out = NULL;
    if (!path) return aviary_error(AVIARY_INVALID_ARG, "aviary_label_list_read: path is NULL");
    FILE *f = fopen(path, "rb");
    if (!f) return aviary_error(AVIARY_IO, "%s: cannot open label file: %s", path, strerror(errno));
    char *data = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            if (cap >= ((size_t)64 << 20)) {
                free(data);
                fclose(f);
                return aviary_error(AVIARY_FORMAT, "%s: label file larger than 64 MB", path);
            }
            cap = cap ? cap * 2 : 65536;
            char *p = realloc(data, cap);
            if (!p) {
                free(data);
                fclose(f);
                return aviary_error(AVIARY_NOMEM, "out of memory");
            }
            data = p;
        }
        size_t got = fread(data + n, 1, cap - n, f);
        n += got;
        if (!got) break;
    }
    bool bad = ferror(f);
    fclose(f);
    aviary_status s = bad ? aviary_error(AVIARY_IO, "%s: read error", path) : aviary_label_list_parse(data, n, path, out);
    free(data);
    return s;
}

int64_t aviary_window_hop(int64_t window, double overlap) {
    if (window < 1) return 1;
    if (!(overlap >= 0)) overlap = 0;
    if (overlap >= 1) overlap = 0.999;
    int64_t h = (int64_t)llround((double)window * (1.0 - overlap));
    return h < 1 ? 1 : h;
}

int64_t aviary_window_count(int64_t n, int64_t window, int64_t hop) {
    if (n < 1 || window < 1) return 0;
    if (n <= window) return 1;
    if (hop < 1) hop = 1;
    int64_t full = (n - window) / hop + 1;
    return full + ((full - 1) * hop + window < n ? 1 : 0);
}

int64_t aviary_window_start(int64_t n, int64_t window, int64_t hop, int64_t k) {
    if (n <= window) return 0;
    if (hop < 1) hop = 1;
    int64_t s = k * hop;
    return s + window > n ? n - window : s;
}

aviary_status aviary_aggregate_parse(const char *s, aviary_aggregate *out) {
    if (s && !strcmp(s, "max")) *out = AVIARY_AGGREGATE_MAX;
    else if (s && !strcmp(s, "mean")) *out = AVIARY_AGGREGATE_MEAN;
    else return aviary_error(AVIARY_INVALID_ARG, "aggregation '%s': expected max or mean", s ? s : "(null)");
    return AVIARY_OK;
}

const char *aviary_aggregate_name(aviary_aggregate a) { return a == AVIARY_AGGREGATE_MEAN ? "mean" : "max"; }

void aviary_scores_aggregate(const float *x, size_t n_windows, size_t n_classes, aviary_aggregate mode, float *out) {
    for (size_t k = 0; k < n_classes; k++) {
        if (mode == AVIARY_AGGREGATE_MAX) {
            float m = x[k];
            for (size_t w = 1; w < n_windows; w++)
                if (x[w * n_classes + k] > m) m = x[w * n_classes + k];
            out[k] = m;
        } else {
            double s = 0;
            for (size_t w = 0; w < n_windows; w++) s += x[w * n_classes + k];
            out[k] = (float)(s / (double)n_windows);
        }
    }
}

/* a ranks before b */
static bool before(const float *x, size_t a, size_t b) {
    float xa = x[a], xb = x[b];
    if (isnan(xa)) return isnan(xb) && a < b;
    if (isnan(xb)) return true;
    return xa > xb || (xa == xb && a < b);
}

size_t aviary_scores_top_k(const float *x, size_t n, size_t k, size_t *idx) {
    if (k > n) k = n;
    size_t used = 0;
    /* insertion into a sorted prefix: k is small (tens) */
    for (size_t i = 0; i < n; i++) {
        if (used == k && (k == 0 || !before(x, i, idx[k - 1]))) continue;
        size_t p = used < k ? used++ : k - 1;
        while (p > 0 && before(x, i, idx[p - 1])) {
            idx[p] = idx[p - 1];
            p--;
        }
        idx[p] = i;
    }
    return k;
}
