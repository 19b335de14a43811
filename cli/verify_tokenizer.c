/* verify_tokenizer.c - `aviary verify` for the "tokenizer" family: every case's
 * text must encode to exactly its ids, and its ids decode to exactly its text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "verify.h"

/* Print up to 8 ids around position `at` for a failure line. */
static void print_ids(const char *label, const int32_t *ids, size_t n, size_t at) {
    size_t from = at > 3 ? at - 3 : 0, to = from + 8 < n ? from + 8 : n;
    printf("      %s[%zu..%zu):", label, from, to);
    for (size_t i = from; i < to; i++) printf(" %d", (int)ids[i]);
    printf("%s\n", n == 0 ? " (none)" : "");
}

int verify_tokenizer(verify_ctx *v) {
    const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(v->fixture, "inputs");
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(inputs, "vocab");
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(inputs, "cases");
    if (!v->weights && !cJSON_IsString(vocab))
        return cli_fail("%s/fixture.json: inputs.vocab must name the vocabulary file", v->dir);
    if (!cJSON_IsArray(cases)) return cli_fail("%s/fixture.json: inputs.cases must be an array", v->dir);
    char path[4096];
    const char *vpath = v->weights ? v->weights : verify_path(v, vocab->valuestring, path, sizeof path);
    aviary_tokenizer *tok = NULL;
    aviary_status st = aviary_tokenizer_load(vpath, &tok);
    if (st) return cli_fail_status(st);
    printf("  vocabulary %s: ids 0..%d\n", vpath, (int)aviary_tokenizer_n_ids(tok) - 1);
    int idx = -1;
    const cJSON *c;
    cJSON_ArrayForEach(c, cases) {
        idx++;
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(c, "text");
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(c, "ids");
        if (!cJSON_IsString(text) || !cJSON_IsArray(ids)) {
            verify_failf(v, "case %d: needs a string \"text\" and an array \"ids\"", idx);
            continue;
        }
        size_t n_want = (size_t)cJSON_GetArraySize(ids), k = 0;
        int32_t *want = malloc((n_want ? n_want : 1) * sizeof *want);
        if (!want) {
            aviary_tokenizer_free(tok);
            return cli_fail("out of memory");
        }
        bool ids_ok = true;
        const cJSON *id;
        cJSON_ArrayForEach(id, ids) {
            if (!cJSON_IsNumber(id) || id->valuedouble != (double)(int32_t)id->valuedouble) ids_ok = false;
            want[k++] = cJSON_IsNumber(id) ? (int32_t)id->valuedouble : -1;
        }
        if (!ids_ok) {
            free(want);
            verify_failf(v, "case %d: \"ids\" must be integers", idx);
            continue;
        }
        const char *s = text->valuestring;
        size_t len = strlen(s);
        /* encode */
        int32_t *got = NULL;
        size_t n_got = 0;
        st = aviary_tokenizer_encode(tok, s, len, &got, &n_got);
        v->n_checked++;
        if (st) {
            v->n_failed++;
            printf("  FAIL case %-3d encode: %s\n", idx, aviary_errmsg());
        } else {
            size_t at = 0;
            while (at < n_got && at < n_want && got[at] == want[at]) at++;
            if (at == n_got && n_got == n_want) {
                printf("  ok   case %-3d encode  %4zu bytes -> %4zu ids\n", idx, len, n_got);
            } else {
                v->n_failed++;
                printf("  FAIL case %-3d encode  %zu ids, expected %zu; first difference at id %zu\n", idx, n_got,
                       n_want, at);
                print_ids("got ", got, n_got, at);
                print_ids("want", want, n_want, at);
            }
        }
        free(got);
        /* decode */
        char *dec = NULL;
        size_t dlen = 0;
        st = aviary_tokenizer_decode(tok, want, n_want, &dec, &dlen);
        v->n_checked++;
        if (st) {
            v->n_failed++;
            printf("  FAIL case %-3d decode: %s\n", idx, aviary_errmsg());
        } else if (dlen == len && !memcmp(dec, s, len)) {
            printf("  ok   case %-3d decode  %4zu ids -> %4zu bytes\n", idx, n_want, dlen);
        } else {
            size_t at = 0;
            while (at < dlen && at < len && dec[at] == s[at]) at++;
            v->n_failed++;
            printf("  FAIL case %-3d decode  %zu bytes, expected %zu; first difference at byte %zu\n", idx, dlen, len,
                   at);
        }
        free(dec);
        free(want);
    }
    aviary_tokenizer_free(tok);
    return 0;
}
