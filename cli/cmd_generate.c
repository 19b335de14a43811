/* cmd_generate.c - `aviary generate`: continue a prompt with an RWKV LM,
 * printing the text as it is made. The prompt is prefilled in sequence mode,
 * then tokens are generated one at a time (aviary_generate). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lm_cli.h"

static void usage(FILE *f) {
    fprintf(f, "usage: aviary generate -m MODEL (-p PROMPT | --prompt-ids ID,ID,...) [options]\n"
               "  Prints the text the model writes after PROMPT (not the prompt itself), then a newline.\n"
               "  Sampling follows ChatRWKV's PIPELINE (defaults: temperature 1, top-p 0.85,\n"
               "  presence/frequency penalty 0.2, decay 0.996). With the World vocabulary token 0\n"
               "  (end of text) ends the generation.\n"
               "  -p, --prompt TEXT        the prompt (UTF-8)\n"
               "  --prompt-ids LIST        the prompt as comma-separated token ids\n");
    lm_usage_options(f);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* "1,2,3" -> ids (malloc'd). Prints the error and returns false if malformed. */
static bool parse_ids(const char *s, int32_t vocab, int32_t **ids, size_t *n) {
    size_t cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    *ids = malloc(cap * sizeof **ids);
    *n = 0;
    if (!*ids) return cli_fail("out of memory"), false;
    const char *p = s;
    for (;;) {
        char *end = NULL;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v >= vocab || (*end && *end != ',')) {
            free(*ids);
            *ids = NULL;
            cli_fail("--prompt-ids: expected comma-separated token ids from 0 to %d, got '%s'", (int)vocab - 1, s);
            return false;
        }
        (*ids)[(*n)++] = (int32_t)v;
        if (!*end) return true;
        p = end + 1;
    }
}

int cli_cmd_generate(int argc, char **argv) {
    lm_opts o;
    lm_opts_init(&o, 100);
    const char *prompt = NULL, *prompt_ids = NULL;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            lm_opts_free(&o);
            return 0;
        }
        int r = lm_parse_option(&o, argc, argv, &i);
        if (r < 0) {
            lm_opts_free(&o);
            return 1;
        }
        if (r) continue;
        if ((!strcmp(a, "-p") || !strcmp(a, "--prompt")) && i + 1 < argc) prompt = argv[++i];
        else if (!strcmp(a, "--prompt-ids") && i + 1 < argc) prompt_ids = argv[++i];
        else {
            usage(stderr);
            lm_opts_free(&o);
            return cli_fail("generate: unknown or incomplete option '%s'", a);
        }
    }
    if (!o.model || !prompt == !prompt_ids) {
        usage(stderr);
        lm_opts_free(&o);
        return cli_fail("generate: give -m MODEL and exactly one of -p PROMPT and --prompt-ids");
    }
    if (prompt && !*prompt) {
        lm_opts_free(&o);
        return cli_fail("generate: the prompt is empty");
    }
    aviary_model *m = NULL;
    aviary_tokenizer *t = NULL;
    aviary_state *s = NULL;
    aviary_sampler *smp = NULL;
    int32_t *ids = NULL;
    float *logits = NULL;
    size_t n_ids = 0;
    aviary_generation g = {0};
    if (lm_setup(&o, &m, &t, &s)) {
        lm_opts_free(&o);
        return 1;
    }
    const int32_t V = aviary_model_get_info(m)->vocab_size;
    aviary_status st = AVIARY_OK;
    if (prompt_ids) {
        if (!parse_ids(prompt_ids, V, &ids, &n_ids)) {
            rc = 1;
            goto out;
        }
    } else {
        st = aviary_tokenizer_encode(t, prompt, strlen(prompt), &ids, &n_ids);
    }
    int32_t end_token = 0;
    if (!st && aviary_tokenizer_has_end_token(t)) {
        o.sp.stop_tokens = &end_token;
        o.sp.n_stop_tokens = 1;
    }
    if (!st) st = aviary_sampler_create(&o.sp, V, &smp);
    logits = malloc((size_t)V * sizeof *logits);
    if (!st && !logits) st = aviary_error(AVIARY_NOMEM, "out of memory");
    if (st) {
        rc = cli_fail_status(st);
        goto out;
    }
    aviary_generate_params gp = {(int)o.max_tokens, (const char *const *)o.stops, o.n_stops,
                                 o.ids_out ? NULL : lm_print_text, NULL};
    double t0 = now();
    /* Prefill separately so the speeds can be told apart. */
    st = aviary_model_eval(m, s, ids, n_ids, logits);
    double t1 = now();
    if (!st) st = aviary_generate(m, s, t, smp, NULL, 0, logits, &gp, &g);
    double t2 = now();
    if (st) {
        fputc('\n', stdout);
        rc = cli_fail_status(st);
        goto out;
    }
    if (o.ids_out)
        for (size_t k = 0; k < g.n_ids; k++) printf("%s%d", k ? " " : "", (int)g.ids[k]);
    printf("\n");
    fflush(stdout);
    if (o.verbose)
        fprintf(stderr, "aviary: prompt %zu tokens (%.1f tok/s), generated %zu tokens (%.1f tok/s), seed %llu\n",
                n_ids, (double)n_ids / (t1 - t0 > 0 ? t1 - t0 : 1e-9), g.n_ids,
                (double)g.n_ids / (t2 - t1 > 0 ? t2 - t1 : 1e-9), (unsigned long long)aviary_sampler_seed(smp));
    if (o.state_out && (st = aviary_state_save(s, o.state_out))) rc = cli_fail_status(st);
out:
    aviary_generation_free(&g);
    free(logits);
    free(ids);
    aviary_sampler_free(smp);
    aviary_state_free(s);
    aviary_tokenizer_free(t);
    aviary_model_free(m);
    lm_opts_free(&o);
    return rc;
}
