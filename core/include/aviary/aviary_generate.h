/*
 * aviary_generate.h - text generation with an RWKV language model: pick the
 * tokenizer that fits a model, then prefill a prompt (sequence mode) and
 * generate token by token (RNN mode) with an aviary_sampler, streaming valid
 * UTF-8 text to a callback and stopping at stop tokens or stop strings.
 * Used by `aviary generate`, `aviary chat` and the lm_generate head plugin.
 */
#ifndef AVIARY_GENERATE_H
#define AVIARY_GENERATE_H

#include "aviary_model.h"
#include "aviary_sampler.h"
#include "aviary_tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The tokenizer for model m:
 *   - vocab "bytes": the byte tokenizer (aviary_tokenizer_bytes);
 *   - vocab a file name: that vocabulary file;
 *   - vocab NULL or "": by the model's vocabulary size: 256 -> the byte
 *     tokenizer (byte-level models, aviary's test models); otherwise the
 *     RWKV World vocabulary (aviary_tokenizer_load_default).
 * The tokenizer's ids must fit the model: n_ids <= vocab_size (World:
 * 65530 <= 65536), else AVIARY_SHAPE "vocabulary ... has ids up to N but
 * the model only M". *out is owned by the caller. */
AVIARY_API aviary_status aviary_tokenizer_for_model(const aviary_model *m, const char *vocab, aviary_tokenizer **out);

/* True if t is the World vocabulary (or any vocabulary where id 0 has no
 * entry, i.e. is the end-of-text token); false for the byte tokenizer, where
 * 0 is the NUL byte. */
AVIARY_API bool aviary_tokenizer_has_end_token(const aviary_tokenizer *t);

/* Receives generated text as it becomes final: valid UTF-8, never part of
 * a stop string. Return false to stop generating. */
typedef bool (*aviary_text_fn)(void *user, const char *text, size_t len);

typedef struct aviary_generate_params {
    int max_tokens;                      /* tokens to generate at most (>= 0) */
    const char *const *stop_strings;     /* borrowed during the call; "" ignored */
    size_t n_stop_strings;
    aviary_text_fn on_text;              /* may be NULL */
    void *user;                          /* passed to on_text */
} aviary_generate_params;

typedef enum aviary_stop_reason {
    AVIARY_STOP_MAX_TOKENS = 0,   /* max_tokens reached */
    AVIARY_STOP_TOKEN = 1,        /* the sampler drew one of its stop tokens */
    AVIARY_STOP_STRING = 2,       /* the text reached a stop string */
    AVIARY_STOP_CALLBACK = 3      /* on_text returned false */
} aviary_stop_reason;

/* What one aviary_generate call produced. Free with aviary_generation_free. */
typedef struct aviary_generation {
    char *text;            /* all text passed to on_text, NUL-terminated (malloc'd) */
    size_t text_len;
    int32_t *ids;          /* generated ids, all fed to the state (malloc'd; a stop token is not included) */
    size_t n_ids;
    aviary_stop_reason reason;
    int32_t stop_token;    /* the stop token drawn (reason AVIARY_STOP_TOKEN), else -1 */
} aviary_generation;

AVIARY_API void aviary_generation_free(aviary_generation *g);

/* Feed prompt[0..n_prompt) to state s in sequence mode, then generate:
 * repeat max_tokens times { sample from the logits; a stop token ends (it is
 * not fed); accept the token in the sampler, feed it (RNN mode, so the state
 * always includes every generated token), decode and stream its text; a stop
 * string in the text ends (the text before it is kept, the stop string and
 * what follows it are not passed on, but its tokens are in the state) }.
 * logits[vocab_size] is caller-owned scratch: with n_prompt == 0 it must
 * hold the logits after the state's last token on entry (e.g. from the
 * previous call); on return it holds the logits after the last token fed.
 * The sampler's occurrence table is NOT reset (call aviary_sampler_reset
 * for a fresh penalty history). On success *out is filled (free it); on
 * failure it is zeroed and s holds whatever was fed before the error. */
AVIARY_API aviary_status aviary_generate(const aviary_model *m, aviary_state *s, const aviary_tokenizer *t,
                                         aviary_sampler *smp, const int32_t *prompt, size_t n_prompt, float *logits,
                                         const aviary_generate_params *p, aviary_generation *out);

#ifdef __cplusplus
}
#endif
#endif /* AVIARY_GENERATE_H */
