/* sampler.c - ChatRWKV-style token sampling with repetition penalties and a
 * private xoshiro256** PRNG; stop-string helpers (aviary_sampler.h). */
#include <math.h>
#include <time.h>
#include "aviary/aviary_sampler.h"
#include "internal.h"

struct aviary_sampler {
    aviary_sampler_params p;  /* ban/stop pointers point at the copies below */
    int32_t n_vocab;
    int32_t *ban, *stop;
    float *occ;               /* [n_vocab] occurrence weights */
    uint8_t *seen;            /* [n_vocab] 1 if in the occurrence table */
    int32_t *seen_list;       /* ids with seen = 1, in first-seen order */
    size_t n_seen;
    float *work;              /* [n_vocab] adjusted logits, then probabilities */
    int32_t *order;           /* [n_vocab] ids sorted by probability */
    uint64_t seed;
    uint64_t rng[4];
};

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t xoshiro_next(uint64_t *s) {
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

/* Uniform in [0, 1) with 53 random bits. */
static double rng_uniform(aviary_sampler *s) { return (double)(xoshiro_next(s->rng) >> 11) * 0x1.0p-53; }

aviary_sampler_params aviary_sampler_default_params(void) {
    aviary_sampler_params p;
    memset(&p, 0, sizeof p);
    p.temperature = 1.0f;
    p.top_p = 0.85f;
    p.top_k = 0;
    p.presence_penalty = 0.2f;
    p.frequency_penalty = 0.2f;
    p.penalty_decay = 0.996f;
    p.seed = AVIARY_SEED_RANDOM;
    return p;
}

static aviary_status copy_ids(const int32_t *src, size_t n, int32_t n_vocab, const char *what, int32_t **dst) {
    *dst = NULL;
    if (!n) return AVIARY_OK;
    if (!src) return aviary_error(AVIARY_INVALID_ARG, "sampler: %s list is NULL", what);
    for (size_t i = 0; i < n; i++)
        if (src[i] < 0 || src[i] >= n_vocab)
            return aviary_error(AVIARY_INVALID_ARG, "sampler: %s token %d is outside the vocabulary [0, %d)", what,
                                (int)src[i], (int)n_vocab);
    *dst = malloc(n * sizeof **dst);
    if (!*dst) return aviary_error(AVIARY_NOMEM, "sampler: out of memory");
    memcpy(*dst, src, n * sizeof **dst);
    return AVIARY_OK;
}

aviary_status aviary_sampler_create(const aviary_sampler_params *p, int32_t n_vocab, aviary_sampler **out) {
    *out = NULL;
    if (n_vocab < 1) return aviary_error(AVIARY_INVALID_ARG, "sampler: vocabulary size %d", (int)n_vocab);
    if (!(p->temperature >= 0) || !isfinite(p->temperature))
        return aviary_error(AVIARY_INVALID_ARG, "sampler: temperature must be >= 0 (got %g)", p->temperature);
    if (!(p->top_p >= 0 && p->top_p <= 1))
        return aviary_error(AVIARY_INVALID_ARG, "sampler: top_p must be in [0, 1] (got %g)", p->top_p);
    if (p->top_k < 0) return aviary_error(AVIARY_INVALID_ARG, "sampler: top_k must be >= 0 (got %d)", p->top_k);
    if (!(p->presence_penalty >= 0) || !isfinite(p->presence_penalty) || !(p->frequency_penalty >= 0) ||
        !isfinite(p->frequency_penalty))
        return aviary_error(AVIARY_INVALID_ARG, "sampler: penalties must be finite and >= 0");
    if (!(p->penalty_decay >= 0 && p->penalty_decay <= 1))
        return aviary_error(AVIARY_INVALID_ARG, "sampler: penalty_decay must be in [0, 1] (got %g)", p->penalty_decay);
    aviary_sampler *s = calloc(1, sizeof *s);
    if (!s) return aviary_error(AVIARY_NOMEM, "sampler: out of memory");
    s->p = *p;
    s->n_vocab = n_vocab;
    aviary_status st = copy_ids(p->ban_tokens, p->n_ban_tokens, n_vocab, "banned", &s->ban);
    if (!st) st = copy_ids(p->stop_tokens, p->n_stop_tokens, n_vocab, "stop", &s->stop);
    if (st) {
        aviary_sampler_free(s);
        return st;
    }
    s->p.ban_tokens = s->ban;
    s->p.stop_tokens = s->stop;
    size_t V = (size_t)n_vocab;
    s->occ = calloc(V, sizeof *s->occ);
    s->seen = calloc(V, 1);
    s->seen_list = malloc(V * sizeof *s->seen_list);
    s->work = malloc(V * sizeof *s->work);
    s->order = malloc(V * sizeof *s->order);
    if (!s->occ || !s->seen || !s->seen_list || !s->work || !s->order) {
        aviary_sampler_free(s);
        return aviary_error(AVIARY_NOMEM, "sampler: out of memory for a vocabulary of %d", (int)n_vocab);
    }
    s->seed = p->seed;
    if (s->seed == AVIARY_SEED_RANDOM) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        s->seed = ((uint64_t)ts.tv_sec * 1000000007ull) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)(uintptr_t)s << 16);
        if (s->seed == AVIARY_SEED_RANDOM) s->seed--;
    }
    uint64_t x = s->seed;
    for (int i = 0; i < 4; i++) s->rng[i] = splitmix64(&x);
    *out = s;
    return AVIARY_OK;
}

void aviary_sampler_free(aviary_sampler *s) {
    if (!s) return;
    free(s->ban);
    free(s->stop);
    free(s->occ);
    free(s->seen);
    free(s->seen_list);
    free(s->work);
    free(s->order);
    free(s);
}

void aviary_sampler_reset(aviary_sampler *s) {
    for (size_t i = 0; i < s->n_seen; i++) {
        s->occ[s->seen_list[i]] = 0;
        s->seen[s->seen_list[i]] = 0;
    }
    s->n_seen = 0;
}

uint64_t aviary_sampler_seed(const aviary_sampler *s) { return s->seed; }

float aviary_sampler_occurrence(const aviary_sampler *s, int32_t token) {
    return token >= 0 && token < s->n_vocab ? s->occ[token] : 0.0f;
}

bool aviary_sampler_is_stop(const aviary_sampler *s, int32_t token) {
    for (size_t i = 0; i < s->p.n_stop_tokens; i++)
        if (s->stop[i] == token) return true;
    return false;
}

void aviary_sampler_accept(aviary_sampler *s, int32_t token) {
    for (size_t i = 0; i < s->n_seen; i++) s->occ[s->seen_list[i]] *= s->p.penalty_decay;
    if (token < 0 || token >= s->n_vocab) return;
    if (!s->seen[token]) {
        s->seen[token] = 1;
        s->seen_list[s->n_seen++] = token;
    }
    s->occ[token] += 1.0f;
}

/* Sort order: higher probability first, then lower id. qsort has no context
 * argument, so the values travel in a file-local pointer set just before. */
static _Thread_local const float *sort_values;
static int by_prob_desc(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    float px = sort_values[x], py = sort_values[y];
    if (px != py) return px > py ? -1 : 1;
    return (x > y) - (x < y);
}

aviary_status aviary_sampler_sample(aviary_sampler *s, const float *logits, int32_t *token) {
    const int32_t V = s->n_vocab;
    float *w = s->work;
    memcpy(w, logits, (size_t)V * sizeof *w);
    for (size_t i = 0; i < s->n_seen; i++) {
        int32_t t = s->seen_list[i];
        w[t] -= s->p.presence_penalty + s->occ[t] * s->p.frequency_penalty;
    }
    for (size_t i = 0; i < s->p.n_ban_tokens; i++) w[s->ban[i]] = -INFINITY;
    int32_t best = -1;
    for (int32_t i = 0; i < V; i++)
        if (w[i] == w[i] && w[i] > -INFINITY && (best < 0 || w[i] > w[best])) best = i;
    if (best < 0)
        return aviary_error(AVIARY_INVALID_ARG, "sampler: no token can be sampled (all banned, -inf or NaN)");
    if (s->p.temperature == 0) {
        *token = best;
        return AVIARY_OK;
    }
    /* softmax; NaN logits get probability 0 */
    const float mx = w[best];
    double sum = 0;
    for (int32_t i = 0; i < V; i++) {
        float e = w[i] == w[i] ? expf(w[i] - mx) : 0.0f;
        w[i] = e;
        sum += e;
    }
    const float inv = (float)(1.0 / sum);
    for (int32_t i = 0; i < V; i++) w[i] *= inv;
    bool use_top_p = s->p.top_p < 1.0f, use_top_k = s->p.top_k > 0 && s->p.top_k < V;
    if (use_top_p || use_top_k) {
        /* Sorting all V tokens costs more than a model step with a big
         * vocabulary. The tokens >= a threshold t are exactly the head of
         * the full descending order, so it is enough to sort them when the
         * nucleus (the running sum reaching top_p) and the top k lie inside
         * them. Start with t = p_max / 64 and lower t until they do (at
         * worst t = 0: everything). The result is identical to sorting all. */
        const float pmax = w[best];
        float t = pmax / 64.0f, cutoff = -1;
        int32_t n = 0;
        for (;;) {
            n = 0;
            if (t > 0) {
                for (int32_t i = 0; i < V; i++)
                    if (w[i] >= t) s->order[n++] = i;
            } else {
                for (int32_t i = 0; i < V; i++) s->order[i] = i;
                n = V;
            }
            bool enough = n == V || !use_top_k || n >= s->p.top_k;
            if (enough) {
                sort_values = w;
                qsort(s->order, (size_t)n, sizeof *s->order, by_prob_desc);
                if (use_top_p) {
                    /* float running sum, as ChatRWKV's np.cumsum over float32 */
                    float c = 0;
                    for (int32_t k = 0; k < n; k++) {
                        c += w[s->order[k]];
                        if (c >= s->p.top_p) {
                            cutoff = w[s->order[k]];
                            break;
                        }
                    }
                    enough = cutoff >= 0 || n == V;
                }
            }
            if (enough) break;
            t = t > 1e-30f ? t / 256.0f : 0.0f;
        }
        /* Tokens outside order[0..n) are below every token in it. */
        const float floor_p = n < V ? w[s->order[n - 1]] : 0.0f;
        if (use_top_p) {
            if (cutoff < 0) cutoff = pmax; /* sum never reached top_p: ChatRWKV keeps the maxima */
            for (int32_t i = 0; i < V; i++)
                if (w[i] < cutoff) w[i] = 0;
        }
        if (use_top_k) {
            for (int32_t k = s->p.top_k; k < n; k++) w[s->order[k]] = 0;
            if (n < V)
                for (int32_t i = 0; i < V; i++)
                    if (w[i] < floor_p) w[i] = 0;
        }
    }
    if (s->p.temperature != 1.0f) {
        const float e = 1.0f / s->p.temperature;
        for (int32_t i = 0; i < V; i++)
            if (w[i] > 0) w[i] = powf(w[i], e);
    }
    sum = 0;
    int32_t last = -1;
    for (int32_t i = 0; i < V; i++)
        if (w[i] > 0) {
            sum += w[i];
            last = i;
        }
    if (last < 0 || !(sum > 0) || !isfinite(sum)) {
        /* Everything underflowed (extreme temperature): fall back to the argmax. */
        *token = best;
        return AVIARY_OK;
    }
    double u = rng_uniform(s) * sum, c = 0;
    for (int32_t i = 0; i < V; i++) {
        if (w[i] <= 0) continue;
        c += w[i];
        if (u < c) {
            *token = i;
            return AVIARY_OK;
        }
    }
    *token = last;
    return AVIARY_OK;
}

/* ---------------------------------------------------------------- stop strings */

ptrdiff_t aviary_stop_find(const char *text, size_t len, const char *const *stops, size_t n_stops) {
    ptrdiff_t first = -1;
    for (size_t k = 0; k < n_stops; k++) {
        size_t m = stops[k] ? strlen(stops[k]) : 0;
        if (!m || m > len) continue;
        for (size_t i = 0; i + m <= len; i++) {
            if (first >= 0 && (ptrdiff_t)i >= first) break;
            if (!memcmp(text + i, stops[k], m)) {
                first = (ptrdiff_t)i;
                break;
            }
        }
    }
    return first;
}

size_t aviary_stop_holdback(const char *text, size_t len, const char *const *stops, size_t n_stops) {
    size_t best = 0;
    for (size_t k = 0; k < n_stops; k++) {
        size_t m = stops[k] ? strlen(stops[k]) : 0;
        for (size_t l = (m - (m > 0)) < len ? m - (m > 0) : len; l > best; l--)
            if (!memcmp(text + len - l, stops[k], l)) {
                best = l;
                break;
            }
    }
    return best;
}
