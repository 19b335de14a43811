/* ckpt_pth.c - PyTorch torch.save (zip, torch >= 1.6) checkpoint reader.
 *
 * A torch.save file is a zip archive of STORED (uncompressed) entries:
 *   <archive>/data.pkl      the pickled object (a state_dict)
 *   <archive>/data/<key>    the raw bytes of each storage
 *   <archive>/byteorder     optional, "little" or "big"
 * We read the zip central directory (ZIP64 included), run the small subset
 * of the pickle virtual machine a state_dict needs, and turn every
 * torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...) into a
 * zero-copy view into the mapped storage entry. Nested dicts are flattened
 * (see flatten_root()).
 *
 * Hostile input: every offset and size is checked against the buffer before
 * use; memory the parser allocates is proportional to data.pkl (itself
 * capped), never to a size a header claims; recursion is depth-limited. */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include "checkpoint_internal.h"

/* A state_dict pickle holds a few hundred bytes per tensor, so even models
 * with 100k tensors stay far below this; larger data.pkl entries are refused
 * so the parser's allocations (a small constant times the pickle size) stay
 * bounded. */
#define PKL_MAX (64u * 1024u * 1024u)
/* Dicts nested deeper than this (or cyclic) are refused. */
#define MAX_NEST 32

/* ---------------------------------------------------------------- zip */

typedef struct zentry {
    const char *name; /* not NUL-terminated */
    size_t nlen;
    unsigned method, flags;
    uint64_t csize, usize, lho; /* compressed/uncompressed size, local header offset */
} zentry;

typedef struct zip {
    const unsigned char *base;
    size_t size;
    const char *what; /* file name for messages */
    zentry *e;        /* sorted by name */
    size_t n;
} zip;

static uint16_t rd16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const unsigned char *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static int entry_cmp(const char *a, size_t an, const char *b, size_t bn) {
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c) return c;
    return an < bn ? -1 : an > bn;
}

static int zentry_sort(const void *x, const void *y) {
    const zentry *a = x, *b = y;
    return entry_cmp(a->name, a->nlen, b->name, b->nlen);
}

/* Zip64 extended information (header id 1): the 64-bit values of exactly
 * those fields whose 32-bit slot holds 0xFFFFFFFF, in this order. */
static aviary_status zip64_extra(const zip *z, const unsigned char *ex, size_t elen, zentry *e, bool need_u,
                                 bool need_c, bool need_o) {
    size_t i = 0;
    while (i + 4 <= elen) {
        unsigned id = rd16(ex + i), len = rd16(ex + i + 2);
        if (len > elen - i - 4) break;
        if (id == 1) {
            const unsigned char *f = ex + i + 4;
            size_t need = 8u * ((size_t)need_u + need_c + need_o);
            if (len < need) break;
            if (need_u) e->usize = rd64(f), f += 8;
            if (need_c) e->csize = rd64(f), f += 8;
            if (need_o) e->lho = rd64(f);
            return AVIARY_OK;
        }
        i += 4 + len;
    }
    return aviary_error(AVIARY_FORMAT, "%s: zip entry '%.*s' lacks the ZIP64 extra field its sizes require", z->what,
                        (int)e->nlen, e->name);
}

static aviary_status zip_open(zip *z) {
    const unsigned char *p = z->base;
    size_t size = z->size;
    if (size < 22) return aviary_error(AVIARY_FORMAT, "%s: truncated zip (no end-of-central-directory record)", z->what);
    /* The end record sits in the last 22 + 65535 (max comment) bytes. */
    size_t lo = size - 22 > 65535 ? size - 22 - 65535 : 0, eocd = SIZE_MAX;
    for (size_t i = size - 22;; i--) {
        if (rd32(p + i) == 0x06054b50u && (size_t)rd16(p + i + 20) <= size - 22 - i) {
            eocd = i;
            break;
        }
        if (i == lo) break;
    }
    if (eocd == SIZE_MAX)
        return aviary_error(AVIARY_FORMAT, "%s: truncated zip (no end-of-central-directory record)", z->what);
    uint64_t count = rd16(p + eocd + 10), cd_size = rd32(p + eocd + 12), cd_off = rd32(p + eocd + 16);
    if (eocd >= 20 && rd32(p + eocd - 20) == 0x07064b50u) {
        /* ZIP64 end-of-central-directory locator -> ZIP64 end record. */
        uint64_t off = rd64(p + eocd - 20 + 8);
        if (off > eocd - 20 || eocd - 20 - off < 56 || rd32(p + off) != 0x06064b50u)
            return aviary_error(AVIARY_FORMAT, "%s: ZIP64 locator points to offset %llu, where there is no ZIP64 end record",
                                z->what, (unsigned long long)off);
        count = rd64(p + off + 32);
        cd_size = rd64(p + off + 40);
        cd_off = rd64(p + off + 48);
    } else if (count == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu) {
        return aviary_error(AVIARY_FORMAT, "%s: zip needs a ZIP64 end record but has none (truncated?)", z->what);
    }
    if (cd_off > size || cd_size > size - cd_off)
        return aviary_error(AVIARY_FORMAT, "%s: zip central directory (offset %llu, %llu bytes) lies outside the file (%zu bytes)",
                            z->what, (unsigned long long)cd_off, (unsigned long long)cd_size, size);
    if (count > cd_size / 46)
        return aviary_error(AVIARY_FORMAT, "%s: zip central directory claims %llu entries but has room for %llu", z->what,
                            (unsigned long long)count, (unsigned long long)(cd_size / 46));
    z->e = calloc(count ? (size_t)count : 1, sizeof *z->e);
    if (!z->e) return aviary_error(AVIARY_NOMEM, "%s: out of memory", z->what);
    const unsigned char *q = p + cd_off, *end = q + cd_size;
    for (uint64_t k = 0; k < count; k++) {
        if (end - q < 46 || rd32(q) != 0x02014b50u)
            return aviary_error(AVIARY_FORMAT, "%s: corrupt zip central directory (entry %llu)", z->what,
                                (unsigned long long)k);
        size_t nlen = rd16(q + 28), elen = rd16(q + 30), clen = rd16(q + 32);
        if ((size_t)(end - q) - 46 < nlen + elen + clen)
            return aviary_error(AVIARY_FORMAT, "%s: corrupt zip central directory (entry %llu runs past its end)",
                                z->what, (unsigned long long)k);
        zentry *e = &z->e[z->n++];
        e->name = (const char *)q + 46;
        e->nlen = nlen;
        e->flags = rd16(q + 8);
        e->method = rd16(q + 10);
        e->csize = rd32(q + 20);
        e->usize = rd32(q + 24);
        e->lho = rd32(q + 42);
        bool nu = e->usize == 0xFFFFFFFFu, nc = e->csize == 0xFFFFFFFFu, no = e->lho == 0xFFFFFFFFu;
        if (nu || nc || no) {
            aviary_status s = zip64_extra(z, q + 46 + nlen, elen, e, nu, nc, no);
            if (s != AVIARY_OK) return s;
        }
        q += 46 + nlen + elen + clen;
    }
    qsort(z->e, z->n, sizeof *z->e, zentry_sort);
    return AVIARY_OK;
}

static const zentry *zip_find(const zip *z, const char *name, size_t nlen) {
    size_t lo = 0, hi = z->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = entry_cmp(z->e[mid].name, z->e[mid].nlen, name, nlen);
        if (!c) return &z->e[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The bytes of a stored entry, located through its local header (whose
 * name/extra lengths may differ from the central directory's: torch pads
 * the local extra field to align tensor data). */
static aviary_status zip_data(const zip *z, const zentry *e, const unsigned char **data, uint64_t *len) {
    int nl = (int)e->nlen;
    if (e->flags & 1u)
        return aviary_error(AVIARY_UNSUPPORTED, "%s: zip entry '%.*s' is encrypted", z->what, nl, e->name);
    if (e->method != 0)
        return aviary_error(AVIARY_UNSUPPORTED,
                            "%s: zip entry '%.*s' is compressed (method %u); only stored entries are supported, as "
                            "torch.save writes them",
                            z->what, nl, e->name, e->method);
    if (e->csize != e->usize)
        return aviary_error(AVIARY_FORMAT, "%s: stored zip entry '%.*s' has different compressed and plain sizes",
                            z->what, nl, e->name);
    if (e->lho > z->size || z->size - e->lho < 30 || rd32(z->base + e->lho) != 0x04034b50u)
        return aviary_error(AVIARY_FORMAT, "%s: zip entry '%.*s': no local header at offset %llu", z->what, nl, e->name,
                            (unsigned long long)e->lho);
    uint64_t off = e->lho + 30 + (uint64_t)rd16(z->base + e->lho + 26) + rd16(z->base + e->lho + 28);
    if (off > z->size || e->usize > z->size - off)
        return aviary_error(AVIARY_FORMAT, "%s: zip entry '%.*s' (%llu bytes at offset %llu) runs past the end of the file (%zu bytes)",
                            z->what, nl, e->name, (unsigned long long)e->usize, (unsigned long long)off, z->size);
    *data = z->base + off;
    *len = e->usize;
    return AVIARY_OK;
}

/* ------------------------------------------------------------- pickle */

enum { PV_NONE, PV_BOOL, PV_INT, PV_FLOAT, PV_STR, PV_GLOBAL, PV_NODE };
enum { N_TUPLE, N_LIST, N_DICT, N_STORAGE, N_TENSOR, N_OPAQUE };
enum { G_OTHER, G_ORDERED_DICT, G_DICT, G_REBUILD_TENSOR_V2, G_REBUILD_PARAMETER, G_STORAGE };

/* A pickle value: scalars inline, containers/storages/tensors as node indices. */
typedef struct pval {
    uint8_t kind;
    uint8_t sub;    /* PV_GLOBAL: G_*; for G_STORAGE the aviary_dtype */
    uint32_t n;     /* PV_STR / PV_GLOBAL: byte length of s */
    union {
        int64_t i;
        double f;
        const char *s; /* PV_STR: text in the pickle; PV_GLOBAL: the global's name */
        uint32_t node;
    } u;
} pval;

typedef struct pnode {
    uint8_t kind;
    uint8_t visited; /* flatten: already walked */
    union {
        struct {
            pval *items; /* dict: key, value, key, value, ... */
            uint32_t n, cap;
        } seq;
        struct {
            const unsigned char *data;
            uint64_t bytes;
            uint8_t dt;
        } st;
        struct {
            uint32_t storage, size, stride; /* node indices (storage, tuple, tuple) */
            int64_t offset;                 /* in elements */
        } tn;
    } u;
} pnode;

typedef struct pvm {
    const zip *z;
    const char *what;
    const char *archive; /* "<archive>/" prefix, not NUL-terminated */
    size_t archive_len;
    pval *stack;
    size_t sp, stack_cap;
    size_t *marks;
    size_t n_marks, marks_cap;
    pval *memo;
    size_t n_memo, memo_cap;
    pnode *nodes;
    size_t n_nodes, nodes_cap;
    size_t pos; /* opcode offset, for messages */
} pvm;

static bool grow(void **p, size_t *cap, size_t need, size_t es) {
    if (need <= *cap) return true;
    size_t c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * es);
    if (!q) return false;
    *p = q;
    *cap = c;
    return true;
}

static aviary_status bad(const pvm *m, const char *msg) {
    return aviary_error(AVIARY_FORMAT, "%s: data.pkl: %s (at byte %zu)", m->what, msg, m->pos);
}

static aviary_status nomem(const pvm *m) { return aviary_error(AVIARY_NOMEM, "%s: out of memory", m->what); }

static aviary_status push(pvm *m, pval v) {
    if (!grow((void **)&m->stack, &m->stack_cap, m->sp + 1, sizeof *m->stack)) return nomem(m);
    m->stack[m->sp++] = v;
    return AVIARY_OK;
}

static aviary_status pop(pvm *m, pval *v) {
    size_t floor = m->n_marks ? m->marks[m->n_marks - 1] : 0;
    if (m->sp <= floor) return bad(m, "stack underflow");
    *v = m->stack[--m->sp];
    return AVIARY_OK;
}

static aviary_status new_node(pvm *m, int kind, uint32_t *idx) {
    if (m->n_nodes >= UINT32_MAX) return bad(m, "too many objects");
    if (!grow((void **)&m->nodes, &m->nodes_cap, m->n_nodes + 1, sizeof *m->nodes)) return nomem(m);
    pnode *nd = &m->nodes[m->n_nodes];
    memset(nd, 0, sizeof *nd);
    nd->kind = (uint8_t)kind;
    *idx = (uint32_t)m->n_nodes++;
    return AVIARY_OK;
}

static aviary_status push_node(pvm *m, int kind, uint32_t *idx) {
    uint32_t i = 0;
    aviary_status s = new_node(m, kind, &i);
    if (s != AVIARY_OK) return s;
    if (idx) *idx = i;
    return push(m, (pval){.kind = PV_NODE, .u.node = i});
}

static aviary_status seq_append(pvm *m, uint32_t node, const pval *v, size_t n) {
    pnode *nd = &m->nodes[node];
    if (n == 0) return AVIARY_OK; /* items may still be NULL */
    size_t cap = nd->u.seq.cap;
    if ((size_t)nd->u.seq.n + n > UINT32_MAX) return bad(m, "container too large");
    if (!grow((void **)&nd->u.seq.items, &cap, (size_t)nd->u.seq.n + n, sizeof(pval))) return nomem(m);
    nd->u.seq.cap = (uint32_t)cap;
    memcpy(nd->u.seq.items + nd->u.seq.n, v, n * sizeof *v);
    nd->u.seq.n += (uint32_t)n;
    return AVIARY_OK;
}

static pnode *node_of(const pvm *m, const pval *v, int kind) {
    if (v->kind != PV_NODE || m->nodes[v->u.node].kind != kind) return NULL;
    return &m->nodes[v->u.node];
}

/* Pop everything above the top mark into a new tuple. */
static aviary_status build_tuple_from(pvm *m, size_t from) {
    uint32_t t = 0;
    size_t n = m->sp - from;
    aviary_status s = new_node(m, N_TUPLE, &t);
    if (s == AVIARY_OK && n) s = seq_append(m, t, m->stack + from, n);
    if (s != AVIARY_OK) return s;
    m->sp = from;
    return push(m, (pval){.kind = PV_NODE, .u.node = t});
}

static aviary_status pop_mark(pvm *m, size_t *from) {
    if (!m->n_marks) return bad(m, "no MARK for this opcode");
    *from = m->marks[--m->n_marks];
    return AVIARY_OK;
}

static bool str_is(const pval *v, const char *s) {
    return v->kind == PV_STR && v->n == strlen(s) && !memcmp(v->u.s, s, v->n);
}

static void resolve_global(const char *mod, size_t ml, const char *name, size_t nl, pval *v) {
    static const struct { const char *mod, *name; int id, dt; } known[] = {
        {"collections", "OrderedDict", G_ORDERED_DICT, 0},
        {"builtins", "dict", G_DICT, 0},
        {"torch._utils", "_rebuild_tensor_v2", G_REBUILD_TENSOR_V2, 0},
        {"torch._utils", "_rebuild_parameter", G_REBUILD_PARAMETER, 0},
        {"torch", "FloatStorage", G_STORAGE, AVIARY_F32},
        {"torch", "DoubleStorage", G_STORAGE, AVIARY_F64},
        {"torch", "HalfStorage", G_STORAGE, AVIARY_F16},
        {"torch", "BFloat16Storage", G_STORAGE, AVIARY_BF16},
        {"torch", "LongStorage", G_STORAGE, AVIARY_I64},
        {"torch", "IntStorage", G_STORAGE, AVIARY_I32},
        {"torch", "ShortStorage", G_STORAGE, AVIARY_I16},
        {"torch", "CharStorage", G_STORAGE, AVIARY_I8},
        {"torch", "ByteStorage", G_STORAGE, AVIARY_U8},
        {"torch", "BoolStorage", G_STORAGE, AVIARY_BOOL},
    };
    *v = (pval){.kind = PV_GLOBAL, .sub = G_OTHER, .n = (uint32_t)nl, .u.s = name};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strlen(known[i].mod) == ml && !memcmp(known[i].mod, mod, ml) && strlen(known[i].name) == nl &&
            !memcmp(known[i].name, name, nl)) {
            v->sub = (uint8_t)(known[i].id == G_STORAGE ? G_STORAGE + known[i].dt : known[i].id);
            return;
        }
}

static bool get_int(const pval *v, int64_t *out) {
    if (v->kind == PV_INT) {
        *out = v->u.i;
        return true;
    }
    if (v->kind == PV_BOOL) {
        *out = v->u.i;
        return true;
    }
    return false;
}

/* persistent_load: ('storage', torch.XStorage, key, location, numel). */
static aviary_status op_persid(pvm *m) {
    pval pid = {0};
    aviary_status s = pop(m, &pid);
    if (s != AVIARY_OK) return s;
    pnode *t = node_of(m, &pid, N_TUPLE);
    if (!t || t->u.seq.n != 5 || !str_is(&t->u.seq.items[0], "storage"))
        return bad(m, "persistent id is not a ('storage', type, key, location, numel) tuple");
    const pval *ty = &t->u.seq.items[1], *key = &t->u.seq.items[2], *cnt = &t->u.seq.items[4];
    if (ty->kind != PV_GLOBAL || key->kind != PV_STR) return bad(m, "malformed storage persistent id");
    if (ty->sub < G_STORAGE)
        return aviary_error(AVIARY_UNSUPPORTED, "%s: data.pkl: unsupported storage type torch.%.*s (unknown dtype)",
                            m->what, (int)ty->n, ty->u.s);
    aviary_dtype dt = (aviary_dtype)(ty->sub - G_STORAGE);
    int64_t numel;
    if (!get_int(cnt, &numel) || numel < 0) return bad(m, "storage element count is not a non-negative integer");
    /* Find "<archive>/data/<key>". */
    size_t nlen = m->archive_len + 5 + key->n;
    char *name = malloc(nlen);
    if (!name) return nomem(m);
    memcpy(name, m->archive, m->archive_len);
    memcpy(name + m->archive_len, "data/", 5);
    memcpy(name + m->archive_len + 5, key->u.s, key->n);
    const zentry *e = zip_find(m->z, name, nlen);
    free(name);
    if (!e)
        return aviary_error(AVIARY_FORMAT, "%s: storage '%.*s' has no %.*sdata/%.*s entry in the zip", m->what,
                            (int)key->n, key->u.s, (int)m->archive_len, m->archive, (int)key->n, key->u.s);
    const unsigned char *data;
    uint64_t len, bytes;
    s = zip_data(m->z, e, &data, &len);
    if (s != AVIARY_OK) return s;
    if (__builtin_mul_overflow((uint64_t)numel, (uint64_t)aviary_dtype_size(dt), &bytes) || bytes > len)
        return aviary_error(AVIARY_FORMAT, "%s: storage '%.*s' declares %lld %s elements but its entry holds only %llu bytes",
                            m->what, (int)key->n, key->u.s, (long long)numel, aviary_dtype_name(dt),
                            (unsigned long long)len);
    uint32_t idx = 0;
    s = push_node(m, N_STORAGE, &idx);
    if (s != AVIARY_OK) return s;
    m->nodes[idx].u.st.data = data;
    m->nodes[idx].u.st.bytes = bytes;
    m->nodes[idx].u.st.dt = (uint8_t)dt;
    return AVIARY_OK;
}

/* A tuple of ints (sizes or strides) with at most AVIARY_MAX_DIMS entries. */
static aviary_status int_tuple(pvm *m, const pval *v, int64_t *out, int *n, const char *what) {
    pnode *t = node_of(m, v, N_TUPLE);
    char msg[96];
    if (!t) {
        snprintf(msg, sizeof msg, "tensor %s is not a tuple", what);
        return bad(m, msg);
    }
    if (t->u.seq.n > AVIARY_MAX_DIMS)
        return aviary_error(AVIARY_UNSUPPORTED, "%s: data.pkl: tensor has %u dimensions (at most %d supported)", m->what,
                            t->u.seq.n, AVIARY_MAX_DIMS);
    for (uint32_t i = 0; i < t->u.seq.n; i++)
        if (!get_int(&t->u.seq.items[i], &out[i]) || out[i] < 0) {
            snprintf(msg, sizeof msg, "tensor %s holds a negative or non-integer entry", what);
            return bad(m, msg);
        }
    *n = (int)t->u.seq.n;
    return AVIARY_OK;
}

/* _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
 * backward_hooks[, metadata]): check the view lies inside its storage. */
static aviary_status rebuild_tensor(pvm *m, pnode *args) {
    if (args->u.seq.n < 4) return bad(m, "_rebuild_tensor_v2 called with too few arguments");
    const pval *a = args->u.seq.items;
    pnode *st = node_of(m, &a[0], N_STORAGE);
    if (!st) return bad(m, "_rebuild_tensor_v2 argument is not a storage");
    int64_t off, shape[AVIARY_MAX_DIMS], stride[AVIARY_MAX_DIMS];
    int nd, ns;
    if (!get_int(&a[1], &off) || off < 0) return bad(m, "tensor storage offset is not a non-negative integer");
    aviary_status s = int_tuple(m, &a[2], shape, &nd, "size");
    if (s == AVIARY_OK) s = int_tuple(m, &a[3], stride, &ns, "stride");
    if (s != AVIARY_OK) return s;
    if (nd != ns) return bad(m, "tensor size and stride have different lengths");
    size_t es = aviary_dtype_size((aviary_dtype)st->u.st.dt);
    uint64_t need, start, endb;
    if (!aviary__ckpt_span(nd, shape, stride, es, &need) ||
        __builtin_mul_overflow((uint64_t)off, (uint64_t)es, &start) || __builtin_add_overflow(start, need, &endb) ||
        start > st->u.st.bytes || endb > st->u.st.bytes)
        return aviary_error(AVIARY_FORMAT,
                            "%s: data.pkl: tensor view (offset %lld, %d dims) needs more than its storage's %llu bytes "
                            "(at byte %zu)",
                            m->what, (long long)off, nd, (unsigned long long)st->u.st.bytes, m->pos);
    uint32_t storage = a[0].u.node, size = a[2].u.node, strd = a[3].u.node, idx = 0;
    s = push_node(m, N_TENSOR, &idx);
    if (s != AVIARY_OK) return s;
    m->nodes[idx].u.tn.storage = storage;
    m->nodes[idx].u.tn.size = size;
    m->nodes[idx].u.tn.stride = strd;
    m->nodes[idx].u.tn.offset = off;
    return AVIARY_OK;
}

static aviary_status op_reduce(pvm *m) {
    pval args = {0}, fn = {0};
    aviary_status s = pop(m, &args);
    if (s == AVIARY_OK) s = pop(m, &fn);
    if (s != AVIARY_OK) return s;
    pnode *a = node_of(m, &args, N_TUPLE);
    if (!a) return bad(m, "REDUCE arguments are not a tuple");
    if (fn.kind != PV_GLOBAL) return bad(m, "REDUCE of something that is not a global");
    switch (fn.sub) {
    case G_ORDERED_DICT:
    case G_DICT:
        if (a->u.seq.n != 0) return bad(m, "dict constructed with arguments (unsupported)");
        return push_node(m, N_DICT, NULL);
    case G_REBUILD_TENSOR_V2: return rebuild_tensor(m, a);
    case G_REBUILD_PARAMETER:
        if (a->u.seq.n < 1 || !node_of(m, &a->u.seq.items[0], N_TENSOR))
            return bad(m, "_rebuild_parameter argument is not a tensor");
        return push(m, a->u.seq.items[0]);
    default:
        /* Some other object (e.g. training arguments stored beside the
         * weights): keep an opaque placeholder; it holds no tensors. */
        return push_node(m, N_OPAQUE, NULL);
    }
}

static aviary_status op_setitems(pvm *m, size_t from) {
    if (from == 0) return bad(m, "SETITEMS without a dict");
    pnode *d = node_of(m, &m->stack[from - 1], N_DICT);
    if (!d) return bad(m, "SETITEM(S) target is not a dict");
    if ((m->sp - from) % 2) return bad(m, "SETITEMS with an odd number of items");
    aviary_status s = seq_append(m, m->stack[from - 1].u.node, m->stack + from, m->sp - from);
    m->sp = from;
    return s;
}

static aviary_status op_appends(pvm *m, size_t from) {
    if (from == 0) return bad(m, "APPEND(S) without a list");
    if (!node_of(m, &m->stack[from - 1], N_LIST)) return bad(m, "APPEND(S) target is not a list");
    aviary_status s = seq_append(m, m->stack[from - 1].u.node, m->stack + from, m->sp - from);
    m->sp = from;
    return s;
}

static aviary_status memo_put(pvm *m, uint64_t idx) {
    /* Picklers number memo slots consecutively; a slot beyond the next free
     * one is refused so the memo cannot be made to allocate at will. */
    if (idx > m->n_memo) return bad(m, "memo index out of range");
    if (m->sp == 0 || (m->n_marks && m->sp <= m->marks[m->n_marks - 1])) return bad(m, "memoize with an empty stack");
    if (idx == m->n_memo) {
        if (!grow((void **)&m->memo, &m->memo_cap, m->n_memo + 1, sizeof *m->memo)) return nomem(m);
        m->n_memo++;
    }
    m->memo[idx] = m->stack[m->sp - 1];
    return AVIARY_OK;
}

static aviary_status memo_get(pvm *m, uint64_t idx) {
    if (idx >= m->n_memo) return bad(m, "memo index out of range");
    return push(m, m->memo[idx]);
}

/* Run data.pkl; on success *result is the value STOP returned. */
static aviary_status run_pickle(pvm *m, const unsigned char *p, size_t n, pval *result) {
    size_t i = 0;
#define NEED(k)                                                                                                        \
    do {                                                                                                               \
        if ((k) > n - i) return bad(m, "truncated pickle");                                                          \
    } while (0)
    while (i < n) {
        m->pos = i;
        unsigned op = p[i++];
        aviary_status s = AVIARY_OK;
        pval v = {0}, w = {0};
        size_t from = 0;
        switch (op) {
        case 0x80: /* PROTO */
            NEED(1);
            if (p[i] < 2 || p[i] > 5) return bad(m, "unsupported pickle protocol");
            i++;
            break;
        case 0x95: /* FRAME: framing is only a read-ahead hint */
            NEED(8);
            i += 8;
            break;
        case '}': s = push_node(m, N_DICT, NULL); break;
        case ']': s = push_node(m, N_LIST, NULL); break;
        case ')': s = push_node(m, N_TUPLE, NULL); break;
        case '(':
            if (!grow((void **)&m->marks, &m->marks_cap, m->n_marks + 1, sizeof *m->marks)) return nomem(m);
            m->marks[m->n_marks++] = m->sp;
            break;
        case 'X': case 0x8c: case 0x8d: { /* BINUNICODE, SHORT_BINUNICODE, BINUNICODE8 */
            uint64_t len;
            size_t w = op == 'X' ? 4 : op == 0x8c ? 1 : 8;
            NEED(w);
            len = w == 4 ? rd32(p + i) : w == 1 ? p[i] : rd64(p + i);
            i += w;
            if (len > n - i) return bad(m, "string runs past the end of the pickle");
            s = push(m, (pval){.kind = PV_STR, .n = (uint32_t)len, .u.s = (const char *)p + i});
            i += len;
            break;
        }
        case 'q': NEED(1); s = memo_put(m, p[i]); i += 1; break;
        case 'r': NEED(4); s = memo_put(m, rd32(p + i)); i += 4; break;
        case 0x94: s = memo_put(m, m->n_memo); break;
        case 'h': NEED(1); s = memo_get(m, p[i]); i += 1; break;
        case 'j': NEED(4); s = memo_get(m, rd32(p + i)); i += 4; break;
        case 'c': { /* GLOBAL "module\nname\n" */
            const unsigned char *a = p + i, *nl1 = memchr(a, '\n', n - i);
            if (!nl1) return bad(m, "truncated GLOBAL");
            const unsigned char *b = nl1 + 1, *nl2 = memchr(b, '\n', (size_t)(p + n - b));
            if (!nl2) return bad(m, "truncated GLOBAL");
            resolve_global((const char *)a, (size_t)(nl1 - a), (const char *)b, (size_t)(nl2 - b), &v);
            i = (size_t)(nl2 + 1 - p);
            s = push(m, v);
            break;
        }
        case 0x93: /* STACK_GLOBAL */
            s = pop(m, &w);
            if (s == AVIARY_OK) s = pop(m, &v);
            if (s != AVIARY_OK) return s;
            if (v.kind != PV_STR || w.kind != PV_STR) return bad(m, "STACK_GLOBAL needs two strings");
            resolve_global(v.u.s, v.n, w.u.s, w.n, &v);
            s = push(m, v);
            break;
        case 'J': NEED(4); s = push(m, (pval){.kind = PV_INT, .u.i = (int32_t)rd32(p + i)}); i += 4; break;
        case 'K': NEED(1); s = push(m, (pval){.kind = PV_INT, .u.i = p[i]}); i += 1; break;
        case 'M': NEED(2); s = push(m, (pval){.kind = PV_INT, .u.i = rd16(p + i)}); i += 2; break;
        case 0x8a: { /* LONG1: little-endian two's complement */
            NEED(1);
            size_t len = p[i++];
            NEED(len);
            if (len > 8) return bad(m, "integer wider than 64 bits");
            uint64_t u = 0;
            for (size_t k = 0; k < len; k++) u |= (uint64_t)p[i + k] << (8 * k);
            if (len && len < 8 && (p[i + len - 1] & 0x80)) u |= ~(uint64_t)0 << (8 * len);
            i += len;
            s = push(m, (pval){.kind = PV_INT, .u.i = (int64_t)u});
            break;
        }
        case 'G': { /* BINFLOAT, big-endian */
            NEED(8);
            uint64_t u = 0;
            for (int k = 0; k < 8; k++) u = u << 8 | p[i + k];
            i += 8;
            double d;
            memcpy(&d, &u, sizeof d);
            s = push(m, (pval){.kind = PV_FLOAT, .u.f = d});
            break;
        }
        case 'N': s = push(m, (pval){.kind = PV_NONE}); break;
        case 0x88: s = push(m, (pval){.kind = PV_BOOL, .u.i = 1}); break;
        case 0x89: s = push(m, (pval){.kind = PV_BOOL, .u.i = 0}); break;
        case 't':
            s = pop_mark(m, &from);
            if (s == AVIARY_OK) s = build_tuple_from(m, from);
            break;
        case 0x85: case 0x86: case 0x87: { /* TUPLE1..3 */
            size_t k = op - 0x84, floor = m->n_marks ? m->marks[m->n_marks - 1] : 0;
            if (m->sp - floor < k) return bad(m, "stack underflow");
            s = build_tuple_from(m, m->sp - k);
            break;
        }
        case 'R': s = op_reduce(m); break;
        case 'Q': s = op_persid(m); break;
        case 's':
            if (m->sp < 3 || (m->n_marks && m->sp - 3 < m->marks[m->n_marks - 1])) return bad(m, "stack underflow");
            s = op_setitems(m, m->sp - 2);
            break;
        case 'u':
            s = pop_mark(m, &from);
            if (s == AVIARY_OK) s = op_setitems(m, from);
            break;
        case 'a':
            if (m->sp < 2 || (m->n_marks && m->sp - 2 < m->marks[m->n_marks - 1])) return bad(m, "stack underflow");
            s = op_appends(m, m->sp - 1);
            break;
        case 'e':
            s = pop_mark(m, &from);
            if (s == AVIARY_OK) s = op_appends(m, from);
            break;
        case 'b': /* BUILD: OrderedDict state (its _metadata) is not needed */
            s = pop(m, &w);
            if (s == AVIARY_OK) s = pop(m, &v);
            if (s != AVIARY_OK) return s;
            if (v.kind != PV_NODE || m->nodes[v.u.node].kind == N_TUPLE || m->nodes[v.u.node].kind == N_STORAGE)
                return bad(m, "BUILD on an object that takes no state");
            s = push(m, v);
            break;
        case '.':
            if (m->sp == 0 || m->n_marks) return bad(m, "STOP with an empty stack or an open MARK");
            *result = m->stack[m->sp - 1];
            return AVIARY_OK;
        default:
            return aviary_error(AVIARY_UNSUPPORTED,
                                "%s: data.pkl: pickle opcode 0x%02x at byte %zu is outside the state_dict subset "
                                "this reader supports",
                                m->what, op, m->pos);
        }
        if (s != AVIARY_OK) return s;
    }
#undef NEED
    return bad(m, "pickle ends without STOP");
}

/* ------------------------------------------------------------ flatten */

typedef struct namebuf {
    char *s;
    size_t len, cap;
} namebuf;

static bool nb_set(namebuf *b, size_t len, const char *add, size_t n, bool dot) {
    if (!grow((void **)&b->s, &b->cap, len + n + 2, 1)) return false;
    memcpy(b->s + len, add, n);
    b->len = len + n;
    if (dot) b->s[b->len++] = '.';
    b->s[b->len] = 0;
    return true;
}

static bool has_tensor(const pvm *m, const pnode *d) {
    for (uint32_t i = 1; i < d->u.seq.n; i += 2)
        if (node_of(m, &d->u.seq.items[i], N_TENSOR)) return true;
    return false;
}

static aviary_status add_tensor(pvm *m, aviary_checkpoint *ck, const char *name, const pnode *t) {
    const pnode *st = &m->nodes[t->u.tn.storage];
    const pnode *sz = &m->nodes[t->u.tn.size], *sd = &m->nodes[t->u.tn.stride];
    int64_t shape[AVIARY_MAX_DIMS], stride[AVIARY_MAX_DIMS];
    int nd = (int)sz->u.seq.n;
    for (int i = 0; i < nd; i++) {
        get_int(&sz->u.seq.items[i], &shape[i]);
        get_int(&sd->u.seq.items[i], &stride[i]);
    }
    size_t es = aviary_dtype_size((aviary_dtype)st->u.st.dt);
    return aviary__ckpt_add(ck, name, (aviary_dtype)st->u.st.dt, nd, shape, stride,
                            st->u.st.data + (size_t)t->u.tn.offset * es);
}

/* Add every tensor of dict `d`, named prefix + key; nested dicts add
 * prefix + key + "." + their keys. */
static aviary_status flatten(pvm *m, aviary_checkpoint *ck, uint32_t d, namebuf *nb, int depth, bool strip) {
    if (depth > MAX_NEST)
        return aviary_error(AVIARY_FORMAT, "%s: data.pkl: dicts nested deeper than %d levels", m->what, MAX_NEST);
    pnode *dn = &m->nodes[d];
    if (dn->visited) return AVIARY_OK; /* shared or cyclic: walked already */
    dn->visited = 1;
    size_t base = nb->len;
    for (uint32_t i = 0; i + 1 < dn->u.seq.n; i += 2) {
        const pval *k = &m->nodes[d].u.seq.items[i], *v = &m->nodes[d].u.seq.items[i + 1];
        if (k->kind != PV_STR || v->kind != PV_NODE) continue;
        int kind = m->nodes[v->u.node].kind;
        if (kind != N_TENSOR && kind != N_DICT) continue;
        if (memchr(k->u.s, 0, k->n))
            return aviary_error(AVIARY_FORMAT, "%s: data.pkl: a tensor key contains a NUL byte", m->what);
        size_t skip = strip ? 7 : 0; /* "module." */
        if (!nb_set(nb, base, k->u.s + skip, k->n - skip, kind == N_DICT)) return nomem(m);
        aviary_status s = kind == N_TENSOR ? add_tensor(m, ck, nb->s, &m->nodes[v->u.node])
                                           : flatten(m, ck, v->u.node, nb, depth + 1, false);
        if (s != AVIARY_OK) return s;
    }
    nb->len = base;
    return AVIARY_OK;
}

/* True if every string key of dict d that holds a tensor or dict starts
 * with `prefix` (a DataParallel state_dict: "module.x"), and there is one. */
static bool all_prefixed(const pvm *m, const pnode *d, const char *prefix) {
    size_t pl = strlen(prefix), hits = 0;
    for (uint32_t i = 0; i + 1 < d->u.seq.n; i += 2) {
        const pval *k = &d->u.seq.items[i], *v = &d->u.seq.items[i + 1];
        if (k->kind != PV_STR || !(node_of(m, v, N_TENSOR) || node_of(m, v, N_DICT))) continue;
        if (k->n <= pl || memcmp(k->u.s, prefix, pl)) return false;
        hits++;
    }
    return hits > 0;
}

/* The pickled object must be a dict. A training checkpoint wraps the weights
 * ({"state_dict": sd, "optimizer": ...} or {"model": sd, ...}): while the
 * dict holds no tensor itself, descend into the first well-known wrapper key;
 * otherwise every nested dict is flattened with "outer.inner" names.
 * DataParallel's "module." prefix is dropped when every key carries it
 * (aviary_checkpoint_find() still finds "module.x"). */
static aviary_status flatten_root(pvm *m, aviary_checkpoint *ck, const pval *root) {
    static const char *wrappers[] = {"state_dict", "model", "module", "model_state_dict", "params", "weights"};
    if (!node_of(m, root, N_DICT))
        return aviary_error(AVIARY_FORMAT, "%s: data.pkl holds no dict of tensors (not a state_dict)", m->what);
    uint32_t d = root->u.node;
    for (int depth = 0; depth < MAX_NEST && !has_tensor(m, &m->nodes[d]); depth++) {
        const pnode *dn = &m->nodes[d];
        bool found = false;
        for (size_t w = 0; w < sizeof wrappers / sizeof wrappers[0] && !found; w++)
            for (uint32_t i = 0; i + 1 < dn->u.seq.n && !found; i += 2)
                if (str_is(&dn->u.seq.items[i], wrappers[w]) && node_of(m, &dn->u.seq.items[i + 1], N_DICT)) {
                    d = dn->u.seq.items[i + 1].u.node;
                    found = true;
                }
        if (!found) break;
    }
    namebuf nb = {0};
    if (!nb_set(&nb, 0, "", 0, false)) return nomem(m);
    aviary_status s = flatten(m, ck, d, &nb, 0, all_prefixed(m, &m->nodes[d], "module."));
    free(nb.s);
    return s;
}

/* --------------------------------------------------------------- entry */

/* Opening touches every entry's local header (the data offset depends on
 * the local extra field's length), one small read per tensor scattered
 * through a file of many GB. On a mapped file, ask for all of them at once
 * so the reads overlap instead of faulting in one by one. */
static void prefetch_local_headers(const zip *z) {
    const long pg = sysconf(_SC_PAGESIZE);
    if (pg <= 0) return;
    for (size_t i = 0; i < z->n; i++) {
        uint64_t lho = z->e[i].lho;
        if (lho >= z->size) continue;
        uintptr_t b = (uintptr_t)(z->base + lho) & ~((uintptr_t)pg - 1);
        uintptr_t e = (uintptr_t)(z->base + lho) + 30 + z->e[i].nlen + 64;
        if (e > (uintptr_t)(z->base + z->size)) e = (uintptr_t)(z->base + z->size);
        (void)madvise((void *)b, e - b, MADV_WILLNEED);
    }
}

static aviary_status pth_parse(aviary_checkpoint *ck, const void *buf, size_t size, const char *what, bool mapped) {
    zip z = {.base = buf, .size = size, .what = what};
    pvm m = {.z = &z, .what = what};
    aviary_status s = zip_open(&z);
    if (s == AVIARY_OK && mapped) prefetch_local_headers(&z);
    /* Locate "<archive>/data.pkl" (one directory level). */
    const zentry *pk = NULL;
    for (size_t i = 0; s == AVIARY_OK && i < z.n && !pk; i++) {
        const zentry *e = &z.e[i];
        const char *sl = memchr(e->name, '/', e->nlen);
        if (sl && (size_t)(sl - e->name) + 1 + 8 == e->nlen && !memcmp(sl + 1, "data.pkl", 8)) pk = e;
    }
    if (s == AVIARY_OK && !pk) {
        s = aviary_error(AVIARY_FORMAT, "%s: zip archive has no <name>/data.pkl entry (not a torch.save checkpoint)",
                         what);
    }
    const unsigned char *pkl = NULL;
    uint64_t pkl_len = 0;
    if (s == AVIARY_OK) {
        m.archive = pk->name;
        m.archive_len = pk->nlen - 8;
        s = zip_data(&z, pk, &pkl, &pkl_len);
    }
    if (s == AVIARY_OK && pkl_len > PKL_MAX)
        s = aviary_error(AVIARY_UNSUPPORTED, "%s: data.pkl is %llu bytes, beyond the %u-byte limit for a state_dict",
                         what, (unsigned long long)pkl_len, PKL_MAX);
    if (s == AVIARY_OK) { /* refuse big-endian data rather than misread it */
        char name[512];
        if (m.archive_len + 9 < sizeof name) {
            memcpy(name, m.archive, m.archive_len);
            memcpy(name + m.archive_len, "byteorder", 9);
            const zentry *bo = zip_find(&z, name, m.archive_len + 9);
            const unsigned char *d;
            uint64_t n;
            if (bo && zip_data(&z, bo, &d, &n) == AVIARY_OK && n == 3 && !memcmp(d, "big", 3))
                s = aviary_error(AVIARY_UNSUPPORTED, "%s: big-endian checkpoint (byteorder \"big\") is not supported",
                                 what);
        }
    }
    pval root = {0};
    if (s == AVIARY_OK) s = run_pickle(&m, pkl, (size_t)pkl_len, &root);
    if (s == AVIARY_OK) s = flatten_root(&m, ck, &root);
    for (size_t i = 0; i < m.n_nodes; i++)
        if (m.nodes[i].kind <= N_DICT) free(m.nodes[i].u.seq.items);
    free(m.nodes);
    free(m.stack);
    free(m.marks);
    free(m.memo);
    free(z.e);
    return s;
}

aviary_status aviary__pth_parse(aviary_checkpoint *ck, const void *buf, size_t size, const char *what) {
    return pth_parse(ck, buf, size, what, false);
}

aviary_status aviary__pth_read(aviary_checkpoint *ck, const char *path) {
    const void *base;
    size_t size;
    aviary_status s = aviary__ckpt_map(ck, path, &base, &size);
    if (s != AVIARY_OK || size == 0) return s == AVIARY_OK ? aviary__pth_parse(ck, base, size, path) : s;
    /* While parsing, fault in single pages only (no readahead around each
     * local header), so opening leaves just the touched pages resident; then
     * restore normal readahead for whoever reads the tensors. */
    (void)madvise((void *)base, size, MADV_RANDOM);
    s = pth_parse(ck, base, size, path, true);
    (void)madvise((void *)base, size, MADV_NORMAL);
    return s;
}
