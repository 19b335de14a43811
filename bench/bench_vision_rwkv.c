/* bench_vision_rwkv.c - Vision-RWKV speed and memory at the published shapes.
 * Usage: bench_vision_rwkv [MODEL=tiny] [THREADS=1] [REPEATS=5] [SIZE=224]
 *   MODEL: tiny | small | base (VRWKV-T/S/B: 192/384/768 wide, 12 blocks,
 *          S and B post-norm with layer scale), tiny6 | small6 | base6
 *          (VRWKV6-T/S/B, 64-channel heads), large (VRWKV-L: 1024 wide, 24
 *          blocks, post-norm, layer scale, key_norm).
 * Writes a checkpoint of random weights in trained-like ranges with the
 * official key names (patch 16, 224 px training grid, 1000-class head) to
 * $TMPDIR (default /tmp), loads it, then times the backbone + head on one
 * SIZE x SIZE image (one untimed warm-up run first) and, separately, the
 * preprocessing of a 500x375 image (resize the short side to SIZE*8/7,
 * centre crop). Prints images/s and the peak resident memory (ru_maxrss,
 * which includes the weights as loaded in float32). The checkpoint file is
 * removed at the end. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "aviary/aviary_classifier.h"
#include "aviary/aviary_image.h"
#include "aviary/aviary_vision_rwkv.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static unsigned long long rng = 0x9E3779B97F4A7C15ull;
static double urand(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}
static double nrand(void) { return sqrt(-2 * log(urand() + 1e-300)) * cos(6.283185307179586 * urand()); }

/* ---- a tiny safetensors writer (F32 only) ---- */
typedef struct wt {
    char name[96];
    int ndim;
    long long shape[4];
    float *data;
} wt;
typedef struct wlist {
    wt *t;
    size_t n, cap;
} wlist;

static float *add4(wlist *L, const char *name, int ndim, long long a, long long b, long long c, long long d) {
    if (L->n == L->cap) {
        L->cap = L->cap ? 2 * L->cap : 256;
        L->t = realloc(L->t, L->cap * sizeof *L->t);
        if (!L->t) exit(1);
    }
    wt *t = &L->t[L->n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim;
    t->shape[0] = a, t->shape[1] = b, t->shape[2] = c, t->shape[3] = d;
    long long n = 1;
    for (int i = 0; i < ndim; i++) n *= t->shape[i];
    t->data = malloc((size_t)n * sizeof(float));
    if (!t->data) exit(1);
    return t->data;
}
static float *add(wlist *L, const char *name, int ndim, long long a, long long b, long long c) {
    return add4(L, name, ndim, a, b, c, 0);
}
static long long numel(const wt *t) {
    long long n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}
static void fill_n(float *x, long long n, double mean, double sd) {
    for (long long i = 0; i < n; i++) x[i] = (float)(mean + sd * nrand());
}
static void fill_u(float *x, long long n, double lo, double hi) {
    for (long long i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * urand());
}

static int write_safetensors(const char *path, const wlist *L) {
    size_t cap = 256 * L->n + 64, o = 0;
    char *h = malloc(cap);
    if (!h) return 1;
    o += (size_t)snprintf(h + o, cap - o, "{");
    long long off = 0;
    for (size_t i = 0; i < L->n; i++) {
        const wt *t = &L->t[i];
        o += (size_t)snprintf(h + o, cap - o, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[", i ? "," : "", t->name);
        for (int d = 0; d < t->ndim; d++) o += (size_t)snprintf(h + o, cap - o, "%s%lld", d ? "," : "", t->shape[d]);
        o += (size_t)snprintf(h + o, cap - o, "],\"data_offsets\":[%lld,%lld]}", off, off + 4 * numel(t));
        off += 4 * numel(t);
    }
    o += (size_t)snprintf(h + o, cap - o, "}");
    while (o % 8) h[o++] = ' ';
    FILE *f = fopen(path, "wb");
    if (!f) return 1;
    unsigned long long hl = o;
    fwrite(&hl, 8, 1, f);
    fwrite(h, 1, o, f);
    for (size_t i = 0; i < L->n; i++) fwrite(L->t[i].data, 4, (size_t)numel(&L->t[i]), f);
    free(h);
    return fclose(f) != 0;
}

static void lin(wlist *L, const char *name, long long out, long long in, double scale) {
    fill_n(add(L, name, 2, out, in, 0), out * in, 0, scale / sqrt((double)in));
}
static void ln(wlist *L, const char *base, long long C) {
    char n[128];
    snprintf(n, sizeof n, "%s.weight", base);
    fill_n(add(L, n, 1, C, 0, 0), C, 1, 0.1);
    snprintf(n, sizeof n, "%s.bias", base);
    fill_n(add(L, n, 1, C, 0, 0), C, 0, 0.05);
}

static void make_model(wlist *L, int C, int depth, bool v6, bool post, bool key_norm, int grid) {
    char n[160];
    const int P = 16, Hd = 4 * C;
    fill_n(add4(L, "backbone.patch_embed.projection.weight", 4, C, 3, P, P), (long long)C * 3 * P * P, 0,
           1 / sqrt(3.0 * P * P));
    fill_n(add(L, "backbone.patch_embed.projection.bias", 1, C, 0, 0), C, 0, 0.1);
    fill_n(add(L, "backbone.pos_embed", 3, 1, (long long)grid * grid, C), (long long)grid * grid * C, 0, 0.5);
    for (int i = 0; i < depth; i++) {
#define K(fmt) (snprintf(n, sizeof n, "backbone.layers.%d." fmt, i), n)
        if (i == 0) ln(L, K("ln0"), C);
        ln(L, K("ln1"), C);
        ln(L, K("ln2"), C);
        if (post) {
            fill_u(add(L, K("gamma1"), 1, C, 0, 0), C, 0.2, 1.0);
            fill_u(add(L, K("gamma2"), 1, C, 0, 0), C, 0.2, 1.0);
        }
        if (!v6) {
            fill_u(add(L, K("att.spatial_decay"), 1, C, 0, 0), C, -5, 3);
            fill_n(add(L, K("att.spatial_first"), 1, C, 0, 0), C, log(0.3), 1);
            fill_u(add(L, K("att.spatial_mix_k"), 3, 1, 1, C), C, 0, 1);
            fill_u(add(L, K("att.spatial_mix_v"), 3, 1, 1, C), C, 0, 1);
            fill_u(add(L, K("att.spatial_mix_r"), 3, 1, 1, C), C, 0, 1);
        } else {
            static const char *mm[6] = {"x", "w", "k", "v", "r", "g"};
            for (int j = 0; j < 6; j++) {
                char nm[160];
                snprintf(nm, sizeof nm, "backbone.layers.%d.att.time_maa_%s", i, mm[j]);
                fill_u(add(L, nm, 3, 1, 1, C), C, 0, 1);
            }
            fill_n(add(L, K("att.time_maa_w1"), 2, C, 160, 0), (long long)C * 160, 0, 0.7 / sqrt(C));
            fill_n(add(L, K("att.time_maa_w2"), 3, 5, 32, C), 5LL * 32 * C, 0, 0.1);
            fill_u(add(L, K("att.time_decay"), 3, 1, 1, C), C, -6, -1);
            fill_n(add(L, K("att.time_decay_w1"), 2, C, 64, 0), (long long)C * 64, 0, 0.7 / sqrt(C));
            fill_n(add(L, K("att.time_decay_w2"), 2, 64, C, 0), 64LL * C, 0, 0.125);
            fill_n(add(L, K("att.time_faaaa"), 2, C / 64, 64, 0), C, 0, 0.3);
            lin(L, K("att.gate.weight"), C, C, 1);
            ln(L, K("att.ln_x"), C);
        }
        lin(L, K("att.key.weight"), C, C, 1.5);
        lin(L, K("att.value.weight"), C, C, 1);
        lin(L, K("att.receptance.weight"), C, C, 1);
        lin(L, K("att.output.weight"), C, C, 0.5);
        if (key_norm) {
            ln(L, K("att.key_norm"), C);
            ln(L, K("ffn.key_norm"), Hd);
        }
        fill_u(add(L, K("ffn.spatial_mix_k"), 3, 1, 1, C), C, 0, 1);
        fill_u(add(L, K("ffn.spatial_mix_r"), 3, 1, 1, C), C, 0, 1);
        lin(L, K("ffn.key.weight"), Hd, C, 1);
        lin(L, K("ffn.receptance.weight"), C, C, 1);
        lin(L, K("ffn.value.weight"), C, Hd, 0.5);
#undef K
    }
    ln(L, "backbone.ln1", C);
    lin(L, "head.fc.weight", 1000, C, 2);
    fill_n(add(L, "head.fc.bias", 1, 1000, 0, 0), 1000, 0, 0.1);
}

int main(int argc, char **argv) {
    const char *model = argc > 1 ? argv[1] : "tiny";
    int threads = argc > 2 ? atoi(argv[2]) : 1, reps = argc > 3 ? atoi(argv[3]) : 5, size = argc > 4 ? atoi(argv[4]) : 224;
    int C = 0, depth = 12;
    bool v6 = strstr(model, "6") != NULL, post = true, key_norm = false;
    if (!strncmp(model, "tiny", 4)) C = 192, post = false;
    else if (!strncmp(model, "small", 5)) C = 384;
    else if (!strncmp(model, "base", 4)) C = 768;
    else if (!strcmp(model, "large")) C = 1024, depth = 24, key_norm = true;
    if (!C || threads < 1 || reps < 1 || size < 16) {
        fprintf(stderr, "usage: bench_vision_rwkv [tiny|small|base|large|tiny6|small6|base6] [THREADS] [REPEATS] [SIZE]\n");
        return 2;
    }
    aviary_set_num_threads(threads);
    wlist L = {0};
    make_model(&L, C, depth, v6, post, key_norm, 14);
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char path[512];
    snprintf(path, sizeof path, "%s/aviary_bench_vrwkv_%s_%d.safetensors", dir, model, (int)getpid());
    if (write_safetensors(path, &L)) {
        fprintf(stderr, "%s: cannot write the random checkpoint\n", path);
        return 1;
    }
    for (size_t i = 0; i < L.n; i++) free(L.t[i].data);
    free(L.t);
    aviary_checkpoint *ck = NULL;
    aviary_vision_rwkv *m = NULL;
    aviary_classifier *head = NULL;
    double t0 = now();
    if (aviary_checkpoint_open(path, &ck) || aviary_vision_rwkv_load(ck, NULL, &m) ||
        aviary_classifier_load(ck, NULL, AVIARY_WEIGHTS_AUTO, &head)) {
        fprintf(stderr, "%s\n", aviary_errmsg());
        unlink(path);
        return 1;
    }
    aviary_checkpoint_close(ck);
    unlink(path);
    double t_load = now() - t0;
    const aviary_vision_rwkv_info *I = aviary_vision_rwkv_get_info(m);
    float *px = malloc(sizeof(float) * 3 * (size_t)size * size), *pooled = malloc(sizeof(float) * (size_t)C),
          *logits = malloc(sizeof(float) * 1000);
    for (long i = 0; i < 3L * size * size; i++) px[i] = (float)(2 * urand() - 1);
    aviary_vision_rwkv_outputs o = {0};
    o.pooled = pooled;
    if (aviary_vision_rwkv_forward(m, px, size, size, &o) || aviary_classifier_forward(head, pooled, 1, logits)) {
        fprintf(stderr, "%s\n", aviary_errmsg());
        return 1;
    }
    t0 = now();
    for (int r = 0; r < reps; r++) {
        aviary_vision_rwkv_forward(m, px, size, size, &o);
        aviary_classifier_forward(head, pooled, 1, logits);
    }
    double per = (now() - t0) / reps;
    /* preprocessing of a 500x375 photo-sized image */
    aviary_image img = {500, 375, malloc(500 * 375 * 3)};
    for (long i = 0; i < 500L * 375 * 3; i++) img.rgb[i] = (uint8_t)(urand() * 256);
    aviary_image_preprocess pp = aviary_image_preprocess_default();
    pp.resize_short = size * 8 / 7;
    pp.crop_h = pp.crop_w = size;
    float *chw = NULL;
    int h, w;
    t0 = now();
    for (int r = 0; r < reps; r++) {
        aviary_image_preprocess_run(&img, &pp, &chw, &h, &w);
        free(chw);
    }
    double t_pre = (now() - t0) / reps;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("%s (%s, C=%d, depth=%d, %s%s) %dx%d, %d thread(s): %.3f s/image, %.2f images/s; "
           "preprocess %.1f ms; load %.2f s; peak RSS %.0f MB\n",
           model, I->version == 6 ? "VRWKV6" : "VRWKV", I->embed_dims, I->depth, I->post_norm ? "post-norm" : "pre-norm",
           I->key_norm ? ", key_norm" : "", size, size, threads, per, 1.0 / per, 1e3 * t_pre, t_load,
           ru.ru_maxrss / 1024.0);
    aviary_image_free(&img);
    free(px), free(pooled), free(logits);
    aviary_classifier_free(head);
    aviary_vision_rwkv_free(m);
    return 0;
}
