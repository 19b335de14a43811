/* test_lm.c - the RWKV LM beyond the fixtures: sequence vs RNN mode over a
 * long prompt (crossing the sequence chunk), state copy / reset / save /
 * load round trips and their error paths, the per-layer API and
 * eval_embeddings against eval, and load errors (not an LM, a missing or
 * misshaped tensor) naming the file and the key. Run from tests/. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "aviary/aviary.h"

#include "test_util.h"

/* Largest |a - b| relative to the largest |b|: the two ways of running the
 * model sum the same products in different orders (the GEMV kernels cut k
 * into interleaved streams, oneDNN blocks it its own way), so values near
 * zero differ by f32 rounding of the big terms around them, not of their own
 * size: an elementwise relative error would fail on those. */
static float max_rel_diff(const float *a, const float *b, size_t n) {
    float d = 0.0f, m = 0.0f;
    for (size_t i = 0; i < n; i++) {
        const float e = fabsf(a[i] - b[i]);
        if (!(e <= d)) d = e;
        if (fabsf(b[i]) > m) m = fabsf(b[i]);
    }
    return d / (m > 1e-6f ? m : 1e-6f);
}

static void test_model(const char *path) {
    aviary_model *m = NULL;
    CHECK(aviary_model_load(path, NULL, &m) == AVIARY_OK);
    if (!m) return;
    const aviary_model_info *in = aviary_model_get_info(m);
    const size_t V = (size_t)in->vocab_size, C = (size_t)in->n_embd, T = 300;
    int32_t *tok = malloc(T * sizeof *tok);
    float *la = malloc(V * sizeof(float)), *lb = malloc(V * sizeof(float)), *lc = malloc(V * sizeof(float));
    unsigned seed = 12345;
    for (size_t i = 0; i < T; i++) {
        seed = seed * 1103515245u + 12345u;
        tok[i] = (int32_t)((seed >> 16) % V);
    }
    aviary_state *a = NULL, *b = NULL, *c = NULL;
    CHECK(aviary_state_create(m, &a) == AVIARY_OK);
    CHECK(aviary_state_create(m, &b) == AVIARY_OK);
    CHECK(aviary_state_create(m, &c) == AVIARY_OK);

    /* sequence mode (two chunks) == RNN mode */
    CHECK(aviary_model_eval_rnn(m, a, tok, T, la) == AVIARY_OK);
    CHECK(aviary_model_eval(m, b, tok, T, lb) == AVIARY_OK);
    CHECK(max_rel_diff(lb, la, V) < 1e-5f);
    static const char *const parts[] = {"att_x", "ffn_x", "wkv", "aa", "bb", "pp"};
    for (size_t p = 0; p < 6; p++)
        for (int l = 0; l < in->n_layer; l++) {
            size_t np = 0;
            float *sa = aviary_state_part(a, parts[p], l, &np), *sb = aviary_state_part(b, parts[p], l, NULL);
            if (!sa) continue;
            CHECK(sb && max_rel_diff(sb, sa, np) < 1e-5f);
        }

    /* copy forks a stream: both continue identically */
    CHECK(aviary_state_copy(c, a) == AVIARY_OK);
    CHECK(aviary_model_eval(m, a, tok, 3, la) == AVIARY_OK);
    CHECK(aviary_model_eval(m, c, tok, 3, lc) == AVIARY_OK);
    CHECK(memcmp(la, lc, V * sizeof(float)) == 0);

    /* save / load round trip (exact) */
    char file[] = "/tmp/aviary_test_lm_state_XXXXXX";
    int fd = mkstemp(file);
    CHECK(fd >= 0);
    if (fd >= 0) close(fd);
    CHECK(aviary_state_save(a, file) == AVIARY_OK);
    aviary_state_reset(c);
    CHECK(aviary_state_load(c, file) == AVIARY_OK);
    size_t n0 = 0, n1 = 0;
    float *pa = aviary_state_part(a, "att_x", in->n_layer - 1, &n0);
    float *pc = aviary_state_part(c, "att_x", in->n_layer - 1, &n1);
    CHECK(pa && pc && n0 == C && n1 == C && memcmp(pa, pc, C * sizeof(float)) == 0);
    CHECK(aviary_model_eval(m, a, tok + 7, 1, la) == AVIARY_OK);
    CHECK(aviary_model_eval(m, c, tok + 7, 1, lc) == AVIARY_OK);
    CHECK(memcmp(la, lc, V * sizeof(float)) == 0);

    /* truncated / foreign files fail cleanly */
    FILE *f = fopen(file, "r+b");
    CHECK(f != NULL);
    if (f) {
        CHECK(ftruncate(fileno(f), 40) == 0);
        fclose(f);
    }
    CHECK(aviary_state_load(c, file) == AVIARY_FORMAT);
    CHECK(strstr(aviary_errmsg(), file) != NULL);
    CHECK(aviary_state_load(c, "fixtures/FORMAT.md") == AVIARY_FORMAT);
    CHECK(aviary_state_load(c, "/nonexistent/dir/state.bin") == AVIARY_IO);
    CHECK(aviary_state_save(c, "/nonexistent/dir/state.bin") == AVIARY_IO);
    CHECK(access("/nonexistent/dir/state.bin", F_OK) != 0);
    unlink(file);

    /* reset == fresh */
    aviary_state_reset(a);
    aviary_state *fresh = NULL;
    CHECK(aviary_state_create(m, &fresh) == AVIARY_OK);
    CHECK(aviary_model_eval(m, a, tok, 20, la) == AVIARY_OK);
    CHECK(aviary_model_eval(m, fresh, tok, 20, lb) == AVIARY_OK);
    CHECK(memcmp(la, lb, V * sizeof(float)) == 0);

    /* per-layer API == eval; eval_embeddings == eval */
    const size_t n = 9;
    float *x = malloc(n * C * sizeof(float)), *lg = malloc(n * V * sizeof(float));
    aviary_state_reset(a);
    aviary_state_reset(b);
    aviary_state_reset(c);
    CHECK(aviary_model_eval(m, a, tok, n, la) == AVIARY_OK);
    CHECK(aviary_model_embed(m, tok, n, x) == AVIARY_OK);
    float *x2 = malloc(n * C * sizeof(float));
    memcpy(x2, x, n * C * sizeof(float));
    for (int l = 0; l < in->n_layer; l++) CHECK(aviary_model_forward_layer(m, b, l, x, n) == AVIARY_OK);
    CHECK(aviary_model_head(m, x, n, lg) == AVIARY_OK);
    CHECK(max_rel_diff(lg + (n - 1) * V, la, V) < 1e-5f);
    CHECK(aviary_model_eval_embeddings(m, c, x2, n, lc) == AVIARY_OK);
    CHECK(max_rel_diff(lc, la, V) < 1e-5f);
    free(x);
    free(x2);
    free(lg);

    /* misuse */
    int32_t bad = (int32_t)V;
    CHECK(aviary_model_eval(m, a, &bad, 1, la) == AVIARY_INVALID_ARG);
    CHECK(aviary_model_eval(m, a, tok, 0, la) == AVIARY_INVALID_ARG);
    CHECK(aviary_model_forward_layer(m, a, in->n_layer, la, 1) == AVIARY_INVALID_ARG);
    CHECK(aviary_state_part(a, "nope", 0, NULL) == NULL);
    CHECK(aviary_state_part(a, "att_x", in->n_layer, NULL) == NULL);

    aviary_state_free(fresh);
    aviary_state_free(a);
    aviary_state_free(b);
    aviary_state_free(c);
    free(tok);
    free(la);
    free(lb);
    free(lc);
    aviary_model_free(m);
}

/* Loading a state saved by another model fails with AVIARY_SHAPE. */
static void test_cross_model_state(void) {
    aviary_model *m4 = NULL, *m6 = NULL;
    CHECK(aviary_model_load("fixtures/lm-rwkv4/model.safetensors", NULL, &m4) == AVIARY_OK);
    CHECK(aviary_model_load("fixtures/lm-rwkv6/model.safetensors", NULL, &m6) == AVIARY_OK);
    if (!m4 || !m6) goto out;
    aviary_state *s4 = NULL, *s6 = NULL;
    CHECK(aviary_state_create(m4, &s4) == AVIARY_OK);
    CHECK(aviary_state_create(m6, &s6) == AVIARY_OK);
    char file[] = "/tmp/aviary_test_lm_state_XXXXXX";
    int fd = mkstemp(file);
    if (fd >= 0) close(fd);
    CHECK(aviary_state_save(s4, file) == AVIARY_OK);
    CHECK(aviary_state_load(s6, file) == AVIARY_SHAPE);
    CHECK(aviary_state_copy(s6, s4) == AVIARY_INVALID_ARG);
    unlink(file);
    aviary_state_free(s4);
    aviary_state_free(s6);
out:
    aviary_model_free(m4);
    aviary_model_free(m6);
}

/* Write `src` as an f32 safetensors file, dropping key `drop` and giving key
 * `reshape` the shape [numel] (1-D), so the loader sees a missing / misshaped tensor. */
/* rename(official, out, n) -> true when the 2-D tensor must be stored transposed. */
typedef bool (*rename_fn)(const char *name, char *out, size_t n);

static bool write_variant_renamed(const char *src, const char *dst, const char *drop, const char *reshape,
                                  rename_fn rename);
static bool write_variant(const char *src, const char *dst, const char *drop, const char *reshape) {
    return write_variant_renamed(src, dst, drop, reshape, NULL);
}

static bool write_variant_renamed(const char *src, const char *dst, const char *drop, const char *reshape,
                                  rename_fn rename) {
    aviary_checkpoint *ck = NULL;
    if (aviary_checkpoint_open(src, &ck)) return false;
    size_t n = aviary_checkpoint_count(ck), cap = 1 << 20, len = 0;
    char *hdr = malloc(cap);
    uint64_t off = 0;
    len += (size_t)snprintf(hdr + len, cap - len, "{");
    for (size_t i = 0; i < n; i++) {
        const aviary_tensor *t = aviary_checkpoint_at(ck, i);
        if (drop && !strcmp(t->name, drop)) continue;
        int64_t ne = aviary_tensor_numel(t);
        char nm[256];
        bool tr = rename ? rename(t->name, nm, sizeof nm) && t->ndim == 2 : false;
        if (!rename) snprintf(nm, sizeof nm, "%s", t->name);
        len += (size_t)snprintf(hdr + len, cap - len, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[", len > 1 ? "," : "",
                                nm);
        if (reshape && !strcmp(t->name, reshape)) len += (size_t)snprintf(hdr + len, cap - len, "%lld", (long long)ne);
        else if (tr)
            len += (size_t)snprintf(hdr + len, cap - len, "%lld,%lld", (long long)t->shape[1], (long long)t->shape[0]);
        else
            for (int d = 0; d < t->ndim; d++)
                len += (size_t)snprintf(hdr + len, cap - len, "%s%lld", d ? "," : "", (long long)t->shape[d]);
        len += (size_t)snprintf(hdr + len, cap - len, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                                (unsigned long long)(off + (uint64_t)ne * 4));
        off += (uint64_t)ne * 4;
    }
    len += (size_t)snprintf(hdr + len, cap - len, "}");
    FILE *f = fopen(dst, "wb");
    bool ok = f != NULL;
    uint64_t hl = len;
    if (ok) ok = fwrite(&hl, 8, 1, f) == 1 && fwrite(hdr, 1, len, f) == len;
    for (size_t i = 0; ok && i < n; i++) {
        const aviary_tensor *t = aviary_checkpoint_at(ck, i);
        if (drop && !strcmp(t->name, drop)) continue;
        int64_t ne = aviary_tensor_numel(t);
        float *buf = malloc((size_t)ne * 4 + 4), *tb = malloc((size_t)ne * 4 + 4);
        char nm[256];
        bool tr = rename ? rename(t->name, nm, sizeof nm) && t->ndim == 2 : false;
        ok = aviary_tensor_to_f32(t, buf) == AVIARY_OK;
        if (tr)
            for (int64_t r = 0; r < t->shape[0]; r++)
                for (int64_t c = 0; c < t->shape[1]; c++) tb[c * t->shape[0] + r] = buf[r * t->shape[1] + c];
        ok = ok && fwrite(tr ? tb : buf, 4, (size_t)ne, f) == (size_t)ne;
        free(buf);
        free(tb);
    }
    if (f) fclose(f);
    free(hdr);
    aviary_checkpoint_close(ck);
    return ok;
}

static void expect_load_error(const char *file, aviary_status want, const char *needle) {
    aviary_model *m = NULL;
    aviary_status s = aviary_model_load(file, NULL, &m);
    CHECK(s == want);
    CHECK(m == NULL);
    CHECK(strstr(aviary_errmsg(), file) != NULL);
    CHECK(strstr(aviary_errmsg(), needle) != NULL);
    if (s != want || !strstr(aviary_errmsg(), needle)) fprintf(stderr, "  message was: %s\n", aviary_errmsg());
    aviary_model_free(m);
}

static void test_load_errors(void) {
    expect_load_error("fixtures/ts-rwkv-small/model.safetensors", AVIARY_UNSUPPORTED, "not an RWKV");
    char file[] = "/tmp/aviary_test_lm_ckpt_XXXXXX";
    int fd = mkstemp(file);
    if (fd >= 0) close(fd);
    CHECK(write_variant("fixtures/lm-rwkv7/model.safetensors", file, "blocks.1.att.key.weight", NULL));
    expect_load_error(file, AVIARY_NOT_FOUND, "blocks.1.att.key.weight");
    CHECK(write_variant("fixtures/lm-rwkv6/model.safetensors", file, NULL, "blocks.1.att.time_decay_w2"));
    expect_load_error(file, AVIARY_SHAPE, "blocks.1.att.time_decay_w2");
    CHECK(write_variant("fixtures/lm-rwkv4/model.safetensors", file, "ln_out.bias", NULL));
    expect_load_error(file, AVIARY_NOT_FOUND, "ln_out.bias");
    /* an intact copy still loads (the writer itself is sound) */
    CHECK(write_variant("fixtures/lm-rwkv5/model.safetensors", file, NULL, NULL));
    aviary_model *m = NULL;
    CHECK(aviary_model_load(file, NULL, &m) == AVIARY_OK);
    aviary_model_free(m);
    unlink(file);
}

/* Hugging Face RWKV-4/5/6 names ("rwkv." prefix, attention / feed_forward, pre_ln). */
static bool rename_hf(const char *name, char *out, size_t n) {
    int b = -1, used = 0;
    if (!strcmp(name, "head.weight")) snprintf(out, n, "head.weight");
    else if (!strcmp(name, "emb.weight")) snprintf(out, n, "rwkv.embeddings.weight");
    else if (sscanf(name, "blocks.%d.%n", &b, &used) == 1 && used) {
        const char *r = name + used;
        if (!strncmp(r, "ln0.", 4)) snprintf(out, n, "rwkv.blocks.%d.pre_ln.%s", b, r + 4);
        else if (!strncmp(r, "att.time_mix_k", 14)) snprintf(out, n, "rwkv.blocks.%d.attention.time_mix_key", b);
        else if (!strncmp(r, "att.time_mix_v", 14)) snprintf(out, n, "rwkv.blocks.%d.attention.time_mix_value", b);
        else if (!strncmp(r, "att.time_mix_r", 14)) snprintf(out, n, "rwkv.blocks.%d.attention.time_mix_receptance", b);
        else if (!strncmp(r, "att.", 4)) snprintf(out, n, "rwkv.blocks.%d.attention.%s", b, r + 4);
        else if (!strncmp(r, "ffn.time_mix_k", 14)) snprintf(out, n, "rwkv.blocks.%d.feed_forward.time_mix_key", b);
        else if (!strncmp(r, "ffn.time_mix_r", 14))
            snprintf(out, n, "rwkv.blocks.%d.feed_forward.time_mix_receptance", b);
        else if (!strncmp(r, "ffn.", 4)) snprintf(out, n, "rwkv.blocks.%d.feed_forward.%s", b, r + 4);
        else snprintf(out, n, "rwkv.%s", name);
    } else snprintf(out, n, "rwkv.%s", name);
    return false;
}

/* fla RWKV-7 names (model.layers.N.attn.*, LoRA as nn.Linear: down/up transposed, biases = w0/a0/v0). */
static bool rename_fla(const char *name, char *out, size_t n) {
    int b = -1, used = 0;
    static const char *const map[][3] = {
        {"att.receptance.weight", "attn.r_proj.weight", ""}, {"att.key.weight", "attn.k_proj.weight", ""},
        {"att.value.weight", "attn.v_proj.weight", ""},      {"att.output.weight", "attn.o_proj.weight", ""},
        {"att.ln_x.weight", "attn.g_norm.weight", ""},       {"att.ln_x.bias", "attn.g_norm.bias", ""},
        {"att.w1", "attn.w_lora.lora.0.weight", "T"},        {"att.w2", "attn.w_lora.lora.2.weight", "T"},
        {"att.w0", "attn.w_lora.lora.2.bias", ""},           {"att.a1", "attn.a_lora.lora.0.weight", "T"},
        {"att.a2", "attn.a_lora.lora.2.weight", "T"},        {"att.a0", "attn.a_lora.lora.2.bias", ""},
        {"att.v1", "attn.v_lora.lora.0.weight", "T"},        {"att.v2", "attn.v_lora.lora.2.weight", "T"},
        {"att.v0", "attn.v_lora.lora.2.bias", ""},           {"att.g1", "attn.g_lora.lora.0.weight", "T"},
        {"att.g2", "attn.g_lora.lora.2.weight", "T"},        {"ln0.weight", "pre_norm.weight", ""},
        {"ln0.bias", "pre_norm.bias", ""},                   {"ln1.weight", "attn_norm.weight", ""},
        {"ln1.bias", "attn_norm.bias", ""},                  {"ln2.weight", "ffn_norm.weight", ""},
        {"ln2.bias", "ffn_norm.bias", ""},
    };
    if (!strcmp(name, "head.weight")) snprintf(out, n, "lm_head.weight");
    else if (!strcmp(name, "emb.weight")) snprintf(out, n, "model.embeddings.weight");
    else if (!strncmp(name, "ln_out.", 7)) snprintf(out, n, "model.norm.%s", name + 7);
    else if (sscanf(name, "blocks.%d.%n", &b, &used) == 1 && used) {
        const char *r = name + used;
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
            if (!strcmp(r, map[i][0])) {
                snprintf(out, n, "model.layers.%d.%s", b, map[i][1]);
                return map[i][2][0] == 'T';
            }
        if (!strncmp(r, "att.", 4)) snprintf(out, n, "model.layers.%d.attn.%s", b, r + 4);
        else snprintf(out, n, "model.layers.%d.%s", b, r);
    } else snprintf(out, n, "%s", name);
    return false;
}

/* VisualRWKV: the official names under "rwkv." (next to the vision encoder's tensors). */
static bool rename_prefix(const char *name, char *out, size_t n) {
    snprintf(out, n, "rwkv.%s", name);
    return false;
}

/* A renamed copy gives the same logits as the official file. */
static void test_renamed(const char *src, rename_fn fn) {
    char file[] = "/tmp/aviary_test_lm_ckpt_XXXXXX";
    int fd = mkstemp(file);
    if (fd >= 0) close(fd);
    CHECK(write_variant_renamed(src, file, NULL, NULL, fn));
    aviary_model *a = NULL, *b = NULL;
    CHECK(aviary_model_load(src, NULL, &a) == AVIARY_OK);
    CHECK(aviary_model_load(file, NULL, &b) == AVIARY_OK);
    if (a && b) {
        const size_t V = (size_t)aviary_model_get_info(a)->vocab_size;
        CHECK(aviary_model_get_info(b)->version == aviary_model_get_info(a)->version);
        float *la = malloc(V * 4), *lb = malloc(V * 4);
        int32_t tok[6] = {1, 5, 9, 200, 3, 77};
        aviary_state *sa = NULL, *sb = NULL;
        CHECK(aviary_state_create(a, &sa) == AVIARY_OK && aviary_state_create(b, &sb) == AVIARY_OK);
        CHECK(aviary_model_eval(a, sa, tok, 6, la) == AVIARY_OK);
        CHECK(aviary_model_eval(b, sb, tok, 6, lb) == AVIARY_OK);
        CHECK(max_rel_diff(lb, la, V) < 1e-5f);
        aviary_state_free(sa);
        aviary_state_free(sb);
        free(la);
        free(lb);
    }
    aviary_model_free(a);
    aviary_model_free(b);
    unlink(file);
}

/* bf16 / int8 weights stay close to f32 (prints the accuracy cost). */
static void test_precisions(const char *path) {
    static const aviary_weight_type types[] = {AVIARY_WEIGHTS_F32, AVIARY_WEIGHTS_BF16, AVIARY_WEIGHTS_INT8};
    float *ref = NULL;
    size_t V = 0;
    int32_t tok[16] = {0, 17, 200, 5, 5, 99, 255, 1, 42, 128, 7, 64, 64, 64, 3, 250};
    for (size_t i = 0; i < 3; i++) {
        aviary_model_params p = aviary_model_default_params();
        p.weights = types[i];
        aviary_model *m = NULL;
        CHECK(aviary_model_load(path, &p, &m) == AVIARY_OK);
        if (!m) break;
        CHECK(aviary_model_get_info(m)->weights == types[i]);
        V = (size_t)aviary_model_get_info(m)->vocab_size;
        float *lg = malloc(V * sizeof(float));
        aviary_state *s = NULL;
        CHECK(aviary_state_create(m, &s) == AVIARY_OK);
        CHECK(aviary_model_eval(m, s, tok, 16, lg) == AVIARY_OK);
        if (!ref) ref = lg;
        else {
            float scale = 0, diff = 0;
            size_t am = 0, bm = 0;
            for (size_t v = 0; v < V; v++) {
                if (fabsf(ref[v]) > scale) scale = fabsf(ref[v]);
                if (fabsf(lg[v] - ref[v]) > diff) diff = fabsf(lg[v] - ref[v]);
                if (ref[v] > ref[am]) am = v;
                if (lg[v] > lg[bm]) bm = v;
            }
            printf("%s %s: max |logit - f32 logit| = %.4g (%.3f%% of max |logit| %.3g), argmax %s\n", path,
                   aviary_weight_type_name(types[i]), diff, 100.0 * diff / scale, scale, am == bm ? "same" : "differs");
            CHECK(diff <= 0.05f * scale);
            free(lg);
        }
        aviary_state_free(s);
        aviary_model_free(m);
    }
    free(ref);
}

int main(void) {
    test_model("fixtures/lm-rwkv4/model.safetensors");
    test_model("fixtures/lm-rwkv5/model.safetensors");
    test_model("fixtures/lm-rwkv6/model.safetensors");
    test_model("fixtures/lm-rwkv7/model.safetensors");
    test_cross_model_state();
    test_precisions("fixtures/lm-rwkv6/model.safetensors");
    test_precisions("fixtures/lm-rwkv7/model.safetensors");
    test_load_errors();
    test_renamed("fixtures/lm-rwkv4/model.safetensors", rename_hf);
    test_renamed("fixtures/lm-rwkv6/model.safetensors", rename_hf);
    test_renamed("fixtures/lm-rwkv7/model.safetensors", rename_fla);
    test_renamed("fixtures/lm-rwkv5/model.safetensors", rename_prefix);
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    else printf("test_lm: all checks passed\n");
    return failures ? 1 : 0;
}
