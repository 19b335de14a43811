/* cmd_tokenize.c - `aviary tokenize`: text to token ids and back with the
 * RWKV World vocabulary (or --vocab FILE / bytes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static void usage(FILE *f) {
    fprintf(f, "usage: aviary tokenize [--vocab FILE|bytes] [-v] TEXT\n"
               "       aviary tokenize --decode [--vocab FILE|bytes] [-v] ID...\n"
               "  Prints the token ids of TEXT (greedy longest match), or with --decode the text of\n"
               "  the ids. Default vocabulary: the installed RWKV World vocabulary ($AVIARY_VOCAB\n"
               "  overrides). -v prints the vocabulary file used to stderr.\n");
}

int cli_cmd_tokenize(int argc, char **argv) {
    const char *vocab = NULL;
    bool decode = false, verbose = false;
    int first = 0;
    for (int i = 1; i < argc && !first; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--vocab") && i + 1 < argc) vocab = argv[++i];
        else if (!strcmp(a, "--decode")) decode = true;
        else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) verbose = true;
        else if (!strcmp(a, "--")) first = i + 1;
        else if (a[0] == '-' && a[1] && !(decode && a[1] >= '0' && a[1] <= '9')) {
            usage(stderr);
            return cli_fail("tokenize: unknown or incomplete option '%s'", a);
        } else first = i;
    }
    if (!first || first >= argc) {
        usage(stderr);
        return cli_fail(decode ? "tokenize: no ids given" : "tokenize: no text given");
    }
    if (!decode && first + 1 < argc) return cli_fail("tokenize: give the text as one argument (quote it)");
    aviary_tokenizer *t = NULL;
    char path[4096];
    aviary_status st;
    if (vocab && !strcmp(vocab, "bytes")) {
        st = aviary_tokenizer_bytes(&t);
        snprintf(path, sizeof path, "bytes");
    } else {
        st = vocab ? AVIARY_OK : aviary_tokenizer_default_path(path, sizeof path);
        if (!st) st = aviary_tokenizer_load(vocab ? vocab : path, &t);
        if (vocab) snprintf(path, sizeof path, "%s", vocab);
    }
    if (st) return cli_fail_status(st);
    if (verbose) fprintf(stderr, "aviary: vocabulary %s (%d ids)\n", path, (int)aviary_tokenizer_n_ids(t));
    int rc = 0;
    if (decode) {
        size_t n = (size_t)(argc - first);
        int32_t *ids = malloc(n * sizeof *ids);
        long v = 0;
        for (size_t k = 0; ids && k < n; k++) {
            if (!cli_parse_int("--decode", argv[first + (int)k], 0, aviary_tokenizer_n_ids(t) - 1, &v)) {
                rc = 1;
                break;
            }
            ids[k] = (int32_t)v;
        }
        char *text = NULL;
        size_t len = 0;
        if (!ids) rc = cli_fail("out of memory");
        else if (!rc && (st = aviary_tokenizer_decode(t, ids, n, &text, &len))) rc = cli_fail_status(st);
        if (!rc) {
            fwrite(text, 1, len, stdout);
            fputc('\n', stdout);
        }
        free(text);
        free(ids);
    } else {
        int32_t *ids = NULL;
        size_t n = 0;
        const char *text = argv[first];
        if ((st = aviary_tokenizer_encode(t, text, strlen(text), &ids, &n))) rc = cli_fail_status(st);
        for (size_t k = 0; !rc && k < n; k++) printf("%s%d", k ? " " : "", (int)ids[k]);
        if (!rc) printf("\n");
        free(ids);
    }
    aviary_tokenizer_free(t);
    return rc;
}
