/* bench_precision.c - what reduced weight precision costs in logits, for
 * docs/precision.md.
 * Usage: bench_precision [FIXTURES_DIR=tests/fixtures] [TOKENS=32]
 * For every lm-* fixture checkpoint (model.safetensors) and a random-weight
 * RWKV-7 12x768 (vocab 65536), feeds the same TOKENS pseudo-random tokens in
 * RNN mode to the model loaded as f32 (reference) and as bf16 / int8, on the
 * oneDNN backend and on the portable C backend (AVIARY_MATMUL=c: int8
 * weights with f32 x, isolating the weight rounding from oneDNN's int8 x
 * quantization), and prints per variant over all TOKENS logit rows:
 * relative RMS error ||l - ref|| / ||ref||, max |l - ref|, max |ref|, and how
 * often the argmax (greedy next token) agrees. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aviary/aviary.h"

typedef struct result {
    double num, den, maxd, maxr;
    int same, rows;
} result;

static float *run(const char *path, const char *spec, aviary_weight_type wt, const char *backend, const int32_t *tok,
                  int n, int *vocab) {
    if (backend) setenv("AVIARY_MATMUL", backend, 1);
    else unsetenv("AVIARY_MATMUL");
    aviary_model_params p = aviary_model_default_params();
    p.weights = wt;
    aviary_model *m = NULL;
    aviary_status s = path ? aviary_model_load(path, &p, &m) : aviary_model_random(spec, &p, 1, &m);
    unsetenv("AVIARY_MATMUL");
    if (s) {
        fprintf(stderr, "%s\n", aviary_errmsg());
        return NULL;
    }
    const int V = aviary_model_get_info(m)->vocab_size;
    *vocab = V;
    float *out = malloc(sizeof(float) * (size_t)V * (size_t)n);
    aviary_state *st = NULL;
    if (!out || aviary_state_create(m, &st)) {
        free(out);
        aviary_model_free(m);
        return NULL;
    }
    for (int t = 0; t < n && !s; t++) s = aviary_model_eval_rnn(m, st, &tok[t], 1, out + (size_t)t * V);
    aviary_state_free(st);
    aviary_model_free(m);
    if (s) {
        free(out);
        return NULL;
    }
    return out;
}

static void compare(const char *name, const char *label, const float *ref, const float *got, int V, int n) {
    result r = {0};
    for (int t = 0; t < n; t++) {
        const float *a = ref + (size_t)t * V, *b = got + (size_t)t * V;
        int ia = 0, ib = 0;
        for (int v = 0; v < V; v++) {
            double d = (double)b[v] - a[v];
            r.num += d * d;
            r.den += (double)a[v] * a[v];
            if (fabs(d) > r.maxd) r.maxd = fabs(d);
            if (fabs(a[v]) > r.maxr) r.maxr = fabs(a[v]);
            if (a[v] > a[ia]) ia = v;
            if (b[v] > b[ib]) ib = v;
        }
        r.same += ia == ib;
        r.rows++;
    }
    printf("| %-22s | %-24s | %9.2e | %9.2e | %7.2f | %3d/%-3d |\n", name, label, sqrt(r.num / r.den), r.maxd, r.maxr,
           r.same, r.rows);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "tests/fixtures";
    int n = argc > 2 ? atoi(argv[2]) : 32;
    if (n < 1 || n > 4096) n = 32;
    static const char *fx[] = {"lm-rwkv4", "lm-rwkv5", "lm-rwkv6", "lm-rwkv6-bf16", "lm-rwkv7", NULL};
    struct { aviary_weight_type wt; const char *backend, *label; } vars[] = {
        {AVIARY_WEIGHTS_BF16, NULL, "bf16 (onednn)"},
        {AVIARY_WEIGHTS_INT8, NULL, "int8 (onednn, x 2 x int8)"},
        {AVIARY_WEIGHTS_INT8, "c", "int8 (c, f32 x)"},
    };
    printf("| model                  | weights                  | rel RMS   | max abs   | max|ref| | argmax  |\n");
    printf("|------------------------|--------------------------|-----------|-----------|---------|---------|\n");
    for (int f = 0; f <= 5; f++) {
        char path[1024], name[64];
        const char *spec = NULL;
        if (fx[f]) {
            snprintf(path, sizeof path, "%s/%s/model.safetensors", dir, fx[f]);
            snprintf(name, sizeof name, "%s", fx[f]);
        } else {
            spec = "rwkv7:L12:D768:V65536";
            snprintf(name, sizeof name, "random %s", spec);
        }
        int V = 0;
        int32_t *tok = malloc(sizeof(int32_t) * (size_t)n);
        float *ref = NULL;
        /* the reference: f32 weights on the C backend */
        int32_t vocab_probe = fx[f] ? 256 : 65536;
        unsigned seed = 12345;
        for (int t = 0; t < n; t++) {
            seed = seed * 1103515245u + 12345u;
            tok[t] = (int32_t)((seed >> 8) % (unsigned)vocab_probe);
        }
        ref = run(fx[f] ? path : NULL, spec, AVIARY_WEIGHTS_F32, "c", tok, n, &V);
        if (!ref) return 1;
        if (V != vocab_probe) {
            fprintf(stderr, "%s: unexpected vocab %d\n", name, V);
            return 1;
        }
        float *f32d = run(fx[f] ? path : NULL, spec, AVIARY_WEIGHTS_F32, NULL, tok, n, &V);
        if (f32d) compare(name, "f32 (onednn)", ref, f32d, V, n);
        free(f32d);
        for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
            float *got = run(fx[f] ? path : NULL, spec, vars[i].wt, vars[i].backend, tok, n, &V);
            if (!got) return 1;
            compare(name, vars[i].label, ref, got, V, n);
            free(got);
        }
        free(ref);
        free(tok);
    }
    return 0;
}
