/* cmd_bench.c - `aviary bench`: prefill and generation speed and peak memory
 * of an RWKV LM, from a checkpoint (-m) or a shape with random weights
 * (--shape rwkv6:L24:D2048:V65536).
 *
 * Prefill: one aviary_model_eval over a --prompt token prompt (sequence
 * mode). Generation: --gen tokens one at a time, each the argmax of the last
 * logits. Prints tokens/s for both, peak RSS, the weight bytes and the
 * generation speed the memory bandwidth allows (weight bytes read per token /
 * --bandwidth GB/s, default 35). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "cli.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void usage(FILE *f) {
    fprintf(f, "usage: aviary bench (-m MODEL | --shape rwkvV:L<layers>:D<width>:V<vocab>)\n"
               "                    [--weights auto|f32|bf16|int8] [--threads N] [--prompt TOKENS] [--gen TOKENS]\n"
               "                    [--bandwidth GBPS]\n"
               "  Measures prefill (sequence mode) and generation (one token at a time) tokens/s\n"
               "  and peak RSS. --shape builds a model with random weights of that shape.\n");
}

int cli_cmd_bench(int argc, char **argv) {
    const char *model = NULL, *shape = NULL, *wname = "auto";
    long threads = 0, prompt = 512, gen = 64;
    double bw = 35.0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && has) model = argv[++i];
        else if (!strcmp(a, "--shape") && has) shape = argv[++i];
        else if (!strcmp(a, "--weights") && has) wname = argv[++i];
        else if (!strcmp(a, "--threads") && has) {
            if (!cli_parse_int(a, argv[++i], 1, 1024, &threads)) return 1;
        } else if (!strcmp(a, "--prompt") && has) {
            if (!cli_parse_int(a, argv[++i], 1, 1 << 20, &prompt)) return 1;
        } else if (!strcmp(a, "--gen") && has) {
            if (!cli_parse_int(a, argv[++i], 0, 1 << 20, &gen)) return 1;
        } else if (!strcmp(a, "--bandwidth") && has) {
            if (!cli_parse_float(a, argv[++i], 0.1, 10000.0, &bw)) return 1;
        } else {
            usage(stderr);
            return cli_fail("bench: unknown or incomplete option '%s'", a);
        }
    }
    if (!model == !shape) {
        usage(stderr);
        return cli_fail("bench: give exactly one of -m MODEL and --shape SHAPE");
    }
    aviary_model_params p = aviary_model_default_params();
    if (aviary_weight_type_parse(wname, &p.weights)) return cli_fail_status(AVIARY_INVALID_ARG);
    if (threads > 0) aviary_set_num_threads((int)threads);
    double t0 = now();
    aviary_model *m = NULL;
    aviary_status s = model ? aviary_model_load(model, &p, &m) : aviary_model_random(shape, &p, 42, &m);
    if (s) return cli_fail_status(s);
    double t_load = now() - t0;
    const aviary_model_info *in = aviary_model_get_info(m);
    const size_t V = (size_t)in->vocab_size;
    float *logits = malloc(V * sizeof(float));
    int32_t *tok = malloc((size_t)prompt * sizeof *tok);
    aviary_state *st = NULL;
    if (!logits || !tok || aviary_state_create(m, &st)) {
        free(logits);
        free(tok);
        aviary_model_free(m);
        return cli_fail("bench: out of memory");
    }
    unsigned seed = 7;
    for (long i = 0; i < prompt; i++) {
        seed = seed * 1103515245u + 12345u;
        tok[i] = (int32_t)((seed >> 8) % V);
    }
    t0 = now();
    s = aviary_model_eval(m, st, tok, (size_t)prompt, logits);
    double t_pre = now() - t0;
    double t_gen = 0;
    for (long g = 0; !s && g < gen; g++) {
        int32_t best = 0;
        for (size_t v = 1; v < V; v++)
            if (logits[v] > logits[best]) best = (int32_t)v;
        double t1 = now();
        s = aviary_model_eval(m, st, &best, 1, logits);
        t_gen += now() - t1;
    }
    if (s) {
        int rc = cli_fail_status(s);
        aviary_state_free(st);
        free(logits);
        free(tok);
        aviary_model_free(m);
        return rc;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    /* Per generated token every matrix is read once; of the embedding only one row. */
    const double read = (double)(in->weight_bytes - in->embedding_bytes);
    printf("model      RWKV-%d L%d D%d V%d ffn %d, weights %s, %d thread(s)\n", in->version, in->n_layer,
           in->n_embd, in->vocab_size, in->dim_ffn, aviary_weight_type_name(in->weights), aviary_get_num_threads());
    printf("weights    %.1f MB (%.1f MB read per token), state %.2f MB, load %.2f s\n", in->weight_bytes / 1e6,
           read / 1e6, in->state_floats * 4.0 / 1e6, t_load);
    printf("prefill    %ld tokens in %.3f s: %.1f tokens/s\n", prompt, t_pre, (double)prompt / t_pre);
    if (gen > 0)
        printf("generate   %ld tokens in %.3f s: %.2f tokens/s (bandwidth limit at %.0f GB/s: %.2f tokens/s)\n", gen,
               t_gen, (double)gen / t_gen, bw, bw * 1e9 / read);
    printf("peak RSS   %.1f MB\n", ru.ru_maxrss / 1024.0);
    aviary_state_free(st);
    free(logits);
    free(tok);
    aviary_model_free(m);
    return 0;
}
