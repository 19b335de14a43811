/*
 * aviary_sampler.h - picking the next token from a language model's logits,
 * as ChatRWKV does it (rwkv/utils.py PIPELINE.sample_logits and the
 * repetition penalty of API_DEMO_CHAT.py / v2/chat.py), with a seeded PRNG of
 * its own so a run is reproducible, plus stop-token and stop-string helpers.
 *
 * One step, given logits[vocab]:
 *   1. penalty: for every token t seen since the last reset,
 *        logits[t] -= presence_penalty + occurrence[t] * frequency_penalty
 *   2. banned tokens get -inf;
 *   3. temperature 0: the argmax (lowest id among equal maxima), done;
 *   4. p = softmax(logits);
 *   5. top-p (0 <= top_p < 1): with p sorted descending and c its running
 *      sum, cutoff = the first sorted p whose c >= top_p; tokens with
 *      p < cutoff are dropped (so ties with the cutoff stay, top_p 0 keeps
 *      the maxima). top_p >= 1 keeps everything;
 *   6. top-k (k > 0): only the k most probable tokens stay (ties broken by
 *      lower id);
 *   7. temperature T != 1: p = p^(1/T) on what stays (same as ChatRWKV);
 *   8. draw from p / sum(p) with the PRNG (xoshiro256**, seeded via splitmix64).
 * After the caller commits a token it calls aviary_sampler_accept(): every
 * occurrence is multiplied by penalty_decay, then the token's grows by 1.
 */
#ifndef AVIARY_SAMPLER_H
#define AVIARY_SAMPLER_H

#include "aviary_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* params.seed value meaning "seed from the clock" (not reproducible). */
#define AVIARY_SEED_RANDOM UINT64_MAX

typedef struct aviary_sampler_params {
    float temperature;        /* >= 0; 0 = greedy (argmax) */
    float top_p;              /* in [0, 1]; 1 = off */
    int top_k;                /* >= 0; 0 = off */
    float presence_penalty;   /* ChatRWKV alpha_presence, >= 0 */
    float frequency_penalty;  /* ChatRWKV alpha_frequency, >= 0 */
    float penalty_decay;      /* in [0, 1]; occurrences decay by this each accepted token */
    uint64_t seed;            /* PRNG seed; AVIARY_SEED_RANDOM = from the clock */
    /* Tokens never to sample (e.g. 0 = end of text in chat). Borrowed during
     * aviary_sampler_create only (copied). */
    const int32_t *ban_tokens;
    size_t n_ban_tokens;
    /* Tokens that end generation (aviary_sampler_is_stop). Copied at create. */
    const int32_t *stop_tokens;
    size_t n_stop_tokens;
} aviary_sampler_params;

/* ChatRWKV PIPELINE_ARGS defaults: temperature 1, top_p 0.85, top_k 0,
 * presence 0.2, frequency 0.2, decay 0.996, seed AVIARY_SEED_RANDOM, no bans
 * or stops. */
AVIARY_API aviary_sampler_params aviary_sampler_default_params(void);

typedef struct aviary_sampler aviary_sampler;

/* A sampler for logits of n_vocab entries. Checks every parameter
 * (AVIARY_INVALID_ARG naming the bad one, e.g. a ban/stop id outside
 * [0, n_vocab)). *out owns copies of everything; free with aviary_sampler_free. */
AVIARY_API aviary_status aviary_sampler_create(const aviary_sampler_params *p, int32_t n_vocab, aviary_sampler **out);
AVIARY_API void aviary_sampler_free(aviary_sampler *s);
/* Forget all occurrences (the PRNG continues). */
AVIARY_API void aviary_sampler_reset(aviary_sampler *s);
/* The seed actually used (resolved when params.seed was AVIARY_SEED_RANDOM). */
AVIARY_API uint64_t aviary_sampler_seed(const aviary_sampler *s);
/* Pick a token from logits[n_vocab] (not modified). Fails with
 * AVIARY_INVALID_ARG if every token is banned or the logits are all NaN/-inf. */
AVIARY_API aviary_status aviary_sampler_sample(aviary_sampler *s, const float *logits, int32_t *token);
/* Record that `token` was emitted (penalty bookkeeping, see above). */
AVIARY_API void aviary_sampler_accept(aviary_sampler *s, int32_t token);
/* Current occurrence weight of a token (0 if never seen). */
AVIARY_API float aviary_sampler_occurrence(const aviary_sampler *s, int32_t token);
/* True if token is one of params.stop_tokens. */
AVIARY_API bool aviary_sampler_is_stop(const aviary_sampler *s, int32_t token);

/* ---------------------------------------------------------------- stop strings
 * Text is generated token by token; a stop string may arrive split over
 * several tokens. aviary_stop_find tells where the first complete stop
 * string starts; aviary_stop_holdback how many trailing bytes might still
 * become one (print text[0 .. len - holdback) now, the rest later). Empty
 * stop strings are ignored. */

/* Offset of the earliest occurrence of any stops[i] in text[0..len), or -1. */
AVIARY_API ptrdiff_t aviary_stop_find(const char *text, size_t len, const char *const *stops, size_t n_stops);
/* Length of the longest suffix of text[0..len) that is a proper prefix of
 * some stop string (0 if none). */
AVIARY_API size_t aviary_stop_holdback(const char *text, size_t len, const char *const *stops, size_t n_stops);

#ifdef __cplusplus
}
#endif
#endif /* AVIARY_SAMPLER_H */
