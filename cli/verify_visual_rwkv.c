/* verify_visual_rwkv.c - `aviary verify` for family "visual-rwkv" (VisualRWKV-6).
 *
 * The whole chain, each stage from aviary's own previous stage (never from an
 * expected tensor):
 *   input.png -> CLIP preprocessing (preprocess_resized, pixels)
 *   -> CLIP ViT (vit_last_hidden_state) -> CLS last (image_features)
 *   -> projection (image_embeds) -> [emb(before) | image | emb(after)]
 *   (lm_input_embeds) -> layer-major prefill with the odd-layer image flip
 *   (block_outputs, hidden_ln_out, logits) -> RNN-mode greedy decoding
 *   (greedy_tokens exact, greedy_token_logits).
 * Weights: model.safetensors if the folder has one, else model.pth, or
 * --weights FILE. The CLIP head count comes from config.vision.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "aviary/aviary_tokenizer.h"
#include "aviary/aviary_visual_rwkv.h"
#include "verify.h"

/* Build the prompt from inputs.question (layout from config.image_position)
 * with the World tokenizer and compare the ids with inputs.tokens. */
static void check_prompt_ids(verify_ctx *v, const int32_t *before, size_t nb, const int32_t *after, size_t na) {
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(v->fixture, "inputs");
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(in, "question");
    const cJSON *pos = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(v->fixture, "config"),
                                                        "image_position");
    if (!cJSON_IsString(q)) return;
    aviary_vrwkv_layout lay = AVIARY_VRWKV_SANDWICH;
    aviary_tokenizer *tok = NULL;
    char *sb = NULL, *sa = NULL, *sas = NULL;
    int32_t *ib = NULL, *ia = NULL, *ias = NULL;
    size_t kb = 0, ka = 0, kas = 0;
    if ((cJSON_IsString(pos) && aviary_vrwkv_layout_parse(pos->valuestring, &lay)) ||
        aviary_tokenizer_load_default(&tok) || aviary_vrwkv_prompt_text(q->valuestring, lay, &sb, &sa, &sas) ||
        aviary_tokenizer_encode(tok, sb, strlen(sb), &ib, &kb) || aviary_tokenizer_encode(tok, sa, strlen(sa), &ia, &ka) ||
        aviary_tokenizer_encode(tok, sas, strlen(sas), &ias, &kas)) {
        verify_failf(v, "prompt ids: %s", aviary_errmsg());
    } else {
        bool ok = kb == nb && ka + kas == na && !memcmp(ib, before, nb * sizeof *ib) &&
                  !memcmp(ia, after, ka * sizeof *ia) && !memcmp(ias, after + ka, kas * sizeof *ias);
        printf("  %s prompt ids (question -> %s layout -> World tokenizer): %zu + image + %zu + %zu tokens\n",
               ok ? "ok  " : "FAIL", lay == AVIARY_VRWKV_SANDWICH ? "sandwich" : "image-first", kb, ka, kas);
        v->n_checked++;
        if (!ok) v->n_failed++;
    }
    free(sb); free(sa); free(sas); free(ib); free(ia); free(ias);
    aviary_tokenizer_free(tok);
}

static int get_int(const cJSON *o, const char *a, const char *b, int dflt) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b) x = cJSON_GetObjectItemCaseSensitive(x, b);
    return cJSON_IsNumber(x) ? x->valueint : dflt;
}

/* inputs.tokens.<name> as a malloc'd id array (NULL + message on error). */
static int32_t *get_ids(verify_ctx *v, const char *name, size_t *n) {
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(v->fixture, "inputs");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(in, "tokens"), name);
    if (!cJSON_IsArray(a)) {
        fprintf(stderr, "aviary: %s/fixture.json: inputs.tokens.%s missing\n", v->dir, name);
        return NULL;
    }
    *n = (size_t)cJSON_GetArraySize(a);
    int32_t *ids = malloc((*n ? *n : 1) * sizeof *ids);
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, a) {
        if (!ids || !cJSON_IsNumber(it)) {
            fprintf(stderr, "aviary: %s/fixture.json: inputs.tokens.%s[%zu] is not a number\n", v->dir, name, i);
            free(ids);
            return NULL;
        }
        ids[i++] = (int32_t)it->valueint;
    }
    return ids;
}

/* input.png -> CLIP preprocessing with inputs.preprocess.preprocessor_config;
 * compares preprocess_resized and pixels; returns the pixels [3, S, S]. */
static float *preprocess(verify_ctx *v, int S) {
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(v->fixture, "inputs");
    const cJSON *pc = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(in, "preprocess"),
                                                       "preprocessor_config");
    const cJSON *img = cJSON_GetObjectItemCaseSensitive(in, "image");
    int size = get_int(pc, "size", "shortest_edge", S), crop = get_int(pc, "crop_size", "height", S);
    float mean[3], std[3];
    for (int c = 0; c < 3; c++) {
        const cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(pc, "image_mean"), c);
        const cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(pc, "image_std"), c);
        mean[c] = cJSON_IsNumber(m) ? (float)m->valuedouble : aviary_clip_mean[c];
        std[c] = cJSON_IsNumber(d) ? (float)d->valuedouble : aviary_clip_std[c];
    }
    if (crop != S) {
        fprintf(stderr, "aviary: %s: crop size %d differs from the vision tower's input %d\n", v->dir, crop, S);
        return NULL;
    }
    char path[4096];
    aviary_image im = {0}, rs = {0};
    float *pix = malloc((size_t)3 * S * S * sizeof(float));
    if (!pix || aviary_image_load(verify_path(v, cJSON_IsString(img) ? img->valuestring : "input.png", path,
                                              sizeof path), &im) ||
        aviary_clip_preprocess(&im, size, crop, mean, std, pix, &rs)) {
        fprintf(stderr, "aviary: %s\n", pix ? aviary_errmsg() : "out of memory");
        free(pix);
        aviary_image_free(&im);
        return NULL;
    }
    printf("  image %dx%d -> resized %dx%d -> crop %d\n", im.width, im.height, rs.width, rs.height, crop);
    size_t n = (size_t)rs.width * (size_t)rs.height * 3;
    float *f = malloc(n * sizeof(float));
    if (f) {
        for (size_t i = 0; i < n; i++) f[i] = rs.rgb[i];
        verify_compare(v, "preprocess_resized", f, (int64_t)n, NULL);
        free(f);
    }
    verify_compare(v, "pixels", pix, (int64_t)3 * S * S, NULL);
    aviary_image_free(&im);
    aviary_image_free(&rs);
    return pix;
}

static int run(verify_ctx *v, aviary_vrwkv *vr, const float *pixels) {
    const aviary_model *m = aviary_vrwkv_lm(vr);
    const aviary_model_info *mi = aviary_model_get_info(m);
    const aviary_clip_vit_info *vi = aviary_clip_vit_get_info(aviary_vrwkv_vision(vr));
    const size_t P1 = (size_t)vi->n_patches + 1, D = (size_t)vi->hidden, C = (size_t)mi->n_embd;
    const size_t V = (size_t)mi->vocab_size, L = (size_t)mi->n_layer;
    size_t nb = 0, na = 0;
    int32_t *before = get_ids(v, "before_image", &nb), *after = get_ids(v, "after_image", &na);
    const size_t T = nb + P1 + na;
    float *feat = malloc(P1 * D * sizeof(float)), *emb = malloc(P1 * C * sizeof(float));
    float *x = malloc(T * C * sizeof(float)), *blocks = malloc(L * T * C * sizeof(float));
    float *logits = malloc(V * sizeof(float));
    aviary_state *s = NULL;
    int rc = 1;
    if (!before || !after || !feat || !emb || !x || !blocks || !logits) goto out;
    check_prompt_ids(v, before, nb, after, na);
    if (aviary_state_create(m, &s)) {
        verify_failf(v, "state: %s", aviary_errmsg());
        goto out;
    }
    rc = 0;
    if (aviary_clip_vit_forward(aviary_vrwkv_vision(vr), pixels, feat)) {
        verify_failf(v, "vision tower: %s", aviary_errmsg());
        goto out;
    }
    verify_compare(v, "vit_last_hidden_state", feat, (int64_t)(P1 * D), NULL);
    aviary_clip_vit_cls_last(feat, vi->n_patches, vi->hidden);
    verify_compare(v, "image_features", feat, (int64_t)(P1 * D), NULL);
    if (aviary_vrwkv_proj_forward(aviary_vrwkv_projection(vr), feat, P1, emb)) {
        verify_failf(v, "projection: %s", aviary_errmsg());
        goto out;
    }
    verify_compare(v, "image_embeds", emb, (int64_t)(P1 * C), NULL);
    if (aviary_vrwkv_assemble(m, before, nb, emb, P1, after, na, x)) {
        verify_failf(v, "prompt: %s", aviary_errmsg());
        goto out;
    }
    verify_compare(v, "lm_input_embeds", x, (int64_t)(T * C), NULL);
    if (aviary_vrwkv_prefill(m, s, x, T, nb, nb + (size_t)vi->n_patches, blocks, logits)) {
        verify_failf(v, "prefill: %s", aviary_errmsg());
        goto out;
    }
    verify_compare(v, "block_outputs", blocks, (int64_t)(L * T * C), NULL);
    aviary_model_ln_out(m, x, T, x);
    verify_compare(v, "hidden_ln_out", x, (int64_t)(T * C), NULL);
    verify_compare(v, "logits", logits, (int64_t)V, "prefill");
    /* greedy, RNN mode from the prefill state */
    const int max_new = get_int(v->fixture, "config", "max_new_tokens", 8);
    const int stop = get_int(v->fixture, "config", "stop_token", AVIARY_VRWKV_STOP_TOKEN);
    float toks[256], tlog[256];
    int n = 0;
    for (; n < max_new && n < 256; n++) {
        int32_t best = 0;
        for (size_t i = 1; i < V; i++)
            if (logits[i] > logits[best]) best = (int32_t)i;
        toks[n] = (float)best;
        tlog[n] = logits[best];
        if (best == stop) {
            n++;
            break;
        }
        if (n + 1 < max_new && aviary_model_eval(m, s, &best, 1, logits)) {
            verify_failf(v, "decode: %s", aviary_errmsg());
            goto out;
        }
    }
    printf("  greedy ids:");
    for (int i = 0; i < n; i++) printf(" %d", (int)toks[i]);
    printf("\n");
    verify_compare(v, "greedy_tokens", toks, n, NULL);
    verify_compare(v, "greedy_token_logits", tlog, n, NULL);
out:
    aviary_state_free(s);
    free(before);
    free(after);
    free(feat);
    free(emb);
    free(x);
    free(blocks);
    free(logits);
    return rc;
}

int verify_visual_rwkv(verify_ctx *v) {
    if (v->mode && strcmp(v->mode, "all")) {
        fprintf(stderr, "aviary: verify: visual-rwkv has only --mode all (got '%s')\n", v->mode);
        return 1;
    }
    char path[4096];
    const char *w = v->weights;
    if (!w) {
        w = verify_path(v, "model.safetensors", path, sizeof path);
        if (access(w, F_OK) != 0) w = verify_path(v, "model.pth", path, sizeof path);
    } else if (access(w, F_OK) != 0) {
        w = verify_path(v, w, path, sizeof path);
    }
    aviary_vrwkv_params p = aviary_vrwkv_default_params();
    p.vision_heads = get_int(cJSON_GetObjectItemCaseSensitive(v->fixture, "config"), "vision", "num_attention_heads", 0);
    aviary_vrwkv *vr = NULL;
    if (aviary_vrwkv_load(w, NULL, &p, &vr)) {
        fprintf(stderr, "aviary: %s\n", aviary_errmsg());
        return 1;
    }
    const aviary_model_info *mi = aviary_model_get_info(aviary_vrwkv_lm(vr));
    const aviary_clip_vit_info *vi = aviary_clip_vit_get_info(aviary_vrwkv_vision(vr));
    printf("  vision CLIP ViT %d px / patch %d: width %d, %d layers, %d heads; projection %s %d -> %d\n",
           vi->image_size, vi->patch_size, vi->hidden, vi->n_layer, vi->n_head,
           aviary_vrwkv_proj_gated(aviary_vrwkv_projection(vr)) ? "gated" : "linear", vi->hidden, mi->n_embd);
    printf("  LM RWKV-%d: %d layers, n_embd %d, vocab %d (%s)\n", mi->version, mi->n_layer, mi->n_embd,
           mi->vocab_size, w);
    float *pixels = preprocess(v, vi->image_size);
    int rc = pixels ? run(v, vr, pixels) : 1;
    free(pixels);
    aviary_vrwkv_free(vr);
    return rc;
}
