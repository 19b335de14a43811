/* checkpoint.c - the checkpoint container: format detection, memory
 * mappings, the tensor table and name lookup. Format parsing lives in
 * ckpt_safetensors.c and ckpt_pth.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "checkpoint_internal.h"

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

aviary_checkpoint *aviary__ckpt_new(const char *what) {
    aviary_checkpoint *ck = calloc(1, sizeof *ck);
    if (!ck) return NULL;
    ck->path = strdup(what ? what : "");
    if (!ck->path) {
        free(ck);
        return NULL;
    }
    return ck;
}

aviary_status aviary__ckpt_map(aviary_checkpoint *ck, const char *path, const void **base, size_t *size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return aviary_error(AVIARY_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return aviary_error(AVIARY_IO, "%s: not a regular file", path);
    }
    void *p = NULL;
    size_t sz = (size_t)st.st_size;
    if (sz > 0) {
        p = mmap(NULL, sz, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return aviary_error(AVIARY_IO, "%s: cannot map: %s", path, strerror(errno));
        }
    }
    close(fd);
    if (ck->n_maps == ck->cap_maps) {
        size_t cap = ck->cap_maps ? ck->cap_maps * 2 : 4;
        aviary__mapping *m = realloc(ck->maps, cap * sizeof *m);
        if (!m) {
            if (p) munmap(p, sz);
            return aviary_error(AVIARY_NOMEM, "%s: out of memory", path);
        }
        ck->maps = m;
        ck->cap_maps = cap;
    }
    ck->maps[ck->n_maps++] = (aviary__mapping){p, sz};
    *base = p;
    *size = sz;
    return AVIARY_OK;
}

bool aviary__ckpt_span(int ndim, const int64_t *shape, const int64_t *strides, size_t es, uint64_t *bytes_needed) {
    uint64_t last = 0; /* index of the last element, in elements */
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (strides && strides[i] < 0)) return false;
        if (shape[i] == 0) {
            *bytes_needed = 0;
            return true;
        }
    }
    uint64_t stride = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        uint64_t s = strides ? (uint64_t)strides[i] : stride;
        uint64_t term;
        if (__builtin_mul_overflow((uint64_t)(shape[i] - 1), s, &term)) return false;
        if (__builtin_add_overflow(last, term, &last)) return false;
        if (!strides && __builtin_mul_overflow(stride, (uint64_t)shape[i], &stride)) return false;
    }
    uint64_t b;
    if (__builtin_add_overflow(last, 1, &last) || __builtin_mul_overflow(last, (uint64_t)es, &b)) return false;
    *bytes_needed = b;
    return true;
}

static aviary_status index_rebuild(aviary_checkpoint *ck, size_t cap) {
    size_t *idx = calloc(cap, sizeof *idx);
    if (!idx) return aviary_error(AVIARY_NOMEM, "%s: out of memory", ck->path);
    for (size_t i = 0; i < ck->n_tensors; i++) {
        size_t h = (size_t)hash_str(ck->names[i]) & (cap - 1);
        while (idx[h]) h = (h + 1) & (cap - 1);
        idx[h] = i + 1;
    }
    free(ck->index);
    ck->index = idx;
    ck->index_cap = cap;
    return AVIARY_OK;
}

static const aviary_tensor *lookup(const aviary_checkpoint *ck, const char *name) {
    if (!ck->index_cap) return NULL;
    size_t h = (size_t)hash_str(name) & (ck->index_cap - 1);
    while (ck->index[h]) {
        size_t i = ck->index[h] - 1;
        if (!strcmp(ck->names[i], name)) return &ck->tensors[i];
        h = (h + 1) & (ck->index_cap - 1);
    }
    return NULL;
}

aviary_status aviary__ckpt_add(aviary_checkpoint *ck, const char *name, aviary_dtype dt, int ndim,
                               const int64_t *shape, const int64_t *strides, const void *data) {
    assert(ck && name);
    if (ndim < 0 || ndim > AVIARY_MAX_DIMS)
        return aviary_error(AVIARY_UNSUPPORTED, "%s: tensor '%s' has %d dimensions (at most %d supported)", ck->path,
                            name, ndim, AVIARY_MAX_DIMS);
    if (lookup(ck, name)) return aviary_error(AVIARY_FORMAT, "%s: tensor '%s' appears twice", ck->path, name);
    if (ck->n_tensors == ck->cap_tensors) {
        size_t cap = ck->cap_tensors ? ck->cap_tensors * 2 : 64;
        aviary_tensor *t = realloc(ck->tensors, cap * sizeof *t);
        if (!t) return aviary_error(AVIARY_NOMEM, "%s: out of memory", ck->path);
        ck->tensors = t;
        char **n = realloc(ck->names, cap * sizeof *n);
        if (!n) return aviary_error(AVIARY_NOMEM, "%s: out of memory", ck->path);
        ck->names = n;
        ck->cap_tensors = cap;
        /* names moved? no: names[i] are separate strdup'd blocks, only the
         * tensors array moved, so re-point tensor names below. */
        for (size_t i = 0; i < ck->n_tensors; i++) ck->tensors[i].name = ck->names[i];
    }
    char *copy = strdup(name);
    if (!copy) return aviary_error(AVIARY_NOMEM, "%s: out of memory", ck->path);
    aviary_tensor *t = &ck->tensors[ck->n_tensors];
    memset(t, 0, sizeof *t);
    t->dtype = dt;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    if (strides)
        for (int i = 0; i < ndim; i++) t->strides[i] = strides[i];
    else
        aviary_tensor_set_contiguous(t);
    t->data = (void *)data; /* views into read-only mappings; never written through */
    t->name = copy;
    ck->names[ck->n_tensors++] = copy;
    /* Keep the load factor under 1/2. */
    if (ck->n_tensors * 2 > ck->index_cap) {
        size_t cap = ck->index_cap ? ck->index_cap * 2 : 128;
        while (ck->n_tensors * 2 > cap) cap *= 2;
        aviary_status s = index_rebuild(ck, cap);
        if (s != AVIARY_OK) return s;
    } else {
        size_t h = (size_t)hash_str(copy) & (ck->index_cap - 1);
        while (ck->index[h]) h = (h + 1) & (ck->index_cap - 1);
        ck->index[h] = ck->n_tensors;
    }
    return AVIARY_OK;
}

static bool has_suffix(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

aviary_status aviary_checkpoint_open(const char *path, aviary_checkpoint **out) {
    *out = NULL;
    if (!path) return aviary_error(AVIARY_INVALID_ARG, "checkpoint: no path given");
    aviary_checkpoint *ck = aviary__ckpt_new(path);
    if (!ck) return aviary_error(AVIARY_NOMEM, "%s: out of memory", path);
    /* Sniff the first bytes: a zip starts with "PK", safetensors with an
     * 8-byte little-endian header length followed by '{'. */
    unsigned char head[263] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) {
        aviary_checkpoint_close(ck);
        return aviary_error(AVIARY_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    aviary_status s;
    if (got >= 2 && head[0] == 'P' && head[1] == 'K') {
        ck->format = AVIARY_CKPT_PTH;
        s = aviary__pth_read(ck, path);
    } else if (has_suffix(path, ".json")) {
        ck->format = AVIARY_CKPT_SHARDED;
        s = aviary__safetensors_read_index(ck, path);
    } else if (got >= 9 && head[8] == '{') {
        ck->format = AVIARY_CKPT_SAFETENSORS;
        s = aviary__safetensors_read(ck, path);
    } else if ((got >= 2 && head[0] == 0x80) || (got == sizeof head && !memcmp(head + 257, "ustar", 5))) {
        /* Pre-1.6 torch.save wrote a bare pickle stream or a tar archive. */
        s = aviary_error(AVIARY_UNSUPPORTED,
                         "%s: legacy (pre-1.6) PyTorch serialization; re-save it with a current torch.save", path);
    } else if (got == 0) {
        s = aviary_error(AVIARY_FORMAT, "%s: file is empty", path);
    } else {
        s = aviary_error(AVIARY_FORMAT, "%s: neither a PyTorch zip checkpoint nor safetensors", path);
    }
    if (s != AVIARY_OK) {
        aviary_checkpoint_close(ck);
        return s;
    }
    *out = ck;
    return AVIARY_OK;
}

void aviary_checkpoint_close(aviary_checkpoint *ck) {
    if (!ck) return;
    for (size_t i = 0; i < ck->n_maps; i++)
        if (ck->maps[i].base) munmap(ck->maps[i].base, ck->maps[i].size);
    for (size_t i = 0; i < ck->n_tensors; i++) free(ck->names[i]);
    free(ck->maps);
    free(ck->tensors);
    free(ck->names);
    free(ck->index);
    free(ck->path);
    free(ck);
}

aviary_checkpoint_format aviary_checkpoint_get_format(const aviary_checkpoint *ck) { return ck->format; }
const char *aviary_checkpoint_path(const aviary_checkpoint *ck) { return ck->path; }
size_t aviary_checkpoint_count(const aviary_checkpoint *ck) { return ck->n_tensors; }

const aviary_tensor *aviary_checkpoint_at(const aviary_checkpoint *ck, size_t i) {
    return i < ck->n_tensors ? &ck->tensors[i] : NULL;
}

const aviary_tensor *aviary_checkpoint_find(const aviary_checkpoint *ck, const char *name) {
    const aviary_tensor *t = lookup(ck, name);
    if (t) return t;
    /* DataParallel: "module.x" <-> "x". */
    if (!strncmp(name, "module.", 7)) return lookup(ck, name + 7);
    char buf[512];
    if (snprintf(buf, sizeof buf, "module.%s", name) >= (int)sizeof buf) return NULL;
    return lookup(ck, buf);
}

aviary_status aviary_checkpoint_get(const aviary_checkpoint *ck, const char *name, const aviary_tensor **out) {
    *out = aviary_checkpoint_find(ck, name);
    if (!*out) return aviary_error(AVIARY_NOT_FOUND, "%s: no tensor named '%s'", ck->path, name);
    return AVIARY_OK;
}

uint64_t aviary_checkpoint_total_bytes(const aviary_checkpoint *ck) {
    uint64_t total = 0;
    for (size_t i = 0; i < ck->n_tensors; i++)
        total += (uint64_t)aviary_tensor_numel(&ck->tensors[i]) * aviary_dtype_size(ck->tensors[i].dtype);
    return total;
}
