/* visualrwkv_projection.c - VisualRWKV image projection adapter plugin.
 *
 * Input  "features"   [tokens, vision_dim]: vision features (clip_vit).
 * Output "embeddings" [tokens, n_embd]: rows for the language model's input
 *        sequence (spliced in at <image> by `aviary ask`).
 * Weights: the stage's checkpoint, keys under option "prefix" (default
 * "proj."): v6 "proj.weight" (y = x W^T, no bias) or, when present, the v7
 * gated form "proj.gate" / "proj.o_proj" / "proj.ln_v" (aviary_visual_rwkv.h
 * documents the formula and where it comes from).
 */
#include <stdlib.h>
#include <string.h>
#include <aviary/aviary_plugin.h>
#include <aviary/aviary_visual_rwkv.h>

static const aviary_option_spec options[] = {
    {"prefix", AVIARY_OPT_STRING, "proj.", "key prefix of the projection in the weights file"},
    {"precision", AVIARY_OPT_STRING, "auto", "matmul weights: auto (as stored), f32, bf16 or int8"},
};

static const aviary_port_spec inputs[] = {
    {"features", AVIARY_PORT_TENSOR, AVIARY_MODALITY_FEATURES, AVIARY_F32, "[tokens, dim]",
     "vision features, e.g. clip_vit's (patches then CLS)"},
};

static const aviary_port_spec outputs[] = {
    {"embeddings", AVIARY_PORT_TENSOR, AVIARY_MODALITY_EMBEDDINGS, AVIARY_F32, "[tokens, n_embd]",
     "image embeddings in the language model's input space"},
};

static void destroy(void *inst) { aviary_vrwkv_proj_free(inst); }

static aviary_status create(const aviary_plugin_create_args *a, void **instance) {
    *instance = NULL;
    if (!a->weights)
        return aviary_error(AVIARY_CONFIG, "visualrwkv_projection needs a \"weights\" file (a VisualRWKV checkpoint)");
    aviary_weight_type wt;
    const char *prec = aviary_option_find(a, "precision")->s;
    if (aviary_weight_type_parse(prec, &wt))
        return aviary_error(AVIARY_CONFIG, "options.precision: expected auto, f32, bf16 or int8, got '%s'", prec);
    aviary_vrwkv_proj *p = NULL;
    aviary_status s = aviary_vrwkv_proj_load(a->weights, aviary_option_find(a, "prefix")->s, wt, &p);
    if (s) return s;
    if (a->backbone && aviary_model_get_info(a->backbone)->n_embd != aviary_vrwkv_proj_out(p)) {
        int out = aviary_vrwkv_proj_out(p);
        aviary_vrwkv_proj_free(p);
        return aviary_error(AVIARY_SHAPE, "%s: the projection outputs %d values per token but the backbone's n_embd is %d",
                            a->weights_path, out, aviary_model_get_info(a->backbone)->n_embd);
    }
    *instance = p;
    return AVIARY_OK;
}

static aviary_status run(void *inst, const aviary_value *in, aviary_value *out) {
    const aviary_vrwkv_proj *p = inst;
    const aviary_tensor *f = &in[0].tensor;
    if (f->shape[1] != aviary_vrwkv_proj_in(p))
        return aviary_error(AVIARY_SHAPE, "features are %lld wide, the projection expects %d", (long long)f->shape[1],
                            aviary_vrwkv_proj_in(p));
    if (!aviary_tensor_is_contiguous(f)) return aviary_error(AVIARY_SHAPE, "features must be contiguous");
    int64_t shape[2] = {f->shape[0], aviary_vrwkv_proj_out(p)};
    aviary_status s = aviary_tensor_alloc(&out[0].tensor, AVIARY_F32, 2, shape);
    if (!s) s = aviary_vrwkv_proj_forward(p, f->data, (size_t)f->shape[0], out[0].tensor.data);
    return s;
}

static const aviary_plugin_descriptor desc = {
    AVIARY_PLUGIN_DESCRIPTOR_HEADER,
    .name = "visualrwkv_projection",
    .kind = AVIARY_PLUGIN_ADAPTER,
    .version = "1.0.0",
    .description = "VisualRWKV image projection into the LM embedding space (v6 linear, v7 gated)",
    .n_options = sizeof options / sizeof options[0],
    .options = options,
    .n_inputs = 1,
    .inputs = inputs,
    .n_outputs = 1,
    .outputs = outputs,
    .create = create,
    .run = run,
    .destroy = destroy,
};

AVIARY_PLUGIN_DEFINE(desc);
