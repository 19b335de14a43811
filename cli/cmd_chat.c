/* cmd_chat.c - `aviary chat`: an interactive RWKV chat in ChatRWKV's format
 * ("User: ...\n\nAssistant: ...\n\n"). The state is kept between turns, so
 * each turn feeds only the new text. Reads one message per line from stdin
 * (a terminal or a pipe). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lm_cli.h"

static void usage(FILE *f) {
    fprintf(f, "usage: aviary chat -m MODEL [options] < messages\n"
               "  One message per input line. Each turn feeds \"User: MESSAGE\\n\\nAssistant:\" to the\n"
               "  model (the state keeps the whole conversation) and prints the reply, which ends at\n"
               "  \"\\n\\n\" or \"\\nUser:\" (or -n tokens, default 500). Sampling follows ChatRWKV's\n"
               "  API_DEMO_CHAT: temperature 1, top-p 0.3, presence/frequency penalty 0.5, decay\n"
               "  0.996, penalties reset each reply; with the World vocabulary end of text (token 0) is\n"
               "  banned and \"，。：？！\" never come twice in a row (ChatRWKV's AVOID_REPEAT).\n"
               "  Type \\n in a message for a line break.\n"
               "  Commands: /reset (back to the initial state), /quit, /help.\n"
               "  --system TEXT            fed once before the first turn (e.g. an example exchange; \\n\n"
               "                           = line break; a blank line is added if it does not end with one);\n"
               "                           /reset returns to the state after it\n");
    lm_usage_options(f);
}

/* ChatRWKV's clean-up of a message: a typed "\\n" is a newline, surrounding
 * white space goes, runs of newlines become one (a blank line would end the
 * turn early). Works in place. */
static char *clean(char *s) {
    char *w = s;
    for (const char *r = s; *r; r++) {
        char c = *r;
        if (c == '\\' && r[1] == 'n') {
            c = '\n';
            r++;
        }
        if (c == '\r') continue;
        if (c == '\n' && w > s && w[-1] == '\n') continue;
        *w++ = c;
    }
    *w = '\0';
    while (w > s && (w[-1] == '\n' || w[-1] == ' ' || w[-1] == '\t')) *--w = '\0';
    while (*s == ' ' || *s == '\t' || *s == '\n') s++;
    return s;
}

/* True if the bytes fed for the reply (g's ids) end with `tail`. */
static bool reply_ends_with(const aviary_tokenizer *t, const aviary_generation *g, const char *tail) {
    size_t want = strlen(tail), have = 0;
    char last[16];
    for (size_t k = g->n_ids; k-- > 0 && have < want;) {
        size_t len = 0;
        const uint8_t *b = aviary_tokenizer_token_bytes(t, g->ids[k], &len);
        while (len-- > 0 && have < want) last[want - 1 - have++] = (char)b[len];
    }
    return have == want && !memcmp(last, tail, want);
}

int cli_cmd_chat(int argc, char **argv) {
    lm_opts o;
    lm_opts_init(&o, 500);
    const char *system_text = NULL;
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
        if (!r && !strcmp(a, "--system") && i + 1 < argc) {
            system_text = argv[++i];
            r = 1;
        }
        if (!r) {
            usage(stderr);
            lm_opts_free(&o);
            return cli_fail("chat: unknown or incomplete option '%s'", a);
        }
    }
    if (!o.model) {
        usage(stderr);
        lm_opts_free(&o);
        return cli_fail("chat: -m MODEL is required");
    }
    if (!o.sp_set_top_p) o.sp.top_p = 0.3f;
    if (!o.sp_set_presence) o.sp.presence_penalty = 0.5f;
    if (!o.sp_set_frequency) o.sp.frequency_penalty = 0.5f;
    const char *stops[LM_MAX_STOPS + 2] = AVIARY_CHAT_STOP_STRINGS;
    for (size_t k = 0; k < o.n_stops; k++) stops[2 + k] = o.stops[k];

    aviary_model *m = NULL;
    aviary_tokenizer *t = NULL;
    aviary_state *s = NULL, *initial = NULL;
    aviary_sampler *smp = NULL;
    float *logits = NULL;
    char *line = NULL, *turn = NULL;
    size_t line_cap = 0;
    int rc = 0;
    if (lm_setup(&o, &m, &t, &s)) {
        lm_opts_free(&o);
        return 1;
    }
    const int32_t V = aviary_model_get_info(m)->vocab_size;
    aviary_chat_tokens chat_tokens;
    aviary_chat_sampler_setup(t, &chat_tokens, &o.sp);
    aviary_status st = aviary_sampler_create(&o.sp, V, &smp);
    if (!st && system_text && *system_text) {
        size_t n = strlen(system_text);
        char *sys = malloc(n + 3);
        int32_t *ids = NULL;
        size_t n_ids = 0;
        if (!sys) st = aviary_error(AVIARY_NOMEM, "out of memory");
        if (!st) {
            /* a typed "\\n" is a line break, as in messages */
            size_t k = 0;
            for (size_t r = 0; r < n; r++) {
                bool esc = system_text[r] == '\\' && system_text[r + 1] == 'n';
                sys[k++] = esc ? '\n' : system_text[r];
                r += esc;
            }
            bool blank = k >= 2 && sys[k - 2] == '\n' && sys[k - 1] == '\n';
            snprintf(sys + k, 3, "%s", blank ? "" : sys[k - 1] == '\n' ? "\n" : "\n\n");
            st = aviary_tokenizer_encode(t, sys, strlen(sys), &ids, &n_ids);
        }
        if (!st) st = aviary_model_eval(m, s, ids, n_ids, NULL);
        free(ids);
        free(sys);
    }
    if (!st) st = aviary_state_create(m, &initial);
    if (!st) st = aviary_state_copy(initial, s);
    logits = malloc((size_t)V * sizeof *logits);
    if (!st && !logits) st = aviary_error(AVIARY_NOMEM, "out of memory");
    if (st) {
        rc = cli_fail_status(st);
        goto out;
    }
    if (o.verbose)
        fprintf(stderr, "aviary: vocabulary of %d ids, seed %llu\n", (int)aviary_tokenizer_n_ids(t),
                (unsigned long long)aviary_sampler_seed(smp));
    const bool tty = isatty(STDIN_FILENO);
    /* What the state ends with decides how the next turn starts: after
     * "\n\n" (a finished reply, or the start) with "User: ", after a reply
     * cut at "\nUser:" (the model began the user's turn) with " ", after
     * anything else (-n reached) with "\n\nUser: ". */
    const char *turn_prefix = "User: ";
    aviary_generate_params gp = {(int)o.max_tokens, stops, 2 + o.n_stops, o.ids_out ? NULL : lm_print_text, NULL,
                                 false};
    for (;;) {
        if (tty) {
            fputs("User: ", stdout);
            fflush(stdout);
        }
        ssize_t got = getline(&line, &line_cap, stdin);
        if (got < 0) break;
        char *msg = clean(line);
        if (!*msg) {
            if (tty) puts("(say something, or /help)");
            continue;
        }
        if (!strcmp(msg, "/quit") || !strcmp(msg, "/exit")) break;
        if (!strcmp(msg, "/help")) {
            puts("/reset  forget the conversation (back to the initial state)\n/quit   leave");
            continue;
        }
        if (!strcmp(msg, "/reset")) {
            if ((st = aviary_state_copy(s, initial))) break;
            turn_prefix = "User: ";
            puts("[conversation reset]");
            fflush(stdout);
            continue;
        }
        if (msg[0] == '/') {
            printf("unknown command %s (try /help)\n", msg);
            continue;
        }
        size_t need = strlen(msg) + 32;
        char *nt = realloc(turn, need);
        if (!nt) {
            st = aviary_error(AVIARY_NOMEM, "out of memory");
            break;
        }
        turn = nt;
        snprintf(turn, need, "%s%s\n\nAssistant:", turn_prefix, msg);
        int32_t *ids = NULL;
        size_t n_ids = 0;
        if ((st = aviary_tokenizer_encode(t, turn, strlen(turn), &ids, &n_ids))) break;
        aviary_sampler_reset(smp);
        fputs("Assistant:", stdout);
        fflush(stdout);
        aviary_generation g;
        st = aviary_generate(m, s, t, smp, ids, n_ids, logits, &gp, &g);
        free(ids);
        if (st) break;
        if (o.ids_out)
            for (size_t k = 0; k < g.n_ids; k++) printf(" %d", (int)g.ids[k]);
        fputs("\n\n", stdout);
        fflush(stdout);
        turn_prefix = reply_ends_with(t, &g, "\n\n") ? "User: " : reply_ends_with(t, &g, "\nUser:") ? " " : "\n\nUser: ";
        aviary_generation_free(&g);
    }
    if (st) {
        fputc('\n', stdout);
        rc = cli_fail_status(st);
    } else if (o.state_out && (st = aviary_state_save(s, o.state_out))) {
        rc = cli_fail_status(st);
    }
out:
    free(line);
    free(turn);
    free(logits);
    aviary_sampler_free(smp);
    aviary_state_free(initial);
    aviary_state_free(s);
    aviary_tokenizer_free(t);
    aviary_model_free(m);
    lm_opts_free(&o);
    return rc;
}
