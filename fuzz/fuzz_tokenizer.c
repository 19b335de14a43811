/* fuzz_tokenizer.c - libFuzzer target for the tokenizer: the input is split
 * at its first NUL byte into a vocabulary file and a text. A vocabulary that
 * loads must encode any text it can cover and decode it back to the same
 * bytes; the streaming UTF-8 decoder must emit valid UTF-8 within its bound.
 * Also encodes/decodes the whole input with the byte tokenizer. Any outcome
 * other than AVIARY_OK or a clean error (crash, leak, UB, a broken round
 * trip) is a bug. Seed corpus: tests/corpus/tokenizer/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "aviary/aviary_tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(const aviary_tokenizer *t, const uint8_t *text, size_t n) {
    int32_t *ids = NULL;
    size_t n_ids = 0;
    if (aviary_tokenizer_encode(t, text, n, &ids, &n_ids) != AVIARY_OK) return;
    char *back = NULL;
    size_t len = 0;
    if (aviary_tokenizer_decode(t, ids, n_ids, &back, &len) != AVIARY_OK || len != n ||
        (n && memcmp(back, text, n)))
        abort();
    /* stream the tokens' bytes one token at a time */
    aviary_utf8_stream s;
    aviary_utf8_stream_init(&s);
    for (size_t i = 0; i < n_ids; i++) {
        size_t tl = 0;
        const uint8_t *tb = aviary_tokenizer_token_bytes(t, ids[i], &tl);
        if (!tb || !tl) abort();
        char *o = malloc(AVIARY_UTF8_STREAM_MAX_OUT(tl));
        if (!o) abort();
        size_t k = aviary_utf8_stream_push(&s, tb, tl, o);
        if (k > AVIARY_UTF8_STREAM_MAX_OUT(tl) || !aviary_utf8_valid(o, k)) abort();
        free(o);
    }
    char tail[3];
    if (!aviary_utf8_valid(tail, aviary_utf8_stream_flush(&s, tail))) abort();
    free(back);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, 0, size);
    size_t vlen = nul ? (size_t)(nul - data) : size;
    aviary_tokenizer *t = NULL;
    if (aviary_tokenizer_load_buffer((const char *)data, vlen, "fuzz.txt", &t) == AVIARY_OK) {
        if (nul) roundtrip(t, nul + 1, size - vlen - 1);
        aviary_tokenizer_free(t);
    }
    if (aviary_tokenizer_bytes(&t) == AVIARY_OK) {
        roundtrip(t, data, size);
        aviary_tokenizer_free(t);
    }
    return 0;
}
