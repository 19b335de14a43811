/* verify_rwkv_lm.c - `aviary verify` for family "rwkv-lm" (RWKV-4/5/6/7 LMs).
 *
 * Loads the fixture's weights (model.safetensors by default, or --weights
 * FILE, a path or a file name inside the fixture folder) and feeds
 * inputs.tokens from a zero state:
 *   rnn: one token at a time; every logits row and the final state;
 *   seq: the whole sequence at once (last logits row, final state), then
 *        5 tokens at once followed by the rest one at a time (each of those
 *        rows and the final state).
 * --mode rnn|seq|all (default all).
 * State tensors: state_att_x / state_ffn_x [L, C], state_wkv [L, H, N, N]
 * (RWKV-5/6: [key][value]; RWKV-7: [value][key], which is how aviary stores
 * each version too), state_att_aa / bb / pp [L, C] (RWKV-4).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "verify.h"

typedef struct part_map {
    const char *expected, *part;
} part_map;

static const part_map parts[] = {
    {"state_att_x", "att_x"}, {"state_ffn_x", "ffn_x"}, {"state_wkv", "wkv"},
    {"state_att_aa", "aa"},   {"state_att_bb", "bb"},   {"state_att_pp", "pp"},
};

static void compare_state(verify_ctx *v, const aviary_model *m, aviary_state *s, const char *label) {
    const aviary_model_info *in = aviary_model_get_info(m);
    for (size_t p = 0; p < sizeof parts / sizeof parts[0]; p++) {
        if (!v->expected || !aviary_checkpoint_find(v->expected, parts[p].expected)) continue;
        size_t per = 0;
        if (!aviary_state_part(s, parts[p].part, 0, &per)) {
            verify_failf(v, "%s %s: the RWKV-%d state has no part '%s'", parts[p].expected, label, in->version,
                         parts[p].part);
            continue;
        }
        float *all = malloc(per * (size_t)in->n_layer * sizeof(float));
        if (!all) {
            verify_failf(v, "%s: out of memory", parts[p].expected);
            continue;
        }
        for (int l = 0; l < in->n_layer; l++)
            memcpy(all + (size_t)l * per, aviary_state_part(s, parts[p].part, l, NULL), per * sizeof(float));
        verify_compare(v, parts[p].expected, all, (int64_t)(per * (size_t)in->n_layer), label);
        free(all);
    }
}

static int run(verify_ctx *v, const aviary_model *m, const int32_t *tok, size_t T, const char *mode) {
    const aviary_model_info *in = aviary_model_get_info(m);
    const size_t V = (size_t)in->vocab_size;
    float *logits = malloc(T * V * sizeof(float));
    aviary_state *s = NULL;
    if (!logits || aviary_state_create(m, &s)) {
        free(logits);
        verify_failf(v, "state: %s", aviary_errmsg());
        return 1;
    }
    bool all = !strcmp(mode, "all");
    char label[64];
    if (all || !strcmp(mode, "rnn")) {
        aviary_state_reset(s);
        aviary_status st = AVIARY_OK;
        for (size_t t = 0; t < T && !st; t++) st = aviary_model_eval_rnn(m, s, tok + t, 1, logits + t * V);
        if (st) verify_failf(v, "rnn: %s", aviary_errmsg());
        else {
            verify_compare(v, "logits", logits, (int64_t)(T * V), "rnn");
            compare_state(v, m, s, "rnn");
        }
    }
    if (all || !strcmp(mode, "seq")) {
        aviary_state_reset(s);
        if (aviary_model_eval(m, s, tok, T, logits)) verify_failf(v, "seq: %s", aviary_errmsg());
        else {
            snprintf(label, sizeof label, "seq row %zu", T - 1);
            verify_compare_slice(v, "logits", (int64_t)((T - 1) * V), logits, (int64_t)V, label);
            compare_state(v, m, s, "seq");
        }
        const size_t P = T < 5 ? T : 5;
        aviary_state_reset(s);
        aviary_status st = aviary_model_eval(m, s, tok, P, logits + (P - 1) * V);
        for (size_t t = P; t < T && !st; t++) st = aviary_model_eval(m, s, tok + t, 1, logits + t * V);
        if (st) verify_failf(v, "seq5+rnn: %s", aviary_errmsg());
        else {
            snprintf(label, sizeof label, "seq%zu+rnn rows %zu..%zu", P, P - 1, T - 1);
            verify_compare_slice(v, "logits", (int64_t)((P - 1) * V), logits + (P - 1) * V,
                                 (int64_t)((T - P + 1) * V), label);
            compare_state(v, m, s, "seq5+rnn");
        }
    }
    aviary_state_free(s);
    free(logits);
    return 0;
}

int verify_rwkv_lm(verify_ctx *v) {
    const char *mode = v->mode ? v->mode : "all";
    if (strcmp(mode, "all") && strcmp(mode, "rnn") && strcmp(mode, "seq")) {
        fprintf(stderr, "aviary: verify: --mode must be rnn, seq or all (got '%s')\n", mode);
        return 1;
    }
    const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(v->fixture, "inputs");
    const cJSON *toks = cJSON_GetObjectItemCaseSensitive(inputs, "tokens");
    int n = cJSON_GetArraySize(toks);
    if (!cJSON_IsArray(toks) || n < 1) {
        fprintf(stderr, "aviary: %s/fixture.json: inputs.tokens missing or empty\n", v->dir);
        return 1;
    }
    int32_t *tok = malloc((size_t)n * sizeof *tok);
    if (!tok) return 1;
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, toks) {
        if (!cJSON_IsNumber(it)) {
            free(tok);
            fprintf(stderr, "aviary: %s/fixture.json: inputs.tokens[%d] is not a number\n", v->dir, i);
            return 1;
        }
        tok[i++] = (int32_t)it->valueint;
    }
    char path[4096];
    const char *w = v->weights;
    if (!w) w = verify_path(v, "model.safetensors", path, sizeof path);
    else if (access(w, F_OK) != 0) w = verify_path(v, w, path, sizeof path);
    aviary_model *m = NULL;
    if (aviary_model_load(w, NULL, &m)) {
        fprintf(stderr, "aviary: %s\n", aviary_errmsg());
        free(tok);
        return 1;
    }
    const aviary_model_info *in = aviary_model_get_info(m);
    printf("  model RWKV-%d: %d layers, n_embd %d, dim_ffn %d, heads %d x %d, vocab %d, weights %s (%s)\n",
           in->version, in->n_layer, in->n_embd, in->dim_ffn, in->n_head, in->head_size, in->vocab_size,
           aviary_weight_type_name(in->weights), w);
    int rc = run(v, m, tok, (size_t)n, mode);
    aviary_model_free(m);
    free(tok);
    return rc;
}
