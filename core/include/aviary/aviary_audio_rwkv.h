/*
 * aviary_audio_rwkv.h - the AudioRWKV spectrogram encoders and their 527-way
 * AudioSet heads, straight from the official checkpoints:
 *
 *  - AVIARY_AUDIO_RWKV_2024 (diggerdu/AudioRWKV, VRWKV6): bn0 over mel bins,
 *    PxP conv patch embedding + LayerNorm + pos_embed, RWKV-6 blocks with
 *    multi-head Q-shift and a bidirectional WKV (a reverse pass without the
 *    current token plus a forward pass with the u bonus), per-token
 *    LayerNorm, mean pooling, Linear head (probs = sigmoid).
 *    Keys "sed_model.*" (Lightning checkpoint) or bare.
 *  - AVIARY_AUDIO_RWKV_2025 (Jiayu-Xiong/AudioRWKV, A-RWKV): 16x16 conv
 *    patches + pos_embed, RWKV-7 blocks whose 3x3 depthwise conv token shift
 *    runs on the (time, mel) token grid and whose WKV runs on the sequence
 *    and on its flip, mixed by a per-token, per-head sigmoid gate; mean
 *    pooling, LayerNorm, Linear head without bias. Keys "module.*" or bare.
 *
 * The variant is detected from the checkpoint's tensor names; sizes (width,
 * depth, heads, patch, token count) from its shapes. Weights are copied to
 * float32 (vectors) or packed into aviary_linear objects (matrices) at load:
 * the checkpoint may be closed afterwards. A model is
 * immutable after loading; forward() allocates its own scratch, so one model
 * may run on several threads at once.
 */
#ifndef AVIARY_AUDIO_RWKV_H
#define AVIARY_AUDIO_RWKV_H

#include "aviary_base.h"
#include "aviary_checkpoint.h"
#include "aviary_linear.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum aviary_audio_rwkv_variant {
    AVIARY_AUDIO_RWKV_2024 = 0,
    AVIARY_AUDIO_RWKV_2025 = 1
} aviary_audio_rwkv_variant;

typedef struct aviary_audio_rwkv aviary_audio_rwkv;

typedef struct aviary_audio_rwkv_info {
    aviary_audio_rwkv_variant variant;
    int n_embd, n_layer, n_head, head_size, patch;
    int grid_h, grid_w;       /* token grid (time, mel); tokens = grid_h * grid_w, time-major */
    int n_mels;               /* mel bins of the input (grid_w * patch) */
    int min_frames;           /* input frames the patch grid covers (grid_h * patch); extra frames are ignored */
    int n_classes;
} aviary_audio_rwkv_info;

/* Load from an open checkpoint. `n_mels` is the input's mel count (2024:
 * must equal bn0's size, pass 0 to take it from bn0; 2025: 128 for the
 * published models). Errors name the checkpoint file and the key/shape. */
AVIARY_API aviary_status aviary_audio_rwkv_load(const aviary_checkpoint *ck, int n_mels, aviary_audio_rwkv **out);
/* Same, with the matrices stored as `weights` (aviary_linear.h: AUTO keeps
 * the checkpoint's precision, BF16/INT8 trade accuracy for memory and speed). */
AVIARY_API aviary_status aviary_audio_rwkv_load_weights(const aviary_checkpoint *ck, int n_mels,
                                                        aviary_weight_type weights, aviary_audio_rwkv **out);
AVIARY_API void aviary_audio_rwkv_free(aviary_audio_rwkv *m);
AVIARY_API const aviary_audio_rwkv_info *aviary_audio_rwkv_get_info(const aviary_audio_rwkv *m);

/* Optional outputs of one forward pass (NULL pointers are skipped). */
typedef struct aviary_audio_rwkv_outputs {
    float *fbank;     /* 2024 only: bn0 output, frames*n_mels (what patch_embed sees) */
    float *features;  /* last block output, tokens*n_embd */
    float *pooled;    /* n_embd: 2024 mean(LN(features)), 2025 LN(mean(features)) */
    float *logits;    /* n_classes, before the sigmoid */
    float *probs;     /* n_classes, sigmoid(logits) */
} aviary_audio_rwkv_outputs;

/* Run the encoder and head on one spectrogram, row-major [frames][n_mels]:
 * 2024: the dB log-mel (before bn0); 2025: the normalised fbank. frames must
 * be >= info.min_frames (rows past it are ignored, as the strided conv
 * does). AVIARY_SHAPE if the input does not fit. */
AVIARY_API aviary_status aviary_audio_rwkv_forward(const aviary_audio_rwkv *m, const float *spec, int64_t frames,
                                                   int n_mels, const aviary_audio_rwkv_outputs *out);

#ifdef __cplusplus
}
#endif
#endif /* AVIARY_AUDIO_RWKV_H */
