/*
 * aviary_vision_rwkv.h - the Vision-RWKV image backbones (OpenGVLab/
 * Vision-RWKV, mmcls_custom VRWKV and VRWKV6) from official checkpoints:
 *
 *   pixels [3, H, W] -> conv patch embedding (stride = kernel, zero padding
 *   at the bottom/right when H or W is not a multiple of the patch) ->
 *   + pos_embed (torch-exact bicubic resize, align_corners=False, when the
 *   run grid differs from the checkpoint's) -> blocks -> final LayerNorm
 *   (backbone.ln1) -> features [T, C] -> mean over tokens -> pooled [C].
 *
 * Blocks (layers[0] applies ln0 to its input first):
 *   pre-norm   x = x + g1*att(ln1(x));  x = x + g2*ffn(ln2(x))
 *   post-norm  x = x + g1*ln1(att(x));  x = x + g2*ln2(ffn(x))
 * (g = gamma1/gamma2 when the checkpoint has layer scale, else 1).
 *  - VRWKV (v4): Q-shift over channel quarters, static lerps, the official
 *    chunked bidirectional WKV kernel (aviary_bi_wkv4) with w = decay/T and
 *    u = first/T, optional key_norm, sigmoid(r) gate.
 *  - VRWKV6: per-64-channel-head Q-shift, data-dependent lerps (LoRA),
 *    decay exp(-exp(time_decay + tanh(xw W1) W2)), bidirectional WKV6 (a
 *    backward scan without u plus a forward scan with u), optional key_norm,
 *    GroupNorm(heads, eps 1e-5) per token, silu gate.
 *  - channel mix: Q-shift, lerps, relu(key)^2, optional key_norm (LN of 4C),
 *    value, sigmoid(receptance) gate.
 *
 * The version, width, depth, heads, patch size, hidden size, key_norm and
 * layer scale come from the checkpoint's tensors (keys "backbone.*" of an
 * mmcls ImageClassifier, or bare backbone keys). Post-norm cannot be seen in
 * the tensors: it follows the options (default: post-norm exactly when the
 * checkpoint has layer scale, as in every published config).
 *
 * Weights are converted into aviary_linear / float32 copies at load: the
 * checkpoint may be closed afterwards. A model is immutable after loading
 * and forward() allocates its own scratch, so one model may serve several
 * threads at once.
 */
#ifndef AVIARY_VISION_RWKV_H
#define AVIARY_VISION_RWKV_H

#include "aviary_base.h"
#include "aviary_checkpoint.h"
#include "aviary_linear.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aviary_vision_rwkv aviary_vision_rwkv;

typedef struct aviary_vision_rwkv_options {
    const char *prefix;        /* key prefix; NULL = "backbone." if present, else "" */
    int post_norm;             /* -1 = auto (layer scale present), 0 = pre-norm, 1 = post-norm */
    int pos_grid_h, pos_grid_w;/* checkpoint pos_embed grid; 0 = square (sqrt of its token count) */
    aviary_weight_type weights;/* precision of the matmul weights (default AUTO) */
} aviary_vision_rwkv_options;

AVIARY_API aviary_vision_rwkv_options aviary_vision_rwkv_default_options(void);

typedef struct aviary_vision_rwkv_info {
    int version;               /* 4 (VRWKV) or 6 (VRWKV6) */
    int embed_dims, depth, n_head, head_size, hidden, patch_size;
    int pos_grid_h, pos_grid_w;
    bool post_norm, layer_scale, key_norm, final_norm;
} aviary_vision_rwkv_info;

/* Load from an open checkpoint. Errors name the checkpoint file and the
 * key or shape at fault. opts may be NULL for defaults. */
AVIARY_API aviary_status aviary_vision_rwkv_load(const aviary_checkpoint *ck, const aviary_vision_rwkv_options *opts,
                                                 aviary_vision_rwkv **out);
AVIARY_API void aviary_vision_rwkv_free(aviary_vision_rwkv *m);
AVIARY_API const aviary_vision_rwkv_info *aviary_vision_rwkv_get_info(const aviary_vision_rwkv *m);

/* Token grid for an H x W input: ceil(H/P) x ceil(W/P). */
AVIARY_API void aviary_vision_rwkv_grid(const aviary_vision_rwkv *m, int height, int width, int *grid_h, int *grid_w);

/* Optional outputs of one forward pass (NULL pointers are skipped). Sizes
 * with T = grid_h*grid_w and C = embed_dims. The debug arrays hold one
 * [T, C] slab per layer (depth*T*C floats). */
typedef struct aviary_vision_rwkv_outputs {
    float *features;           /* [T, C] after the final norm */
    float *pooled;             /* [C] mean of features over tokens */
    float *patch_embed;        /* [T, C] conv output before pos_embed */
    float *pos_embed;          /* [T, C] the (resized) pos_embed as added */
    float *wkv;                /* [depth, T, C] raw WKV output of each layer (before key_norm/gates) */
    float *layers;             /* [depth, T, C] residual stream after each layer */
} aviary_vision_rwkv_outputs;

/* Run the backbone on one normalised image, CHW float [3, height, width].
 * AVIARY_INVALID_ARG for a non-positive size, AVIARY_NOMEM if scratch
 * cannot be allocated. */
AVIARY_API aviary_status aviary_vision_rwkv_forward(const aviary_vision_rwkv *m, const float *pixels, int height,
                                                    int width, const aviary_vision_rwkv_outputs *out);

/* torch.nn.functional.interpolate(mode='bicubic', align_corners=False) of a
 * [C, in_h, in_w] tensor given as tokens [in_h*in_w, C] (row-major grid) to
 * tokens [out_h*out_w, C]: A = -0.75, source index scale*(i+0.5)-0.5, taps
 * clamped to the border. Used for pos_embed. Cannot fail. */
AVIARY_API void aviary_resize_tokens_bicubic(const float *in, int in_h, int in_w, int C, int out_h, int out_w,
                                             float *out);

#ifdef __cplusplus
}
#endif
#endif /* AVIARY_VISION_RWKV_H */
