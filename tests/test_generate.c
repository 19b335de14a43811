/* test_generate.c - aviary_generate on the lm-rwkv6 fixture model (256-token
 * vocabulary, random weights, so the byte tokenizer): greedy tokens are the
 * argmax of the reference logits (expected.safetensors) and of an
 * independent RNN-mode replay; generation continued from a kept state
 * equals generation over the concatenated prompt; stop strings, stop
 * tokens and the callback stop; the vocabulary/model size check. Run from tests/. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aviary/aviary.h"

#include "test_util.h"

#define MODEL "fixtures/lm-rwkv6/model.safetensors"
static const int32_t fx_tokens[16] = {0, 17, 200, 5, 5, 99, 255, 1, 42, 128, 7, 64, 64, 64, 3, 250};

static int32_t argmax(const float *x, size_t n) {
    size_t b = 0;
    for (size_t i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return (int32_t)b;
}

static aviary_sampler *greedy(int32_t V) {
    aviary_sampler_params p = aviary_sampler_default_params();
    p.temperature = 0;
    p.presence_penalty = p.frequency_penalty = 0;
    aviary_sampler *s = NULL;
    CHECK(aviary_sampler_create(&p, V, &s) == AVIARY_OK);
    return s;
}

typedef struct sink {
    char buf[4096];
    size_t len;
    int calls, stop_after;
} sink;

static bool collect(void *user, const char *text, size_t len) {
    sink *k = user;
    if (k->len + len <= sizeof k->buf) memcpy(k->buf + k->len, text, len);
    k->len += len;
    k->calls++;
    return !(k->stop_after && k->calls >= k->stop_after);
}

int main(void) {
    aviary_model *m = NULL;
    CHECK(aviary_model_load(MODEL, NULL, &m) == AVIARY_OK);
    if (!m) return 1;
    const int32_t V = aviary_model_get_info(m)->vocab_size;
    CHECK(V == 256);
    aviary_tokenizer *t = NULL;
    CHECK(aviary_tokenizer_for_model(m, NULL, &t) == AVIARY_OK);
    CHECK(t && aviary_tokenizer_n_ids(t) == 256 && !aviary_tokenizer_has_end_token(t));
    aviary_state *s = NULL, *r = NULL;
    CHECK(aviary_state_create(m, &s) == AVIARY_OK && aviary_state_create(m, &r) == AVIARY_OK);
    aviary_sampler *smp = greedy(V);
    float *logits = malloc((size_t)V * sizeof *logits), *ref = malloc((size_t)V * sizeof *ref);
    if (!t || !s || !r || !smp) return 1;

    /* 1. greedy after every prefix = argmax of the reference logits row */
    aviary_checkpoint *ck = NULL;
    CHECK(aviary_checkpoint_open("fixtures/lm-rwkv6/expected.safetensors", &ck) == AVIARY_OK);
    const aviary_tensor *exp = ck ? aviary_checkpoint_find(ck, "logits") : NULL;
    CHECK(exp && aviary_tensor_numel(exp) == 16 * 256);
    float *rows = malloc(16 * 256 * sizeof *rows);
    if (exp && aviary_tensor_to_f32(exp, rows) == AVIARY_OK) {
        aviary_generate_params gp = {1, NULL, 0, NULL, NULL, false};
        for (size_t n = 1; n <= 16; n++) {
            aviary_state_reset(s);
            aviary_generation g;
            CHECK(aviary_generate(m, s, t, smp, fx_tokens, n, logits, &gp, &g) == AVIARY_OK);
            CHECK(g.n_ids == 1 && g.ids[0] == argmax(rows + (n - 1) * 256, 256));
            aviary_generation_free(&g);
        }
    }
    free(rows);
    aviary_checkpoint_close(ck);

    /* 2. a longer greedy run = argmax of an independent RNN replay */
    aviary_state_reset(s);
    aviary_generation g0;
    aviary_generate_params gp = {24, NULL, 0, NULL, NULL, false};
    CHECK(aviary_generate(m, s, t, smp, fx_tokens, 16, logits, &gp, &g0) == AVIARY_OK);
    CHECK(g0.n_ids == 24 && g0.reason == AVIARY_STOP_MAX_TOKENS);
    aviary_state_reset(r);
    CHECK(aviary_model_eval_rnn(m, r, fx_tokens, 16, ref) == AVIARY_OK);
    for (size_t k = 0; k < g0.n_ids; k++) {
        CHECK(g0.ids[k] == argmax(ref, 256));
        CHECK(aviary_model_eval_rnn(m, r, &g0.ids[k], 1, ref) == AVIARY_OK);
    }
    /* logits on return are those after the last generated token */
    float md = 0;
    for (int32_t i = 0; i < V; i++) md = fmaxf(md, fabsf(logits[i] - ref[i]));
    CHECK(md < 1e-3f);

    /* 3. continuing from the kept state == generating over the concatenation */
    const int32_t q[3] = {10, 11, 12};
    aviary_generation g1, g2;
    gp.max_tokens = 12;
    CHECK(aviary_generate(m, s, t, smp, q, 3, logits, &gp, &g1) == AVIARY_OK);
    int32_t all[16 + 24 + 3];
    memcpy(all, fx_tokens, sizeof fx_tokens);
    memcpy(all + 16, g0.ids, 24 * sizeof *all);
    memcpy(all + 40, q, sizeof q);
    aviary_state_reset(r);
    CHECK(aviary_generate(m, r, t, smp, all, 43, logits, &gp, &g2) == AVIARY_OK);
    CHECK(g1.n_ids == 12 && g2.n_ids == 12 && !memcmp(g1.ids, g2.ids, 12 * sizeof *g1.ids));
    aviary_generation_free(&g1);
    aviary_generation_free(&g2);

    /* 4. stop strings: the text up to the first occurrence, streamed in pieces */
    size_t k0 = 0;
    while (k0 + 1 < g0.text_len && !((unsigned char)g0.text[k0] < 0x80 && (unsigned char)g0.text[k0 + 1] < 0x80 &&
                                     g0.text[k0] && g0.text[k0 + 1]))
        k0++;
    if (k0 + 1 < g0.text_len) {
        char stop[3] = {g0.text[k0], g0.text[k0 + 1], 0};
        const char *stops[2] = {"\x01\x02\x03 never", stop};
        const char *first = strstr(g0.text, stop);
        sink out = {.len = 0};
        aviary_generate_params sp = {24, stops, 2, collect, &out, false};
        aviary_state_reset(s);
        aviary_generation g;
        CHECK(aviary_generate(m, s, t, smp, fx_tokens, 16, logits, &sp, &g) == AVIARY_OK);
        CHECK(g.reason == AVIARY_STOP_STRING);
        CHECK(first && g.text_len == (size_t)(first - g0.text) && !memcmp(g.text, g0.text, g.text_len));
        CHECK(out.len == g.text_len && !memcmp(out.buf, g.text, g.text_len));
        CHECK(aviary_utf8_valid(g.text, g.text_len));
        aviary_generation_free(&g);
        /* callback stop after the first piece */
        sink one = {.len = 0, .stop_after = 1};
        aviary_generate_params cp = {24, NULL, 0, collect, &one, false};
        aviary_state_reset(s);
        CHECK(aviary_generate(m, s, t, smp, fx_tokens, 16, logits, &cp, &g) == AVIARY_OK);
        CHECK(g.reason == AVIARY_STOP_CALLBACK && one.calls == 1 && g.text_len == one.len);
        aviary_generation_free(&g);
    } else {
        fprintf(stderr, "no two ASCII bytes in the greedy text\n");
        failures++;
    }

    /* 5. a stop token: the first greedy token itself stops at once, unfed */
    aviary_sampler_params sp = aviary_sampler_default_params();
    sp.temperature = 0;
    sp.stop_tokens = &g0.ids[0];
    sp.n_stop_tokens = 1;
    aviary_sampler *stopper = NULL;
    CHECK(aviary_sampler_create(&sp, V, &stopper) == AVIARY_OK);
    if (stopper) {
        aviary_generation g;
        aviary_state_reset(s);
        CHECK(aviary_generate(m, s, t, stopper, fx_tokens, 16, logits, &gp, &g) == AVIARY_OK);
        CHECK(g.reason == AVIARY_STOP_TOKEN && g.n_ids == 0 && g.stop_token == g0.ids[0] && g.text_len == 0);
        aviary_generation_free(&g);
        aviary_sampler_free(stopper);
    }
    aviary_generation_free(&g0);

    /* 5b. PIPELINE.generate weights: space/tab/digit tokens count 0, others 1 */
    {
        aviary_sampler_params wp = aviary_sampler_default_params();
        wp.top_p = 1.0f;
        wp.presence_penalty = wp.frequency_penalty = 0;
        wp.penalty_decay = 1.0f;
        wp.seed = 3;
        aviary_sampler *ws = NULL;
        CHECK(aviary_sampler_create(&wp, V, &ws) == AVIARY_OK);
        aviary_generate_params pw = {300, NULL, 0, NULL, NULL, true};
        aviary_generation g;
        aviary_state_reset(s);
        if (ws && aviary_generate(m, s, t, ws, fx_tokens, 16, logits, &pw, &g) == AVIARY_OK) {
            int zero = 0, counted = 0;
            for (size_t k = 0; k < g.n_ids; k++) {
                int32_t id = g.ids[k];
                bool blank = id == ' ' || id == '\t' || (id >= '0' && id <= '9');
                size_t times = 0;
                for (size_t j = 0; j < g.n_ids; j++) times += g.ids[j] == id;
                if (blank) {
                    CHECK(aviary_sampler_occurrence(ws, id) == 0.0f);
                    zero++;
                } else {
                    CHECK(aviary_sampler_occurrence(ws, id) == (float)times);
                    counted++;
                }
            }
            CHECK(zero > 0 && counted > 0);
            aviary_generation_free(&g);
        } else {
            failures++;
        }
        aviary_sampler_free(ws);
    }

    /* 6. the World vocabulary does not fit a 256-token model */
    aviary_tokenizer *w = (aviary_tokenizer *)1;
    CHECK(aviary_tokenizer_for_model(m, "../core/data/rwkv_vocab_v20230424.txt", &w) == AVIARY_SHAPE && w == NULL);
    CHECK(strstr(aviary_errmsg(), "has token ids up to 65529 but the model's vocabulary has only 256") != NULL);
    CHECK(aviary_tokenizer_for_model(m, "bytes", &w) == AVIARY_OK);
    aviary_tokenizer_free(w);

    /* 7. a 65536-token model gets the World vocabulary by default; end of
     * text (id 0) as a stop token ends generation before it is fed */
    aviary_model *wm = NULL;
    CHECK(aviary_model_random("rwkv6:L1:D64:V65536", NULL, 3, &wm) == AVIARY_OK);
    if (wm) {
        aviary_tokenizer *wt = NULL;
        CHECK(aviary_tokenizer_for_model(wm, NULL, &wt) == AVIARY_OK);
        CHECK(wt && aviary_tokenizer_n_ids(wt) == 65530 && aviary_tokenizer_has_end_token(wt));
        /* chat rules: ban 0; no-repeat "，。：？！" (ids as in the fixture's punctuation case) */
        aviary_chat_tokens ct;
        aviary_sampler_params cp = aviary_sampler_default_params();
        if (wt) aviary_chat_sampler_setup(wt, &ct, &cp);
        CHECK(cp.n_ban_tokens == 1 && cp.ban_tokens[0] == 0 && cp.n_no_repeat_tokens == 5);
        CHECK(cp.no_repeat_tokens && cp.no_repeat_tokens[0] == 19137 && cp.no_repeat_tokens[4] == 19126);
        aviary_chat_sampler_setup(t, &ct, &cp); /* byte tokenizer: no special tokens */
        CHECK(cp.n_ban_tokens == 0 && cp.n_no_repeat_tokens == 0);
        aviary_state *ws = NULL;
        CHECK(aviary_state_create(wm, &ws) == AVIARY_OK);
        float *wl = malloc(65536 * sizeof *wl);
        int32_t *pid = NULL;
        size_t np = 0;
        if (wt && ws && wl && aviary_tokenizer_encode(wt, "User: hi\n\nAssistant:", 20, &pid, &np) == AVIARY_OK) {
            CHECK(np == 7 && pid[2] == 4571 && pid[3] == 261);
            CHECK(aviary_model_eval(wm, ws, pid, np, wl) == AVIARY_OK);
            /* make 0 the argmax: greedy with stop token 0 stops at once */
            wl[0] = 1e9f;
            int32_t end = 0;
            aviary_sampler_params wp = aviary_sampler_default_params();
            wp.temperature = 0;
            wp.stop_tokens = &end;
            wp.n_stop_tokens = 1;
            aviary_sampler *wsm = NULL;
            CHECK(aviary_sampler_create(&wp, 65536, &wsm) == AVIARY_OK);
            aviary_generation g;
            aviary_generate_params one = {5, NULL, 0, NULL, NULL, false};
            if (wsm) {
                CHECK(aviary_generate(wm, ws, wt, wsm, NULL, 0, wl, &one, &g) == AVIARY_OK);
                CHECK(g.reason == AVIARY_STOP_TOKEN && g.stop_token == 0 && g.n_ids == 0);
                aviary_generation_free(&g);
            }
            aviary_sampler_free(wsm);
            /* banned instead (chat): generation goes on, never emitting 0 */
            wl[0] = 1e9f;
            wp.stop_tokens = NULL;
            wp.n_stop_tokens = 0;
            wp.ban_tokens = &end;
            wp.n_ban_tokens = 1;
            wsm = NULL;
            CHECK(aviary_sampler_create(&wp, 65536, &wsm) == AVIARY_OK);
            if (wsm) {
                CHECK(aviary_generate(wm, ws, wt, wsm, NULL, 0, wl, &one, &g) == AVIARY_OK);
                CHECK(g.reason == AVIARY_STOP_MAX_TOKENS && g.n_ids == 5);
                for (size_t k = 0; k < g.n_ids; k++) CHECK(g.ids[k] != 0);
                CHECK(aviary_utf8_valid(g.text, g.text_len));
                aviary_generation_free(&g);
            }
            aviary_sampler_free(wsm);
        }
        free(pid);
        free(wl);
        aviary_state_free(ws);
        aviary_tokenizer_free(wt);
        aviary_model_free(wm);
    }

    free(logits);
    free(ref);
    aviary_sampler_free(smp);
    aviary_state_free(s);
    aviary_state_free(r);
    aviary_tokenizer_free(t);
    aviary_model_free(m);
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    else printf("test_generate: all checks passed\n");
    return failures != 0;
}
