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
               "  0.996, penalties reset each reply, end of text (token 0, World vocabulary) banned.\n"
               "  Commands: /reset (back to the initial state), /quit, /help.\n");
    lm_usage_options(f);
}

/* ChatRWKV's clean-up: CRLF -> LF, strip, collapse runs of newlines. The
 * message is one input line, so only \r and surrounding spaces remain. */
static char *clean(char *s) {
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = '\0';
    while (*s == ' ' || *s == '\t') s++;
    return s;
}

static bool ends_with_blank_line(const aviary_tokenizer *t, const aviary_generation *g) {
    /* The last two bytes fed (looking back over a few tokens). */
    char last[2] = {0, 0};
    int have = 0;
    for (size_t k = g->n_ids; k-- > 0 && have < 2;) {
        size_t len = 0;
        const uint8_t *b = aviary_tokenizer_token_bytes(t, g->ids[k], &len);
        while (len-- > 0 && have < 2) last[1 - have++] = (char)b[len];
    }
    return have == 2 && last[0] == '\n' && last[1] == '\n';
}

int cli_cmd_chat(int argc, char **argv) {
    lm_opts o;
    lm_opts_init(&o, 500);
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
    const char *stops[LM_MAX_STOPS + 2] = {"\n\n", "\nUser:"};
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
    int32_t end_token = 0;
    if (aviary_tokenizer_has_end_token(t)) {
        o.sp.ban_tokens = &end_token;
        o.sp.n_ban_tokens = 1;
    }
    aviary_status st = aviary_sampler_create(&o.sp, V, &smp);
    if (!st) st = aviary_state_create(m, &initial);
    if (!st) st = aviary_state_copy(initial, s);
    logits = malloc((size_t)V * sizeof *logits);
    if (!st && !logits) st = aviary_error(AVIARY_NOMEM, "out of memory");
    if (st) {
        rc = cli_fail_status(st);
        goto out;
    }
    const bool tty = isatty(STDIN_FILENO);
    bool need_separator = false; /* the state does not end with "\n\n" */
    aviary_generate_params gp = {(int)o.max_tokens, stops, 2 + o.n_stops, o.ids_out ? NULL : lm_print_text, NULL};
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
            need_separator = false;
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
        snprintf(turn, need, "%sUser: %s\n\nAssistant:", need_separator ? "\n\n" : "", msg);
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
        need_separator = !ends_with_blank_line(t, &g);
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
