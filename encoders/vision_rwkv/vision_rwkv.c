/* vision_rwkv.c - Vision-RWKV image encoder plugin.
 *
 * Input   "image" (PATH, modality image): any file aviary_image.h decodes.
 * Outputs "features" [tokens, dim]: backbone tokens after the final norm
 *         (token index = row * grid_w + col);
 *         "pooled" [dim]: their mean (mmcls GlobalAveragePooling).
 * Preprocessing is the mmcls test pipeline of the official configs: resize
 * the short side to `resize` with Pillow-exact bicubic, centre crop
 * `crop` x `crop` (or crop_h x crop_w), ImageNet mean/std.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <aviary/aviary_image.h>
#include <aviary/aviary_plugin.h>
#include <aviary/aviary_vision_rwkv.h>

typedef struct vision_enc {
    aviary_vision_rwkv *model;
    aviary_image_preprocess pre;
} vision_enc;

static const aviary_option_spec options[] = {
    {"resize", AVIARY_OPT_INT, "256", "resize the short side to this many pixels (Pillow bicubic); 0 = no resize"},
    {"crop", AVIARY_OPT_INT, "224", "centre crop size (square); 0 = no crop"},
    {"crop_h", AVIARY_OPT_INT, "0", "centre crop height (overrides crop when both crop_h and crop_w are set)"},
    {"crop_w", AVIARY_OPT_INT, "0", "centre crop width"},
    {"mean", AVIARY_OPT_STRING, "123.675,116.28,103.53", "per-channel RGB mean on the 0..255 scale"},
    {"std", AVIARY_OPT_STRING, "58.395,57.12,57.375", "per-channel RGB std on the 0..255 scale"},
    {"norm", AVIARY_OPT_STRING, "auto", "block layout: pre, post, or auto (post-norm when the checkpoint has layer scale)"},
    {"img_size", AVIARY_OPT_STRING, "", "training image size \"H,W\" (pos_embed grid = size / patch); default: square"},
    {"prefix", AVIARY_OPT_STRING, "", "backbone key prefix (default: \"backbone.\" when present)"},
    {"precision", AVIARY_OPT_STRING, "auto", "matmul weights: auto, f32, bf16 or int8"},
};

static const aviary_port_spec inputs[] = {
    {"image", AVIARY_PORT_PATH, AVIARY_MODALITY_IMAGE, AVIARY_U8, NULL, "image file (PNG, JPEG, BMP, GIF, TGA, PNM)"},
};

static const aviary_port_spec outputs[] = {
    {"features", AVIARY_PORT_TENSOR, AVIARY_MODALITY_FEATURES, AVIARY_F32, "[tokens, dim]",
     "backbone tokens after the final norm, row-major over the patch grid"},
    {"pooled", AVIARY_PORT_TENSOR, AVIARY_MODALITY_FEATURES, AVIARY_F32, "[dim]", "mean of the tokens"},
};

static void destroy(void *inst) {
    vision_enc *e = inst;
    if (!e) return;
    aviary_vision_rwkv_free(e->model);
    free(e);
}

/* "a,b,c" -> three numbers; false if malformed. */
static bool parse3(const char *s, double out[3]) {
    char *end;
    for (int i = 0; i < 3; i++) {
        out[i] = strtod(s, &end);
        if (end == s) return false;
        s = end;
        while (*s == ' ') s++;
        if (i < 2) {
            if (*s != ',') return false;
            s++;
        }
    }
    while (*s == ' ') s++;
    return *s == '\0';
}

static aviary_status create(const aviary_plugin_create_args *a, void **instance) {
    *instance = NULL;
    if (!a->weights) return aviary_error(AVIARY_CONFIG, "vision_rwkv needs a \"weights\" file (a Vision-RWKV checkpoint)");
    vision_enc *e = calloc(1, sizeof *e);
    if (!e) return aviary_error(AVIARY_NOMEM, "out of memory");
    aviary_status s = AVIARY_OK;
    e->pre = aviary_image_preprocess_default();
    const int64_t resize = aviary_option_find(a, "resize")->i, crop = aviary_option_find(a, "crop")->i;
    const int64_t ch = aviary_option_find(a, "crop_h")->i, cw = aviary_option_find(a, "crop_w")->i;
    if (resize < 0 || resize > 16384 || crop < 0 || crop > 16384 || ch < 0 || ch > 16384 || cw < 0 || cw > 16384) {
        s = aviary_error(AVIARY_CONFIG, "options: resize/crop sizes must be in [0, 16384]");
        goto fail;
    }
    e->pre.resize_short = (int)resize;
    e->pre.crop_h = e->pre.crop_w = (int)crop;
    if (ch > 0 && cw > 0) e->pre.crop_h = (int)ch, e->pre.crop_w = (int)cw;
    if (!parse3(aviary_option_find(a, "mean")->s, e->pre.mean) || !parse3(aviary_option_find(a, "std")->s, e->pre.std)) {
        s = aviary_error(AVIARY_CONFIG, "options.mean/std: expected three comma-separated numbers");
        goto fail;
    }
    for (int c = 0; c < 3; c++)
        if (!(e->pre.std[c] > 0)) {
            s = aviary_error(AVIARY_CONFIG, "options.std: values must be positive");
            goto fail;
        }
    aviary_vision_rwkv_options o = aviary_vision_rwkv_default_options();
    const char *norm = aviary_option_find(a, "norm")->s;
    if (!strcmp(norm, "pre")) o.post_norm = 0;
    else if (!strcmp(norm, "post")) o.post_norm = 1;
    else if (strcmp(norm, "auto")) {
        s = aviary_error(AVIARY_CONFIG, "options.norm: expected pre, post or auto, got '%s'", norm);
        goto fail;
    }
    const aviary_option_value *prefix = aviary_option_find(a, "prefix");
    if (prefix->has_value && prefix->s[0]) o.prefix = prefix->s;
    if ((s = aviary_weight_type_parse(aviary_option_find(a, "precision")->s, &o.weights))) {
        s = aviary_error(AVIARY_CONFIG, "options.precision: expected auto, f32, bf16 or int8");
        goto fail;
    }
    const aviary_option_value *isz = aviary_option_find(a, "img_size");
    int ih = 0, iw = 0;
    if (isz->has_value && isz->s[0]) {
        char extra;
        if (sscanf(isz->s, "%d,%d%c", &ih, &iw, &extra) != 2 || ih < 1 || iw < 1) {
            s = aviary_error(AVIARY_CONFIG, "options.img_size: expected \"H,W\" in pixels, got '%s'", isz->s);
            goto fail;
        }
    }
    if (ih > 0) {
        /* the pos_embed grid follows the training size: size / patch, rounded up */
        char key[256];
        snprintf(key, sizeof key, "%spatch_embed.projection.weight", o.prefix ? o.prefix : "backbone.");
        const aviary_tensor *pw = aviary_checkpoint_find(a->weights, key);
        if (!pw && !o.prefix) pw = aviary_checkpoint_find(a->weights, "patch_embed.projection.weight");
        if (pw && pw->ndim == 4 && pw->shape[2] > 0) {
            const int P = (int)pw->shape[2];
            o.pos_grid_h = (ih + P - 1) / P;
            o.pos_grid_w = (iw + P - 1) / P;
        }
    }
    if ((s = aviary_vision_rwkv_load(a->weights, &o, &e->model))) goto fail;
    *instance = e;
    return AVIARY_OK;
fail:
    destroy(e);
    return s;
}

static aviary_status run(void *inst, const aviary_value *in, aviary_value *out) {
    vision_enc *e = inst;
    aviary_image img;
    aviary_status s = aviary_image_load(in[0].text, &img);
    if (s) return s;
    float *px = NULL;
    int H = 0, W = 0;
    s = aviary_image_preprocess_run(&img, &e->pre, &px, &H, &W);
    aviary_image_free(&img);
    if (s) return s;
    const aviary_vision_rwkv_info *I = aviary_vision_rwkv_get_info(e->model);
    int gh, gw;
    aviary_vision_rwkv_grid(e->model, H, W, &gh, &gw);
    int64_t fshape[2] = {(int64_t)gh * gw, I->embed_dims}, pshape[1] = {I->embed_dims};
    if (!(s = aviary_tensor_alloc(&out[0].tensor, AVIARY_F32, 2, fshape)) &&
        !(s = aviary_tensor_alloc(&out[1].tensor, AVIARY_F32, 1, pshape))) {
        aviary_vision_rwkv_outputs o = {0};
        o.features = out[0].tensor.data;
        o.pooled = out[1].tensor.data;
        s = aviary_vision_rwkv_forward(e->model, px, H, W, &o);
    }
    free(px);
    return s;
}

static const aviary_plugin_descriptor desc = {
    AVIARY_PLUGIN_DESCRIPTOR_HEADER,
    .name = "vision_rwkv",
    .kind = AVIARY_PLUGIN_ENCODER,
    .version = "1.0.0",
    .description = "Vision-RWKV (VRWKV, VRWKV6) image encoder: mmcls test preprocessing, backbone, mean pooling",
    .n_options = sizeof options / sizeof options[0],
    .options = options,
    .n_inputs = 1,
    .inputs = inputs,
    .n_outputs = 2,
    .outputs = outputs,
    .create = create,
    .run = run,
    .destroy = destroy,
};

AVIARY_PLUGIN_DEFINE(desc);
