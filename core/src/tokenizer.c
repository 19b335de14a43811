/* tokenizer.c - RWKV World vocabulary parser, greedy longest-match encoder
 * (a byte trie), decoder and streaming UTF-8 decoder (aviary_tokenizer.h). */
#define _GNU_SOURCE 1 /* dladdr */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include "aviary/aviary_tokenizer.h"
#include "internal.h"

#ifndef AVIARY_DATA_INSTALL_DIR
#define AVIARY_DATA_INSTALL_DIR ""
#endif
#ifndef AVIARY_DATA_SOURCE_DIR
#define AVIARY_DATA_SOURCE_DIR ""
#endif

/* Trie node: `token` is the id whose bytes end here (-1 if none); its
 * children are edges [first_edge, first_edge + n_edges), sorted by byte. */
typedef struct trie_node {
    int32_t token;
    uint32_t first_edge;
    uint32_t n_edges;
} trie_node;

struct aviary_tokenizer {
    int32_t n_ids;
    uint32_t *tok_off;    /* [n_ids] offset of each token's bytes in blob */
    uint32_t *tok_len;    /* [n_ids] 0 = no entry */
    uint8_t *blob;        /* all tokens' bytes */
    trie_node *nodes;     /* nodes[0] is the root */
    uint8_t *edge_byte;
    uint32_t *edge_node;
    int32_t root_child[256]; /* dense copy of the root's edges (-1 = none) */
};

/* ---------------------------------------------------------------- UTF-8 */

/* Length of the sequence a lead byte starts (0 = cannot start one), and the
 * allowed range of its second byte (which excludes overlongs, surrogates and
 * code points above U+10FFFF). */
static int utf8_lead(uint8_t b, uint8_t *lo, uint8_t *hi) {
    *lo = 0x80;
    *hi = 0xBF;
    if (b < 0x80) return 1;
    if (b < 0xC2) return 0;
    if (b < 0xE0) return 2;
    if (b < 0xF0) {
        if (b == 0xE0) *lo = 0xA0;
        if (b == 0xED) *hi = 0x9F;
        return 3;
    }
    if (b < 0xF5) {
        if (b == 0xF0) *lo = 0x90;
        if (b == 0xF4) *hi = 0x8F;
        return 4;
    }
    return 0;
}

bool aviary_utf8_valid(const void *bytes, size_t n) {
    const uint8_t *p = bytes;
    for (size_t i = 0; i < n;) {
        uint8_t lo, hi;
        int len = utf8_lead(p[i], &lo, &hi);
        if (len == 0 || (size_t)len > n - i) return false;
        if (len > 1 && (p[i + 1] < lo || p[i + 1] > hi)) return false;
        for (int k = 2; k < len; k++)
            if ((p[i + k] & 0xC0) != 0x80) return false;
        i += (size_t)len;
    }
    return true;
}

static size_t put_replacement(char *out) {
    out[0] = (char)0xEF;
    out[1] = (char)0xBF;
    out[2] = (char)0xBD;
    return 3;
}

void aviary_utf8_stream_init(aviary_utf8_stream *s) { memset(s, 0, sizeof *s); }

size_t aviary_utf8_stream_push(aviary_utf8_stream *s, const void *bytes, size_t n, char *out) {
    const uint8_t *p = bytes;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = p[i];
        if (s->n_pending) {
            uint8_t lo = 0x80, hi = 0xBF;
            if (s->n_pending == 1) utf8_lead(s->pending[0], &lo, &hi);
            if (b >= lo && b <= hi) {
                s->pending[s->n_pending++] = b;
                if (s->n_pending == s->n_needed) {
                    memcpy(out + o, s->pending, s->n_pending);
                    o += s->n_pending;
                    s->n_pending = 0;
                }
                continue;
            }
            /* The sequence was cut short: one U+FFFD for it, then b afresh. */
            o += put_replacement(out + o);
            s->n_pending = 0;
        }
        uint8_t lo, hi;
        int len = utf8_lead(b, &lo, &hi);
        if (len == 1) {
            out[o++] = (char)b;
        } else if (len == 0) {
            o += put_replacement(out + o);
        } else {
            s->pending[0] = b;
            s->n_pending = 1;
            s->n_needed = (uint8_t)len;
        }
    }
    return o;
}

size_t aviary_utf8_stream_flush(aviary_utf8_stream *s, char *out) {
    size_t o = s->n_pending ? put_replacement(out) : 0;
    aviary_utf8_stream_init(s);
    return o;
}

static size_t utf8_encode(uint32_t cp, uint8_t *o) {
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | (cp >> 6));
        o[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | (cp >> 12));
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | (cp >> 18));
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---------------------------------------------------------------- parsing */

typedef struct entry {
    const uint8_t *p; /* into the builder's blob (valid after parsing ends) */
    uint32_t off, len;
    int32_t id;
    uint32_t line;
} entry;

typedef struct builder {
    const char *name;
    entry *e;
    size_t n, cap;
    uint8_t *blob;
    size_t blob_len, blob_cap;
} builder;

static aviary_status blob_reserve(builder *b, size_t more) {
    if (b->blob_len + more <= b->blob_cap) return AVIARY_OK;
    size_t cap = b->blob_cap ? b->blob_cap : 4096;
    while (cap < b->blob_len + more) cap *= 2;
    if (cap > UINT32_MAX) return aviary_error(AVIARY_FORMAT, "%s: vocabulary too large", b->name);
    uint8_t *nb = realloc(b->blob, cap);
    if (!nb) return aviary_error(AVIARY_NOMEM, "%s: out of memory", b->name);
    b->blob = nb;
    b->blob_cap = cap;
    return AVIARY_OK;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Parse the literal at line[*pos..end) into the blob (appending). Leaves
 * *pos after the closing quote. */
static aviary_status parse_literal(builder *b, const char *line, size_t end, size_t *pos, unsigned ln) {
    size_t i = *pos;
    bool is_bytes = false;
    if (i < end && (line[i] == 'b' || line[i] == 'B')) {
        is_bytes = true;
        i++;
    }
    if (i >= end || (line[i] != '\'' && line[i] != '"'))
        return aviary_error(AVIARY_FORMAT, "%s:%u: expected a quoted Python string or bytes literal after the id",
                            b->name, ln);
    char q = line[i++];
    /* Every escape is at least as long as the bytes it stands for, so the
     * token is never longer than its source. */
    if (end - i > 16 * (size_t)AVIARY_TOKENIZER_MAX_TOKEN_BYTES)
        return aviary_error(AVIARY_FORMAT, "%s:%u: line too long for a vocabulary entry", b->name, ln);
    aviary_status st = blob_reserve(b, end - i + 1) /* +1: never NULL, even for an empty tail */;
    if (st) return st;
    uint8_t *o = b->blob + b->blob_len;
    size_t n = 0;
    for (;;) {
        if (i >= end) return aviary_error(AVIARY_FORMAT, "%s:%u: unterminated literal", b->name, ln);
        uint8_t c = (uint8_t)line[i];
        if (c == (uint8_t)q) {
            i++;
            break;
        }
        if (c != '\\') {
            if (is_bytes && c >= 0x80)
                return aviary_error(AVIARY_FORMAT, "%s:%u: non-ASCII character in a bytes literal", b->name, ln);
            o[n++] = c; /* a str literal's raw UTF-8 (the line was validated) */
            i++;
            continue;
        }
        if (i + 1 >= end)
            return aviary_error(AVIARY_FORMAT, "%s:%u: backslash at the end of the line", b->name, ln);
        char e = line[i + 1];
        i += 2;
        uint32_t v = 0;
        int digits = 0;
        switch (e) {
        case '\\': o[n++] = '\\'; continue;
        case '\'': o[n++] = '\''; continue;
        case '"': o[n++] = '"'; continue;
        case 'a': o[n++] = 7; continue;
        case 'b': o[n++] = 8; continue;
        case 'f': o[n++] = 12; continue;
        case 'n': o[n++] = 10; continue;
        case 'r': o[n++] = 13; continue;
        case 't': o[n++] = 9; continue;
        case 'v': o[n++] = 11; continue;
        case 'x': digits = 2; break;
        case 'u': digits = is_bytes ? 0 : 4; break;
        case 'U': digits = is_bytes ? 0 : 8; break;
        case 'N':
            if (!is_bytes)
                return aviary_error(AVIARY_FORMAT, "%s:%u: \\N{...} escapes are not supported", b->name, ln);
            break;
        default:
            if (e >= '0' && e <= '7') {
                v = (uint32_t)(e - '0');
                for (int k = 0; k < 2 && i < end && line[i] >= '0' && line[i] <= '7'; k++)
                    v = v * 8 + (uint32_t)(line[i++] - '0');
                if (is_bytes) {
                    if (v > 255)
                        return aviary_error(AVIARY_FORMAT, "%s:%u: octal escape above \\377 in a bytes literal",
                                            b->name, ln);
                    o[n++] = (uint8_t)v;
                } else {
                    n += utf8_encode(v, o + n);
                }
                continue;
            }
            break;
        }
        if (digits == 0) {
            /* Unknown escape (or \u, \U, \N in bytes): Python keeps the backslash. */
            o[n++] = '\\';
            i--;
            continue;
        }
        for (int k = 0; k < digits; k++) {
            int h = i < end ? hexval(line[i]) : -1;
            if (h < 0)
                return aviary_error(AVIARY_FORMAT, "%s:%u: \\%c escape needs %d hex digits", b->name, ln, e, digits);
            v = v * 16 + (uint32_t)h;
            i++;
        }
        if (is_bytes) {
            o[n++] = (uint8_t)v;
        } else {
            if (v > 0x10FFFF)
                return aviary_error(AVIARY_FORMAT, "%s:%u: code point U+%X is above U+10FFFF", b->name, ln, v);
            if (v >= 0xD800 && v <= 0xDFFF)
                return aviary_error(AVIARY_FORMAT, "%s:%u: code point U+%04X is a surrogate (not encodable in UTF-8)",
                                    b->name, ln, v);
            n += utf8_encode(v, o + n);
        }
    }
    *pos = i;
    b->blob_len += n;
    return AVIARY_OK;
}

/* Strict unsigned decimal at line[*pos..): at least one digit, value <= max. */
static bool parse_uint(const char *line, size_t end, size_t *pos, uint32_t max, uint32_t *out) {
    size_t i = *pos;
    uint64_t v = 0;
    if (i >= end || line[i] < '0' || line[i] > '9') return false;
    while (i < end && line[i] >= '0' && line[i] <= '9') {
        v = v * 10 + (uint64_t)(line[i] - '0');
        if (v > max) return false;
        i++;
    }
    *pos = i;
    *out = (uint32_t)v;
    return true;
}

static aviary_status parse_line(builder *b, const char *line, size_t end, unsigned ln) {
    if (end > 0 && line[end - 1] == '\r') end--;
    if (end == 0) return aviary_error(AVIARY_FORMAT, "%s:%u: empty line", b->name, ln);
    if (!aviary_utf8_valid(line, end)) return aviary_error(AVIARY_FORMAT, "%s:%u: not valid UTF-8", b->name, ln);
    size_t i = 0;
    uint32_t id = 0, declared = 0;
    if (!parse_uint(line, end, &i, AVIARY_TOKENIZER_MAX_ID, &id) || i >= end || line[i] != ' ')
        return aviary_error(AVIARY_FORMAT, "%s:%u: expected '<id> <literal> <byte length>' with an id from 0 to %d",
                            b->name, ln, AVIARY_TOKENIZER_MAX_ID);
    i++;
    size_t start = b->blob_len;
    aviary_status st = parse_literal(b, line, end, &i, ln);
    if (st) return st;
    if (i >= end || line[i] != ' ' || (i++, !parse_uint(line, end, &i, UINT32_MAX, &declared)) || i != end)
        return aviary_error(AVIARY_FORMAT, "%s:%u: expected ' <byte length>' after the literal", b->name, ln);
    size_t len = b->blob_len - start;
    if (len == 0) return aviary_error(AVIARY_FORMAT, "%s:%u: empty token", b->name, ln);
    if (len > AVIARY_TOKENIZER_MAX_TOKEN_BYTES)
        return aviary_error(AVIARY_FORMAT, "%s:%u: token of %zu bytes (at most %d)", b->name, ln, len,
                            AVIARY_TOKENIZER_MAX_TOKEN_BYTES);
    if (len != declared)
        return aviary_error(AVIARY_FORMAT, "%s:%u: literal is %zu bytes but the line says %u", b->name, ln, len,
                            declared);
    if (id == 0)
        return aviary_error(AVIARY_FORMAT, "%s:%u: id 0 is reserved for end of text", b->name, ln);
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 1024;
        entry *ne = realloc(b->e, cap * sizeof *ne);
        if (!ne) return aviary_error(AVIARY_NOMEM, "%s: out of memory", b->name);
        b->e = ne;
        b->cap = cap;
    }
    b->e[b->n++] = (entry){NULL, (uint32_t)start, (uint32_t)len, (int32_t)id, ln};
    return AVIARY_OK;
}

static int cmp_entry(const void *a, const void *b) {
    const entry *x = a, *y = b;
    size_t m = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, m);
    if (c) return c;
    return (x->len > y->len) - (x->len < y->len);
}

/* ---------------------------------------------------------------- trie */

typedef struct trie_build {
    aviary_tokenizer *t;
    const entry *e;
    uint32_t n_nodes, n_edges;
} trie_build;

/* e[lo..hi) share their first `depth` bytes; node ni represents them.
 * Recursion depth = longest token (<= AVIARY_TOKENIZER_MAX_TOKEN_BYTES). */
static void build_node(trie_build *tb, size_t lo, size_t hi, uint32_t depth, uint32_t ni) {
    trie_node *nodes = tb->t->nodes;
    nodes[ni].token = -1;
    if (lo < hi && tb->e[lo].len == depth) nodes[ni].token = tb->e[lo++].id;
    uint32_t groups = 0;
    for (size_t i = lo; i < hi; i++)
        if (i == lo || tb->e[i].p[depth] != tb->e[i - 1].p[depth]) groups++;
    uint32_t first = tb->n_edges;
    nodes[ni].first_edge = first;
    nodes[ni].n_edges = groups;
    tb->n_edges += groups;
    uint32_t k = 0;
    for (size_t i = lo; i < hi;) {
        uint8_t byte = tb->e[i].p[depth];
        size_t j = i;
        while (j < hi && tb->e[j].p[depth] == byte) j++;
        uint32_t child = tb->n_nodes++;
        tb->t->edge_byte[first + k] = byte;
        tb->t->edge_node[first + k] = child;
        build_node(tb, i, j, depth + 1, child);
        k++;
        i = j;
    }
}

static inline int32_t trie_child(const aviary_tokenizer *t, uint32_t node, uint8_t byte) {
    if (node == 0) return t->root_child[byte];
    const trie_node *nd = &t->nodes[node];
    const uint8_t *eb = t->edge_byte + nd->first_edge;
    uint32_t lo = 0, hi = nd->n_edges;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (eb[mid] < byte) lo = mid + 1;
        else hi = mid;
    }
    if (lo < nd->n_edges && eb[lo] == byte) return (int32_t)t->edge_node[nd->first_edge + lo];
    return -1;
}

/* Takes ownership of b's blob and entries. */
static aviary_status finish(builder *b, aviary_tokenizer **out) {
    aviary_status st = AVIARY_OK;
    aviary_tokenizer *t = NULL;
    if (b->n == 0) {
        st = aviary_error(AVIARY_FORMAT, "%s: no vocabulary entries", b->name);
        goto done;
    }
    int32_t max_id = 0;
    for (size_t i = 0; i < b->n; i++) {
        b->e[i].p = b->blob + b->e[i].off;
        if (b->e[i].id > max_id) max_id = b->e[i].id;
    }
    t = calloc(1, sizeof *t);
    if (!t) goto nomem;
    t->n_ids = max_id + 1;
    t->tok_off = calloc((size_t)t->n_ids, sizeof *t->tok_off);
    t->tok_len = calloc((size_t)t->n_ids, sizeof *t->tok_len);
    if (!t->tok_off || !t->tok_len) goto nomem;
    for (size_t i = 0; i < b->n; i++) {
        const entry *e = &b->e[i];
        if (t->tok_len[e->id]) {
            st = aviary_error(AVIARY_FORMAT, "%s:%u: id %d appears twice", b->name, e->line, e->id);
            goto done;
        }
        t->tok_off[e->id] = e->off;
        t->tok_len[e->id] = e->len;
    }
    qsort(b->e, b->n, sizeof *b->e, cmp_entry);
    for (size_t i = 1; i < b->n; i++)
        if (!cmp_entry(&b->e[i - 1], &b->e[i])) {
            unsigned l1 = b->e[i - 1].line, l2 = b->e[i].line;
            st = aviary_error(AVIARY_FORMAT, "%s:%u: same bytes as line %u (ids %d and %d)", b->name,
                              l1 > l2 ? l1 : l2, l1 < l2 ? l1 : l2, b->e[i - 1].id, b->e[i].id);
            goto done;
        }
    /* At most one node and one edge per byte of vocabulary, plus the root. */
    t->nodes = malloc((b->blob_len + 1) * sizeof *t->nodes);
    t->edge_byte = malloc(b->blob_len + 1);
    t->edge_node = malloc((b->blob_len + 1) * sizeof *t->edge_node);
    if (!t->nodes || !t->edge_byte || !t->edge_node) goto nomem;
    trie_build tb = {t, b->e, 1, 0};
    build_node(&tb, 0, b->n, 0, 0);
    for (int c = 0; c < 256; c++) t->root_child[c] = -1;
    for (uint32_t k = 0; k < t->nodes[0].n_edges; k++)
        t->root_child[t->edge_byte[k]] = (int32_t)t->edge_node[k];
    t->blob = b->blob;
    b->blob = NULL;
    goto done;
nomem:
    st = aviary_error(AVIARY_NOMEM, "%s: out of memory", b->name);
done:
    free(b->e);
    free(b->blob);
    if (st) {
        aviary_tokenizer_free(t);
        t = NULL;
    }
    *out = t;
    return st;
}

aviary_status aviary_tokenizer_load_buffer(const char *data, size_t len, const char *name, aviary_tokenizer **out) {
    *out = NULL;
    builder b = {name ? name : "vocabulary", NULL, 0, 0, NULL, 0, 0};
    if (len > UINT32_MAX) return aviary_error(AVIARY_FORMAT, "%s: file too large for a vocabulary", b.name);
    unsigned ln = 0;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(data + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - data) : len;
        ln++;
        aviary_status st = parse_line(&b, data + i, end - i, ln);
        if (st) {
            free(b.e);
            free(b.blob);
            return st;
        }
        i = end + 1;
    }
    return finish(&b, out);
}

aviary_status aviary_tokenizer_load(const char *path, aviary_tokenizer **out) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return aviary_error(AVIARY_IO, "%s: cannot open vocabulary: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? 2 * cap : 1 << 20;
            char *nb = cap <= (size_t)UINT32_MAX * 2 ? realloc(buf, cap) : NULL;
            if (!nb) {
                free(buf);
                fclose(f);
                return aviary_error(AVIARY_NOMEM, "%s: vocabulary file too large", path);
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    bool err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return aviary_error(AVIARY_IO, "%s: read error", path);
    }
    aviary_status st = aviary_tokenizer_load_buffer(buf, len, path, out);
    free(buf);
    return st;
}

aviary_status aviary_tokenizer_bytes(aviary_tokenizer **out) {
    *out = NULL;
    builder b = {"byte tokenizer", calloc(256, sizeof(entry)), 256, 256, malloc(256), 256, 256};
    if (!b.e || !b.blob) {
        free(b.e);
        free(b.blob);
        return aviary_error(AVIARY_NOMEM, "byte tokenizer: out of memory");
    }
    for (int c = 0; c < 256; c++) {
        b.blob[c] = (uint8_t)c;
        b.e[c] = (entry){NULL, (uint32_t)c, 1, c, (uint32_t)c + 1};
    }
    return finish(&b, out);
}

void aviary_tokenizer_free(aviary_tokenizer *t) {
    if (!t) return;
    free(t->tok_off);
    free(t->tok_len);
    free(t->blob);
    free(t->nodes);
    free(t->edge_byte);
    free(t->edge_node);
    free(t);
}

int32_t aviary_tokenizer_n_ids(const aviary_tokenizer *t) { return t->n_ids; }

const uint8_t *aviary_tokenizer_token_bytes(const aviary_tokenizer *t, int32_t id, size_t *len) {
    if (id < 0 || id >= t->n_ids || !t->tok_len[id]) {
        *len = 0;
        return NULL;
    }
    *len = t->tok_len[id];
    return t->blob + t->tok_off[id];
}

int32_t aviary_tokenizer_find(const aviary_tokenizer *t, const void *bytes, size_t len) {
    const uint8_t *p = bytes;
    uint32_t node = 0;
    for (size_t i = 0; i < len; i++) {
        int32_t c = trie_child(t, node, p[i]);
        if (c < 0) return -1;
        node = (uint32_t)c;
    }
    return len ? t->nodes[node].token : -1;
}

aviary_status aviary_tokenizer_encode(const aviary_tokenizer *t, const void *text, size_t len, int32_t **ids,
                                      size_t *n_ids) {
    const uint8_t *p = text;
    *ids = NULL;
    *n_ids = 0;
    /* Every token covers at least one byte. */
    int32_t *o = malloc((len ? len : 1) * sizeof *o);
    if (!o) return aviary_error(AVIARY_NOMEM, "tokenizer: out of memory for %zu bytes of text", len);
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        int32_t best = -1;
        size_t best_len = 0;
        uint32_t node = 0;
        for (size_t j = i; j < len; j++) {
            int32_t c = trie_child(t, node, p[j]);
            if (c < 0) break;
            node = (uint32_t)c;
            if (t->nodes[node].token >= 0) {
                best = t->nodes[node].token;
                best_len = j - i + 1;
            }
        }
        if (best < 0) {
            free(o);
            return aviary_error(AVIARY_INVALID_ARG, "tokenizer: no vocabulary entry starts with byte 0x%02X (at byte %zu)",
                                p[i], i);
        }
        o[n++] = best;
        i += best_len;
    }
    *ids = o;
    *n_ids = n;
    return AVIARY_OK;
}

aviary_status aviary_tokenizer_decode(const aviary_tokenizer *t, const int32_t *ids, size_t n, char **text,
                                      size_t *len) {
    *text = NULL;
    *len = 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->n_ids)
            return aviary_error(AVIARY_INVALID_ARG, "tokenizer: id %d (position %zu) is outside the vocabulary [0, %d)",
                                (int)ids[i], i, (int)t->n_ids);
        total += t->tok_len[ids[i]];
    }
    char *o = malloc(total + 1);
    if (!o) return aviary_error(AVIARY_NOMEM, "tokenizer: out of memory decoding %zu tokens", n);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(o + k, t->blob + t->tok_off[ids[i]], t->tok_len[ids[i]]);
        k += t->tok_len[ids[i]];
    }
    o[k] = '\0';
    *text = o;
    *len = k;
    return AVIARY_OK;
}

/* ---------------------------------------------------------------- default vocabulary */

static bool file_exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* Candidate places of the installed vocabulary, in search order. */
static int default_candidates(char tried[4][4096]) {
    int n = 0;
    Dl_info info;
    /* <prefix>/lib/libaviary.so, or <prefix>/bin/aviary when linked statically:
     * share/ is a sibling of the directory. */
    if (dladdr((void *)&aviary_tokenizer_load_default, &info) && info.dli_fname) {
        const char *slash = strrchr(info.dli_fname, '/');
        if (slash) {
            int k = snprintf(tried[n], 4096, "%.*s/../share/aviary/%s", (int)(slash - info.dli_fname),
                             info.dli_fname, AVIARY_WORLD_VOCAB_FILE);
            if (k > 0 && k < 4096) n++;
        }
    }
    /* The running program's own prefix (dladdr may give a bare program name). */
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            int k = snprintf(tried[n], 4096, "%.*s/../share/aviary/%s", (int)(slash - exe), exe,
                             AVIARY_WORLD_VOCAB_FILE);
            if (k > 0 && k < 4096) n++;
        }
    }
    const char *dirs[2] = {AVIARY_DATA_INSTALL_DIR, AVIARY_DATA_SOURCE_DIR};
    for (int d = 0; d < 2; d++) {
        if (!dirs[d][0]) continue;
        int k = snprintf(tried[n], 4096, "%s/%s", dirs[d], AVIARY_WORLD_VOCAB_FILE);
        if (k > 0 && k < 4096) n++;
    }
    return n;
}

aviary_status aviary_tokenizer_default_path(char *buf, size_t size) {
    const char *env = getenv("AVIARY_VOCAB");
    char tried[4][4096];
    int n = 0;
    if (env && *env) {
        if (strlen(env) >= 4096) return aviary_error(AVIARY_INVALID_ARG, "AVIARY_VOCAB is too long");
        strcpy(tried[n++], env);
    } else {
        n = default_candidates(tried);
    }
    for (int i = 0; i < n; i++)
        if (file_exists(tried[i]) || (env && *env)) {
            if (strlen(tried[i]) >= size)
                return aviary_error(AVIARY_INVALID_ARG, "vocabulary path longer than %zu bytes", size);
            strcpy(buf, tried[i]);
            return AVIARY_OK;
        }
    char list[4 * 4096 + 16] = "";
    for (int i = 0; i < n; i++) {
        if (i) strcat(list, ", ");
        strcat(list, tried[i]);
    }
    return aviary_error(AVIARY_NOT_FOUND, "vocabulary %s not found (set AVIARY_VOCAB or pass --vocab; looked in: %s)",
                        AVIARY_WORLD_VOCAB_FILE, n ? list : "nowhere");
}

aviary_status aviary_tokenizer_load_default(aviary_tokenizer **out) {
    *out = NULL;
    char path[4096];
    aviary_status st = aviary_tokenizer_default_path(path, sizeof path);
    return st ? st : aviary_tokenizer_load(path, out);
}
