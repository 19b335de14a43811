/* generate.c - tokenizer choice for a model and the prefill + sample + feed
 * loop with streamed, stop-string-aware text output (aviary_generate.h). */
#include "aviary/aviary_generate.h"
#include "internal.h"

aviary_status aviary_tokenizer_for_model(const aviary_model *m, const char *vocab, aviary_tokenizer **out) {
    *out = NULL;
    const int32_t V = aviary_model_get_info(m)->vocab_size;
    aviary_tokenizer *t = NULL;
    aviary_status st;
    const char *what;
    if (vocab && !strcmp(vocab, "bytes")) {
        st = aviary_tokenizer_bytes(&t);
        what = "the byte tokenizer";
    } else if (vocab && *vocab) {
        st = aviary_tokenizer_load(vocab, &t);
        what = vocab;
    } else if (V == 256) {
        st = aviary_tokenizer_bytes(&t);
        what = "the byte tokenizer";
    } else {
        st = aviary_tokenizer_load_default(&t);
        what = "the RWKV World vocabulary";
    }
    if (st) return st;
    if (aviary_tokenizer_n_ids(t) > V) {
        int32_t n = aviary_tokenizer_n_ids(t);
        aviary_tokenizer_free(t);
        return aviary_error(AVIARY_SHAPE,
                            "%s has token ids up to %d but the model's vocabulary has only %d entries "
                            "(pass --vocab with this model's vocabulary, or --vocab bytes for a byte-level model)",
                            what, (int)n - 1, (int)V);
    }
    *out = t;
    return AVIARY_OK;
}

bool aviary_tokenizer_has_end_token(const aviary_tokenizer *t) {
    size_t len = 0;
    return aviary_tokenizer_token_bytes(t, 0, &len) == NULL;
}

void aviary_generation_free(aviary_generation *g) {
    if (!g) return;
    free(g->text);
    free(g->ids);
    memset(g, 0, sizeof *g);
}

/* Growable text buffer. */
typedef struct textbuf {
    char *p;
    size_t len, cap;
} textbuf;

static aviary_status tb_reserve(textbuf *b, size_t more) {
    if (b->len + more + 1 <= b->cap) return AVIARY_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1) cap *= 2;
    char *np = realloc(b->p, cap);
    if (!np) return aviary_error(AVIARY_NOMEM, "generate: out of memory");
    b->p = np;
    b->cap = cap;
    return AVIARY_OK;
}

aviary_status aviary_generate(const aviary_model *m, aviary_state *s, const aviary_tokenizer *t,
                              aviary_sampler *smp, const int32_t *prompt, size_t n_prompt, float *logits,
                              const aviary_generate_params *p, aviary_generation *out) {
    memset(out, 0, sizeof *out);
    out->stop_token = -1;
    if (p->max_tokens < 0) return aviary_error(AVIARY_INVALID_ARG, "generate: max_tokens must be >= 0");
    aviary_status st = AVIARY_OK;
    if (n_prompt) {
        st = aviary_model_eval(m, s, prompt, n_prompt, logits);
        if (st) return st;
    }
    textbuf txt = {0};
    int32_t *ids = malloc(((size_t)p->max_tokens + 1) * sizeof *ids);
    st = tb_reserve(&txt, 64);
    if (!st && !ids) st = aviary_error(AVIARY_NOMEM, "generate: out of memory");
    size_t n_ids = 0, emitted = 0;
    aviary_utf8_stream u;
    aviary_utf8_stream_init(&u);
    aviary_stop_reason reason = AVIARY_STOP_MAX_TOKENS;
    bool done = false;
    for (int i = 0; !st && !done && i < p->max_tokens; i++) {
        int32_t tok = -1;
        st = aviary_sampler_sample(smp, logits, &tok);
        if (st) break;
        if (aviary_sampler_is_stop(smp, tok)) {
            reason = AVIARY_STOP_TOKEN;
            out->stop_token = tok;
            break;
        }
        aviary_sampler_accept(smp, tok);
        st = aviary_model_eval_rnn(m, s, &tok, 1, logits);
        if (st) break;
        ids[n_ids++] = tok;
        size_t blen = 0;
        const uint8_t *bytes = aviary_tokenizer_token_bytes(t, tok, &blen);
        st = tb_reserve(&txt, AVIARY_UTF8_STREAM_MAX_OUT(blen));
        if (st) break;
        if (blen) txt.len += aviary_utf8_stream_push(&u, bytes, blen, txt.p + txt.len);
        /* A stop string cannot start in text already passed on (the
         * hold-back below keeps any possible start back). */
        size_t ready = txt.len;
        ptrdiff_t at = aviary_stop_find(txt.p + emitted, txt.len - emitted, p->stop_strings, p->n_stop_strings);
        if (at >= 0) {
            ready = txt.len = emitted + (size_t)at;
            reason = AVIARY_STOP_STRING;
            done = true;
        } else {
            ready -= aviary_stop_holdback(txt.p + emitted, txt.len - emitted, p->stop_strings, p->n_stop_strings);
        }
        if (ready > emitted) {
            if (p->on_text && !p->on_text(p->user, txt.p + emitted, ready - emitted)) {
                reason = AVIARY_STOP_CALLBACK;
                done = true;
            }
            emitted = ready;
        }
    }
    if (!st && reason != AVIARY_STOP_STRING && reason != AVIARY_STOP_CALLBACK) {
        /* End of text: an unfinished character becomes U+FFFD, and text held
         * back for a stop string that never completed is passed on. */
        st = tb_reserve(&txt, 3);
        if (!st) txt.len += aviary_utf8_stream_flush(&u, txt.p + txt.len);
        if (!st && txt.len > emitted && p->on_text) p->on_text(p->user, txt.p + emitted, txt.len - emitted);
    }
    if (st) {
        free(txt.p);
        free(ids);
        return st;
    }
    if (reason == AVIARY_STOP_CALLBACK) txt.len = emitted;
    txt.p[txt.len] = '\0';
    out->text = txt.p;
    out->text_len = txt.len;
    out->ids = ids;
    out->n_ids = n_ids;
    out->reason = reason;
    return AVIARY_OK;
}
