/*
 * aviary_tokenizer.h - the RWKV World tokenizer (rwkv_vocab_v20230424.txt,
 * as ChatRWKV's TRIE_TOKENIZER), a byte-level tokenizer for byte-vocabulary
 * models, and a streaming UTF-8 decoder for printing tokens as they come.
 *
 * Encoding is greedy: at each position the longest vocabulary entry (in
 * bytes) that is a prefix of the remaining UTF-8 bytes is taken. Decoding
 * concatenates the tokens' bytes. A tokenizer is immutable after load and may
 * be shared by any number of threads.
 *
 * Vocabulary file format (one entry per line, LF or CRLF line ends):
 *     <id> <Python str or bytes literal> <byte length>
 * e.g. `261 '\n\n' 2`, `129 b'\x80' 1`, `9804 '\u2002' 3`. In a str literal
 * \xHH, \uHHHH, \UHHHHHHHH and \ooo are CODE POINTS (UTF-8 encoded); in a
 * bytes literal \xHH and \ooo are BYTES. Both accept \\ \' \" \n \t \r \a
 * \b \f \v and keep an unknown escape's backslash (as Python does). The
 * byte length must equal the decoded entry's length; ids must be unique
 * integers in [1, AVIARY_TOKENIZER_MAX_ID]; byte strings must be non-empty,
 * at most AVIARY_TOKENIZER_MAX_TOKEN_BYTES long and unique. Any violation fails the load with "FILE:LINE: problem".
 */
#ifndef AVIARY_TOKENIZER_H
#define AVIARY_TOKENIZER_H

#include "aviary_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest token id a vocabulary file may use. */
#define AVIARY_TOKENIZER_MAX_ID 1048575
/* Longest token (bytes) a vocabulary file may hold (the World vocabulary's is 128). */
#define AVIARY_TOKENIZER_MAX_TOKEN_BYTES 4096
/* File name of the RWKV World vocabulary aviary installs (share/aviary/). */
#define AVIARY_WORLD_VOCAB_FILE "rwkv_vocab_v20230424.txt"

typedef struct aviary_tokenizer aviary_tokenizer;

/* Load a vocabulary file (format above). On success *out owns everything it
 * needs (the file is not kept open); free with aviary_tokenizer_free. On
 * failure *out is NULL: AVIARY_IO if the file cannot be read, AVIARY_FORMAT
 * naming the file, line and problem otherwise. */
AVIARY_API aviary_status aviary_tokenizer_load(const char *path, aviary_tokenizer **out);
/* Same from memory (data[0..len), need not be NUL-terminated); `name` labels
 * error messages (may be NULL). data is not kept. */
AVIARY_API aviary_status aviary_tokenizer_load_buffer(const char *data, size_t len, const char *name,
                                                      aviary_tokenizer **out);
/* The byte-level tokenizer: id b <-> the single byte b, for b in 0..255. For
 * models trained on raw bytes (and aviary's 256-token test models). */
AVIARY_API aviary_status aviary_tokenizer_bytes(aviary_tokenizer **out);
/* Find the World vocabulary: $AVIARY_VOCAB if set (taken as is), else the
 * first existing AVIARY_WORLD_VOCAB_FILE in <dir of libaviary>/../share/aviary,
 * <dir of the running program>/../share/aviary, the configured install data
 * dir, then the source tree (core/data). Writes the path to buf[size].
 * AVIARY_NOT_FOUND listing the places searched if there is none. */
AVIARY_API aviary_status aviary_tokenizer_default_path(char *buf, size_t size);
/* aviary_tokenizer_default_path + aviary_tokenizer_load. */
AVIARY_API aviary_status aviary_tokenizer_load_default(aviary_tokenizer **out);
/* NULL allowed. */
AVIARY_API void aviary_tokenizer_free(aviary_tokenizer *t);

/* One more than the largest id (65530 for the World vocabulary, 256 for the
 * byte tokenizer). Ids below it without an entry (World id 0 = end of text)
 * decode to nothing. */
AVIARY_API int32_t aviary_tokenizer_n_ids(const aviary_tokenizer *t);
/* The bytes of token `id` (borrowed, valid while t lives) and their count;
 * NULL with *len = 0 for an id without an entry or out of range. */
AVIARY_API const uint8_t *aviary_tokenizer_token_bytes(const aviary_tokenizer *t, int32_t id, size_t *len);
/* The id whose bytes are exactly bytes[0..len), or -1. */
AVIARY_API int32_t aviary_tokenizer_find(const aviary_tokenizer *t, const void *bytes, size_t len);

/* Encode text[0..len) (any bytes; normally UTF-8). *ids is malloc'd (caller
 * frees; non-NULL even for empty text) and *n_ids set. Fails with
 * AVIARY_INVALID_ARG if some byte starts no vocabulary entry (impossible with
 * the World vocabulary, which has all 256 single bytes). */
AVIARY_API aviary_status aviary_tokenizer_encode(const aviary_tokenizer *t, const void *text, size_t len,
                                                 int32_t **ids, size_t *n_ids);
/* Decode: the concatenated bytes of ids[0..n) into a malloc'd buffer (caller
 * frees) with a NUL added after *len bytes. The bytes are exactly the tokens'
 * (they may contain NUL or be invalid UTF-8 for an arbitrary id sequence).
 * Fails with AVIARY_INVALID_ARG for an id < 0 or >= n_ids. */
AVIARY_API aviary_status aviary_tokenizer_decode(const aviary_tokenizer *t, const int32_t *ids, size_t n,
                                                 char **text, size_t *len);

/* ---------------------------------------------------------------- streaming
 * Tokens end in the middle of a character (a CJK character or an emoji is
 * often 2-4 tokens). aviary_utf8_stream turns the bytes of successive tokens
 * into valid UTF-8 text: it holds back a trailing incomplete sequence until
 * the rest arrives, and replaces bytes that can never be valid UTF-8 (and a
 * sequence cut short) by U+FFFD, so what it emits is always valid UTF-8.
 * A plain struct: zero it (or aviary_utf8_stream_init) to start. */
typedef struct aviary_utf8_stream {
    uint8_t pending[4];   /* held-back start of an incomplete sequence */
    uint8_t n_pending;    /* bytes in pending (0..3) */
    uint8_t n_needed;     /* total length of the pending sequence (2..4) */
} aviary_utf8_stream;

/* Worst-case output bytes of aviary_utf8_stream_push for n input bytes. */
#define AVIARY_UTF8_STREAM_MAX_OUT(n) (3 * (size_t)(n) + 3)

AVIARY_API void aviary_utf8_stream_init(aviary_utf8_stream *s);
/* Feed bytes[0..n); writes the text completed so far to out (which must hold
 * AVIARY_UTF8_STREAM_MAX_OUT(n) bytes; no NUL added) and returns its length. */
AVIARY_API size_t aviary_utf8_stream_push(aviary_utf8_stream *s, const void *bytes, size_t n, char *out);
/* End of stream: a held-back incomplete sequence becomes U+FFFD (3 bytes
 * written to out, which must hold 3). Returns bytes written; resets s. */
AVIARY_API size_t aviary_utf8_stream_flush(aviary_utf8_stream *s, char *out);
/* True if bytes[0..n) is entirely valid UTF-8 (no overlongs, surrogates or
 * code points above U+10FFFF). */
AVIARY_API bool aviary_utf8_valid(const void *bytes, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* AVIARY_TOKENIZER_H */
