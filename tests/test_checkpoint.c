/* test_checkpoint.c - checkpoint loaders (aviary_checkpoint.h):
 *  - every tests/fixtures/<name>/model.pth equals its model.safetensors bit
 *    for bit (same keys, dtypes, shapes and element bytes, strides honoured);
 *  - the hand-made files of tests/corpus/pth (tests/corpus/make_bad.py):
 *    values, strided/offset views, every storage dtype, nested wrappers and
 *    the "module." prefix, pickle protocol 4, both ZIP64 variants, sharded
 *    sets (safetensors and torch zip shards, by index or by one shard);
 *  - robustness: every truncation and many single-byte corruptions of a
 *    valid .pth and .safetensors parse to OK or a clean error, never a crash
 *    (run under ASan in the sanitizer build). */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "aviary/aviary_checkpoint.h"
#include "checkpoint_internal.h"

#include "test_util.h"

static bool exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static aviary_checkpoint *open_ok(const char *path) {
    aviary_checkpoint *ck = NULL;
    aviary_status s = aviary_checkpoint_open(path, &ck);
    if (s != AVIARY_OK) {
        fprintf(stderr, "open %s: %s\n", path, aviary_errmsg());
        failures++;
    }
    return ck;
}

/* Address of element number `flat` (row-major order) of a strided tensor. */
static const unsigned char *elem(const aviary_tensor *t, int64_t flat) {
    int64_t off = 0;
    for (int d = t->ndim - 1; d >= 0; d--) {
        off += (flat % t->shape[d]) * t->strides[d];
        flat /= t->shape[d];
    }
    return (const unsigned char *)t->data + off * (int64_t)aviary_dtype_size(t->dtype);
}

static bool same_shape(const aviary_tensor *a, const aviary_tensor *b) {
    if (a->ndim != b->ndim) return false;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d]) return false;
    return true;
}

/* pth == safetensors: same key set, dtype, shape and every element's bytes. */
static void compare_fixture(const char *dir) {
    char a[512], b[512];
    snprintf(a, sizeof a, "fixtures/%s/model.pth", dir);
    snprintf(b, sizeof b, "fixtures/%s/model.safetensors", dir);
    if (!exists(a)) return;
    aviary_checkpoint *p = open_ok(a);
    if (!p) return;
    CHECK(aviary_checkpoint_get_format(p) == AVIARY_CKPT_PTH);
    if (!exists(b)) { /* no twin: it must at least hold tensors */
        CHECK(aviary_checkpoint_count(p) > 0);
        aviary_checkpoint_close(p);
        return;
    }
    aviary_checkpoint *s = open_ok(b);
    if (!s) {
        aviary_checkpoint_close(p);
        return;
    }
    size_t n = aviary_checkpoint_count(s), bad = 0;
    CHECK(n > 0);
    CHECK(aviary_checkpoint_count(p) == n);
    CHECK(aviary_checkpoint_total_bytes(p) == aviary_checkpoint_total_bytes(s));
    for (size_t i = 0; i < n; i++) {
        const aviary_tensor *ts = aviary_checkpoint_at(s, i);
        const aviary_tensor *tp = aviary_checkpoint_find(p, ts->name);
        if (!tp || tp->dtype != ts->dtype || !same_shape(tp, ts)) {
            fprintf(stderr, "%s: tensor %s missing or differs in dtype/shape\n", dir, ts->name);
            bad++;
            continue;
        }
        size_t es = aviary_dtype_size(ts->dtype);
        int64_t ne = aviary_tensor_numel(ts);
        for (int64_t k = 0; k < ne; k++)
            if (memcmp(elem(tp, k), elem(ts, k), es)) {
                fprintf(stderr, "%s: tensor %s differs at element %lld\n", dir, ts->name, (long long)k);
                bad++;
                break;
            }
    }
    CHECK(bad == 0);
    printf("%-28s %zu tensors identical in .pth and .safetensors\n", dir, n);
    aviary_checkpoint_close(s);
    aviary_checkpoint_close(p);
}

static void test_fixtures(void) {
    DIR *d = opendir("fixtures");
    CHECK(d != NULL);
    if (!d) return;
    int seen = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[512];
        snprintf(p, sizeof p, "fixtures/%s/model.pth", e->d_name);
        if (!exists(p)) continue;
        compare_fixture(e->d_name);
        seen++;
    }
    closedir(d);
    CHECK(seen >= 10);
}

/* The bf16 audio checkpoint is the f32 one rounded to bf16 (nearest even). */
static void test_bf16_twin(void) {
    const char *a = "fixtures/audio-arwkv2025/model.bf16.pth", *b = "fixtures/audio-arwkv2025/model.pth";
    if (!exists(a)) return;
    aviary_checkpoint *p = open_ok(a), *f = open_ok(b);
    if (p && f) {
        CHECK(aviary_checkpoint_count(p) == aviary_checkpoint_count(f));
        size_t bad = 0;
        for (size_t i = 0; i < aviary_checkpoint_count(f); i++) {
            const aviary_tensor *tf = aviary_checkpoint_at(f, i), *tb = aviary_checkpoint_find(p, tf->name);
            if (!tb || !same_shape(tb, tf)) {
                bad++;
                continue;
            }
            if (tf->dtype != AVIARY_F32 || tb->dtype != AVIARY_BF16) continue;
            for (int64_t k = 0; k < aviary_tensor_numel(tf); k++) {
                float v;
                uint16_t h;
                memcpy(&v, elem(tf, k), 4);
                memcpy(&h, elem(tb, k), 2);
                if (aviary_f32_to_bf16(v) != h) {
                    bad++;
                    break;
                }
            }
        }
        CHECK(bad == 0);
    }
    aviary_checkpoint_close(p);
    aviary_checkpoint_close(f);
}

static float f32_at(const aviary_tensor *t, int64_t k) {
    float v;
    memcpy(&v, elem(t, k), 4);
    return v;
}

static uint16_t u16_at(const aviary_tensor *t, int64_t k) {
    uint16_t v;
    memcpy(&v, elem(t, k), 2);
    return v;
}

/* Contents documented in make_bad.py good_state(). */
static void check_good_state(const char *path) {
    aviary_checkpoint *ck = open_ok(path);
    if (!ck) return;
    CHECK(aviary_checkpoint_count(ck) == 6);
    const aviary_tensor *w = aviary_checkpoint_find(ck, "w"), *b = aviary_checkpoint_find(ck, "b");
    const aviary_tensor *h = aviary_checkpoint_find(ck, "h_t"), *n = aviary_checkpoint_find(ck, "n");
    const aviary_tensor *m = aviary_checkpoint_find(ck, "m"), *p = aviary_checkpoint_find(ck, "p");
    CHECK(w && b && h && n && m && p);
    if (!(w && b && h && n && m && p)) {
        aviary_checkpoint_close(ck);
        return;
    }
    CHECK(w->dtype == AVIARY_F32 && w->ndim == 2 && w->shape[0] == 2 && w->shape[1] == 3);
    for (int k = 0; k < 6; k++) CHECK(f32_at(w, k) == 0.5f * (float)k);
    CHECK(b->dtype == AVIARY_BF16 && b->ndim == 1 && b->shape[0] == 4);
    for (int k = 0; k < 4; k++) CHECK(aviary_bf16_to_f32(u16_at(b, k)) == (float)(k + 1));
    CHECK(h->dtype == AVIARY_F16 && h->ndim == 2 && h->shape[0] == 3 && h->shape[1] == 2);
    CHECK(h->strides[0] == 1 && h->strides[1] == 3 && !aviary_tensor_is_contiguous(h));
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 2; c++) CHECK(aviary_f16_to_f32(u16_at(h, r * 2 + c)) == (float)(1 + r + 3 * c));
    float hf[6];
    CHECK(aviary_tensor_to_f32(h, hf) == AVIARY_OK && hf[1] == 4.0f && hf[5] == 6.0f);
    CHECK(n->dtype == AVIARY_I64 && n->ndim == 0 && aviary_tensor_numel(n) == 1);
    int64_t nv;
    memcpy(&nv, n->data, 8);
    CHECK(nv == -7);
    CHECK(m->dtype == AVIARY_BOOL && m->shape[0] == 3);
    CHECK(((const unsigned char *)m->data)[0] == 1 && ((const unsigned char *)m->data)[1] == 0);
    CHECK(p->dtype == AVIARY_F32 && p->shape[0] == 2 && f32_at(p, 0) == 9.0f && f32_at(p, 1) == -9.0f);
    /* Names are listed without the DataParallel prefix; both spellings find. */
    CHECK(!strcmp(aviary_checkpoint_at(ck, 0)->name, "w"));
    CHECK(aviary_checkpoint_find(ck, "module.w") == w);
    CHECK(aviary_checkpoint_find(ck, "epoch") == NULL);
    const aviary_tensor *t;
    CHECK(aviary_checkpoint_get(ck, "nope", &t) == AVIARY_NOT_FOUND && strstr(aviary_errmsg(), path));
    aviary_checkpoint_close(ck);
}

static void test_corpus_good(void) {
    check_good_state("corpus/pth/good_small.pth");
    check_good_state("corpus/pth/good_proto4.pth");
    check_good_state("corpus/pth/good_zip64_local.pth");
    check_good_state("corpus/pth/good_zip64_full.pth");
    check_good_state("corpus/pth/good_nested.pth");
}

/* make_bad.py shards(): a = [1, 2] in shard 1, b = [3] in shard 2. */
static void test_shards(void) {
    static const char *paths[] = {"corpus/safetensors/good_shard-00001-of-00002.safetensors",
                                  "corpus/safetensors/good_shard.safetensors.index.json",
                                  "corpus/pth/good_shard-00002-of-00002.bin", "corpus/pth/good_shard.bin.index.json"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        aviary_checkpoint *ck = open_ok(paths[i]);
        if (!ck) continue;
        CHECK(aviary_checkpoint_get_format(ck) == AVIARY_CKPT_SHARDED);
        const aviary_tensor *a = aviary_checkpoint_find(ck, "a"), *b = aviary_checkpoint_find(ck, "b");
        CHECK(aviary_checkpoint_count(ck) == 2 && a && b);
        if (a && b) CHECK(f32_at(a, 0) == 1.0f && f32_at(a, 1) == 2.0f && f32_at(b, 0) == 3.0f);
        aviary_checkpoint_close(ck);
    }
}

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(len > 0 ? (size_t)len : 1);
    *n = b ? fread(b, 1, (size_t)len, f) : 0;
    fclose(f);
    return b;
}

typedef aviary_status (*parse_fn)(aviary_checkpoint *, const void *, size_t, const char *);

/* Returns the status; any error must carry a message naming the buffer. */
static aviary_status parse_once(parse_fn fn, const unsigned char *buf, size_t n) {
    aviary_checkpoint *ck = aviary__ckpt_new("mem.bin");
    unsigned char *copy = malloc(n ? n : 1); /* exact-size copy: ASan sees any overread */
    memcpy(copy, buf, n);
    aviary_status s = fn(ck, copy, n, "mem.bin");
    if (s != AVIARY_OK && !strstr(aviary_errmsg(), "mem.bin")) {
        fprintf(stderr, "error message does not name the file: %s\n", aviary_errmsg());
        failures++;
    }
    aviary_checkpoint_close(ck);
    free(copy);
    return s;
}

/* Every truncation fails cleanly; corruptions either parse or fail cleanly. */
static void robustness(const char *path, parse_fn fn) {
    size_t n = 0;
    unsigned char *buf = slurp(path, &n);
    CHECK(buf && n > 0);
    if (!buf) return;
    CHECK(parse_once(fn, buf, n) == AVIARY_OK);
    size_t truncated_ok = 0;
    for (size_t k = 0; k < n; k++)
        if (parse_once(fn, buf, k) == AVIARY_OK) truncated_ok++;
    CHECK(truncated_ok == 0);
    static const unsigned char vals[] = {0x00, 0xff, 0x7f, 0x80};
    for (size_t k = 0; k < n; k++)
        for (size_t v = 0; v < sizeof vals; v++) {
            unsigned char old = buf[k];
            buf[k] = vals[v];
            (void)parse_once(fn, buf, n);
            buf[k] = (unsigned char)(old + 1);
            (void)parse_once(fn, buf, n);
            buf[k] = old;
        }
    free(buf);
}

int main(void) {
    test_fixtures();
    test_bf16_twin();
    test_corpus_good();
    test_shards();
    robustness("corpus/pth/good_small.pth", aviary__pth_parse);
    robustness("corpus/pth/good_zip64_full.pth", aviary__pth_parse);
    robustness("corpus/pth/good_proto4.pth", aviary__pth_parse);
    robustness("corpus/safetensors/good_small.safetensors", aviary__safetensors_parse);
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    else printf("test_checkpoint: all passed\n");
    return failures ? 1 : 0;
}
