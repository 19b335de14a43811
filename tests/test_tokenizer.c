/* test_tokenizer.c - the World tokenizer beyond the fixture: literal escapes
 * (str code points vs bytes), every hostile-vocabulary error, greedy
 * longest match on a small vocabulary, random-byte round trips, the byte
 * tokenizer and the streaming UTF-8 decoder. Run from tests/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aviary/aviary.h"

#include "test_util.h"

static aviary_tokenizer *load_str(const char *s) {
    aviary_tokenizer *t = NULL;
    aviary_status st = aviary_tokenizer_load_buffer(s, strlen(s), "v.txt", &t);
    if (st) fprintf(stderr, "load failed: %s\n", aviary_errmsg());
    return t;
}

static bool token_is(const aviary_tokenizer *t, int32_t id, const char *bytes, size_t n) {
    size_t len = 0;
    const uint8_t *p = aviary_tokenizer_token_bytes(t, id, &len);
    return p && len == n && !memcmp(p, bytes, n);
}

static void test_escapes(void) {
    static const char vocab[] =
        "1 '\\x80' 2\n"          /* str: code point U+0080 -> C2 80 */
        "2 b'\\x80' 1\n"         /* bytes: the byte 0x80 */
        "3 '\\u00e9' 2\n"        /* U+00E9 */
        "4 '\\U0001F600' 4\n"    /* emoji */
        "5 '\\\\' 1\n"           /* backslash */
        "6 \"'\" 1\n"            /* double-quoted single quote */
        "7 '\\'\\\"' 2\n"        /* escaped quotes */
        "8 '\\n\\t\\r\\a\\b\\f\\v' 7\n"
        "9 '\\101\\0' 2\n"       /* octal: 'A' and NUL */
        "10 '\\q' 2\n"           /* unknown escape keeps its backslash */
        "11 b'\\u00e9' 6\n"      /* \\u is no escape in bytes */
        "12 'ê' 2\r\n"           /* raw UTF-8, CRLF line end */
        "13 '\\777' 2\n";        /* octal code point U+01FF */
    aviary_tokenizer *t = load_str(vocab);
    CHECK(t);
    if (!t) return;
    CHECK(aviary_tokenizer_n_ids(t) == 14);
    CHECK(token_is(t, 1, "\xC2\x80", 2));
    CHECK(token_is(t, 2, "\x80", 1));
    CHECK(token_is(t, 3, "\xC3\xA9", 2));
    CHECK(token_is(t, 4, "\xF0\x9F\x98\x80", 4));
    CHECK(token_is(t, 5, "\\", 1));
    CHECK(token_is(t, 6, "'", 1));
    CHECK(token_is(t, 7, "'\"", 2));
    CHECK(token_is(t, 8, "\n\t\r\a\b\f\v", 7));
    CHECK(token_is(t, 9, "A\0", 2));
    CHECK(token_is(t, 10, "\\q", 2));
    CHECK(token_is(t, 11, "\\u00e9", 6));
    CHECK(token_is(t, 12, "\xC3\xAA", 2));
    CHECK(token_is(t, 13, "\xC7\xBF", 2));
    size_t len = 1;
    CHECK(!aviary_tokenizer_token_bytes(t, 0, &len) && len == 0);
    CHECK(!aviary_tokenizer_token_bytes(t, 14, &len) && len == 0);
    CHECK(!aviary_tokenizer_token_bytes(t, -1, &len));
    aviary_tokenizer_free(t);
}

static void expect_error(const char *vocab, const char *msg) {
    aviary_tokenizer *t = (aviary_tokenizer *)1;
    aviary_status st = aviary_tokenizer_load_buffer(vocab, strlen(vocab), "bad.txt", &t);
    CHECK(st == AVIARY_FORMAT);
    CHECK(t == NULL);
    if (!strstr(aviary_errmsg(), msg)) {
        fprintf(stderr, "vocab %-30.30s: error '%s' lacks '%s'\n", vocab, aviary_errmsg(), msg);
        failures++;
    }
}

static void test_hostile(void) {
    expect_error("", "bad.txt: no vocabulary entries");
    expect_error("1 'a' 1\n\n2 'b' 1\n", "bad.txt:2: empty line");
    expect_error("x 'a' 1\n", "bad.txt:1: expected '<id> <literal> <byte length>'");
    expect_error("-1 'a' 1\n", "bad.txt:1: expected '<id>");
    expect_error("99999999999 'a' 1\n", "bad.txt:1: expected '<id>");
    expect_error("1 a 1\n", "bad.txt:1: expected a quoted Python string or bytes literal");
    expect_error("1 'abc 3\n", "bad.txt:1: unterminated literal");
    expect_error("1 'a\\", "bad.txt:1: backslash at the end of the line");
    expect_error("1 'a' 2\n", "bad.txt:1: literal is 1 bytes but the line says 2");
    expect_error("1 '\\x80' 1\n", "literal is 2 bytes but the line says 1");
    expect_error("1 'a'\n", "bad.txt:1: expected ' <byte length>'");
    expect_error("1 'a' 1 extra\n", "bad.txt:1: expected ' <byte length>'");
    expect_error("1 'a' 99999999999\n", "bad.txt:1: expected ' <byte length>'");
    expect_error("1 '' 0\n", "bad.txt:1: empty token");
    expect_error("0 'a' 1\n", "bad.txt:1: id 0 is reserved");
    expect_error("1 'a' 1\n1 'b' 1\n", "bad.txt:2: id 1 appears twice");
    expect_error("1 'a' 1\n2 b'a' 1\n", "bad.txt:2: same bytes as line 1");
    expect_error("1 '\\xZZ' 1\n", "bad.txt:1: \\x escape needs 2 hex digits");
    expect_error("1 '\\u12' 1\n", "\\u escape needs 4 hex digits");
    expect_error("1 '\\ud800' 3\n", "U+D800 is a surrogate");
    expect_error("1 '\\U00110000' 4\n", "U+110000 is above U+10FFFF");
    expect_error("1 '\\N{BULLET}' 3\n", "\\N{...} escapes are not supported");
    expect_error("1 b'\\777' 1\n", "octal escape above \\377");
    expect_error("1 b'\xC3\xA9' 2\n", "non-ASCII character in a bytes literal");
    expect_error("1 '\xFF' 1\n", "bad.txt:1: not valid UTF-8");
    expect_error("1 '\xC0\x80' 2\n", "not valid UTF-8"); /* overlong */
    expect_error("2000000 'a' 1\n", "expected '<id>");
    {
        /* a 5000-byte token: refused (the trie is built recursively, one level per byte) */
        static char big[5100];
        memcpy(big, "1 '", 3);
        memset(big + 3, 'x', 5000);
        memcpy(big + 5003, "' 5000\n", 8);
        expect_error(big, "bad.txt:1: token of 5000 bytes (at most 4096)");
        char *huge = malloc(70100);
        if (huge) {
            memcpy(huge, "1 '", 3);
            memset(huge + 3, 'x', 70000);
            memcpy(huge + 70003, "' 70000\n", 9);
            expect_error(huge, "bad.txt:1: line too long");
            free(huge);
        }
    }
    /* A line without its final newline is fine. */
    aviary_tokenizer *t = load_str("1 'a' 1\n2 'b' 1");
    CHECK(t && aviary_tokenizer_n_ids(t) == 3);
    aviary_tokenizer_free(t);
    /* Missing file: AVIARY_IO naming it. */
    t = (aviary_tokenizer *)1;
    CHECK(aviary_tokenizer_load("no/such/vocab.txt", &t) == AVIARY_IO && t == NULL);
    CHECK(strstr(aviary_errmsg(), "no/such/vocab.txt") != NULL);
}

static void test_greedy(void) {
    /* "ab" and "abcd" exist but not "abc": "abce" must be ab + c + e. */
    aviary_tokenizer *t = load_str("1 'a' 1\n2 'b' 1\n3 'c' 1\n4 'e' 1\n5 'ab' 2\n6 'abcd' 4\n7 'bce' 3\n");
    CHECK(t);
    if (!t) return;
    int32_t *ids = NULL;
    size_t n = 0;
    CHECK(aviary_tokenizer_encode(t, "abce", 4, &ids, &n) == AVIARY_OK);
    CHECK(n == 3 && ids[0] == 5 && ids[1] == 3 && ids[2] == 4);
    free(ids);
    CHECK(aviary_tokenizer_encode(t, "abcdabcd", 8, &ids, &n) == AVIARY_OK);
    CHECK(n == 2 && ids[0] == 6 && ids[1] == 6);
    free(ids);
    CHECK(aviary_tokenizer_encode(t, "", 0, &ids, &n) == AVIARY_OK);
    CHECK(ids != NULL && n == 0);
    free(ids);
    /* 'z' has no entry */
    CHECK(aviary_tokenizer_encode(t, "abz", 3, &ids, &n) == AVIARY_INVALID_ARG);
    CHECK(strstr(aviary_errmsg(), "0x7A (at byte 2)") != NULL);
    CHECK(ids == NULL);
    CHECK(aviary_tokenizer_find(t, "abcd", 4) == 6);
    CHECK(aviary_tokenizer_find(t, "abc", 3) == -1);
    CHECK(aviary_tokenizer_find(t, "", 0) == -1);
    char *text = NULL;
    size_t len = 0;
    int32_t bad[] = {1, 8};
    CHECK(aviary_tokenizer_decode(t, bad, 2, &text, &len) == AVIARY_INVALID_ARG && text == NULL);
    int32_t with_zero[] = {0, 5, 0, 3};
    CHECK(aviary_tokenizer_decode(t, with_zero, 4, &text, &len) == AVIARY_OK);
    CHECK(len == 3 && !strcmp(text, "abc"));
    free(text);
    aviary_tokenizer_free(t);
}

static void test_world(void) {
    aviary_tokenizer *t = NULL;
    CHECK(aviary_tokenizer_load("../core/data/rwkv_vocab_v20230424.txt", &t) == AVIARY_OK);
    if (!t) return;
    CHECK(aviary_tokenizer_n_ids(t) == 65530);
    CHECK(aviary_tokenizer_find(t, "\n\n", 2) == 261);
    /* Any bytes round-trip (all 256 single bytes are tokens). */
    unsigned seed = 7;
    uint8_t buf[512];
    for (int round = 0; round < 200; round++) {
        size_t n = (size_t)(round * 37 % 512);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            /* mostly ASCII, some high bytes */
            uint8_t r = (uint8_t)(seed >> 16);
            buf[i] = (seed >> 28) < 12 ? (uint8_t)(' ' + r % 95) : r;
        }
        int32_t *ids = NULL;
        size_t n_ids = 0;
        char *text = NULL;
        size_t len = 0;
        CHECK(aviary_tokenizer_encode(t, buf, n, &ids, &n_ids) == AVIARY_OK);
        CHECK(aviary_tokenizer_decode(t, ids, n_ids, &text, &len) == AVIARY_OK);
        CHECK(len == n && (n == 0 || !memcmp(text, buf, n)));
        /* greedy: no two consecutive tokens (as a single string) should be
         * matchable as a longer single token starting at the same place
         * than the first one -- the first token is the longest prefix. */
        size_t off = 0;
        for (size_t k = 0; k < n_ids; k++) {
            size_t tl = 0;
            aviary_tokenizer_token_bytes(t, ids[k], &tl);
            for (size_t l = tl + 1; l <= 128 && off + l <= n; l++)
                if (aviary_tokenizer_find(t, buf + off, l) >= 0) {
                    fprintf(stderr, "round %d: token %zu not the longest match\n", round, k);
                    failures++;
                    break;
                }
            off += tl;
        }
        free(ids);
        free(text);
    }
    aviary_tokenizer_free(t);
}

static void test_bytes(void) {
    aviary_tokenizer *t = NULL;
    CHECK(aviary_tokenizer_bytes(&t) == AVIARY_OK);
    if (!t) return;
    CHECK(aviary_tokenizer_n_ids(t) == 256);
    int32_t *ids = NULL;
    size_t n = 0;
    CHECK(aviary_tokenizer_encode(t, "A\0\xff", 3, &ids, &n) == AVIARY_OK);
    CHECK(n == 3 && ids[0] == 65 && ids[1] == 0 && ids[2] == 255);
    free(ids);
    aviary_tokenizer_free(t);
}

static void test_stream(void) {
    aviary_utf8_stream s;
    aviary_utf8_stream_init(&s);
    char out[64];
    /* U+1F600 fed byte by byte: nothing until the last byte */
    const char *emoji = "\xF0\x9F\x98\x80";
    size_t total = 0;
    for (int i = 0; i < 3; i++) CHECK(aviary_utf8_stream_push(&s, emoji + i, 1, out) == 0);
    total = aviary_utf8_stream_push(&s, emoji + 3, 1, out);
    CHECK(total == 4 && !memcmp(out, emoji, 4));
    /* ASCII passes straight through */
    CHECK(aviary_utf8_stream_push(&s, "hi", 2, out) == 2 && !memcmp(out, "hi", 2));
    /* an invalid byte becomes U+FFFD */
    CHECK(aviary_utf8_stream_push(&s, "\xFF", 1, out) == 3 && !memcmp(out, "\xEF\xBF\xBD", 3));
    /* a cut-short sequence: one U+FFFD, then the next character */
    CHECK(aviary_utf8_stream_push(&s, "\xE4\xB8", 2, out) == 0);
    CHECK(aviary_utf8_stream_push(&s, "a", 1, out) == 4 && !memcmp(out, "\xEF\xBF\xBD" "a", 4));
    /* surrogate lead ED A0 is invalid at the second byte */
    size_t n = aviary_utf8_stream_push(&s, "\xED\xA0\x80", 3, out);
    CHECK(n == 9);
    CHECK(aviary_utf8_valid(out, n));
    /* flush of a pending start */
    CHECK(aviary_utf8_stream_push(&s, "\xC3", 1, out) == 0);
    CHECK(aviary_utf8_stream_flush(&s, out) == 3);
    CHECK(aviary_utf8_stream_flush(&s, out) == 0);
    /* worst case stays within the documented bound and is valid */
    unsigned seed = 99;
    uint8_t in[100];
    char big[AVIARY_UTF8_STREAM_MAX_OUT(100) + 3];
    for (int round = 0; round < 100; round++) {
        for (int i = 0; i < 100; i++) {
            seed = seed * 1103515245u + 12345u;
            in[i] = (uint8_t)(0x80 | (seed >> 16));
        }
        size_t k = aviary_utf8_stream_push(&s, in, 100, big);
        CHECK(k <= AVIARY_UTF8_STREAM_MAX_OUT(100));
        k += aviary_utf8_stream_flush(&s, big + k);
        CHECK(aviary_utf8_valid(big, k));
    }
    CHECK(!aviary_utf8_valid("\xF4\x90\x80\x80", 4));
    CHECK(aviary_utf8_valid("\xF4\x8F\xBF\xBF", 4));
}

int main(void) {
    test_escapes();
    test_hostile();
    test_greedy();
    test_world();
    test_bytes();
    test_stream();
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    else printf("test_tokenizer: all checks passed\n");
    return failures != 0;
}
