/* model_family.c - recognise a checkpoint's model family and sizes from
 * tensor names and shapes (aviary_model_family.h). RWKV language-model sizes
 * come from aviary_model_probe() (the LM loader's own inference); the other
 * families' sizes are read off the few tensors that define them. */
#include <stdarg.h>
#include <stdio.h>
#include "internal.h"
#include "weights.h"
#include "aviary/aviary_model_family.h"

const char *aviary_family_name(aviary_family f) {
    switch (f) {
    case AVIARY_FAMILY_RWKV_LM: return "RWKV LM";
    case AVIARY_FAMILY_VISUAL_RWKV: return "VisualRWKV";
    case AVIARY_FAMILY_VISION_RWKV: return "Vision-RWKV";
    case AVIARY_FAMILY_AUDIO_RWKV: return "AudioRWKV";
    case AVIARY_FAMILY_RWKV_TS: return "RWKV-TS";
    default: return "unknown";
    }
}

/* Name of the first tensor ending in `suffix` at a component boundary; its
 * prefix (without a leading DataParallel "module.") goes to prefix. */
static bool find_suffix(const aviary_checkpoint *ck, const char *suffix, char *prefix, size_t n) {
    size_t ls = strlen(suffix);
    for (size_t i = 0; i < aviary_checkpoint_count(ck); i++) {
        const char *name = aviary_checkpoint_at(ck, i)->name;
        size_t ln = strlen(name);
        if (ln < ls || strcmp(name + ln - ls, suffix) || (ln > ls && name[ln - ls - 1] != '.')) continue;
        if (!strncmp(name, "module.", 7)) name += 7, ln -= 7;
        if (ln - ls >= n) continue;
        memcpy(prefix, name, ln - ls);
        prefix[ln - ls] = 0;
        return true;
    }
    return false;
}

/* prefix + printf-formatted key. */
/* Size of dimension d, or 0 when t is absent or has too few dimensions. */
static int dim(const aviary_tensor *t, int d) {
    return t && d < t->ndim && t->shape[d] <= INT32_MAX ? (int)t->shape[d] : 0;
}

/* Count consecutive layers 0, 1, ... that have prefix + fmt(i). */
static void add(aviary_family_info *f, const char *fmt, ...) AVIARY_PRINTF(2, 3);
static void add(aviary_family_info *f, const char *fmt, ...) {
    size_t used = strlen(f->summary);
    if (used + 1 >= sizeof f->summary) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->summary + used, sizeof f->summary - used, fmt, ap);
    va_end(ap);
}

static void add_size(aviary_family_info *f, const char *label, int v) {
    if (v) add(f, ", %s %d", label, v);
}

static void set_variant(aviary_family_info *f, const char *fmt, ...) AVIARY_PRINTF(2, 3);
static void set_variant(aviary_family_info *f, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->variant, sizeof f->variant, fmt, ap);
    va_end(ap);
}

/* The common RWKV block sizes, in one format for every family. */
static void add_blocks(aviary_family_info *f) {
    add(f, ": layers %d, n_embd %d", f->n_layer, f->n_embd);
    if (f->n_head) add(f, ", heads %d x %d", f->n_head, f->head_size);
    add_size(f, "vocab", f->vocab_size);
    add_size(f, "ffn", f->dim_ffn);
}

static aviary_status lm_summary(aviary_checkpoint *ck, const char *prefix, const char *label, aviary_family_info *f) {
    aviary_model_params p = aviary_model_default_params();
    p.prefix = prefix;
    aviary_model_info mi;
    aviary_status s = aviary_model_probe(ck, &p, &mi);
    if (s != AVIARY_OK) return s;
    f->version = mi.version;
    f->n_layer = mi.n_layer;
    f->n_embd = mi.n_embd;
    f->n_head = mi.n_head;
    f->head_size = mi.head_size;
    f->dim_ffn = mi.dim_ffn;
    f->vocab_size = mi.vocab_size;
    add(f, "RWKV-%d%s", mi.version, label);
    add_blocks(f);
    if (mi.version == 6) add(f, ", lora mix %d decay %d", mi.lora_mix, mi.lora_decay);
    if (mi.version == 7)
        add(f, ", lora decay %d aaa %d mv %d gate %d", mi.lora_decay, mi.lora_aaa, mi.lora_mv, mi.lora_gate);
    return AVIARY_OK;
}

static aviary_status visual_rwkv(aviary_checkpoint *ck, aviary_family_info *f) {
    f->family = AVIARY_FAMILY_VISUAL_RWKV;
    strcpy(f->prefix, "rwkv.");
    add(f, "VisualRWKV: LM ");
    aviary_status s = lm_summary(ck, "rwkv.", "", f);
    if (s != AVIARY_OK) return s;
    set_variant(f, "RWKV-%d", f->version);
    const char *v = "vit.vision_model.";
    const aviary_tensor *pe = aviary__w_lookup(ck, v, "embeddings.patch_embedding.weight");
    const aviary_tensor *pos = aviary__w_lookup(ck, v, "embeddings.position_embedding.weight");
    f->enc_layers = aviary__w_count_in(ck, v, "encoder.layers.%d.layer_norm1.weight");
    f->enc_width = dim(pe, 0);
    f->patch_size = dim(pe, 2);
    f->in_channels = dim(pe, 1);
    f->n_tokens = dim(pos, 0);
    int side = 0; /* positions = grid^2 + 1 (CLS) */
    while (f->n_tokens > 1 && (side + 1) * (side + 1) <= f->n_tokens - 1) side++;
    if (side * side == f->n_tokens - 1) f->enc_image = side * f->patch_size;
    add(f, "; vision CLIP ViT: layers %d, width %d, patch %d", f->enc_layers, f->enc_width, f->patch_size);
    add_size(f, "image", f->enc_image);
    add_size(f, "positions", f->n_tokens);
    const aviary_tensor *proj = aviary__w_lookup(ck, "", "proj.weight");
    add(f, "; proj %d -> %d", dim(proj, 1), dim(proj, 0));
    return AVIARY_OK;
}

/* What the patch-embedding encoders (Vision-RWKV, both AudioRWKVs) share:
 * width, input channels and patch size from the patch-embedding conv weight
 * pe [C, in, P, ...], the layer count, the position tokens (pos_embed [1, n,
 * C]) and the ffn width; `layers` is their per-layer key ("layers" or
 * "blocks"). */
static void patch_encoder_dims(aviary_checkpoint *ck, aviary_family_info *f, const aviary_tensor *pe,
                               const char *layers) {
    const char *p = f->prefix;
    char key[64];
    f->n_embd = dim(pe, 0);
    f->in_channels = dim(pe, 1);
    f->patch_size = dim(pe, 2);
    snprintf(key, sizeof key, "%s.%%d.ln1.weight", layers);
    f->n_layer = aviary__w_count_in(ck, p, key);
    f->n_tokens = dim(aviary__w_lookup(ck, p, "pos_embed"), 1);
    f->dim_ffn = dim(aviary__w_lookup(ck, p, "%s.0.ffn.key.weight", layers), 0);
}

static aviary_status vision_rwkv(aviary_checkpoint *ck, aviary_family_info *f) {
    f->family = AVIARY_FAMILY_VISION_RWKV;
    const char *p = f->prefix;
    patch_encoder_dims(ck, f, aviary__w_lookup(ck, p, "patch_embed.projection.weight"), "layers");
    const aviary_tensor *u = aviary__w_lookup(ck, p, "layers.0.att.time_faaaa");
    if (aviary__w_lookup(ck, p, "layers.0.att.time_maa_x")) {
        f->version = 6;
        f->n_head = dim(u, 0);
        f->head_size = dim(u, 1);
        set_variant(f, "VRWKV6");
    } else {
        f->version = 4;
        set_variant(f, "VRWKV");
    }
    f->key_norm = aviary__w_lookup(ck, p, "layers.0.att.key_norm.weight") != NULL;
    f->layer_scale = aviary__w_lookup(ck, p, "layers.0.gamma1") != NULL;
    const aviary_tensor *head = aviary__w_lookup(ck, "", "head.fc.weight");
    f->n_classes = dim(head, 0);
    add(f, "Vision-RWKV %s (RWKV-%d blocks)", f->variant, f->version);
    add_blocks(f);
    add(f, ", patch %d, in_chans %d, pos tokens %d", f->patch_size, f->in_channels, f->n_tokens);
    add_size(f, "classes", f->n_classes);
    add(f, ", key_norm %s, layer scale %s", f->key_norm ? "yes" : "no", f->layer_scale ? "yes" : "no");
    return AVIARY_OK;
}

static aviary_status audio_2024(aviary_checkpoint *ck, aviary_family_info *f) {
    f->family = AVIARY_FAMILY_AUDIO_RWKV;
    set_variant(f, "AudioRWKV 2024");
    const char *p = f->prefix;
    f->n_mels = dim(aviary__w_lookup(ck, p, "bn0.weight"), 0);
    patch_encoder_dims(ck, f, aviary__w_lookup(ck, p, "patch_embed.0.weight"), "layers");
    const aviary_tensor *u = aviary__w_lookup(ck, p, "layers.0.att.time_faaaa");
    f->version = aviary__w_lookup(ck, p, "layers.0.att.time_maa_x")        ? 6
                 : aviary__w_lookup(ck, p, "layers.0.att.spatial_decay") ? 4
                                                                         : 0;
    f->n_head = dim(u, 0);
    f->head_size = dim(u, 1);
    f->n_classes = dim(aviary__w_lookup(ck, p, "classifier.head.weight"), 0);
    add(f, "AudioRWKV 2024 (RWKV-%d blocks)", f->version);
    add_blocks(f);
    add(f, ", patch %d, n_mels %d, tokens %d, classes %d", f->patch_size, f->n_mels, f->n_tokens, f->n_classes);
    return AVIARY_OK;
}

static aviary_status audio_2025(aviary_checkpoint *ck, aviary_family_info *f) {
    f->family = AVIARY_FAMILY_AUDIO_RWKV;
    set_variant(f, "A-RWKV 2025");
    const char *p = f->prefix;
    const aviary_tensor *pe = aviary__w_lookup(ck, p, "emb.weight");
    f->version = 7;
    patch_encoder_dims(ck, f, pe, "blocks");
    const aviary_tensor *rk = aviary__w_lookup(ck, p, "blocks.0.att.r_k");
    f->n_head = dim(rk, 0);
    f->head_size = dim(rk, 1);
    f->n_classes = dim(aviary__w_lookup(ck, p, "head.weight"), 0);
    add(f, "A-RWKV 2025 (RWKV-7 blocks)");
    add_blocks(f);
    add(f, ", patch %dx%d, tokens %d, classes %d", f->patch_size, dim(pe, 3), f->n_tokens, f->n_classes);
    return AVIARY_OK;
}

static aviary_status rwkv_ts(aviary_checkpoint *ck, aviary_family_info *f) {
    f->family = AVIARY_FAMILY_RWKV_TS;
    set_variant(f, "x051a");
    const char *p = f->prefix;
    const aviary_tensor *in = aviary__w_lookup(ck, p, "in_layer.weight");
    const aviary_tensor *out = aviary__w_lookup(ck, p, "out_layer.weight");
    f->n_embd = dim(in, 0);
    f->patch_size = dim(in, 1);
    f->pred_len = dim(out, 0);
    f->n_tokens = f->n_embd ? dim(out, 1) / f->n_embd : 0;
    f->n_layer = aviary__w_count_in(ck, p, "rwkv.%d.ln_1.weight");
    f->n_head = dim(aviary__w_lookup(ck, p, "rwkv.0.tmix.time_decay"), 0);
    if (f->n_head) f->head_size = f->n_embd / f->n_head;
    f->dim_ffn = dim(aviary__w_lookup(ck, p, "rwkv.0.cmix.key.weight"), 0);
    f->version = 5;
    add(f, "RWKV-TS (x051a RWKV-5 style blocks)");
    add_blocks(f);
    add(f, ", patch %d, patches %d, pred_len %d", f->patch_size, f->n_tokens, f->pred_len);
    return AVIARY_OK;
}

aviary_status aviary_family_detect(aviary_checkpoint *ck, aviary_family_info *out) {
    if (!out) return aviary_error(AVIARY_INVALID_ARG, "aviary_family_detect: out is NULL");
    memset(out, 0, sizeof *out);
    if (!ck) return aviary_error(AVIARY_INVALID_ARG, "aviary_family_detect: checkpoint is NULL");
    aviary_family_info *f = out;
    char pre[32];
    /* Most specific first: VisualRWKV and the audio/vision models contain
     * RWKV blocks, so a plain LM is tried last. */
    if (aviary_checkpoint_find(ck, "rwkv.emb.weight") && aviary_checkpoint_find(ck, "proj.weight") &&
        find_suffix(ck, "embeddings.patch_embedding.weight", pre, sizeof pre) && !strncmp(pre, "vit.", 4))
        return visual_rwkv(ck, f);
    if (find_suffix(ck, "bn0.weight", f->prefix, sizeof f->prefix) &&
        aviary__w_lookup(ck, f->prefix, "patch_embed.0.weight"))
        return audio_2024(ck, f);
    if (find_suffix(ck, "blocks.0.att.r_k", f->prefix, sizeof f->prefix) &&
        aviary__w_lookup(ck, f->prefix, "pos_embed") && dim(aviary__w_lookup(ck, f->prefix, "emb.weight"), 3))
        return audio_2025(ck, f);
    if (find_suffix(ck, "patch_embed.projection.weight", f->prefix, sizeof f->prefix) &&
        aviary__w_lookup(ck, f->prefix, "layers.0.att.key.weight"))
        return vision_rwkv(ck, f);
    if (find_suffix(ck, "in_layer.weight", f->prefix, sizeof f->prefix) &&
        aviary__w_lookup(ck, f->prefix, "out_layer.weight") && aviary__w_lookup(ck, f->prefix, "rwkv.0.ln_1.weight"))
        return rwkv_ts(ck, f);
    memset(f, 0, sizeof *f);
    aviary_model_info mi;
    if (aviary_model_probe(ck, NULL, &mi) == AVIARY_OK) {
        f->family = AVIARY_FAMILY_RWKV_LM;
        aviary_status s = lm_summary(ck, NULL, " LM", f);
        if (s != AVIARY_OK) return s;
        set_variant(f, "RWKV-%d", f->version);
        return AVIARY_OK;
    }
    snprintf(f->summary, sizeof f->summary, "unknown (no RWKV LM, VisualRWKV, Vision-RWKV, AudioRWKV or RWKV-TS keys)");
    return AVIARY_OK;
}
