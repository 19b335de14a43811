/* lm_cli.c - shared option parsing and model/tokenizer/state setup for
 * `aviary generate` and `aviary chat` (lm_cli.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lm_cli.h"

void lm_opts_init(lm_opts *o, long max_tokens) {
    memset(o, 0, sizeof *o);
    o->max_tokens = max_tokens;
    o->precision = "auto";
    o->sp = aviary_sampler_default_params();
}

void lm_opts_free(lm_opts *o) {
    for (size_t i = 0; i < o->n_stops; i++) free(o->stops[i]);
    o->n_stops = 0;
}

/* --stop values may spell \n, \t, \r and \\ (a newline is hard to type). */
static char *unescape(const char *s) {
    char *o = malloc(strlen(s) + 1), *w = o;
    if (!o) return NULL;
    for (; *s; s++) {
        if (*s == '\\' && s[1]) {
            char c = s[1];
            if (c == 'n' || c == 't' || c == 'r' || c == '\\') {
                *w++ = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : '\\';
                s++;
                continue;
            }
        }
        *w++ = *s;
    }
    *w = '\0';
    return o;
}

int lm_parse_option(lm_opts *o, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    bool has = *i + 1 < argc;
    const char *v = has ? argv[*i + 1] : NULL;
    long l;
    double d;
    if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
        o->verbose = true;
        return 1;
    }
    if (!strcmp(a, "--ids")) {
        o->ids_out = true;
        return 1;
    }
    if (!has) return 0;
    if (!strcmp(a, "-m") || !strcmp(a, "--model")) o->model = v;
    else if (!strcmp(a, "--vocab")) o->vocab = v;
    else if (!strcmp(a, "--precision")) o->precision = v;
    else if (!strcmp(a, "--state-in")) o->state_in = v;
    else if (!strcmp(a, "--state-out")) o->state_out = v;
    else if (!strcmp(a, "--threads")) {
        if (!cli_parse_int(a, v, 1, 1024, &o->threads)) return -1;
    } else if (!strcmp(a, "-n") || !strcmp(a, "--max-tokens")) {
        if (!cli_parse_int(a, v, 0, 1 << 24, &o->max_tokens)) return -1;
    } else if (!strcmp(a, "--temperature")) {
        if (!cli_parse_float(a, v, 0, 100, &d)) return -1;
        o->sp.temperature = (float)d;
    } else if (!strcmp(a, "--top-p")) {
        if (!cli_parse_float(a, v, 0, 1, &d)) return -1;
        o->sp.top_p = (float)d;
        o->sp_set_top_p = true;
    } else if (!strcmp(a, "--top-k")) {
        if (!cli_parse_int(a, v, 0, 1 << 24, &l)) return -1;
        o->sp.top_k = (int)l;
    } else if (!strcmp(a, "--presence-penalty")) {
        if (!cli_parse_float(a, v, 0, 100, &d)) return -1;
        o->sp.presence_penalty = (float)d;
        o->sp_set_presence = true;
    } else if (!strcmp(a, "--frequency-penalty")) {
        if (!cli_parse_float(a, v, 0, 100, &d)) return -1;
        o->sp.frequency_penalty = (float)d;
        o->sp_set_frequency = true;
    } else if (!strcmp(a, "--penalty-decay")) {
        if (!cli_parse_float(a, v, 0, 1, &d)) return -1;
        o->sp.penalty_decay = (float)d;
    } else if (!strcmp(a, "--seed")) {
        char *end = NULL;
        unsigned long long s = strtoull(v, &end, 10);
        if (!*v || *v == '-' || *end || s == AVIARY_SEED_RANDOM) {
            cli_fail("%s: expected a non-negative integer below 2^64-1, got '%s'", a, v);
            return -1;
        }
        o->sp.seed = (uint64_t)s;
    } else if (!strcmp(a, "--stop")) {
        if (o->n_stops == LM_MAX_STOPS) {
            cli_fail("--stop: at most %d stop strings", LM_MAX_STOPS);
            return -1;
        }
        if (!*v) {
            cli_fail("--stop: the stop string is empty");
            return -1;
        }
        if (!(o->stops[o->n_stops] = unescape(v))) {
            cli_fail("out of memory");
            return -1;
        }
        o->n_stops++;
    } else
        return 0;
    (*i)++;
    return 1;
}

void lm_usage_options(FILE *f) {
    fprintf(f,
            "  -m, --model FILE         RWKV-4/5/6/7 checkpoint (required)\n"
            "  -n, --max-tokens N       tokens to generate at most\n"
            "  --temperature T          0 = greedy (argmax); default 1\n"
            "  --top-p P                nucleus sampling, 0..1 (1 = off)\n"
            "  --top-k K                keep the K most likely tokens (0 = off, default)\n"
            "  --presence-penalty A     ChatRWKV alpha_presence\n"
            "  --frequency-penalty A    ChatRWKV alpha_frequency\n"
            "  --penalty-decay D        occurrence decay per token (default 0.996)\n"
            "  --seed N                 sampling seed (default: from the clock)\n"
            "  --stop STR               stop when the text contains STR (\\n, \\t, \\r, \\\\ allowed; repeatable)\n"
            "  --precision P            weights: auto (as stored), f32, bf16 or int8\n"
            "  --threads N              compute threads\n"
            "  --vocab FILE|bytes       tokenizer vocabulary; default: by model vocabulary size, 256 =\n"
            "                           bytes, else the RWKV World vocabulary (installed share/aviary,\n"
            "                           or $AVIARY_VOCAB)\n"
            "  --state-in FILE          start from a saved state\n"
            "  --state-out FILE         save the final state\n"
            "  --ids                    print token ids instead of text\n"
            "  -v, --verbose            print speed and seed to stderr\n");
}

int lm_setup(const lm_opts *o, aviary_model **m, aviary_tokenizer **t, aviary_state **s) {
    *m = NULL;
    *t = NULL;
    *s = NULL;
    if (!o->model) return cli_fail("-m MODEL is required");
    aviary_model_params p = aviary_model_default_params();
    if (aviary_weight_type_parse(o->precision, &p.weights))
        return cli_fail("--precision: expected auto, f32, bf16 or int8, got '%s'", o->precision);
    if (o->threads > 0) aviary_set_num_threads((int)o->threads);
    aviary_status st = aviary_model_load(o->model, &p, m);
    if (!st) st = aviary_tokenizer_for_model(*m, o->vocab, t);
    if (!st) st = aviary_state_create(*m, s);
    if (!st && o->state_in) st = aviary_state_load(*s, o->state_in);
    if (st) {
        int rc = cli_fail_status(st);
        aviary_state_free(*s);
        aviary_tokenizer_free(*t);
        aviary_model_free(*m);
        *m = NULL;
        *t = NULL;
        *s = NULL;
        return rc;
    }
    return 0;
}

bool lm_print_text(void *user, const char *text, size_t len) {
    (void)user;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return true;
}
