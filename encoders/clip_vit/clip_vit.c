/* clip_vit.c - CLIP ViT vision tower encoder plugin (VisualRWKV).
 *
 * Input  "image" (PATH, modality image): an image file.
 * Output "features" [tokens, dim]: the last layer's hidden states without
 *        post_layernorm (HF CLIPVisionModel.last_hidden_state), with the CLS
 *        row moved to the end when option cls_last is true (VisualRWKV's
 *        grid_pooling(-1): 576 patches then CLS for CLIP-L/14-336).
 * Preprocessing is HF CLIPImageProcessor's (aviary_clip_preprocess): resize
 * the short side to image_size with Pillow's bicubic, centre crop, CLIP
 * mean/std. Sizes come from the checkpoint's shapes; the head count (not in
 * the shapes) is option "heads" (0 = width/64, right for every OpenAI CLIP).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <aviary/aviary_clip_vit.h>
#include <aviary/aviary_plugin.h>

typedef struct clip_enc {
    aviary_clip_vit *vit;
    int size;          /* resize short side */
    float mean[3], std[3];
    bool cls_last;
} clip_enc;

static const aviary_option_spec options[] = {
    {"heads", AVIARY_OPT_INT, "0", "attention heads (0 = width/64; CLIP-L: 16)"},
    {"resize", AVIARY_OPT_INT, "0", "short side after resize (0 = the model's input size, as CLIPImageProcessor)"},
    {"mean", AVIARY_OPT_STRING, "0.48145466,0.4578275,0.40821073", "per-channel mean (R,G,B) on the 0..1 scale"},
    {"std", AVIARY_OPT_STRING, "0.26862954,0.26130258,0.27577711", "per-channel std (R,G,B) on the 0..1 scale"},
    {"cls_last", AVIARY_OPT_BOOL, "true", "move the CLS token after the patches (VisualRWKV order)"},
    {"prefix", AVIARY_OPT_STRING, "", "key prefix before 'vision_model.' (default: found automatically)"},
    {"precision", AVIARY_OPT_STRING, "auto", "matmul weights: auto (as stored), f32, bf16 or int8"},
};

static const aviary_port_spec inputs[] = {
    {"image", AVIARY_PORT_PATH, AVIARY_MODALITY_IMAGE, AVIARY_F32, NULL, "image file (PNG, JPEG, BMP, ...)"},
};

static const aviary_port_spec outputs[] = {
    {"features", AVIARY_PORT_TENSOR, AVIARY_MODALITY_FEATURES, AVIARY_F32, "[tokens, dim]",
     "last hidden states: patches row-major then CLS (or CLS first with cls_last false)"},
};

static void destroy(void *inst) {
    clip_enc *e = inst;
    if (!e) return;
    aviary_clip_vit_free(e->vit);
    free(e);
}

static bool parse3(const char *s, float v[3]) {
    char *end;
    for (int i = 0; i < 3; i++) {
        v[i] = strtof(s, &end);
        if (end == s) return false;
        s = end;
        if (i < 2) {
            if (*s != ',') return false;
            s++;
        }
    }
    return *s == 0;
}

static aviary_status create(const aviary_plugin_create_args *a, void **instance) {
    *instance = NULL;
    if (!a->weights) return aviary_error(AVIARY_CONFIG, "clip_vit needs a \"weights\" file (a checkpoint with vision_model.*)");
    clip_enc *e = calloc(1, sizeof *e);
    if (!e) return aviary_error(AVIARY_NOMEM, "out of memory");
    aviary_status s = AVIARY_OK;
    const char *ms = aviary_option_find(a, "mean")->s, *ss = aviary_option_find(a, "std")->s;
    const char *prec = aviary_option_find(a, "precision")->s, *prefix = aviary_option_find(a, "prefix")->s;
    aviary_clip_vit_params p = aviary_clip_vit_default_params();
    int64_t heads = aviary_option_find(a, "heads")->i, resize = aviary_option_find(a, "resize")->i;
    if (!parse3(ms, e->mean)) s = aviary_error(AVIARY_CONFIG, "options.mean: expected three numbers 'r,g,b', got '%s'", ms);
    else if (!parse3(ss, e->std) || !(e->std[0] > 0 && e->std[1] > 0 && e->std[2] > 0))
        s = aviary_error(AVIARY_CONFIG, "options.std: expected three positive numbers 'r,g,b', got '%s'", ss);
    else if (aviary_weight_type_parse(prec, &p.weights))
        s = aviary_error(AVIARY_CONFIG, "options.precision: expected auto, f32, bf16 or int8, got '%s'", prec);
    else if (heads < 0 || heads > 4096) s = aviary_error(AVIARY_CONFIG, "options.heads: %lld is outside [0, 4096]", (long long)heads);
    else if (resize < 0 || resize > 16384) s = aviary_error(AVIARY_CONFIG, "options.resize: %lld is outside [0, 16384]", (long long)resize);
    if (!s) {
        p.n_head = (int)heads;
        p.prefix = prefix && *prefix ? prefix : NULL;
        s = aviary_clip_vit_load_checkpoint(a->weights, &p, &e->vit);
    }
    if (s) {
        destroy(e);
        return s;
    }
    const aviary_clip_vit_info *in = aviary_clip_vit_get_info(e->vit);
    e->size = resize ? (int)resize : in->image_size;
    e->cls_last = aviary_option_find(a, "cls_last")->b;
    if (a->host && a->host->log)
        a->host->log(AVIARY_LOG_INFO, "clip_vit", "CLIP ViT %d px / patch %d, width %d, %d layers, %d heads", in->image_size,
                     in->patch_size, in->hidden, in->n_layer, in->n_head);
    *instance = e;
    return AVIARY_OK;
}

static aviary_status run(void *inst, const aviary_value *in, aviary_value *out) {
    clip_enc *e = inst;
    const aviary_clip_vit_info *vi = aviary_clip_vit_get_info(e->vit);
    const int S = vi->image_size;
    aviary_image img = {0};
    aviary_status s = aviary_image_load(in[0].text, &img);
    if (s) return s;
    float *pix = malloc((size_t)3 * S * S * sizeof(float));
    if (!pix) s = aviary_error(AVIARY_NOMEM, "out of memory");
    if (!s) s = aviary_clip_preprocess(&img, e->size, S, e->mean, e->std, pix, NULL);
    aviary_image_free(&img);
    int64_t shape[2] = {vi->n_patches + 1, vi->hidden};
    if (!s) s = aviary_tensor_alloc(&out[0].tensor, AVIARY_F32, 2, shape);
    if (!s) s = aviary_clip_vit_forward(e->vit, pix, out[0].tensor.data);
    if (!s && e->cls_last) aviary_clip_vit_cls_last(out[0].tensor.data, vi->n_patches, vi->hidden);
    free(pix);
    return s;
}

static const aviary_plugin_descriptor desc = {
    AVIARY_PLUGIN_DESCRIPTOR_HEADER,
    .name = "clip_vit",
    .kind = AVIARY_PLUGIN_ENCODER,
    .version = "1.0.0",
    .description = "CLIP ViT vision tower (HF CLIPVisionModel, last hidden states, no post-LN) with CLIP preprocessing",
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
