/*
 * aviary_clip_vit.h - the CLIP ViT vision tower as VisualRWKV uses it (Hugging
 * Face CLIPVisionModel: OpenAI CLIP ViT-L/14 at 336 px in the VisualRWKV-6
 * releases; any size, read from the checkpoint's shapes).
 *
 * Forward (transformers modeling_clip.py, eager attention):
 *   patches = Conv2d(3, D, p, stride p, no bias)(pixels), row-major
 *   x = [class_embedding; patches] + position_embedding        [P+1, D]
 *   x = pre_layrnorm(x)
 *   per layer: x += out_proj(attn(layer_norm1(x)))             (q,k,v,out with biases,
 *                                                                scores * head_dim^-0.5, softmax)
 *              x += fc2(quick_gelu(fc1(layer_norm2(x))))        quick_gelu(v) = v*sigmoid(1.702 v)
 *   last_hidden_state = x (post_layernorm is NOT applied: VisualRWKV takes
 *   last_hidden_state, see src/model.py VisualRWKV.encode_images).
 * All LayerNorms use eps 1e-5. The image preprocessing that produces the
 * pixels (resize, centre crop, CLIP mean/std) is aviary_image.h's job.
 *
 * Keys: the HF names under "vision_model." with any prefix (VisualRWKV's
 * "vit.", LLaVA's "vision_tower."), found by looking for
 * "*vision_model.embeddings.class_embedding". A stray "position_ids" buffer
 * (old transformers) is ignored.
 *
 * The model copies what it needs at load (linears are packed, vectors
 * converted to f32): the checkpoint may be closed afterwards. Immutable after
 * load; forward may run concurrently from several threads.
 */
#ifndef AVIARY_CLIP_VIT_H
#define AVIARY_CLIP_VIT_H
#include "aviary_checkpoint.h"
#include "aviary_image.h"
#include "aviary_linear.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aviary_clip_vit aviary_clip_vit;

typedef struct aviary_clip_vit_params {
    aviary_weight_type weights; /* matmul weight precision; default AUTO (as stored) */
    /* Attention heads. Not inferable from shapes: 0 = hidden/64 (every
     * OpenAI CLIP ViT uses head width 64, e.g. ViT-L 1024/16). */
    int n_head;
    const char *prefix;         /* key prefix before "vision_model."; NULL = auto-detect */
} aviary_clip_vit_params;

AVIARY_API aviary_clip_vit_params aviary_clip_vit_default_params(void);

typedef struct aviary_clip_vit_info {
    int image_size;    /* S: input is [3, S, S] */
    int patch_size;    /* p */
    int n_patches;     /* P = (S/p)^2 */
    int hidden;        /* D */
    int intermediate;  /* MLP width */
    int n_layer;
    int n_head;
    uint64_t weight_bytes;
} aviary_clip_vit_info;

/* Load from an open checkpoint (the checkpoint may be closed afterwards).
 * Missing keys or inconsistent shapes: AVIARY_NOT_FOUND / AVIARY_SHAPE with a
 * message naming the file and the key. */
AVIARY_API aviary_status aviary_clip_vit_load_checkpoint(const aviary_checkpoint *ck,
                                                         const aviary_clip_vit_params *params, aviary_clip_vit **out);
AVIARY_API aviary_status aviary_clip_vit_load(const char *path, const aviary_clip_vit_params *params,
                                              aviary_clip_vit **out);
/* A model of the CLIP-L/14 layout with random weights for benchmarks:
 * spec "clipS:P<patch>:D<hidden>:L<layers>", e.g. "clip336:P14:D1024:L24"
 * (MLP 4*D, heads D/64). Deterministic for a seed, meaningless values. */
AVIARY_API aviary_status aviary_clip_vit_random(const char *spec, const aviary_clip_vit_params *params,
                                                uint64_t seed, aviary_clip_vit **out);
AVIARY_API void aviary_clip_vit_free(aviary_clip_vit *v);
AVIARY_API const aviary_clip_vit_info *aviary_clip_vit_get_info(const aviary_clip_vit *v);

/* OpenAI CLIP's normalisation constants (CLIPImageProcessor image_mean/std). */
AVIARY_API extern const float aviary_clip_mean[3];
AVIARY_API extern const float aviary_clip_std[3];

/* CLIP image preprocessing as HF CLIPImageProcessor (numpy/PIL path) with
 * size={"shortest_edge": size}, crop_size=crop, resample=BICUBIC:
 *   resize the short side to `size`, the long side to int(size*long/short),
 *   with aviary_image.h's Pillow-exact bicubic (uint8 result);
 *   centre crop crop x crop at top=(h-crop)//2, left=(w-crop)//2 (padding with
 *   0 where the image is smaller, as HF's center_crop does);
 *   x = float32(u8 * (1/255 in double)); y = (x - mean[c]) / std[c] in float32.
 * chw: [3, crop, crop] floats (caller-allocated). resized (NULL or an empty
 * aviary_image) receives the resized image before the crop (for debugging;
 * free with aviary_image_free). */
AVIARY_API aviary_status aviary_clip_preprocess(const aviary_image *img, int size, int crop, const float mean[3],
                                                const float std[3], float *chw, aviary_image *resized);

/* hidden[P+1, D] = last_hidden_state for pixels [3, S, S] (CHW, normalised),
 * in CLIP's order: CLS first, then the patches row-major. */
AVIARY_API aviary_status aviary_clip_vit_forward(const aviary_clip_vit *v, const float *pixels, float *hidden);

/* VisualRWKV's grid_pooling(grid_size=-1) in place on hidden[P+1, D]: the
 * CLS row moves from first to last ([patch_0 .. patch_{P-1}, CLS]). */
AVIARY_API void aviary_clip_vit_cls_last(float *hidden, int n_patches, int dim);

#ifdef __cplusplus
}
#endif
#endif /* AVIARY_CLIP_VIT_H */
